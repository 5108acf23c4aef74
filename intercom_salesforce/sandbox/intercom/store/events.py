"""Data events: per contact, newest first, summarised by name.

An event belongs to a contact, not to the identifiers it was sent with: rows keep only the
contact's id, and ``GET /events`` resolves whichever identifier it is given (``intercom_user_id``,
``user_id`` or ``email``) to that contact first. So the three forms list the same events, an email
finds them whatever its case or padding, a changed email finds them at once, and each event shows
the identifiers its contact has now: a lead, which has no ``user_id``, shows none.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from intercom_salesforce.sandbox.intercom.store.base import StoreBase

IDENTITY_KEYS = ("intercom_user_id", "user_id", "email")
"""The contact's identifiers an event carries: rendered from the contact, never stored."""

EventRow = tuple[Any, int, str]

_CONTACT_BY = {
    # The user_id and email forms name users: ``intercom_user_id`` is the form that lists leads
    # (2.14 ``GET /events``; reference §5). An email is matched trimmed and without case.
    "intercom_user_id": "id = ?",
    "user_id": "external_id = ? AND role = 'user'",
    "email": "lower(trim(email)) = lower(?) AND role = 'user'",
}


@dataclass(frozen=True)
class EventContact:
    """The identifiers of the contact whose events are read."""

    id: str
    user_id: str | None
    email: str | None

    def identity(self) -> dict[str, str]:
        """The identifier fields an event of this contact carries: only those it has."""
        ident = {"intercom_user_id": self.id}
        if self.user_id:
            ident["user_id"] = self.user_id
        if self.email:
            ident["email"] = self.email
        return ident


def encode_events(events: list[dict[str, Any]]) -> list[EventRow]:
    """Rows of events that name their contact by ``intercom_user_id``; identifiers are dropped
    from the stored document (reads render the contact's)."""
    return [
        (
            e.get("intercom_user_id"),
            int(e["created_at"]),
            json.dumps({"type": "event", **{k: v for k, v in e.items() if k not in IDENTITY_KEYS}}),
        )
        for e in events
    ]


def write_events(conn: sqlite3.Connection, rows: list[EventRow]) -> None:
    conn.executemany("INSERT INTO events (contact_id, created_at, doc) VALUES (?, ?, ?)", rows)


def _contact_id(conn: sqlite3.Connection, event: dict[str, Any]) -> str | None:
    """The contact an event names, by ``intercom_user_id`` or else as ``GET /events`` would
    resolve its ``user_id`` or ``email``; None when it names nobody."""
    if event.get("intercom_user_id"):
        return str(event["intercom_user_id"])
    for key in ("user_id", "email"):
        value = _lookup_value(key, event.get(key))
        if value:
            sql = f"SELECT id FROM contacts WHERE {_CONTACT_BY[key]} ORDER BY id LIMIT 1"  # noqa: S608
            row = conn.execute(sql, (value,)).fetchone()
            if row:
                return str(row[0])
    return None


def insert_events(conn: sqlite3.Connection, events: list[dict[str, Any]]) -> None:
    """Load events of a world file, which may name their contact by any identifier."""
    named = [{**e, "intercom_user_id": _contact_id(conn, e)} for e in events]
    write_events(conn, encode_events(named))


def _lookup_value(key: str, value: Any) -> str:
    text = "" if value is None else str(value)
    return text.strip() if key == "email" else text


class EventStore(StoreBase):
    """Reads of the events table, by the contact an identifier resolves to."""

    def event_contact(self, key: str, value: str) -> EventContact | None:
        """The contact ``key`` (``intercom_user_id``, ``user_id`` or ``email``) names, if any."""
        lookup = _lookup_value(key, value)
        if not lookup:
            return None
        rows = self.query(
            f"SELECT id, external_id, email FROM contacts WHERE {_CONTACT_BY[key]} "  # noqa: S608
            "ORDER BY id LIMIT 1",
            (lookup,),
        )
        return EventContact(rows[0][0], rows[0][1], rows[0][2]) if rows else None

    def events_for(
        self, contact: EventContact, since: int, before: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Events of one contact, newest first, no older than ``since``, each carrying the
        contact's identifiers."""
        sql = "SELECT doc FROM events WHERE contact_id = ? AND created_at >= ?"
        args: list[Any] = [contact.id, since]
        if before is not None:
            sql += " AND created_at < ?"
            args.append(before)
        sql += " ORDER BY created_at DESC, seq DESC LIMIT ?"
        args.append(limit)
        identity = contact.identity()
        return [_with_identity(json.loads(r[0]), identity) for r in self.query(sql, args)]

    def event_summaries(self, contact: EventContact) -> list[dict[str, Any]]:
        """Per event name: first and last time and count, older events included."""
        rows = self.query(
            "SELECT json_extract(doc, '$.event_name'), MIN(created_at), MAX(created_at), "
            "COUNT(*) FROM events WHERE contact_id = ? GROUP BY 1 ORDER BY 1",
            (contact.id,),
        )
        return [{"name": r[0], "first": r[1], "last": r[2], "count": r[3]} for r in rows]


def _with_identity(doc: dict[str, Any], identity: dict[str, str]) -> dict[str, Any]:
    """``doc`` with the contact's identifiers in place of any stored ones (files written before
    identifiers were dropped still hold copies)."""
    out = {k: v for k, v in doc.items() if k not in IDENTITY_KEYS}
    out.update(identity)
    return out
