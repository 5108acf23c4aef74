"""Seed the Intercom store from a :class:`World`, encoding large worlds in worker processes.

Every record is a pure function of ``(seed, index)``, so a chunk of contacts, conversations or
events is generated *and encoded into rows* (normalised, rendered, JSON text) by whichever worker
gets its index range; the parent only writes the rows, in index order, one chunk per transaction.
At most ``2 × workers`` chunks are in flight, so memory stays bounded whatever the size. Small
worlds (tests, the demo) load in-process, where starting workers would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.intercom.store.base import DEFAULT_APP_ID
from intercom_salesforce.sandbox.intercom.store.contacts import encode_contacts, write_contacts
from intercom_salesforce.sandbox.intercom.store.conversations import (
    encode_conversations,
    write_conversations,
)
from intercom_salesforce.sandbox.intercom.store.events import encode_events, write_events
from intercom_salesforce.sandbox.intercom.store.loader import CHUNK, CONVERSATION_CHUNK
from intercom_salesforce.sandbox.world import World

PARALLEL_FROM = 20_000
"""Worlds with at least this many contacts are encoded in worker processes."""


def _contacts(world: World, app_id: str, now: int, start: int, stop: int) -> Any:
    return encode_contacts([world.intercom_contact(i) for i in range(start, stop)], app_id, now)


def _conversations(world: World, now: int, start: int, stop: int) -> Any:
    admins = world.intercom_admins()
    records = [world.intercom_conversation(k, admins) for k in range(start, stop)]
    return encode_conversations(records, now)


def _events(world: World, start: int, stop: int) -> Any:
    return encode_events([e for i in range(start, stop) for e in world.intercom_events_of(i)])


def _ranges(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(total, start + size)


def _in_order(
    pool: Any, fn: Callable[..., Any], tasks: Iterator[tuple[Any, ...]], window: int
) -> Iterator[Any]:
    """``fn(*task)`` for each task, results in task order, at most ``window`` in flight."""
    pending: deque[Any] = deque()
    for task in tasks:
        pending.append(pool.apply_async(fn, task))
        if len(pending) >= window:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _bulk(
    store: IntercomStore,
    pool: Any,
    workers: int,
    fn: Callable[..., Any],
    tasks: Iterator[tuple[Any, ...]],
    write: Callable[[Any, Any], Any],
) -> list[Any]:
    results = []
    for encoded in _in_order(pool, fn, tasks, 2 * workers):
        results.append(store._write(lambda c, e=encoded: write(c, e)))
    return results


def load_intercom(store: IntercomStore, world: World, workers: int | None = None) -> dict[str, int]:
    """Load ``world``'s Intercom side; the same rows as ``store.load_world(world.intercom())``."""
    workers = workers or os.cpu_count() or 1
    data = world.intercom()
    if world.size.contacts < PARALLEL_FROM or workers < 2:
        return store.load_world(data)
    with store.bulk_load():
        return _load_in_workers(store, world, workers)


def _load_in_workers(store: IntercomStore, world: World, workers: int) -> dict[str, int]:
    data = world.intercom()
    # Reference data and companies are small: the usual loader; the bulk goes to the workers.
    counts = store.load_world(replace(data, contacts=(), conversations=(), events=()))
    app_id = (data.app or {}).get("id_code") or DEFAULT_APP_ID
    now = store._now()
    size = world.size
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        tasks = ((world, app_id, now, a, b) for a, b in _ranges(size.contacts, CHUNK))
        _bulk(store, pool, workers, _contacts, tasks, write_contacts)
        counts["contacts"] = size.contacts
        tasks2 = ((world, now, a, b) for a, b in _ranges(size.n_conversations, CONVERSATION_CHUNK))
        parts = _bulk(store, pool, workers, _conversations, tasks2, write_conversations)
        counts["conversations"] = size.n_conversations
        counts["conversation_parts"] = sum(parts)
        tasks3 = ((world, a, b) for a, b in _ranges(size.contacts, CHUNK))
        events = _bulk(store, pool, workers, _events, tasks3, lambda c, rows: _write_n(c, rows))
        counts["events"] = sum(events)
    return counts


def _write_n(conn: Any, rows: list[Any]) -> int:
    write_events(conn, rows)
    return len(rows)
