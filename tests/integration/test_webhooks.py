"""The webhook receiver over real HTTP on loopback, and the sensor that turns its queue into runs.

Signed deliveries are verified, queued once and become runs; unsigned, forged, malformed and
oversized ones are refused with a JSON error and leave the receiver serving. A queued notification
the sensor cannot place on a partition is quarantined on its own, never blocking the others.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import pytest
import requests

from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.automation.sensors import build_webhook_sensor
from intercom_salesforce.definitions import defs, sync_conversations_job, sync_people_job
from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.webhooks import deliver, envelope, sign
from intercom_salesforce.sandbox.serving import RunningServer, start_in_thread
from intercom_salesforce.settings import SANDBOX_INTERCOM_CLIENT_SECRET
from intercom_salesforce.webhooks.queue import WebhookQueue
from intercom_salesforce.webhooks.receiver import create_receiver

SECRET = SANDBOX_INTERCOM_CLIENT_SECRET
CONVERSATION = {"type": "conversation", "id": "4000007", "updated_at": 1764000000}
CONTACT = {"type": "contact", "id": "abc", "updated_at": 1764003600}
DAY = "2025-11-24"  # both timestamps above, in the workspace's timezone (America/Los_Angeles)


@pytest.fixture()
def queue_path(tmp_path: Path) -> Path:
    return tmp_path / "webhooks.sqlite"


@pytest.fixture()
def receiver(queue_path: Path) -> Iterator[RunningServer]:
    server = start_in_thread(create_receiver(WebhookQueue(queue_path), SECRET))
    yield server
    server.stop()


def post_signed(url: str, body: bytes | dict[str, Any], secret: str = SECRET) -> requests.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"X-Hub-Signature": sign(raw, secret), "Content-Type": "application/json"}
    return requests.post(url, data=raw, headers=headers, timeout=5)


def raw_exchange(url: str, head: str, body: bytes = b"", timeout: float = 5.0) -> tuple[int, Any]:
    """Send a hand-written request (headers, then ``body``, nothing more) and read the answer.

    The socket is never closed early and never finishes a body it announced, so an answer proves
    the receiver decided without waiting for (or reading) the rest.
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        payload = response.read()
    return response.status, json.loads(payload) if payload else None


def tick(queue_path: Path, cursor: str | None) -> dg.SensorResult:
    sensor = build_webhook_sensor(sync_people_job, sync_conversations_job, str(queue_path))
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        return sensor.evaluate_tick(context)


def requested(result: Any) -> list[tuple[str, str]]:
    return sorted((r.job_name, r.partition_key) for r in result.run_requests)


def test_signed_webhooks_become_runs(receiver: RunningServer, queue_path: Path) -> None:
    config = IntercomEmulatorConfig()
    assert config.client_secret == SECRET
    assert requests.head(receiver.url, timeout=5).status_code == 200  # Intercom's URL check
    ping = post_signed(receiver.url, envelope("ping", {"type": "ping", "message": "hi"}, config))
    assert ping.status_code == 200
    assert deliver(receiver.url, "conversation.user.created", CONVERSATION, config).json() == {
        "status": "queued"
    }
    assert deliver(receiver.url, "contact.lead.signed_up", CONTACT, config).status_code == 200
    company = {"type": "company", "id": "c1", "updated_at": 1764000000}
    assert deliver(receiver.url, "company.created", company, config).json() == {"status": "ignored"}
    wrong_method = requests.get(receiver.url, timeout=5)
    assert wrong_method.status_code == 405 and "error" in wrong_method.json()

    first = tick(queue_path, None)
    assert requested(first) == [("sync_conversations_job", DAY), ("sync_people_job", DAY)]
    # the next tick, with the cursor Dagster committed, confirms them consumed
    second = tick(queue_path, first.cursor)
    assert not second.run_requests
    assert WebhookQueue(queue_path).counts() == {"consumed": 2}


def test_unsigned_forged_and_replayed_deliveries(receiver: RunningServer, queue_path: Path) -> None:
    config = IntercomEmulatorConfig()
    body = envelope("conversation.admin.closed", CONVERSATION, config)
    raw = json.dumps(body).encode()
    unsigned = requests.post(receiver.url, data=raw, timeout=5)
    assert unsigned.status_code == 401 and "error" in unsigned.json()
    for header in ["sha1=" + "0" * 40, "sha256=" + sign(raw, SECRET)[5:], "sha1=", "garbage"]:
        forged = requests.post(
            receiver.url, data=raw, headers={"X-Hub-Signature": header}, timeout=5
        )
        assert forged.status_code == 401, header
    wrong_secret = post_signed(receiver.url, raw, secret="not-the-secret")
    assert wrong_secret.status_code == 401
    # a header that is not ASCII must not trip the constant-time comparison into an error
    odd = raw_exchange(
        receiver.url,
        f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {len(raw)}\r\n"
        "X-Hub-Signature: sha1=\xe9\xe9\r\n",
        raw,
    )
    assert odd[0] == 401 and "error" in odd[1]
    assert WebhookQueue(queue_path).counts() == {}

    # a redelivery of the same notification is queued once, and still once after it was consumed
    assert post_signed(receiver.url, raw).json() == {"status": "queued"}
    assert post_signed(receiver.url, raw).json() == {"status": "duplicate"}
    first = tick(queue_path, None)
    assert requested(first) == [("sync_conversations_job", DAY)]
    tick(queue_path, first.cursor)
    assert post_signed(receiver.url, raw).json() == {"status": "duplicate"}
    assert not tick(queue_path, first.cursor).run_requests
    assert WebhookQueue(queue_path).counts() == {"consumed": 1}


