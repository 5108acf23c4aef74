"""A durable queue of verified webhook notifications, read by the webhook sensor.

SQLite (one small file under ``var/``): the receiver and the sensor are different processes, and
delivery is at-least-once, so notifications are deduplicated on their ``id``.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id          TEXT PRIMARY KEY,
    topic       TEXT NOT NULL,
    item_type   TEXT,
    item_id     TEXT,
    updated_at  INTEGER,
    received_at REAL NOT NULL,
    consumed_at REAL,
    body        TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Notification:
    id: str
    topic: str
    item_type: str | None
    item_id: str | None
    updated_at: int | None


def _epoch(value: Any) -> int | None:
    """Items carry Unix seconds, or ISO-8601 strings in newer webhook payloads."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


class WebhookQueue:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def put(self, envelope: dict[str, Any]) -> bool:
        """Queue one notification; False when it was already queued (a redelivery)."""
        item = (envelope.get("data") or {}).get("item") or {}
        with self._conn() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                (
                    envelope["id"],
                    envelope.get("topic", ""),
                    item.get("type"),
                    str(item["id"]) if item.get("id") is not None else None,
                    _epoch(item.get("updated_at")) or _epoch(envelope.get("created_at")),
                    time.time(),
                    json.dumps(envelope),
                ),
            )
            return cur.rowcount == 1

    def take(self, limit: int = 500) -> list[Notification]:
        """The oldest unconsumed notifications, marked consumed."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT id, topic, item_type, item_id, updated_at FROM notifications "
                "WHERE consumed_at IS NULL ORDER BY received_at LIMIT ?",
                (limit,),
            ).fetchall()
            conn.executemany(
                "UPDATE notifications SET consumed_at = ? WHERE id = ?",
                [(time.time(), r[0]) for r in rows],
            )
        return [Notification(*r) for r in rows]
