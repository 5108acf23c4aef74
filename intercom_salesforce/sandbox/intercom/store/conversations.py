"""Conversations, their links (contacts, teammates, tags) and parts, with rendered bodies.

A conversation's body embeds its contacts' ``external_id`` and its tags' names, so it renders
again when a contact's external id changes (``contacts.py`` clears the body; the next read fills
it) as well as on every write to the conversation itself.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from intercom_salesforce.sandbox.intercom.shapes import normalize_conversation, normalize_part
from intercom_salesforce.sandbox.intercom.store import hydrate
from intercom_salesforce.sandbox.intercom.store.base import NotFound, StoreBase, id_list

PARTS_CAP = 500
"""``GET /conversations/{id}`` returns only the 500 most recent parts (reference §4.1)."""
_LINK_KINDS = ("contacts", "teammates", "tags")
_LINKS = (
    "SELECT l.conversation_id, l.kind, l.target_id, c.external_id, t.name "
    "FROM conversation_links l "
    "LEFT JOIN contacts c ON l.kind = 'contacts' AND c.id = l.target_id "
    "LEFT JOIN tags t ON l.kind = 'tags' AND t.id = l.target_id "
    "WHERE l.conversation_id IN (SELECT value FROM json_each(?)) "
    "ORDER BY l.conversation_id, l.kind, l.position"
)
_TOTALS = (
    "SELECT conversation_id, COUNT(*) FROM conversation_parts "
    "WHERE conversation_id IN (SELECT value FROM json_each(?)) GROUP BY conversation_id"
)
_INSERT_PART = (
    "INSERT OR REPLACE INTO conversation_parts (conversation_id, seq, doc) VALUES (?, ?, ?)"
)


class _Links:
    """A conversation's contacts, teammates (``None`` when the seed says null) and tags."""

    def __init__(self) -> None:
        self.contacts: list[dict[str, Any]] = []
        self.teammates: list[str] | None = []
        self.tags: list[dict[str, Any]] = []

    def add(self, kind: str, target_id: str, external_id: Any, tag_name: Any) -> None:
        if kind == "contacts":
            self.contacts.append({"type": "contact", "id": target_id, "external_id": external_id})
        elif kind == "teammates_null":
            self.teammates = None
        elif kind == "teammates":
            self.teammates = [*(self.teammates or []), target_id]
        else:
            self.tags.append({"type": "tag", "id": target_id, "name": tag_name or ""})


def _render(doc: dict[str, Any], links: _Links, parts_total: int) -> str:
    applied_by = {"type": "admin", "id": str(doc.get("admin_assignee_id") or "0")}
    for tag in links.tags:
        # Seeds carry tag ids only; the tagging time/actor are derived, not recorded.
        tag["applied_at"] = doc["created_at"]
        tag["applied_by"] = applied_by
    shape = hydrate.render_conversation(
        doc, links.contacts, links.teammates, links.tags, parts_total
    )
    return hydrate.dumps(shape)


def render_bodies(
    conn: sqlite3.Connection, ids: list[str], docs: dict[str, dict[str, Any]] | None = None
) -> None:
    """Render the bodies of these conversations from their documents (read unless given),
    links and part counts."""
    if not ids:
        return
    arg = (id_list(ids),)
    if docs is None:
        sql = "SELECT id, doc FROM conversations WHERE id IN (SELECT value FROM json_each(?))"
        docs = {cid: json.loads(doc) for cid, doc in conn.execute(sql, arg)}
    links = {cid: _Links() for cid in docs}
    for conv_id, kind, target_id, external_id, tag_name in conn.execute(_LINKS, arg):
        if conv_id in links:
            links[conv_id].add(kind, target_id, external_id, tag_name)
    totals = dict(conn.execute(_TOTALS, arg).fetchall())
    conn.executemany(
        "UPDATE conversations SET body = ? WHERE id = ?",
        [(_render(doc, links[cid], int(totals.get(cid, 0))), cid) for cid, doc in docs.items()],
    )


