"""Data attributes: the workspace's attribute catalogue, which also types custom-attribute search."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from intercom_salesforce.sandbox.intercom.store.base import StoreBase

_INSERT = "INSERT INTO data_attributes (model, name, full_name, doc) VALUES (?, ?, ?, ?)"


class DataAttributeStore(StoreBase):
    """Seeded and created data attributes, in creation order."""

    def custom_attribute_types(self, model: str) -> dict[str, str]:
        """``name → data_type`` of custom data attributes (drives search type checks); held until
        the next write, since every search asks."""
        return self.derived("custom_attribute_types", [model], self._read_custom_types, {})[model]

    def _read_custom_types(self, models: list[str]) -> dict[str, dict[str, str]]:
        return {
            model: dict(
                self.query(
                    "SELECT name, json_extract(doc, '$.data_type') FROM data_attributes "
                    "WHERE model = ? AND json_extract(doc, '$.custom') = 1",
                    (model,),
                )
            )
            for model in models
        }

    def data_attributes(self, model: str | None, include_archived: bool) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM data_attributes"
        args: list[Any] = []
        if model:
            sql += " WHERE model = ?"
            args.append(model)
        rows = [json.loads(r[0]) for r in self.query(sql + " ORDER BY seq", args)]
        return [r for r in rows if include_archived or not r.get("archived")]

    def insert_data_attribute(self, attr: dict[str, Any]) -> dict[str, Any]:
        """Store a seeded attribute as given (``full_name`` defaults to ``name``)."""

        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            doc = {"type": "data_attribute", **attr}
            doc.setdefault("full_name", doc["name"])
            cur = conn.execute(
                _INSERT, (doc["model"], doc["name"], doc["full_name"], json.dumps(doc))
            )
            return {"seq": cur.lastrowid, **doc}

        return self._write(run)

    def create_data_attribute(self, attr: dict[str, Any]) -> dict[str, Any]:
        """Insert a custom attribute; its ``id`` is the next integer."""

        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            next_id = conn.execute(
                "SELECT COALESCE(MAX(CAST(json_extract(doc, '$.id') AS INTEGER)), 0) + 1 "
                "FROM data_attributes"
            ).fetchone()[0]
            doc = {"id": int(next_id), "type": "data_attribute", **attr}
            conn.execute(_INSERT, (doc["model"], doc["name"], doc["full_name"], json.dumps(doc)))
            return doc

        return self._write(run)
