"""Companies: rendered per read, since ``user_count`` moves with every contact attached."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from intercom_salesforce.sandbox.intercom.shapes import normalize_company
from intercom_salesforce.sandbox.intercom.store import hydrate
from intercom_salesforce.sandbox.intercom.store.base import StoreBase, id_list, new_hex_id

_LINKS = (
    "SELECT l.company_id, l.kind, l.target_id, t.doc, s.doc FROM company_links l "
    "LEFT JOIN tags t ON l.kind = 'tags' AND t.id = l.target_id "
    "LEFT JOIN segments s ON l.kind = 'segments' AND s.id = l.target_id "
    "WHERE l.company_id IN (SELECT value FROM json_each(?)) "
    "ORDER BY l.company_id, l.kind, l.position"
)
_USER_COUNTS = (
    "SELECT l.target_id, COUNT(*) FROM contact_links l "
    "JOIN contacts c ON c.id = l.contact_id AND c.role = 'user' "
    "WHERE l.kind = 'companies' AND l.target_id IN (SELECT value FROM json_each(?)) "
    "GROUP BY l.target_id"
)


def insert_companies(
    conn: sqlite3.Connection, records: list[dict[str, Any]], app_id: str, now: int
) -> None:
    rows = []
    links = []
    for record in records:
        fields = dict(record)
        fields.setdefault("id", new_hex_id())
        doc = normalize_company(fields, app_id, now)
        rows.append(
            (
                doc["id"],
                doc["company_id"],
                doc.get("name"),
                doc["created_at"],
                doc["updated_at"],
                doc.get("last_request_at"),
                json.dumps(doc),
            )
        )
        for kind in ("tags", "segments"):
            value = record.get(kind) or []
            if isinstance(value, dict):  # API shape {type: tag.list, tags: [...]}
                value = value.get(kind) or []
            for pos, target in enumerate(value):
                target_id = target["id"] if isinstance(target, dict) else target
                links.append((doc["id"], kind, str(target_id), pos))
    conn.executemany(
        "INSERT OR REPLACE INTO companies (id, company_id, name, created_at, updated_at, "
        "last_request_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.executemany(
        "INSERT OR IGNORE INTO company_links (company_id, kind, target_id, position) "
        "VALUES (?, ?, ?, ?)",
        links,
    )


def _tag(target_id: str, tag_doc: str | None) -> dict[str, Any]:
    tag = json.loads(tag_doc) if tag_doc else {"name": None}
    return {"type": "tag", "id": target_id, "name": tag.get("name")}


def _segment(target_id: str, seg_doc: str | None) -> dict[str, Any]:
    seg = json.loads(seg_doc) if seg_doc else {"type": "segment", "id": target_id}
    seg.pop("count", None)
    return seg


class CompanyStore(StoreBase):
    """Companies and their tag/segment links."""

    def create_company(self, **fields: Any) -> dict[str, Any]:
        now = self._now()
        fields.setdefault("id", new_hex_id())
        app_id = self._app_id()
        self._write(lambda c: insert_companies(c, [fields], app_id, now))
        return self.get_company(fields["id"])  # type: ignore[return-value]

    def companies_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        arg = (id_list(ids),)
        docs = dict(
            self.query(
                "SELECT id, doc FROM companies WHERE id IN (SELECT value FROM json_each(?))", arg
            )
        )
        tags: dict[str, list[dict[str, Any]]] = {}
        segs: dict[str, list[dict[str, Any]]] = {}
        for company_id, kind, target_id, tag_doc, seg_doc in self.query(_LINKS, arg):
            if kind == "tags":
                tags.setdefault(company_id, []).append(_tag(target_id, tag_doc))
            else:
                segs.setdefault(company_id, []).append(_segment(target_id, seg_doc))
        counts = self.derived(
            "company_user_count",
            ids,
            lambda missing: dict(self.query(_USER_COUNTS, (id_list(missing),))),
            0,
        )
        return [
            hydrate.render_company(
                json.loads(docs[i]), tags.get(i, []), segs.get(i, []), counts.get(i, 0)
            )
            for i in ids
            if i in docs
        ]

    def get_company(self, company_id: str) -> dict[str, Any] | None:
        found = self.companies_by_ids([company_id])
        return found[0] if found else None

    def find_company(self, *, company_id: str | None = None, name: str | None = None) -> str | None:
        if company_id is not None:
            rows = self.query(
                "SELECT id FROM companies WHERE company_id = ? LIMIT 1", (company_id,)
            )
        else:
            rows = self.query("SELECT id FROM companies WHERE name = ? LIMIT 1", (name,))
        return rows[0][0] if rows else None

    def company_page(
        self,
        where: str,
        params: list[Any],
        order_sql: str,
        offset: int,
        limit: int,
        *,
        count: bool = True,
    ) -> tuple[list[str], int | None]:
        """One page of company ids and, when ``count``, how many match in all. A scroll page
        carries no ``total_count``: counting what remains on each of its pages would make a
        scroll through the workspace cost the square of its size."""
        total = self.count_where("companies", where, params) if count else None
        rows = self.query(
            f"SELECT id FROM companies WHERE ({where}) ORDER BY {order_sql} "  # noqa: S608
            f"LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        return [r[0] for r in rows], total

    def company_contact_ids(
        self, company_id: str, offset: int, limit: int
    ) -> tuple[list[str], int]:
        total = self.query(
            "SELECT COUNT(*) FROM contact_links WHERE kind = 'companies' AND target_id = ?",
            (company_id,),
        )[0][0]
        rows = self.query(
            "SELECT contact_id FROM contact_links WHERE kind = 'companies' AND target_id = ? "
            "ORDER BY contact_id LIMIT ? OFFSET ?",
            (company_id, limit, offset),
        )
        return [r[0] for r in rows], int(total)

    def update_company(self, company_id: str, fields: dict[str, Any], now: int) -> None:
        """Merge ``fields`` into a company (``custom_attributes`` key by key; ``null`` clears
        one) and move its ``updated_at`` to ``now``."""

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT doc FROM companies WHERE id = ?", (company_id,)).fetchone()
            doc = json.loads(row[0])
            merged = {**doc, **{k: v for k, v in fields.items() if k != "custom_attributes"}}
            if fields.get("custom_attributes") is not None:
                merged["custom_attributes"] = {
                    **doc["custom_attributes"],
                    **fields["custom_attributes"],
                }
            merged["updated_at"] = now
            new_doc = normalize_company(merged, doc["app_id"], now)
            conn.execute(
                "UPDATE companies SET name = ?, updated_at = ?, last_request_at = ?, doc = ? "
                "WHERE id = ?",
                (
                    new_doc.get("name"),
                    new_doc["updated_at"],
                    new_doc.get("last_request_at"),
                    json.dumps(new_doc),
                    company_id,
                ),
            )

        self._write(run)

    @staticmethod
    def _touch_companies(conn: sqlite3.Connection, ids: list[str], ts: int) -> None:
        """Move ``updated_at`` of companies (a tag applied or removed)."""
        conn.execute(
            "UPDATE companies SET updated_at = ?, doc = json_set(doc, '$.updated_at', ?) "
            "WHERE id IN (SELECT value FROM json_each(?))",
            (ts, ts, id_list(ids)),
        )

    def plan_named(self, name: str) -> dict[str, Any]:
        """The plan object for a plan written by name: the id other companies on that plan
        carry, or the next free one (plan ids are numeric strings)."""
        rows = self.query(
            "SELECT json_extract(doc, '$.plan.id') FROM companies "
            "WHERE json_extract(doc, '$.plan.name') = ? LIMIT 1",
            (name,),
        )
        if rows and rows[0][0] is not None:
            plan_id = str(rows[0][0])
        else:
            top = self.query(
                "SELECT MAX(CAST(json_extract(doc, '$.plan.id') AS INTEGER)) FROM companies"
            )[0][0]
            plan_id = str(int(top or 0) + 1)
        return {"type": "plan", "id": plan_id, "name": name}