def _link_rows(cid: str, record: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    rows = []
    for kind in _LINK_KINDS:
        for pos, target in enumerate(record.get(kind) or []):
            target_id = target["id"] if isinstance(target, dict) else target
            rows.append((cid, kind, str(target_id), pos))
    if record.get("teammates") is None:
        rows.append((cid, "teammates_null", "", 0))
    return rows


ConversationRows = tuple[
    list[tuple[Any, ...]],
    dict[str, dict[str, Any]],
    list[tuple[str, str, str, int]],
    list[tuple[str, int, str]],
]


def encode_conversations(
    records: list[dict[str, Any]], now: int, conn: sqlite3.Connection | None = None
) -> ConversationRows:
    """Conversation rows, documents, link rows and part rows: pure when every record has an id
    (seeds), so a bulk seed can encode chunks in worker processes; ``conn`` numbers the rest."""
    rows = []
    docs: dict[str, dict[str, Any]] = {}
    links = []
    parts = []
    next_num = None
    for record in records:
        fields = dict(record)
        if fields.get("id") is None:
            if next_num is None:
                if conn is None:
                    raise ValueError("a conversation without an id needs the store to number it")
                row = conn.execute("SELECT COALESCE(MAX(num), 100000000) FROM conversations")
                next_num = int(row.fetchone()[0])
            next_num += 1
            fields["id"] = str(next_num)
        doc = normalize_conversation(fields, now)
        cid = doc["id"]
        num = int(cid) if cid.isdigit() else 0
        rows.append((cid, num, doc["created_at"], doc["updated_at"], json.dumps(doc)))
        docs[cid] = doc
        links.extend(_link_rows(cid, record))
        for seq, part in enumerate(record.get("conversation_parts") or []):
            pdoc = normalize_part(part, f"{cid}{seq:04d}", doc["created_at"])
            parts.append((cid, seq, hydrate.dumps(pdoc)))
    return rows, docs, links, parts


def write_conversations(conn: sqlite3.Connection, encoded: ConversationRows) -> int:
    """Insert encoded conversations and render their bodies; returns the number of parts."""
    rows, docs, links, parts = encoded
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
    conn.executemany(_INSERT_PART, parts)
    render_bodies(conn, list(docs), docs)
    return len(parts)


def insert_conversations(conn: sqlite3.Connection, records: list[dict[str, Any]], now: int) -> int:
    """Insert conversations with their links and parts; returns the number of parts."""
    return write_conversations(conn, encode_conversations(records, now, conn))


def _replace_links(conn: sqlite3.Connection, conversation_id: str, fields: dict[str, Any]) -> None:
    """Links given in an update replace that kind's links (``teammates: None`` is kept as such)."""
    for kind in _LINK_KINDS:
        if kind not in fields:
            continue
        value = fields.pop(kind)
        conn.execute(
            "DELETE FROM conversation_links WHERE conversation_id = ? AND kind IN (?, ?)",
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


def _append_parts(
    conn: sqlite3.Connection, conversation_id: str, new_parts: list[dict[str, Any]], now: int
) -> None:
    seq = conn.execute(
        "SELECT COALESCE(MAX(seq), -1) + 1 FROM conversation_parts WHERE conversation_id = ?",
        (conversation_id,),
    ).fetchone()[0]
    conn.executemany(
        "INSERT INTO conversation_parts (conversation_id, seq, doc) VALUES (?, ?, ?)",
        [
            (
                conversation_id,
                seq + i,
                hydrate.dumps(normalize_part(p, f"{conversation_id}{seq + i:04d}", now)),
            )
            for i, p in enumerate(new_parts)
        ],
    )


class ConversationStore(StoreBase):
    """Conversations: create, update (parts append) and rendered reads."""

    def create_conversation(self, **fields: Any) -> dict[str, Any]:
        """Insert a conversation (``contacts``/``teammates``/``tags`` as id lists, full parts)."""
        now = self._now()
        fields.setdefault("created_at", now)
        holder: dict[str, str] = {}

        def run(conn: sqlite3.Connection) -> int:
            n = insert_conversations(conn, [fields], now)
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
            _replace_links(conn, conversation_id, fields)
            doc.update(fields)
            if "updated_at" not in fields:
                doc["updated_at"] = now
            new_doc = normalize_conversation(doc, now)
            if new_parts:
                _append_parts(conn, conversation_id, new_parts, now)
            conn.execute(
                "UPDATE conversations SET created_at = ?, updated_at = ?, doc = ? WHERE id = ?",
                (
                    new_doc["created_at"],
                    new_doc["updated_at"],
                    json.dumps(new_doc),
                    conversation_id,
                ),
            )
            render_bodies(conn, [conversation_id])

        self._write(run)
        return self.get_conversation(conversation_id)  # type: ignore[return-value]

    @staticmethod
    def _touch_conversations(conn: sqlite3.Connection, ids: list[str], ts: int) -> int:
        """Move ``updated_at`` of a few conversations (control API, mutate-while-paging)."""
        changed = []
        for conversation_id in ids:
            row = conn.execute(
                "SELECT doc FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                continue
            doc = json.loads(row[0])
            doc["updated_at"] = ts
            conn.execute(
                "UPDATE conversations SET updated_at = ?, doc = ? WHERE id = ?",
                (ts, json.dumps(doc), conversation_id),
            )
            changed.append(conversation_id)
        render_bodies(conn, changed)
        return len(changed)

    def conversation_bodies(self, ids: list[str]) -> list[str]:
        """Conversations' list-item JSON texts in the order of ``ids`` (missing ones skipped)."""
        if not ids:
            return []
        sql = "SELECT id, body FROM conversations WHERE id IN (SELECT value FROM json_each(?))"
        with self._lock:
            rows = dict(self._conn.execute(sql, (id_list(ids),)).fetchall())
            missing = [i for i, body in rows.items() if body is None]
            if missing:
                self._write(lambda c: render_bodies(c, missing))
                rows.update(self._conn.execute(sql, (id_list(missing),)).fetchall())
        return [rows[i] for i in ids if i in rows]

    def conversation_text(self, conversation_id: str) -> str | None:
        """The single-GET JSON text: the body plus the 500 most recent parts."""
        with self._lock:
            found = self.conversation_bodies([conversation_id])
            if not found:
                return None
            parts = self._conn.execute(
                "SELECT doc FROM conversation_parts WHERE conversation_id = ? "
                "ORDER BY seq DESC LIMIT ?",
                (conversation_id, PARTS_CAP),
            ).fetchall()
            total = self._conn.execute(
                "SELECT COUNT(*) FROM conversation_parts WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()[0]
        return hydrate.conversation_with_parts(found[0], [r[0] for r in reversed(parts)], total)

    def conversations_by_ids(
        self, ids: list[str], with_parts: bool = False
    ) -> list[dict[str, Any]]:
        if with_parts:
            texts = [self.conversation_text(i) for i in ids]
            return [json.loads(t) for t in texts if t is not None]
        return [json.loads(t) for t in self.conversation_bodies(ids)]

    def get_conversation(self, conversation_id: str) -> dict[str, Any] | None:
        text = self.conversation_text(conversation_id)
        return json.loads(text) if text is not None else None
