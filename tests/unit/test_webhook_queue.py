"""The webhook queue's states, its upgrade from the first file layout, timestamp judgement and the
signature check, without a server."""

from __future__ import annotations

import hmac
import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.automation.sensors import webhook_partition
from intercom_salesforce.webhooks.queue import (
    BadTimestamp,
    MalformedNotification,
    Notification,
    WebhookQueue,
    epoch_seconds,
    parse_envelope,
)
from intercom_salesforce.webhooks.receiver import max_body_bytes_setting, valid_signature

TZ = ZoneInfo("America/Los_Angeles")


def notification(note_id: str, updated_at: Any = 1764000000, **extra: Any) -> dict[str, Any]:
    item = {
        "type": "contact",
        "id": note_id,
        **({} if updated_at is None else {"updated_at": updated_at}),
    }
    return {"id": note_id, "topic": "contact.user.created", "data": {"item": item}, **extra}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1764000000, 1764000000),
        (1764000000.9, 1764000000),
        ("1764000000", 1764000000),
        ("2025-11-24T16:00:00Z", 1764000000),
        ("2025-11-24T08:00:00-08:00", 1764000000),
        ("2025-11-24T16:00:00", 1764000000),  # no zone: UTC, not this machine's time
        (-5, -5),  # a number, judged implausible later by the sensor
    ],
)
def test_epoch_seconds_reads_numbers_and_iso_strings(value: Any, expected: int) -> None:
    assert epoch_seconds(value) == expected


@pytest.mark.parametrize(
    "value", [True, None, float("nan"), float("inf"), "soon", "", [1764000000], {"s": 1}]
)
def test_epoch_seconds_refuses_what_is_not_a_time(value: Any) -> None:
    with pytest.raises(BadTimestamp, match="not a timestamp"):
        epoch_seconds(value)


def test_parse_envelope_falls_back_to_the_notification_time() -> None:
    assert parse_envelope(notification("a"))["timestamp"] == 1764000000
    fallback = parse_envelope(notification("b", None, created_at=1764000500))
    assert (fallback["timestamp_field"], fallback["timestamp"]) == ("created_at", 1764000500)
    assert parse_envelope(notification("c", None))["timestamp"] is None
    with pytest.raises(MalformedNotification):
        parse_envelope({"id": "x", "topic": "contact.user.created", "data": {"item": []}})


def test_states_move_one_way(tmp_path: Path) -> None:
    queue = WebhookQueue(tmp_path / "q.sqlite")
    assert [queue.put(notification(n)) for n in ("a", "b", "c", "a")] == [True, True, True, False]
    a, b, c = queue.pending()
    assert a.seq < b.seq < c.seq
    queue.quarantine(b.seq, "bad time")
    assert queue.acknowledge(c.seq) == 2  # a and c; the quarantined b stays quarantined
    queue.quarantine(a.seq, "too late")  # a consumed notification is not quarantined afterwards
    assert queue.counts() == {"consumed": 2, "quarantined": 1}
    [q] = queue.quarantined()
    assert (q.id, q.item_id, q.reason, json.loads(q.body)["id"]) == ("b", "b", "bad time", "b")
    assert queue.put(notification("b")) is False  # quarantined ids are remembered too
    assert queue.pending() == []


def test_a_queue_file_of_the_first_layout_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite"
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE notifications (id TEXT PRIMARY KEY, topic TEXT NOT NULL, item_type TEXT, "
        "item_id TEXT, updated_at INTEGER, received_at REAL NOT NULL, consumed_at REAL, "
        "body TEXT NOT NULL)"
    )
    rows = [
        ("late", 30.0, None, json.dumps(notification("late"))),
        ("done", 10.0, 11.0, json.dumps(notification("done"))),
        ("early", 20.0, None, json.dumps(notification("early"))),
        ("odd", 40.0, None, json.dumps({"id": "odd", "data": []})),
    ]
    old.executemany(
        "INSERT INTO notifications VALUES (?, 'contact.user.created', 'contact', ?, 1764000000, "
        "?, ?, ?)",
        [(i, i, received, consumed, body) for i, received, consumed, body in rows],
    )
    old.commit()
    old.close()

    queue = WebhookQueue(path)
    assert queue.counts() == {"consumed": 1, "pending": 3}
    pending = queue.pending()
    assert [n.id for n in pending] == ["early", "late", "odd"]  # arrival order kept
    assert pending[2].problem and "not a notification" in pending[2].problem
    assert queue.put(notification("done")) is False  # still deduplicated after the upgrade
    assert WebhookQueue(path).counts() == {"consumed": 1, "pending": 3}  # upgraded once


def note(
    timestamp: Any, field: str | None = "updated_at", received_at: float = 0.0
) -> Notification:
    return Notification(
        1, "n", "contact.user.created", "contact", "c", field, timestamp, received_at
    )


def test_webhook_partition_bounds() -> None:
    now = time.time()
    today = datetime.fromtimestamp(now, TZ).date().isoformat()
    first = int(daily_partitions.start.timestamp())
    assert webhook_partition(note(first), daily_partitions, TZ, now)[0] == "2025-01-01"
    with pytest.raises(BadTimestamp, match="before the first partition"):
        webhook_partition(note(first - 1), daily_partitions, TZ, now)
    # a little ahead of our clock counts as now (never a day that has no partition yet) ...
    assert webhook_partition(note(int(now) + 200), daily_partitions, TZ, now) == (today, int(now))
    # ... further ahead it is refused
    with pytest.raises(BadTimestamp, match="future"):
        webhook_partition(note(int(now) + 3600), daily_partitions, TZ, now)
    # no time at all: the moment it was received
    received = note(None, None, received_at=now - 10)
    assert webhook_partition(received, daily_partitions, TZ, now) == (today, int(now - 10))
    broken = Notification(2, "m", "contact.x", None, None, None, None, now, "body unreadable")
    with pytest.raises(BadTimestamp, match="body unreadable"):
        webhook_partition(broken, daily_partitions, TZ, now)


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    body, secret = b'{"id": "n"}', "s3cret"
    good = "sha1=" + hmac.new(secret.encode(), body, "sha1").hexdigest()
    assert valid_signature(body, good, secret)
    assert not valid_signature(body, good[:-1] + "0", secret)
    assert not valid_signature(body, "sha1=\u00e9\u00e9", secret)
    assert not valid_signature(body, None, secret)
    assert len(calls) == 3 and all(isinstance(a, bytes) and isinstance(b, bytes) for a, b in calls)


def test_max_body_setting() -> None:
    assert max_body_bytes_setting({}) == 1024 * 1024
    assert max_body_bytes_setting({"WEBHOOK_MAX_BODY_BYTES": "2048"}) == 2048
    for bad in ("0", "-1", "1MB"):
        with pytest.raises(ValueError, match="WEBHOOK_MAX_BODY_BYTES"):
            max_body_bytes_setting({"WEBHOOK_MAX_BODY_BYTES": bad})
