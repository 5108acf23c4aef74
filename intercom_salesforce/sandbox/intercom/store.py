"""SQLite store behind the emulator: API-shaped JSON documents plus indexed columns.

One connection in WAL mode serves the threaded server; a re-entrant lock serialises access, which
keeps SQLite's single-writer rule trivially true and costs little at emulator request rates.
Searches run as SQL (see ``search.py``) so 100k-contact worlds stay fast.
"""

from __future__ import annotations

import json
import pathlib
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from intercom_salesforce.sandbox.intercom.shapes import (
    CONTACT_WRITABLE,
    normalize_company,
    normalize_contact,
    normalize_conversation,
    normalize_part,
    render_company,
    render_contact,
    render_conversation,
)
from intercom_salesforce.sandbox.intercom.world_types import IntercomWorldData

CHUNK = 5000
PARTS_CAP = 500
"""``GET /conversations/{id}`` returns only the 500 most recent parts (reference §4.1)."""
_SCHEMA = (pathlib.Path(__file__).with_name("schema.sql")).read_text()
_TABLES = (
    "meta",
    "contacts",
    "contact_links",
    "companies",
    "company_links",
    "conversations",
    "conversation_links",
    "conversation_parts",
    "admins",
    "teams",
    "tags",
    "segments",
    "data_attributes",
    "events",
)
_NOT_NULL_SORTS = frozenset(
    {
        "contacts.created_at",
        "contacts.updated_at",
        "conversations.created_at",
        "conversations.updated_at",
        "conversations.updated_at * 1000",
    }
)
_WORD_RE = re.compile(r"[\w']+", re.UNICODE)
_TAG_RE = re.compile(r"<[^>]+>")
_COUNT_ENTITIES = {
    "contacts": "contacts",
    "companies": "companies",
    "conversations": "conversations",
    "conversation_parts": "conversation_parts",
    "admins": "admins",
    "teams": "teams",
    "tags": "tags",
    "segments": "segments",
    "data_attributes": "data_attributes",
    "events": "events",
}


def _has_word(text: Any, word: Any) -> int:
    """SQL function for ``source.body``: Intercom matches each word of the body (§4.1)."""
    if not isinstance(text, str) or not isinstance(word, str):
        return 0
    words = {w.lower() for w in _WORD_RE.findall(_TAG_RE.sub(" ", text))}
    return int(word.lower() in words)


