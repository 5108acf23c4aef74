"""Tag writes: create or rename a tag, and tag or untag companies.

Tag names are unique without regard to case (the 2.14 description: "Names are case insensitive").
New tags get the next integer id, as Intercom's tag ids are numeric strings.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from intercom_salesforce.sandbox.intercom.store.base import StoreBase
from intercom_salesforce.sandbox.intercom.store.companies import CompanyStore

# A renamed tag shows by name in the conversations carrying it: they render again.
_STALE_TAGGED = (
    "UPDATE conversations SET body = NULL WHERE id IN (SELECT conversation_id "
    "FROM conversation_links WHERE kind = 'tags' AND target_id = ?)"
)
_NEXT_ID = (
    "SELECT COALESCE(MAX(CAST(id AS INTEGER)), 0) + 1 FROM tags WHERE id GLOB '[0-9]*' "
    "AND id NOT GLOB '*[^0-9]*'"
)


class TagStore(StoreBase):
    """Tags as records of their own, and their links to companies."""

    def find_tag(self, name: str) -> dict[str, Any] | None:
        rows = self.query("SELECT doc FROM tags WHERE name = ? COLLATE NOCASE LIMIT 1", (name,))
        return json.loads(rows[0][0]) if rows else None

    def save_tag(self, name: str, tag_id: str | None = None) -> dict[str, Any]:
        """Create a tag called ``name``, or rename tag ``tag_id`` (which must exist)."""

        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            new_id = tag_id or str(conn.execute(_NEXT_ID).fetchone()[0])
            doc = {"type": "tag", "id": new_id, "name": name}
            conn.execute(
                "INSERT OR REPLACE INTO tags (id, name, doc) VALUES (?, ?, ?)",
                (new_id, name, json.dumps(doc)),
            )
            conn.execute(_STALE_TAGGED, (new_id,))
            return doc

        return dict(self._write(run))

    def tag_companies(self, tag_id: str, changes: list[tuple[str, bool]], now: int) -> None:
        """Apply ``(company id, untag)`` pairs in one transaction; each company whose tags
        changed moves its ``updated_at`` to ``now``."""

        def run(conn: sqlite3.Connection) -> None:
            changed = []
            for company_id, untag in changes:
                if untag:
                    cur = conn.execute(
                        "DELETE FROM company_links WHERE company_id = ? AND kind = 'tags' "
                        "AND target_id = ?",
                        (company_id, tag_id),
                    )
                else:
                    cur = conn.execute(
                        "INSERT OR IGNORE INTO company_links (company_id, kind, target_id, "
                        "position) SELECT ?, 'tags', ?, COALESCE(MAX(position), -1) + 1 "
                        "FROM company_links WHERE company_id = ? AND kind = 'tags'",
                        (company_id, tag_id, company_id),
                    )
                if cur.rowcount > 0:
                    changed.append(company_id)
            if changed:
                CompanyStore._touch_companies(conn, changed, now)

        self._write(run)
