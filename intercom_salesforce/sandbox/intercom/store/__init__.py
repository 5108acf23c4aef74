"""SQLite store behind the emulator, one module per entity behind a thin facade.

``IntercomStore`` is what the resource modules, the runtime and the tests use; its methods live in
the entity stores it combines. Rows keep API-shaped JSON documents plus the indexed columns search,
sort and joins use (``schema.sql``); searches run as SQL (``search.py``) so large worlds stay fast,
and contacts and conversations keep their rendered JSON (``hydrate.py``) so pages are served as
stored text.

* ``base.py`` — connection, lock, transactions, counts and keyset paging
* ``hydrate.py`` — stored rows → API JSON (the one renderer)
* ``contacts.py``, ``companies.py``, ``conversations.py`` (with parts), ``workspace.py`` (admins,
  teams, tags, segments), ``tags.py`` (tag writes), ``data_attributes.py``, ``events.py`` — one
  store per entity
* ``loader.py`` — the chunked world load behind ``sandbox seed``
"""

from __future__ import annotations

import sqlite3

from intercom_salesforce.sandbox.intercom.shapes import CONTACT_WRITABLE
from intercom_salesforce.sandbox.intercom.store import loader
from intercom_salesforce.sandbox.intercom.store.base import NotFound, new_hex_id
from intercom_salesforce.sandbox.intercom.store.companies import CompanyStore
from intercom_salesforce.sandbox.intercom.store.contacts import ContactStore
from intercom_salesforce.sandbox.intercom.store.conversations import (
    PARTS_CAP,
    ConversationStore,
)
from intercom_salesforce.sandbox.intercom.store.data_attributes import DataAttributeStore
from intercom_salesforce.sandbox.intercom.store.events import EventStore
from intercom_salesforce.sandbox.intercom.store.tags import TagStore
from intercom_salesforce.sandbox.intercom.store.workspace import WorkspaceStore
from intercom_salesforce.sandbox.intercom.world_types import IntercomWorldData


class IntercomStore(
    ContactStore,
    CompanyStore,
    ConversationStore,
    WorkspaceStore,
    DataAttributeStore,
    EventStore,
    TagStore,
):
    """Persistent state of one emulated workspace."""

    def load_world(self, world: IntercomWorldData) -> dict[str, int]:
        """Stream a world into the store in chunks (see ``loader.py``)."""
        return loader.load_world(self, world)

    def touch(self, entity: str, ids: list[str], ts: int | None = None) -> int:
        """Set ``updated_at`` of contacts or conversations to ``ts`` (default now)."""
        when = self._now() if ts is None else int(ts)
        touch = {"contacts": self._touch_contacts, "conversations": self._touch_conversations}[
            entity
        ]

        def run(conn: sqlite3.Connection) -> int:
            return touch(conn, ids, when)

        return int(self._write(run))


__all__ = ["CONTACT_WRITABLE", "PARTS_CAP", "IntercomStore", "NotFound", "new_hex_id"]
