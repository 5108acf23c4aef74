"""Data events: per contact, newest first, summarised by name."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from intercom_salesforce.sandbox.intercom.store.base import StoreBase

_KEYS = ("contact_id", "user_id", "email")


EventRow = tuple[Any, Any, Any, int, str]


def encode_events(events: list[dict[str, Any]]) -> list[EventRow]:
    return [
        (
            e.get("intercom_user_id"),
            e.get("user_id"),
            e.get("email"),
            int(e["created_at"]),
            json.dumps({"type": "event", **e}),
        )
        for e in events
    ]


def write_events(conn: sqlite3.Connection, rows: list[EventRow]) -> None:
    conn.executemany(
        "INSERT INTO events (contact_id, user_id, email, created_at, doc) VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def insert_events(conn: sqlite3.Connection, events: list[dict[str, Any]]) -> None:
    write_events(conn, encode_events(events))


class EventStore(StoreBase):
    """Reads of the events table by one of the contact keys."""

    def events_for(
        self, column: str, value: str, since: int, before: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Events of one contact, newest first, no older than ``since``."""
        if column not in _KEYS:
            raise ValueError(column)
        sql = f"SELECT doc FROM events WHERE {column} = ? AND created_at >= ?"  # noqa: S608
        args: list[Any] = [value, since]
        if before is not None:
            sql += " AND created_at < ?"
            args.append(before)
        sql += " ORDER BY created_at DESC, seq DESC LIMIT ?"
        args.append(limit)
        return [json.loads(r[0]) for r in self.query(sql, args)]

    def event_summaries(self, column: str, value: str) -> list[dict[str, Any]]:
        if column not in _KEYS:
            raise ValueError(column)
        rows = self.query(
            f"SELECT json_extract(doc, '$.event_name'), MIN(created_at), MAX(created_at), "  # noqa: S608
            f"COUNT(*) FROM events WHERE {column} = ? GROUP BY 1 ORDER BY 1",
            (value,),
        )
        return [{"name": r[0], "first": r[1], "last": r[2], "count": r[3]} for r in rows]
