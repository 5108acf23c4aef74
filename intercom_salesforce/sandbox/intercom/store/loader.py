"""Stream a generated world into the store, chunk by chunk, so a million contacts load in bounded
memory: the world yields records lazily and each chunk is one transaction.

Contacts reference companies and tags by id; nothing here checks referential integrity, which keeps
the load single-pass. Bodies render as rows go in (``hydrate.py``), so the first read is as fast
as any other.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from intercom_salesforce.sandbox.intercom.store.base import DEFAULT_APP_ID, id_list
from intercom_salesforce.sandbox.intercom.store.companies import insert_companies
from intercom_salesforce.sandbox.intercom.store.contacts import insert_contacts
from intercom_salesforce.sandbox.intercom.store.conversations import insert_conversations
from intercom_salesforce.sandbox.intercom.store.events import insert_events
from intercom_salesforce.sandbox.intercom.store.workspace import reference_doc
from intercom_salesforce.sandbox.intercom.world_types import IntercomWorldData

if TYPE_CHECKING:
    from intercom_salesforce.sandbox.intercom.store import IntercomStore

CHUNK = 5000
CONVERSATION_CHUNK = 1000
# A tag renamed by a later load shows in the conversations carrying it: they render again.
_STALE_TAGGED = (
    "UPDATE conversations SET body = NULL WHERE id IN (SELECT conversation_id "
    "FROM conversation_links WHERE kind = 'tags' "
    "AND target_id IN (SELECT value FROM json_each(?)))"
)


def chunks(rows: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def _insert_reference(conn: sqlite3.Connection, kind: str, chunk: list[dict[str, Any]]) -> None:
    docs = [reference_doc(kind, r) for r in chunk]
    if kind == "tags":
        conn.executemany(
            "INSERT OR REPLACE INTO tags (id, name, doc) VALUES (?, ?, ?)",
            [(d["id"], d.get("name"), json.dumps(d)) for d in docs],
        )
        conn.execute(_STALE_TAGGED, (id_list(d["id"] for d in docs),))
        return
    conn.executemany(
        f"INSERT OR REPLACE INTO {kind} (id, doc) VALUES (?, ?)",  # noqa: S608 - fixed names
        [(d["id"], json.dumps(d)) for d in docs],
    )


def _load(store: IntercomStore, rows: Iterable[Any], size: int, insert: Any) -> int:
    """Insert ``rows`` a chunk per transaction; ``insert(conn, chunk)`` returns a count or None."""
    n = 0
    for chunk in chunks(rows, size):
        result = store._write(lambda c, chunk=chunk: insert(c, chunk))
        n += result if isinstance(result, int) else len(chunk)
    return n


def load_world(store: IntercomStore, world: IntercomWorldData) -> dict[str, int]:
    """Load every entity of ``world``; returns the number of records per entity."""
    with store.bulk_load():
        return _load_world(store, world)


def _load_world(store: IntercomStore, world: IntercomWorldData) -> dict[str, int]:
    counts: dict[str, int] = {}
    app_id = (world.app or {}).get("id_code") or DEFAULT_APP_ID
    now = store._now()
    if world.app:
        store._write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('app', ?)",
                (json.dumps(world.app),),
            )
        )
    for kind in ("admins", "teams", "segments", "tags"):
        counts[kind] = _load(
            store,
            getattr(world, kind),
            CHUNK,
            lambda c, chunk, kind=kind: _insert_reference(c, kind, chunk),
        )
    n = 0
    for attr in world.data_attributes:
        store.insert_data_attribute(dict(attr))
        n += 1
    counts["data_attributes"] = n
    counts["companies"] = _load(
        store, world.companies, CHUNK, lambda c, chunk: insert_companies(c, chunk, app_id, now)
    )
    counts["contacts"] = _load(
        store, world.contacts, CHUNK, lambda c, chunk: insert_contacts(c, chunk, app_id, now)
    )
    parts = [0]

    def conversations(conn: sqlite3.Connection, chunk: list[dict[str, Any]]) -> None:
        parts[0] += insert_conversations(conn, chunk, now)

    counts["conversations"] = _load(store, world.conversations, CONVERSATION_CHUNK, conversations)
    counts["conversation_parts"] = parts[0]
    counts["events"] = _load(store, world.events, CHUNK, insert_events)
    return counts
