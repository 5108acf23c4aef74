"""A durable queue of verified webhook notifications, read by the webhook sensor.

SQLite (one small file under ``var/``): the receiver and the sensor are different processes, and
delivery is at-least-once, so notifications are deduplicated on their ``id``; a row is kept after
it is consumed, so a late redelivery is still recognised.

Each notification moves from ``pending`` to ``consumed`` (its run was asked for and Dagster
committed the tick) or ``quarantined`` (it can never become a run; the reason is kept beside it).
``seq`` numbers rows in arrival order and is never reused, so the sensor can confirm "everything up
to seq N" from its committed cursor without listing ids. ``instance`` names the file (a random id
made with it), so a cursor written against a queue file that was since deleted and recreated is
recognised as foreign instead of confirming the new file's notifications unseen.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from intercom_salesforce.warehouse import read_sql

PENDING, CONSUMED, QUARANTINED = "pending", "consumed", "quarantined"

SQL = Path(__file__).parent / "sql"


def _sql(name: str) -> str:
    return read_sql(name, SQL)


def statements(script: str) -> list[str]:
    """A script's statements, one per ``;`` at a line's end: ``sqlite3`` runs one at a time, and
    ``executescript`` would commit the transaction the migration runs in."""
    return [s for s in script.split(";\n") if s.strip()]


SCHEMA = statements(_sql("create_queue.sql"))
# the first layout had no seq, status or reason; its rows are carried over in arrival order
MIGRATE_FROM_V1 = [_sql("set_aside_v1.sql"), *SCHEMA, *statements(_sql("copy_v1.sql"))]

SQLITE_INT_MAX = 2**63 - 1
_INTEGER = re.compile(r"[+-]?\d{1,30}")


class MalformedNotification(ValueError):
    """A signed body that is not a notification we can queue; the receiver answers 400."""


class BadTimestamp(ValueError):
    """A notification's time that cannot place it on a partition; it is quarantined."""


@dataclass(frozen=True)
class Notification:
    """One queued notification as the sensor sees it.

    ``timestamp`` is the raw value the partition is chosen by: the item's ``updated_at`` when it
    has one, else the envelope's ``created_at``, else None (then the time it was received counts).
    It stays raw so a bad value is quarantined with its own reason instead of being guessed at.
    """

    seq: int
    id: str
    topic: str
    item_type: str | None
    item_id: str | None
    timestamp_field: str | None
    timestamp: Any
    received_at: float
    problem: str | None = None


@dataclass(frozen=True)
class Quarantined:
    """A notification set aside for good, with why; kept for people to look at."""

    seq: int
    id: str
    topic: str
    item_id: str | None
    reason: str
    quarantined_at: float
    body: str


def epoch_seconds(value: Any) -> int:
    """Unix seconds from a number or an ISO-8601 string (newer webhook payloads), else BadTimestamp.

    Only the format is judged here; whether the instant is plausible is the sensor's call. A
    string without a zone is read as UTC, never as this machine's local time.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadTimestamp(f"not a timestamp: {json.dumps(value)[:80]}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadTimestamp(f"not a timestamp: {value}")
        return int(value)
    if isinstance(value, int):
        return value
    text = value.strip()
    if _INTEGER.fullmatch(text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return int(moment.timestamp())
    except (ValueError, OverflowError, OSError):  # the last two: dates at the calendar's ends
        raise BadTimestamp(f"not a timestamp: {value[:80]!r}") from None


def parse_envelope(envelope: Any) -> dict[str, Any]:
    """The fields of a ``notification_event`` the queue relies on, or MalformedNotification.

    Checked before anything is stored, so a well-signed but malformed body is refused (4xx) at the
    door rather than failing later in the receiver or the sensor.
    """
    if not isinstance(envelope, Mapping):
        raise MalformedNotification("the body is not a JSON object")
    note_id, topic = envelope.get("id"), envelope.get("topic")
    if not isinstance(topic, str) or not topic:
        raise MalformedNotification("'topic' must be a non-empty string")
    if not isinstance(note_id, str) or not note_id:
        raise MalformedNotification("'id' must be a non-empty string")
    data = envelope.get("data")
    item = data.get("item") if isinstance(data, Mapping) else None
    if not isinstance(item, Mapping):
        raise MalformedNotification("'data.item' must be an object")
    item_id, item_type = item.get("id"), item.get("type")
    if item_id is not None and (isinstance(item_id, bool) or not isinstance(item_id, str | int)):
        raise MalformedNotification("'data.item.id' must be a string or an integer")
    if item_type is not None and not isinstance(item_type, str):
        raise MalformedNotification("'data.item.type' must be a string")
    field, raw = _timestamp_of(envelope, item)
    return {
        "id": note_id,
        "topic": topic,
        "item_type": item_type,
        "item_id": None if item_id is None else str(item_id),
        "updated_at": _storable_epoch(raw),
        "timestamp_field": field,
        "timestamp": raw,
    }


def _timestamp_of(envelope: Mapping[str, Any], item: Mapping[str, Any]) -> tuple[str | None, Any]:
    """Which time places the notification: the item's change, else when Intercom raised it."""
    if item.get("updated_at") is not None:
        return "updated_at", item["updated_at"]
    if envelope.get("created_at") is not None:
        return "created_at", envelope["created_at"]
    return None, None