MALFORMED: list[bytes] = [
    b"[]",
    b'"a string"',
    b"42",
    b"null",
    b"{}",
    b'{"id": "n1"}',
    b'{"id": "n1", "topic": 5}',
    b'{"id": "n1", "topic": ["conversation.user.created"]}',
    b'{"id": 7, "topic": "conversation.user.created", "data": {"item": {"id": "1"}}}',
    b'{"id": "", "topic": "conversation.user.created", "data": {"item": {"id": "1"}}}',
    b'{"id": "n1", "topic": "conversation.user.created"}',
    b'{"id": "n1", "topic": "conversation.user.created", "data": []}',
    b'{"id": "n1", "topic": "conversation.user.created", "data": {}}',
    b'{"id": "n1", "topic": "conversation.user.created", "data": {"item": null}}',
    b'{"id": "n1", "topic": "conversation.user.created", "data": {"item": "4000007"}}',
    b'{"id": "n1", "topic": "conversation.user.created", "data": {"item": {"id": {"x": 1}}}}',
    b'{"id": "n1", "topic": "conversation.user.created", "data": {"item": {"type": 3}}}',
    b'{"id": "n1", "topic": "conversation.user.created", "data": {"item": {"id": true}}}',
    b"{not json",
    b"\xff\xfe\x00garbage",
    b"[" * 100_000 + b"]" * 100_000,  # nesting deep enough to exhaust the parser's recursion
]


@pytest.mark.parametrize("raw", MALFORMED, ids=[f"body{n}" for n in range(len(MALFORMED))])
def test_signed_but_malformed_bodies_get_a_4xx(
    receiver: RunningServer, queue_path: Path, raw: bytes
) -> None:
    answer = post_signed(receiver.url, raw)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json()["error"]
    # the receiver keeps serving, and nothing was queued
    assert deliver(
        receiver.url, "conversation.user.created", CONVERSATION, IntercomEmulatorConfig()
    ).ok
    assert WebhookQueue(queue_path).counts() == {"pending": 1}


def test_oversized_bodies_are_refused_before_being_read(queue_path: Path) -> None:
    limit = 4096
    server = start_in_thread(
        create_receiver(WebhookQueue(queue_path), SECRET, max_body_bytes=limit)
    )
    try:
        # announced too large: 413 at once, although not one byte of the 200 MB is sent
        started = time.monotonic()
        status, body = raw_exchange(
            server.url, f"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {200 * 1024 * 1024}\r\n"
        )
        assert status == 413 and body["error"]
        assert time.monotonic() - started < 3
        # chunked with no length: refused as soon as the limit is passed, before the body ends
        chunk = b"x" * (limit + 1)
        status, body = raw_exchange(
            server.url,
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n",
            f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n",
        )
        assert status == 413 and body["error"]
        # a signed notification exactly at the limit is accepted, one byte more is not
        note = envelope("conversation.user.created", CONVERSATION, IntercomEmulatorConfig())
        note["pad"] = ""
        note["pad"] = "x" * (limit - len(json.dumps(note).encode()))
        raw = json.dumps(note).encode()
        assert len(raw) == limit
        assert post_signed(server.url, raw).json() == {"status": "queued"}
        assert post_signed(server.url, raw + b" ").status_code == 413
        # and a chunked body within the limit is read whole
        chunked = requests.post(
            server.url,
            data=iter([raw[:100], raw[100:]]),
            headers={"X-Hub-Signature": sign(raw, SECRET)},
            timeout=5,
        )
        assert chunked.json() == {"status": "duplicate"}
    finally:
        server.stop()
    assert WebhookQueue(queue_path).counts() == {"pending": 1}


