"""Per-record reads many at once (``map_concurrent``): under 5xx, a 429 storm and dropped
connections every record is read exactly once, and the shared limiter never lets more calls into a
window than its allowance."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter

import requests

from intercom_salesforce.resources.intercom import IntercomAPIError, IntercomResource
from intercom_salesforce.sandbox.intercom.store import IntercomStore


def test_concurrent_reads_find_every_record_once_within_the_allowance(sandbox):
    store = IntercomStore(sandbox.state.intercom_db)
    ids = sorted(r[0] for r in store.query("SELECT id FROM contacts"))
    store.close()
    faults = {
        "error_rate": 0.1,
        "rate_limit_storm": 10,
        "drop_connection_rate": 0.05,
        "empty_body_rate": 0.03,
        "seed": 5,
    }
    requests.put(f"{sandbox.running.intercom_url}/_sandbox/faults", json=faults, timeout=10)
    resource = IntercomResource(
        access_token="sandbox-intercom-token",
        base_url=sandbox.running.intercom_url,
        mode="sandbox",
        workers=8,
        # 40 calls per one-second window: the limiter, not the emulator, paces the run
        rate_limit_per_minute=2400,
        rate_limit_share=1.0,
        rate_limit_window_seconds=1.0,
        backoff_base_seconds=0.01,
        # about one attempt in six fails here; six retries let about one run in a thousand give up
        # on a record, twelve make that one in billions: the test is of the pool, not of luck
        max_retries=12,
    )
    client = resource.client()
    sent: list[float] = []
    lock = threading.Lock()
    count = client.stats.count

    def timed(method: str, path: str) -> None:
        with lock:
            sent.append(time.time())
        count(method, path)

    # the client counts a call as the limiter lets it go (a resend after a dropped connection
    # included): record when, nothing else
    client.stats.count = timed
    in_flight = [0, 0]  # now, most at once

    def fetch(contact_id: str) -> str:
        in_flight[0] += 1
        in_flight[1] = max(in_flight)
        try:
            return client.get(f"/contacts/{contact_id}")["id"]
        finally:
            in_flight[0] -= 1

    seen = Counter()
    for contact_id, result in client.map_concurrent(fetch, ids):
        assert not isinstance(result, IntercomAPIError | Exception), result
        assert result == contact_id
        seen[result] += 1
    assert seen == Counter(ids)  # every record once, none twice, none lost
    assert in_flight[1] > 1  # the reads really ran side by side
    stats = client.stats
    assert stats.rate_limited >= 10 and stats.server_errors > 0 and stats.retries > 0
    per_window = Counter(math.floor(t / 1.0) for t in sent)
    assert max(per_window.values()) <= 40, per_window
    assert len(sent) == stats.calls


def test_a_read_stopped_part_way_drops_its_calls_in_flight_and_the_next_one_reads(sandbox):
    """A caller that stops consuming a per-record read (its own step failed) leaves nothing in
    flight behind it: the calls still waiting for their answers are dropped with their
    connections, and the client's next read gets every answer."""
    url = sandbox.running.intercom_url
    store = IntercomStore(sandbox.state.intercom_db)
    ids = sorted(r[0] for r in store.query("SELECT id FROM contacts"))[:6]
    store.close()
    hold = {"name": "reads", "method": "GET", "path": "/contacts/[^/]+", "nth": 2}
    requests.put(f"{url}/_sandbox/faults", json={"holds": [hold]}, timeout=10).raise_for_status()
    client = sandbox.intercom().client()
    ended: list[str] = []

    def fetch(contact_id: str) -> str:
        try:
            return client.get(f"/contacts/{contact_id}")["id"]
        finally:
            ended.append(contact_id)

    reads = client.map_concurrent(fetch, ids, workers=len(ids))
    first_id, first = next(reads)
    assert first == first_id  # the one call not held
    held = requests.get(
        f"{url}/_sandbox/holds", params={"rule": "reads", "held": 5, "wait": 10}, timeout=20
    ).json()["holds"][0]
    assert len(held["held_paths"]) == 5  # the others are out, waiting for their answers
    reads.close()
    assert sorted(ended) == ids  # the five waiting unwound there and then, not at the answer
    requests.post(f"{url}/_sandbox/holds/release", json={"rule": "reads"}, timeout=10)
    again = dict(client.map_concurrent(fetch, ids, workers=len(ids)))
    assert again == {i: i for i in ids}