def _storable_epoch(raw: Any) -> int | None:
    """The parsed time for the ``updated_at`` column (for people reading the file), if it fits."""
    try:
        value = epoch_seconds(raw)
    except BadTimestamp:
        return None
    return value if -SQLITE_INT_MAX <= value <= SQLITE_INT_MAX else None


def _notification(row: tuple[Any, ...]) -> Notification:
    """Rebuild the sensor's view from the stored body; a body that no longer parses (written by
    an older receiver that checked less) comes back with its ``problem``, to be quarantined."""
    seq, note_id, topic, item_type, item_id, received_at, body = row
    try:
        fields = parse_envelope(json.loads(body))
    except (ValueError, RecursionError) as exc:
        problem = f"stored body is not a notification: {exc}"
        return Notification(
            seq, note_id, topic, item_type, item_id, None, None, received_at, problem
        )
    return Notification(
        seq,
        note_id,
        topic,
        item_type,
        item_id,
        fields["timestamp_field"],
        fields["timestamp"],
        received_at,
    )


class WebhookQueue:
    """The queue file; every method opens its own short connection, so it is safe across the
    receiver's threads and the sensor's process."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then see it
            columns = {row[0] for row in conn.execute(_sql("table_columns.sql"))}
            for statement in MIGRATE_FROM_V1 if columns and "seq" not in columns else SCHEMA:
                conn.execute(statement)
            conn.execute(_sql("claim_instance.sql"), (uuid.uuid4().hex,))
            (self.instance,) = conn.execute(_sql("instance.sql")).fetchone()

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        """A connection in autocommit mode with an explicit transaction around the block."""
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            yield conn
            if conn.in_transaction:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def put(self, envelope: Mapping[str, Any]) -> bool:
        """Queue one notification; False when it was already queued (a redelivery).

        Raises MalformedNotification for a body that is not a queueable notification.
        """
        note = parse_envelope(envelope)
        with self._conn() as conn:
            cur = conn.execute(
                _sql("put.sql"),
                (
                    note["id"],
                    note["topic"],
                    note["item_type"],
                    note["item_id"],
                    note["updated_at"],
                    time.time(),
                    json.dumps(envelope),
                ),
            )
            return cur.rowcount == 1

    def pending(self, limit: int = 500) -> list[Notification]:
        """The oldest pending notifications, left pending: only the sensor's committed cursor
        (see :meth:`acknowledge`) or a quarantine takes them out of the queue."""
        with self._conn() as conn:
            rows = conn.execute(_sql("pending.sql"), (limit,)).fetchall()
        return [_notification(row) for row in rows]

    def acknowledge(self, up_to: int) -> int:
        """Mark consumed every pending notification with ``seq <= up_to``: the runs they asked for
        were committed by Dagster. Returns how many."""
        with self._conn() as conn:
            cur = conn.execute(_sql("acknowledge.sql"), (time.time(), up_to))
            return cur.rowcount

    def quarantine(self, seq: int, reason: str) -> None:
        """Set one pending notification aside for good, with the reason, so it is never retried."""
        with self._conn() as conn:
            conn.execute(_sql("quarantine.sql"), (time.time(), reason, seq))

    def quarantined(self, limit: int = 1000) -> list[Quarantined]:
        """Quarantined notifications, newest first, with their reasons and bodies."""
        with self._conn() as conn:
            rows = conn.execute(_sql("quarantined.sql"), (limit,)).fetchall()
        return [Quarantined(*row) for row in rows]

    def counts(self) -> dict[str, int]:
        """{status: notifications}, only the statuses present."""
        with self._conn() as conn:
            rows = conn.execute(_sql("counts.sql"))
            return dict(sorted(rows.fetchall()))