def _chunks(rows: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def new_hex_id() -> str:
    """24-hex ids like Intercom's contact and company ids."""
    return secrets.token_hex(12)


class NotFound(KeyError):
    """A referenced record does not exist."""


class IntercomStore:
    """Persistent state of one emulated workspace."""

    def __init__(self, path: pathlib.Path, clock: Callable[[], float] = time.time) -> None:
        self.path = pathlib.Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.create_function("ic_has_word", 2, _has_word, deterministic=True)
        self._conn.executescript(_SCHEMA)
        self._custom_types: dict[str, dict[str, str]] = {}
        self._counts: dict[tuple[Any, ...], tuple[tuple[int, int], int]] = {}
        self._custom_types_version: tuple[int, int] = (-1, -1)
        self._version = 0

    # --- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _now(self) -> int:
        return int(self.clock())

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._conn)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
            self._version += 1
            self._custom_types.clear()
            return result

    def _data_version(self) -> tuple[int, int]:
        """Changes whenever anyone commits: this connection (counter) or another one, such as a
        second ``IntercomStore`` on the same file (SQLite's ``PRAGMA data_version``)."""
        other = self._conn.execute("PRAGMA data_version").fetchone()[0]
        return self._version, int(other)

    def reset(self) -> None:
        """Drop all data (the schema stays)."""

        def run(conn: sqlite3.Connection) -> None:
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

        self._write(run)

    def count(self, entity: str) -> int:
        table = _COUNT_ENTITIES[entity]
        return int(self.query(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608

    # --- app identity -----------------------------------------------------------------------

    def app_info(self) -> dict[str, Any]:
        rows = self.query("SELECT value FROM meta WHERE key = 'app'")
        return json.loads(rows[0][0]) if rows else {}

    # --- bulk load --------------------------------------------------------------------------

    def load_world(self, world: IntercomWorldData) -> dict[str, int]:
        """Stream a world into the store in chunks, so a million contacts load in bounded memory.

        Contacts reference companies and tags by id; nothing here checks referential integrity,
        which keeps the load single-pass.
        """
        counts: dict[str, int] = {}
        app_id = (world.app or {}).get("id_code") or "sbx4pp1d"
        now = self._now()
        if world.app:
            self._write(
                lambda c: c.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('app', ?)",
                    (json.dumps(world.app),),
                )
            )
        for name, table in (
            ("admins", "admins"),
            ("teams", "teams"),
            ("segments", "segments"),
        ):
            n = 0
            for chunk in _chunks(getattr(world, name)):
                rows = [(str(r["id"]), json.dumps(self._simple_doc(name, r))) for r in chunk]
                self._write(
                    lambda c, rows=rows, table=table: c.executemany(
                        f"INSERT OR REPLACE INTO {table} (id, doc) VALUES (?, ?)",  # noqa: S608
                        rows,
                    )
                )
                n += len(rows)
            counts[name] = n
        n = 0
        for chunk in _chunks(world.tags):
            rows = [
                (str(r["id"]), r.get("name"), json.dumps(self._simple_doc("tags", r)))
                for r in chunk
            ]
            self._write(
                lambda c, rows=rows: c.executemany(
                    "INSERT OR REPLACE INTO tags (id, name, doc) VALUES (?, ?, ?)", rows
                )
            )
            n += len(rows)
        counts["tags"] = n
        n = 0
        for chunk in _chunks(world.data_attributes):
            for attr in chunk:
                self._insert_data_attribute(dict(attr))
            n += len(chunk)
        counts["data_attributes"] = n
        n = 0
        for chunk in _chunks(world.companies):
            self._write(lambda c, chunk=chunk: self._insert_companies(c, chunk, app_id, now))
            n += len(chunk)
        counts["companies"] = n
        n = 0
        for chunk in _chunks(world.contacts):
            self._write(lambda c, chunk=chunk: self._insert_contacts(c, chunk, app_id, now))
            n += len(chunk)
        counts["contacts"] = n
        n = parts = 0
        for chunk in _chunks(world.conversations, 1000):
            parts += self._write(lambda c, chunk=chunk: self._insert_conversations(c, chunk, now))
            n += len(chunk)
        counts["conversations"] = n
        counts["conversation_parts"] = parts
        n = 0
        for chunk in _chunks(world.events):
            rows = [
                (
                    e.get("intercom_user_id"),
                    e.get("user_id"),
                    e.get("email"),
                    int(e["created_at"]),
                    json.dumps({"type": "event", **e}),
                )
                for e in chunk
            ]
            self._write(
                lambda c, rows=rows: c.executemany(
                    "INSERT INTO events (contact_id, user_id, email, created_at, doc) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
            )
            n += len(rows)
        counts["events"] = n
        return counts

    @staticmethod
    def _simple_doc(kind: str, record: dict[str, Any]) -> dict[str, Any]:
        type_name = {"admins": "admin", "teams": "team", "segments": "segment", "tags": "tag"}[kind]
        doc = {"type": type_name, **record, "id": str(record["id"])}
        if kind == "admins":
            doc.setdefault("team_ids", [])
            doc.setdefault("away_mode_enabled", False)
            doc.setdefault("away_mode_reassign", False)
            doc.setdefault("has_inbox_seat", True)
        if kind == "teams":
            doc.setdefault("admin_ids", [])
        return doc

    def _insert_contacts(
        self, conn: sqlite3.Connection, records: list[dict[str, Any]], app_id: str, now: int
    ) -> None:
        rows = []
        links = []
        for record in records:
            fields = dict(record)
            fields.setdefault("id", new_hex_id())
            fields.setdefault("created_at", now)
            fields.setdefault("updated_at", fields["created_at"])
            doc = normalize_contact(fields, app_id)
            rows.append(self._contact_row(doc))
            for kind in ("tags", "notes", "companies", "segments"):
                for pos, target in enumerate(record.get(kind) or []):
                    target_id = target["id"] if isinstance(target, dict) else target
                    links.append((doc["id"], kind, str(target_id), pos))
        conn.executemany(
            "INSERT OR REPLACE INTO contacts (id, external_id, email, email_domain, role, name, "
            "phone, owner_id, created_at, updated_at, signed_up_at, last_seen_at, doc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT OR IGNORE INTO contact_links (contact_id, kind, target_id, position) "
            "VALUES (?, ?, ?, ?)",
            links,
        )

    @staticmethod
    def _contact_row(doc: dict[str, Any]) -> tuple[Any, ...]:
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
            json.dumps(doc),
        )

    def _insert_companies(
        self, conn: sqlite3.Connection, records: list[dict[str, Any]], app_id: str, now: int
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

    def _insert_conversations(
        self, conn: sqlite3.Connection, records: list[dict[str, Any]], now: int
    ) -> int:
        rows = []
        links = []
        parts = []
        next_num = None
        for record in records:
            fields = dict(record)
            if fields.get("id") is None:
                if next_num is None:
                    row = conn.execute("SELECT COALESCE(MAX(num), 100000000) FROM conversations")
                    next_num = int(row.fetchone()[0])
                next_num += 1
                fields["id"] = str(next_num)
            doc = normalize_conversation(fields, now)
            cid = doc["id"]
            num = int(cid) if cid.isdigit() else 0
            rows.append((cid, num, doc["created_at"], doc["updated_at"], json.dumps(doc)))
            for kind in ("contacts", "teammates", "tags"):
                for pos, target in enumerate(record.get(kind) or []):
                    target_id = target["id"] if isinstance(target, dict) else target
                    links.append((cid, kind, str(target_id), pos))
            if record.get("teammates") is None:
                links.append((cid, "teammates_null", "", 0))
            for seq, part in enumerate(record.get("conversation_parts") or []):
                pdoc = normalize_part(part, f"{cid}{seq:04d}", doc["created_at"])
                parts.append((cid, seq, json.dumps(pdoc)))
        conn.executemany(
            "INSERT OR REPLACE INTO conversations (id, num, created_at, updated_at, doc) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT OR IGNORE INTO conversation_links (conversation_id, kind, target_id, position) "
            "VALUES (?, ?, ?, ?)",
            links,
        )
        conn.executemany(
            "INSERT OR REPLACE INTO conversation_parts (conversation_id, seq, doc) "
            "VALUES (?, ?, ?)",
            parts,
        )
        return len(parts)

    # --- contacts ---------------------------------------------------------------------------

    def _app_id(self) -> str:
        return self.app_info().get("id_code") or "sbx4pp1d"

    def create_contact(self, **fields: Any) -> dict[str, Any]:
        """Insert a contact (API field names; ``tags``/``companies``/``notes`` as id lists)."""
        now = self._now()
        fields.setdefault("id", new_hex_id())
        fields.setdefault("created_at", now)
        fields.setdefault("updated_at", fields["created_at"])
        app_id = self._app_id()
        self._write(lambda c: self._insert_contacts(c, [fields], app_id, now))
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
            doc = json.loads(row[0])
            merged = dict(doc)
            for key, value in fields.items():
                if key == "custom_attributes" and value is not None:
                    merged["custom_attributes"] = {**doc["custom_attributes"], **value}
                elif key in ("tags", "notes", "companies", "segments"):
                    conn.execute(
                        "DELETE FROM contact_links WHERE contact_id = ? AND kind = ?",
                        (contact_id, key),
                    )
                    conn.executemany(
                        "INSERT INTO contact_links (contact_id, kind, target_id, position) "
                        "VALUES (?, ?, ?, ?)",
                        [(contact_id, key, str(t), i) for i, t in enumerate(value or [])],
                    )
                else:
                    merged[key] = value
            if "email" in fields and "email_domain" not in fields:
                merged["email_domain"] = None
            merged.setdefault("updated_at", now)
            if "updated_at" not in fields:
                merged["updated_at"] = now
            new_doc = normalize_contact(merged, doc["workspace_id"])
            conn.execute(
                "UPDATE contacts SET external_id = ?, email = ?, email_domain = ?, role = ?, "
                "name = ?, phone = ?, owner_id = ?, created_at = ?, updated_at = ?, "
                "signed_up_at = ?, last_seen_at = ?, doc = ? WHERE id = ?",
                (*self._contact_row(new_doc)[1:], contact_id),
            )

        self._write(run)
        return self.get_contact(contact_id, single=True)  # type: ignore[return-value]

    def touch(self, entity: str, ids: list[str], ts: int | None = None) -> int:
        """Set ``updated_at`` of contacts or conversations to ``ts`` (default now)."""
        ts = self._now() if ts is None else int(ts)
        table = {"contacts": "contacts", "conversations": "conversations"}[entity]

        def run(conn: sqlite3.Connection) -> int:
            changed = 0
            for record_id in ids:
                row = conn.execute(
                    f"SELECT doc FROM {table} WHERE id = ?",
                    (record_id,),  # noqa: S608
                ).fetchone()
                if row is None:
                    continue
                doc = json.loads(row[0])
                doc["updated_at"] = ts
                conn.execute(
                    f"UPDATE {table} SET updated_at = ?, doc = ? WHERE id = ?",  # noqa: S608
                    (ts, json.dumps(doc), record_id),
                )
                changed += 1
            return changed

        return int(self._write(run))

    def contact_links(self, contact_ids: list[str]) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {cid: {} for cid in contact_ids}
        if not contact_ids:
            return out
        marks = ",".join("?" * len(contact_ids))
        rows = self.query(
            f"SELECT contact_id, kind, target_id FROM contact_links "  # noqa: S608
            f"WHERE contact_id IN ({marks}) ORDER BY contact_id, kind, position",
            contact_ids,
        )
        for contact_id, kind, target_id in rows:
            out[contact_id].setdefault(kind, []).append(target_id)
        return out

    def contacts_by_ids(self, ids: list[str], single: bool = False) -> list[dict[str, Any]]:
        """Rendered contacts in the order of ``ids`` (missing ids are skipped)."""
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = dict(
            self.query(f"SELECT id, doc FROM contacts WHERE id IN ({marks})", ids)  # noqa: S608
        )
        links = self.contact_links([i for i in ids if i in rows])
        return [
            render_contact(json.loads(rows[i]), links[i], single=single) for i in ids if i in rows
        ]

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
            cur = conn.execute(
                "INSERT OR IGNORE INTO contact_links (contact_id, kind, target_id, position) "
                "VALUES (?, ?, ?, ?)",
                (contact_id, kind, target_id, pos),
            )
            return cur.rowcount > 0

        return bool(self._write(run))

    # --- generic paging -------------------------------------------------------------------

    def keyset_page(
        self,
        table: str,
        where: str,
        params: list[Any],
        sort_sql: str,
        ascending: bool,
        after: tuple[Any, str] | None,
        limit: int,
    ) -> list[tuple[str, Any]]:
        """Ids and sort values of the next page: order by the sort value then id (the tiebreak
        that makes paging deterministic); ``after`` is the last row of the previous page."""
        direction = "ASC" if ascending else "DESC"
        cmp = ">" if ascending else "<"
        args = list(params)
        if sort_sql == "NULL":
            # No sort requested: id order, and the cursor's sort value is -1 (as observed).
            sql = f"SELECT id, -1 FROM {table} WHERE ({where})"  # noqa: S608
            if after is not None:
                sql += f" AND id {cmp} ?"
                args.append(after[1])
            sql += f" ORDER BY id {direction} LIMIT ?"
        else:
            # NOT NULL columns sort on the raw column so SQLite can walk the (column, id) index.
            sv = sort_sql if sort_sql in _NOT_NULL_SORTS else f"COALESCE({sort_sql}, -1)"
            sql = f"SELECT id, {sv} FROM {table} WHERE ({where})"  # noqa: S608
            if after is not None:
                sql += f" AND ({sv}, id) {cmp} (?, ?)"
                args += [after[0], after[1]]
            sql += f" ORDER BY {sv} {direction}, id {direction} LIMIT ?"
        args.append(limit)
        return [(r[0], r[1]) for r in self.query(sql, args)]

    def count_where(self, table: str, where: str, params: list[Any]) -> int:
        """``COUNT(*)`` of a filter, cached until the next write (every page repeats it)."""
        key = (table, where, tuple(params))
        with self._lock:
            version = self._data_version()
            cached = self._counts.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            total = int(
                self.query(f"SELECT COUNT(*) FROM {table} WHERE ({where})", params)[0][0]  # noqa: S608
            )
            if len(self._counts) > 256:
                self._counts.clear()
            self._counts[key] = (version, total)
            return total

    def sample_ids(self, table: str, where: str, params: list[Any], n: int, seed: int) -> list[str]:
        """Up to ``n`` ids matching ``where``, chosen reproducibly (for mutate-while-paging)."""
        total = self.count_where(table, where, params)
        if total == 0:
            return []
        import random

        rng = random.Random(seed)
        offsets = sorted({rng.randrange(total) for _ in range(n)})
        ids = []
        for offset in offsets:
            rows = self.query(
                f"SELECT id FROM {table} WHERE ({where}) ORDER BY id LIMIT 1 OFFSET ?",  # noqa: S608
                [*params, offset],
            )
            ids.extend(r[0] for r in rows)
        return ids

    # --- custom attribute types -----------------------------------------------------------

    def custom_attribute_types(self, model: str) -> dict[str, str]:
        """``name → data_type`` of custom data attributes (drives search type checks)."""
        with self._lock:
            version = self._data_version()
            if self._custom_types_version != version:
                self._custom_types.clear()
                self._custom_types_version = version
            cached = self._custom_types.get(model)
            if cached is None:
                rows = self.query(
                    "SELECT name, json_extract(doc, '$.data_type') FROM data_attributes "
                    "WHERE model = ? AND json_extract(doc, '$.custom') = 1",
                    (model,),
                )
                cached = {name: dtype for name, dtype in rows}
                self._custom_types[model] = cached
            return cached

    def data_attributes(self, model: str | None, include_archived: bool) -> list[dict[str, Any]]:
        sql = "SELECT doc FROM data_attributes"
        args: list[Any] = []
        if model:
            sql += " WHERE model = ?"
            args.append(model)
        rows = [json.loads(r[0]) for r in self.query(sql + " ORDER BY seq", args)]
        return [r for r in rows if include_archived or not r.get("archived")]

    def _insert_data_attribute(self, attr: dict[str, Any]) -> dict[str, Any]:
        def run(conn: sqlite3.Connection) -> dict[str, Any]:
            doc = {"type": "data_attribute", **attr}
            doc.setdefault("full_name", doc["name"])
            cur = conn.execute(
                "INSERT INTO data_attributes (model, name, full_name, doc) VALUES (?, ?, ?, ?)",
                (doc["model"], doc["name"], doc["full_name"], json.dumps(doc)),
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
            conn.execute(
                "INSERT INTO data_attributes (model, name, full_name, doc) VALUES (?, ?, ?, ?)",
                (doc["model"], doc["name"], doc["full_name"], json.dumps(doc)),
            )
            return doc

        return self._write(run)

    # --- companies --------------------------------------------------------------------------

    def create_company(self, **fields: Any) -> dict[str, Any]:
        now = self._now()
        fields.setdefault("id", new_hex_id())
        app_id = self._app_id()
        self._write(lambda c: self._insert_companies(c, [fields], app_id, now))
        return self.get_company(fields["id"])  # type: ignore[return-value]

    def companies_by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        docs = dict(
            self.query(f"SELECT id, doc FROM companies WHERE id IN ({marks})", ids)  # noqa: S608
        )
        links = self.query(
            f"SELECT l.company_id, l.kind, l.target_id, t.doc, s.doc FROM company_links l "  # noqa: S608
            f"LEFT JOIN tags t ON l.kind = 'tags' AND t.id = l.target_id "
            f"LEFT JOIN segments s ON l.kind = 'segments' AND s.id = l.target_id "
            f"WHERE l.company_id IN ({marks}) ORDER BY l.company_id, l.kind, l.position",
            ids,
        )
        tags: dict[str, list[dict[str, Any]]] = {}
        segs: dict[str, list[dict[str, Any]]] = {}
        for company_id, kind, target_id, tag_doc, seg_doc in links:
            if kind == "tags":
                tag = json.loads(tag_doc) if tag_doc else {"name": None}
                tags.setdefault(company_id, []).append(
                    {"type": "tag", "id": target_id, "name": tag.get("name")}
                )
            else:
                seg = json.loads(seg_doc) if seg_doc else {"type": "segment", "id": target_id}
                seg.pop("count", None)
                segs.setdefault(company_id, []).append(seg)
        counts = dict(
            self.query(
                f"SELECT l.target_id, COUNT(*) FROM contact_links l "  # noqa: S608
                f"JOIN contacts c ON c.id = l.contact_id AND c.role = 'user' "
                f"WHERE l.kind = 'companies' AND l.target_id IN ({marks}) GROUP BY l.target_id",
                ids,
            )
        )
        return [
            render_company(json.loads(docs[i]), tags.get(i, []), segs.get(i, []), counts.get(i, 0))
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
        self, where: str, params: list[Any], order_sql: str, offset: int, limit: int
    ) -> tuple[list[str], int]:
        total = self.count_where("companies", where, params)
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

    # --- conversations ------------------------------------------------------------------------

    def create_conversation(self, **fields: Any) -> dict[str, Any]:
        """Insert a conversation (``contacts``/``teammates``/``tags`` as id lists, full parts)."""
        now = self._now()
        fields.setdefault("created_at", now)
        holder: dict[str, str] = {}

        def run(conn: sqlite3.Connection) -> int:
            n = self._insert_conversations(conn, [fields], now)
            holder["id"] = str(
                fields.get("id")
                or conn.execute(
                    "SELECT id FROM conversations ORDER BY num DESC LIMIT 1"
                ).fetchone()[0]
            )
            return n

        self._write(run)
        return self.get_conversation(holder["id"])  # type: ignore[return-value]

    def update_conversation(self, conversation_id: str, **fields: Any) -> dict[str, Any]:
        """Merge fields; ``conversation_parts`` given here are *appended* (new parts bump
        ``updated_at``, §4.3 checklist). ``updated_at`` moves to now unless given."""
        now = self._now()

        def run(conn: sqlite3.Connection) -> None:
            row = conn.execute(
                "SELECT doc FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                raise NotFound(conversation_id)
            doc = json.loads(row[0])
            new_parts = fields.pop("conversation_parts", None) or []
            for kind in ("contacts", "teammates", "tags"):
                if kind in fields:
                    value = fields.pop(kind)
                    conn.execute(
                        "DELETE FROM conversation_links "
                        "WHERE conversation_id = ? AND kind IN (?, ?)",
                        (conversation_id, kind, f"{kind}_null"),
                    )
                    if value is None and kind == "teammates":
                        conn.execute(
                            "INSERT INTO conversation_links VALUES (?, 'teammates_null', '', 0)",
                            (conversation_id,),
                        )
                    conn.executemany(
                        "INSERT INTO conversation_links VALUES (?, ?, ?, ?)",
                        [(conversation_id, kind, str(t), i) for i, t in enumerate(value or [])],
                    )
            doc.update(fields)
            if "updated_at" not in fields:
                doc["updated_at"] = now
            new_doc = normalize_conversation(doc, now)
            if new_parts:
                seq = conn.execute(
                    "SELECT COALESCE(MAX(seq), -1) + 1 FROM conversation_parts "
                    "WHERE conversation_id = ?",
                    (conversation_id,),
                ).fetchone()[0]
                conn.executemany(
                    "INSERT INTO conversation_parts (conversation_id, seq, doc) VALUES (?, ?, ?)",
                    [
                        (
                            conversation_id,
                            seq + i,
                            json.dumps(normalize_part(p, f"{conversation_id}{seq + i:04d}", now)),
                        )
                        for i, p in enumerate(new_parts)
                    ],
                )
            conn.execute(
                "UPDATE conversations SET created_at = ?, updated_at = ?, doc = ? WHERE id = ?",
                (
                    new_doc["created_at"],
                    new_doc["updated_at"],
                    json.dumps(new_doc),
                    conversation_id,
                ),
            )

        self._write(run)
        return self.get_conversation(conversation_id)  # type: ignore[return-value]

    def conversations_by_ids(
        self, ids: list[str], with_parts: bool = False
    ) -> list[dict[str, Any]]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        docs = dict(
            self.query(f"SELECT id, doc FROM conversations WHERE id IN ({marks})", ids)  # noqa: S608
        )
        links = self.query(
            f"SELECT l.conversation_id, l.kind, l.target_id, c.external_id, t.name "  # noqa: S608
            f"FROM conversation_links l "
            f"LEFT JOIN contacts c ON l.kind = 'contacts' AND c.id = l.target_id "
            f"LEFT JOIN tags t ON l.kind = 'tags' AND t.id = l.target_id "
            f"WHERE l.conversation_id IN ({marks}) ORDER BY l.conversation_id, l.kind, l.position",
            ids,
        )
        contacts: dict[str, list[dict[str, Any]]] = {}
        teammates: dict[str, list[str] | None] = {i: [] for i in ids}
        tags: dict[str, list[dict[str, Any]]] = {}
        for conv_id, kind, target_id, external_id, tag_name in links:
            if kind == "contacts":
                contacts.setdefault(conv_id, []).append(
                    {"type": "contact", "id": target_id, "external_id": external_id}
                )
            elif kind == "teammates_null":
                teammates[conv_id] = None
            elif kind == "teammates":
                existing = teammates.get(conv_id) or []
                existing.append(target_id)
                teammates[conv_id] = existing
            else:
                tags.setdefault(conv_id, []).append(
                    {"type": "tag", "id": target_id, "name": tag_name or ""}
                )
        totals = dict(
            self.query(
                f"SELECT conversation_id, COUNT(*) FROM conversation_parts "  # noqa: S608
                f"WHERE conversation_id IN ({marks}) GROUP BY conversation_id",
                ids,
            )
        )
        out = []
        for conv_id in ids:
            if conv_id not in docs:
                continue
            parts = None
            if with_parts:
                rows = self.query(
                    "SELECT doc FROM conversation_parts WHERE conversation_id = ? "
                    "ORDER BY seq DESC LIMIT ?",
                    (conv_id, PARTS_CAP),
                )
                parts = [json.loads(r[0]) for r in reversed(rows)]
            doc = json.loads(docs[conv_id])
            applied_by = {"type": "admin", "id": str(doc.get("admin_assignee_id") or "0")}
            for tag in tags.get(conv_id, []):
                # Seeds carry tag ids only; the tagging time/actor are derived, not recorded.
                tag["applied_at"] = doc["created_at"]
                tag["applied_by"] = applied_by
            out.append(
                render_conversation(
                    doc,
                    contacts.get(conv_id, []),
                    teammates.get(conv_id, []),
                    tags.get(conv_id, []),
                    parts,
                    int(totals.get(conv_id, 0)),
                )
            )
        return out

    def get_conversation(self, conversation_id: str) -> dict[str, Any] | None:
        found = self.conversations_by_ids([conversation_id], with_parts=True)
        return found[0] if found else None

    # --- reference data ---------------------------------------------------------------------

    def all_docs(self, table: str) -> list[dict[str, Any]]:
        if table not in ("admins", "teams", "tags", "segments"):
            raise ValueError(table)
        return [json.loads(r[0]) for r in self.query(f"SELECT doc FROM {table} ORDER BY rowid")]  # noqa: S608

    def get_doc(self, table: str, record_id: str) -> dict[str, Any] | None:
        if table not in ("admins", "teams", "tags", "segments"):
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

    def events_for(
        self, column: str, value: str, since: int, before: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Events of one contact, newest first, no older than ``since``."""
        if column not in ("contact_id", "user_id", "email"):
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
        if column not in ("contact_id", "user_id", "email"):
            raise ValueError(column)
        rows = self.query(
            f"SELECT json_extract(doc, '$.event_name'), MIN(created_at), MAX(created_at), "  # noqa: S608
            f"COUNT(*) FROM events WHERE {column} = ? GROUP BY 1 ORDER BY 1",
            (value,),
        )
        return [{"name": r[0], "first": r[1], "last": r[2], "count": r[3]} for r in rows]


__all__ = ["CONTACT_WRITABLE", "IntercomStore", "NotFound", "new_hex_id"]
