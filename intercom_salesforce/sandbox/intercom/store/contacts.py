"""Contacts and their links (tags, notes, companies, segments).

A contact row keeps its rendered single-GET JSON in ``doc`` (``hydrate.py``): the stored document
is that JSON without the embedded lists, so each write renders once and reads serve the text.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from intercom_salesforce.sandbox.intercom.shapes import CONTACT_LINK_KINDS, normalize_contact
from intercom_salesforce.sandbox.intercom.store import hydrate
from intercom_salesforce.sandbox.intercom.store.base import (
    NotFound,
    StoreBase,
    id_list,
    new_hex_id,
)

_INSERT = (
    "INSERT OR REPLACE INTO contacts (id, external_id, email, email_domain, role, name, "
    "phone, owner_id, created_at, updated_at, signed_up_at, last_seen_at, doc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE = (
    "UPDATE contacts SET external_id = ?, email = ?, email_domain = ?, role = ?, "
    "name = ?, phone = ?, owner_id = ?, created_at = ?, updated_at = ?, "
    "signed_up_at = ?, last_seen_at = ?, doc = ? WHERE id = ?"
)
_INSERT_LINK = (
    "INSERT OR IGNORE INTO contact_links (contact_id, kind, target_id, position) "
    "VALUES (?, ?, ?, ?)"
)
_LINKS_OF = (
    "SELECT contact_id, kind, target_id FROM contact_links "
    "WHERE contact_id IN (SELECT value FROM json_each(?)) ORDER BY contact_id, kind, position"
)
_DOCS_OF = "SELECT id, doc FROM contacts WHERE id IN (SELECT value FROM json_each(?))"
# A contact's external_id shows in the conversations it takes part in: they render again.
_STALE_CONVERSATIONS = (
    "UPDATE conversations SET body = NULL WHERE id IN (SELECT conversation_id "
    "FROM conversation_links WHERE kind = 'contacts' "
    "AND target_id IN (SELECT value FROM json_each(?)))"
)


def _link_ids(value: Any) -> list[str]:
    return [str(t["id"] if isinstance(t, dict) else t) for t in value or []]


def contact_row(doc: dict[str, Any], links: dict[str, list[str]]) -> tuple[Any, ...]:
    """The indexed columns and the rendered JSON of one contact."""
    return (
        doc["id"],
        doc["external_id"],
        doc["email"],
        doc["email_domain"],
        doc["role"],
        doc["name"],
        doc["phone"],
        doc["owner_id"],
        doc["created_at"],
        doc["updated_at"],
        doc["signed_up_at"],
        doc["last_seen_at"],
        hydrate.contact_body(doc, links),
    )


def links_of(conn: sqlite3.Connection, contact_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """Ordered link ids per kind of each contact."""
    out: dict[str, dict[str, list[str]]] = {cid: {} for cid in contact_ids}
    if contact_ids:
        for contact_id, kind, target_id in conn.execute(_LINKS_OF, (id_list(contact_ids),)):
            out[contact_id].setdefault(kind, []).append(target_id)
    return out


def rerender(
    conn: sqlite3.Connection, contact_ids: list[str], changes: dict[str, Any] | None = None
) -> int:
    """Render these contacts again from their documents (with ``changes`` applied) and links;
    returns how many exist."""
    if not contact_ids:
        return 0
    docs = conn.execute(_DOCS_OF, (id_list(contact_ids),)).fetchall()
    links = links_of(conn, [r[0] for r in docs])
    rows = []
    for cid, text in docs:
        doc = {**hydrate.contact_doc(json.loads(text)), **(changes or {})}
        rows.append((*contact_row(doc, links[cid])[1:], cid))
    conn.executemany(_UPDATE, rows)
    return len(rows)


ContactRows = tuple[list[tuple[Any, ...]], list[tuple[str, str, str, int]]]


def encode_contacts(records: list[dict[str, Any]], app_id: str, now: int) -> ContactRows:
    """Contact rows and link rows from seed/API dicts (links as id lists): pure, so a bulk seed
    can encode chunks in worker processes."""
    rows = []
    links = []
    for record in records:
        fields = dict(record)
        fields.setdefault("id", new_hex_id())
        fields.setdefault("created_at", now)
        fields.setdefault("updated_at", fields["created_at"])
        doc = normalize_contact(fields, app_id)
        own: dict[str, list[str]] = {}
        for kind in CONTACT_LINK_KINDS:
            ids = list(dict.fromkeys(_link_ids(record.get(kind))))
            if ids:
                own[kind] = ids
            links.extend((doc["id"], kind, target, pos) for pos, target in enumerate(ids))
        rows.append(contact_row(doc, own))
    return rows, links


def write_contacts(conn: sqlite3.Connection, encoded: ContactRows) -> None:
    """Insert or replace encoded contacts."""
    rows, links = encoded
    ids = id_list(r[0] for r in rows)
    # A replaced contact keeps its earlier links too, so it renders again from all of them.
    existing = [r[0] for r in conn.execute(f"SELECT id FROM ({_DOCS_OF})", (ids,))]
    conn.executemany(_INSERT, rows)
    conn.executemany(_INSERT_LINK, links)
    if existing:
        rerender(conn, existing)
        conn.execute(_STALE_CONVERSATIONS, (id_list(existing),))


def insert_contacts(
    conn: sqlite3.Connection, records: list[dict[str, Any]], app_id: str, now: int
) -> None:
    write_contacts(conn, encode_contacts(records, app_id, now))


class ContactStore(StoreBase):
    """Contacts: create, update, links and rendered reads."""

    def create_contact(self, **fields: Any) -> dict[str, Any]:
        """Insert a contact (API field names; ``tags``/``companies``/``notes`` as id lists)."""
        now = self._now()
        fields.setdefault("id", new_hex_id())
        fields.setdefault("created_at", now)
        fields.setdefault("updated_at", fields["created_at"])
        app_id = self._app_id()
        self._write(lambda c: insert_contacts(c, [fields], app_id, now))
        return self.get_contact(fields["id"], single=True)  # type: ignore[return-value]

    def update_contact(self, contact_id: str, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into a contact; ``custom_attributes`` merge key by key.

        ``updated_at`` moves to now unless given, as a PUT does on the real API.
        """
        now = self._now()

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT doc FROM contacts WHERE id = ?", (contact_id,)).fetchone()
            if row is None:
                raise NotFound(contact_id)
            doc = hydrate.contact_doc(json.loads(row[0]))
            merged = dict(doc)
            for key, value in fields.items():
                if key == "custom_attributes" and value is not None:
                    merged["custom_attributes"] = {**doc["custom_attributes"], **value}
                elif key in CONTACT_LINK_KINDS:
                    self._replace_links(conn, contact_id, key, value)
                else:
                    merged[key] = value
            if "email" in fields and "email_domain" not in fields:
                merged["email_domain"] = None
            if "updated_at" not in fields:
                merged["updated_at"] = now
            new_doc = normalize_contact(merged, doc["workspace_id"])
            links = links_of(conn, [contact_id])[contact_id]
            conn.execute(_UPDATE, (*contact_row(new_doc, links)[1:], contact_id))
            if new_doc["external_id"] != doc["external_id"]:
                conn.execute(_STALE_CONVERSATIONS, (id_list([contact_id]),))

        self._write(run)
        return self.get_contact(contact_id, single=True)  # type: ignore[return-value]

    @staticmethod
    def _replace_links(conn: sqlite3.Connection, contact_id: str, kind: str, value: Any) -> None:
        conn.execute(
            "DELETE FROM contact_links WHERE contact_id = ? AND kind = ?", (contact_id, kind)
        )
        conn.executemany(
            "INSERT INTO contact_links (contact_id, kind, target_id, position) VALUES (?, ?, ?, ?)",
            [(contact_id, kind, str(t), i) for i, t in enumerate(value or [])],
        )

    @staticmethod
    def _touch_contacts(conn: sqlite3.Connection, ids: list[str], ts: int) -> int:
        """Move ``updated_at`` of a few contacts (control API, mutate-while-paging fault)."""
        found = {r[0] for r in conn.execute(f"SELECT id FROM ({_DOCS_OF})", (id_list(ids),))}
        rerender(conn, list(found), {"updated_at": ts})
        return sum(1 for i in ids if i in found)

    def contact_links(self, contact_ids: list[str]) -> dict[str, dict[str, list[str]]]:
        with self._lock:
            return links_of(self._conn, contact_ids)

    def contact_bodies(self, ids: list[str], single: bool = False) -> list[str]:
        """Contacts' JSON texts in the order of ``ids`` (missing ids are skipped)."""
        if not ids:
            return []
        rows = dict(self.query(_DOCS_OF, (id_list(ids),)))
        return [hydrate.contact_text(rows[i], single) for i in ids if i in rows]

    def contacts_by_ids(self, ids: list[str], single: bool = False) -> list[dict[str, Any]]:
        """Rendered contacts in the order of ``ids`` (missing ids are skipped)."""
        return [json.loads(text) for text in self.contact_bodies(ids, single)]

    def get_contact(self, contact_id: str, single: bool = True) -> dict[str, Any] | None:
        found = self.contacts_by_ids([contact_id], single=single)
        return found[0] if found else None

    def find_contact_by_external_id(self, external_id: str) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT id FROM contacts WHERE external_id = ? AND role = 'user' LIMIT 1",
            (external_id,),
        )
        return self.get_contact(rows[0][0]) if rows else None

    def contact_exists(self, contact_id: str) -> bool:
        return bool(self.query("SELECT 1 FROM contacts WHERE id = ?", (contact_id,)))

    def link_ids(self, contact_id: str, kind: str) -> list[str]:
        rows = self.query(
            "SELECT target_id FROM contact_links WHERE contact_id = ? AND kind = ? "
            "ORDER BY position",
            (contact_id, kind),
        )
        return [r[0] for r in rows]

    def add_contact_link(self, contact_id: str, kind: str, target_id: str) -> bool:
        """Attach a tag/company to a contact; returns False if it was already attached."""

        def run(conn: sqlite3.Connection) -> bool:
            pos = conn.execute(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM contact_links "
                "WHERE contact_id = ? AND kind = ?",
                (contact_id, kind),
            ).fetchone()[0]
            cur = conn.execute(_INSERT_LINK, (contact_id, kind, target_id, pos))
            if cur.rowcount > 0:
                rerender(conn, [contact_id])
            return cur.rowcount > 0

        return bool(self._write(run))

    def remove_contact_link(self, contact_id: str, kind: str, target_id: str) -> bool:
        """Detach a tag/company from a contact (and forget when a tag was applied); returns False
        if it was not attached."""

        def run(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM contact_links WHERE contact_id = ? AND kind = ? AND target_id = ?",
                (contact_id, kind, target_id),
            )
            if kind == "tags":
                conn.execute(
                    "DELETE FROM contact_taggings WHERE contact_id = ? AND tag_id = ?",
                    (contact_id, target_id),
                )
            if cur.rowcount > 0:
                rerender(conn, [contact_id])
            return cur.rowcount > 0

        return bool(self._write(run))

    def record_tagging(self, contact_id: str, tag_id: str, applied_at: int, admin_id: str) -> None:
        """Remember when and by whom a tag was applied, for ``GET /contacts/{id}/tags``."""
        self._write(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO contact_taggings VALUES (?, ?, ?, ?)",
                (contact_id, tag_id, applied_at, admin_id),
            )
        )

    def taggings(self, contact_id: str) -> dict[str, tuple[int, str]]:
        """``tag id → (applied_at, admin id)`` of the tags applied to this contact through the API."""
        rows = self.query(
            "SELECT tag_id, applied_at, admin_id FROM contact_taggings WHERE contact_id = ?",
            (contact_id,),
        )
        return {tag_id: (int(at), admin_id) for tag_id, at, admin_id in rows}