def test_default_body_limit_is_one_mebibyte_and_configurable(
    queue_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_in_thread(create_receiver(WebhookQueue(queue_path), SECRET))
    try:
        head = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n"
        assert raw_exchange(server.url, head.format(1024 * 1024 + 1))[0] == 413
    finally:
        server.stop()
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", "100")
    server = start_in_thread(create_receiver(WebhookQueue(queue_path), SECRET))
    try:
        assert raw_exchange(server.url, head.format(101))[0] == 413
    finally:
        server.stop()
    monkeypatch.setenv("WEBHOOK_MAX_BODY_BYTES", "lots")
    with pytest.raises(ValueError, match="WEBHOOK_MAX_BODY_BYTES"):
        create_receiver(WebhookQueue(queue_path), SECRET)


def test_bad_timestamps_are_quarantined_and_the_rest_still_run(
    receiver: RunningServer, queue_path: Path
) -> None:
    config = IntercomEmulatorConfig()
    before_start = int(daily_partitions.start.timestamp()) - 86_400 * 30
    bad = {
        "milliseconds": 1764000000000,
        "negative": -86_400,
        "before_start": before_start,
        "future": int(time.time()) + 86_400 * 30,
        "words": "last tuesday",
        "boolean": True,
        "huge": 10**30,
    }
    for name, value in bad.items():
        item = {"type": "conversation", "id": name, "updated_at": value}
        assert deliver(receiver.url, "conversation.admin.replied", item, config).ok, name
    raw = json.dumps(envelope("contact.user.created", CONTACT, config)).encode()
    assert post_signed(receiver.url, raw.replace(b"1764003600", b"NaN")).ok
    assert deliver(receiver.url, "conversation.user.created", CONVERSATION, config).ok
    iso = {"type": "contact", "id": "iso", "updated_at": "2025-11-24T18:00:00Z"}
    assert deliver(receiver.url, "contact.user.created", iso, config).ok

    first = tick(queue_path, None)
    assert requested(first) == [("sync_conversations_job", DAY), ("sync_people_job", DAY)]
    queue = WebhookQueue(queue_path)
    reasons = {q.item_id: q.reason for q in queue.quarantined()}
    assert set(reasons) == {*bad, "abc"}
    assert "milliseconds" in reasons["milliseconds"]
    assert "negative" in reasons["negative"]
    assert "before the first partition" in reasons["before_start"]
    assert "future" in reasons["future"]
    assert "not a timestamp" in reasons["words"]
    # quarantined once, never retried: later ticks neither fail nor ask again
    second = tick(queue_path, first.cursor)
    assert not second.run_requests
    assert not tick(queue_path, second.cursor).run_requests
    assert queue.counts() == {"consumed": 2, "quarantined": len(bad) + 1}


def test_a_tick_that_is_not_committed_loses_nothing(
    receiver: RunningServer, queue_path: Path
) -> None:
    config = IntercomEmulatorConfig()
    assert deliver(receiver.url, "conversation.user.created", CONVERSATION, config).ok
    first = tick(queue_path, None)
    assert first.run_requests
    # the tick failed after the sensor answered (launching the runs, storing the cursor): Dagster
    # evaluates again from the old cursor, and the same runs are asked for under the same keys
    again = tick(queue_path, None)
    assert [r.run_key for r in again.run_requests] == [r.run_key for r in first.run_requests]
    assert WebhookQueue(queue_path).counts() == {"pending": 1}
    # a notification arriving meanwhile joins the next tick; the confirmed one is consumed
    assert deliver(receiver.url, "contact.lead.signed_up", CONTACT, config).ok
    third = tick(queue_path, again.cursor)
    assert requested(third) == [("sync_people_job", DAY)]
    assert WebhookQueue(queue_path).counts() == {"consumed": 1, "pending": 1}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening_addresses(port: int) -> set[str]:
    """Local addresses of TCP sockets listening on ``port``, from ``/proc/net/tcp{,6}``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, _, state = line.split()[1:4]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def as_from_a_shell() -> None:
    """In the receiver's process before it starts: SIGINT and SIGTERM unblocked and at their
    default, as a shell starts a command, whatever this test process's own signal state."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_the_receiver_command_binds_to_loopback_by_default(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERCOM_", "SALESFORCE_"))}
    env["WEBHOOK_QUEUE_PATH"] = str(tmp_path / "webhooks.sqlite")
    proc = subprocess.Popen(
        [sys.executable, "-m", "intercom_salesforce.cli", "webhooks", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=as_from_a_shell,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.head(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.2)
        if os.path.exists("/proc/net/tcp"):
            assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            status = Path(f"/proc/{proc.pid}/status").read_text().splitlines()
            proc.kill()
            raise AssertionError(
                f"the receiver ignored Ctrl-C: {[s for s in status if s.startswith('Sig')]}"
            ) from None
    assert f"http://127.0.0.1:{port}/" in output


def test_a_cursor_from_a_recreated_queue_file_confirms_nothing(queue_path: Path) -> None:
    config = IntercomEmulatorConfig()
    server = start_in_thread(create_receiver(WebhookQueue(queue_path), SECRET))
    try:
        assert deliver(server.url, "conversation.user.created", CONVERSATION, config).ok
    finally:
        server.stop()
    committed = tick(queue_path, tick(queue_path, None).cursor).cursor
    for path in queue_path.parent.glob(queue_path.name + "*"):
        path.unlink()  # the queue file is deleted (a reset) while Dagster keeps the cursor
    server = start_in_thread(create_receiver(WebhookQueue(queue_path), SECRET))
    try:
        assert deliver(server.url, "contact.lead.signed_up", CONTACT, config).ok
    finally:
        server.stop()
    # the new file numbers from 1 again: the old cursor must not confirm its first notification
    assert requested(tick(queue_path, committed)) == [("sync_people_job", DAY)]
