"""Workspace reference data: admins, teams, tags and segments, stored as their API documents."""

from __future__ import annotations

import json
from typing import Any

from intercom_salesforce.sandbox.intercom.store.base import StoreBase

REFERENCE_TABLES = ("admins", "teams", "tags", "segments")
_TYPE_NAMES = {"admins": "admin", "teams": "team", "segments": "segment", "tags": "tag"}


def reference_doc(kind: str, record: dict[str, Any]) -> dict[str, Any]:
    """The stored document of an admin, team, tag or segment, with the defaults the API shows."""
    doc = {"type": _TYPE_NAMES[kind], **record, "id": str(record["id"])}
    if kind == "admins":
        doc.setdefault("team_ids", [])
        doc.setdefault("away_mode_enabled", False)
        doc.setdefault("away_mode_reassign", False)
        doc.setdefault("has_inbox_seat", True)
    if kind == "teams":
        doc.setdefault("admin_ids", [])
    return doc


class WorkspaceStore(StoreBase):
    """Reads of the reference tables."""

    def all_docs(self, table: str) -> list[dict[str, Any]]:
        if table not in REFERENCE_TABLES:
            raise ValueError(table)
        return [json.loads(r[0]) for r in self.query(f"SELECT doc FROM {table} ORDER BY rowid")]  # noqa: S608

    def get_doc(self, table: str, record_id: str) -> dict[str, Any] | None:
        if table not in REFERENCE_TABLES:
            raise ValueError(table)
        rows = self.query(f"SELECT doc FROM {table} WHERE id = ?", (record_id,))  # noqa: S608
        return json.loads(rows[0][0]) if rows else None

    def segment_count(self, segment_id: str) -> int:
        return int(
            self.query(
                "SELECT COUNT(*) FROM contact_links WHERE kind = 'segments' AND target_id = ?",
                (segment_id,),
            )[0][0]
        )
