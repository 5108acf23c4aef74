"""SQLite persistence of the emulated org: records, external-id keys, tokens, jobs, counters.

Records are JSON documents in one ``records`` table (so a polymorphic parent such as ``Who`` or
``Owner`` is a single join) with indexed columns for Id, object, SystemModstamp and
LastModifiedDate. Every External ID / idLookup field value is mirrored into ``ext_keys`` (lower-
cased unless the field is case-sensitive, which is how Salesforce matches them, reference 6.8), so
upserts, relationship columns, duplicate rules and ``WHERE Email = ...`` are index look-ups rather
than scans. One connection is shared by the server's threads behind a re-entrant lock; WAL keeps
readers of the file (the sandbox HTML page in another process) from blocking it.
"""

from __future__ import annotations

import itertools
import json
import pathlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from .baseline import INTEGRATION_USER_ID, baseline_records
from .describe import OBJECTS, get_object
from .ids import make_id
from .values import format_datetime
from .world_types import SalesforceWorldData

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    object TEXT NOT NULL,
    doc TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    system_modstamp TEXT,
    last_modified_date TEXT
);
CREATE INDEX IF NOT EXISTS records_object ON records(object, is_deleted);
CREATE INDEX IF NOT EXISTS records_modstamp ON records(object, system_modstamp);
CREATE INDEX IF NOT EXISTS records_lastmod ON records(object, last_modified_date);
CREATE TABLE IF NOT EXISTS ext_keys (
    object TEXT NOT NULL, field TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ext_keys_lookup ON ext_keys(object, field, key);
CREATE INDEX IF NOT EXISTS ext_keys_id ON ext_keys(id);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, user_id TEXT, issued_at REAL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    info TEXT NOT NULL,
    data BLOB,
    polls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS job_rows (
    job_id TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER NOT NULL, line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS job_rows_idx ON job_rows(job_id, kind, seq);
"""
_CHUNK = 10000
# Records created through the API are numbered from here, clear of seeded worlds' numbering.
_FIRST_API_NUMBER = 50_000_000
_ID_BLOCK = 1000


def key_for(field_def: Any, value: Any) -> str | None:
    """How an indexed field value is keyed: text lower-cased unless the field is case-sensitive."""
    if value is None or value == "":
        return None
    text = str(value)
    return text if field_def.case_sensitive else text.lower()


class SalesforceStore:
    """The org's data on disk; safe to share between the threads of a threaded WSGI server."""

    def __init__(self, path: pathlib.Path) -> None:
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-65536")
        self.conn.execute("PRAGMA temp_store=MEMORY")
        self.conn.executescript(_SCHEMA)
        self._depth = 0
        self._id_blocks: dict[str, tuple[int, int]] = {}
        if self.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0:
            self._load_baseline()

    # -- plumbing -------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Serialise writers; nested use joins the outer transaction."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self.conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self.conn
            except BaseException:
                self._depth -= 1
                if outer:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self.conn.execute("COMMIT")

    def execute(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        with self.lock:
            return self.conn.execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def reset(self) -> None:
        """Forget every record, job, token and counter, then re-seed the baseline org."""
        with self.transaction() as c:
            for table in ("records", "ext_keys", "tokens", "meta", "jobs", "job_rows"):
                c.execute(f"DELETE FROM {table}")
            self._id_blocks.clear()
        self._load_baseline()

    def _load_baseline(self) -> None:
        self.load_world(SalesforceWorldData(records=baseline_records()))

    # -- meta counters --------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self.execute("SELECT value FROM meta WHERE key=?", (key,))
        return rows[0][0] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def incr_meta(self, key: str, by: int = 1, start: int = 0) -> int:
        with self.transaction() as c:
            row = c.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
            value = (int(row[0]) if row else start) + by
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))
            return value

    # -- records --------------------------------------------------------------------------------
    @staticmethod
    def _keys(object_name: str, doc: dict[str, Any]) -> list[tuple[str, str, str, str]]:
        obj = OBJECTS[object_name]
        out = []
        for f in obj.indexed_fields:
            k = key_for(f, doc.get(f.name))
            if k is not None:
                out.append((object_name, f.name, k, doc["Id"]))
        return out

    def _row(self, object_name: str, doc: dict[str, Any]) -> tuple:
        return (
            doc["Id"],
            object_name,
            json.dumps(doc, separators=(",", ":")),
            1 if doc.get("IsDeleted") else 0,
            doc.get("SystemModstamp"),
            doc.get("LastModifiedDate"),
        )

    def insert(self, object_name: str, doc: dict[str, Any]) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO records(id, object, doc, is_deleted, system_modstamp,"
                " last_modified_date) VALUES (?,?,?,?,?,?)",
                self._row(object_name, doc),
            )
            c.executemany("INSERT INTO ext_keys VALUES (?,?,?,?)", self._keys(object_name, doc))

    def update(self, object_name: str, doc: dict[str, Any]) -> None:
        """Replace a record's document (the caller has merged the changes)."""
        with self.transaction() as c:
            row = self._row(object_name, doc)
            c.execute(
                "UPDATE records SET doc=?, is_deleted=?, system_modstamp=?, last_modified_date=?"
                " WHERE id=?",
                (row[2], row[3], row[4], row[5], row[0]),
            )
            c.execute("DELETE FROM ext_keys WHERE id=?", (doc["Id"],))
            if not doc.get("IsDeleted"):
                c.executemany("INSERT INTO ext_keys VALUES (?,?,?,?)", self._keys(object_name, doc))

    def hard_delete(self, record_id: str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM records WHERE id=?", (record_id,))
            c.execute("DELETE FROM ext_keys WHERE id=?", (record_id,))

    def get(self, record_id: str) -> tuple[str, dict[str, Any]] | None:
        """(object name, document) of a record, deleted ones included (check ``IsDeleted``)."""
        rows = self.execute("SELECT object, doc FROM records WHERE id=?", (record_id,))
        return (rows[0][0], json.loads(rows[0][1])) if rows else None

    def find_ids(self, object_name: str, field_name: str, value: Any) -> list[str]:
        """Live records whose indexed field matches ``value`` the way Salesforce matches keys."""
        obj = get_object(object_name)
        f = obj.field(field_name) if obj else None
        if f is None:
            return []
        if f.name == "Id":
            got = self.get(str(value))
            return (
                [got[1]["Id"]] if got and got[0] == obj.name and not got[1].get("IsDeleted") else []
            )
        key = key_for(f, value)
        if key is None:
            return []
        rows = self.execute(
            "SELECT id FROM ext_keys WHERE object=? AND field=? AND key=? ORDER BY id",
            (obj.name, f.name, key),
        )
        return [r[0] for r in rows]

    def find_ids_multi(self, objects: tuple[str, ...], field_name: str, value: Any) -> list[str]:
        """Like :meth:`find_ids` across several objects sharing a field name (duplicate rules)."""
        f = OBJECTS[objects[0]].field(field_name)
        key = key_for(f, value) if f else None
        if key is None:
            return []
        marks = ",".join("?" * len(objects))
        rows = self.execute(
            f"SELECT id FROM ext_keys WHERE object IN ({marks}) AND field=? AND key=? ORDER BY id",
            (*objects, field_name, key),
        )
        return [r[0] for r in rows]

    def new_id(self, object_name: str) -> str:
        """A fresh record id; numbers are reserved in blocks so inserts avoid a counter write.

        A reservation made inside a transaction that is later rolled back is not reused in this
        process (the next block starts after the one in memory), and ids are checked against the
        table, so a block re-reserved after a restart never yields an id that already exists.
        """
        with self.lock:
            while True:
                nxt, end = self._id_blocks.get(object_name, (0, 0))
                if nxt >= end:
                    key = f"seq:{object_name}"
                    stored = int(self.get_meta(key, str(_FIRST_API_NUMBER)) or 0)
                    nxt = max(stored, end)
                    end = nxt + _ID_BLOCK
                    self.set_meta(key, str(end))
                self._id_blocks[object_name] = (nxt + 1, end)
                candidate = make_id(object_name, nxt + 1)
                if not self.execute("SELECT 1 FROM records WHERE id=?", (candidate,)):
                    return candidate

    def count(self, sobject: str) -> int:
        obj = get_object(sobject)
        name = obj.name if obj else sobject
        return self.execute(
            "SELECT COUNT(*) FROM records WHERE object=? AND is_deleted=0", (name,)
        )[0][0]

    def counts(self) -> dict[str, int]:
        rows = self.execute(
            "SELECT object, COUNT(*) FROM records WHERE is_deleted=0 GROUP BY object"
        )
        found = dict(rows)
        return {name: found.get(name, 0) for name in OBJECTS}

    def list_records(self, sobject: str, limit: int, offset: int) -> list[dict[str, Any]]:
        rows = self.execute(
            "SELECT doc FROM records WHERE object=? AND is_deleted=0 ORDER BY rid LIMIT ? OFFSET ?",
            (sobject, limit, offset),
        )
        return [json.loads(r[0]) for r in rows]

    def records_of(self, sobject: str, where: str = "", params: tuple = ()) -> list[dict]:
        """Live documents of one object, optionally filtered by a json_extract SQL condition."""
        sql = "SELECT doc FROM records WHERE object=? AND is_deleted=0"
        if where:
            sql += f" AND ({where})"
        return [json.loads(r[0]) for r in self.execute(sql, (sobject, *params))]

    def load_world(self, world: SalesforceWorldData) -> dict[str, int]:
        """Insert (or replace) seed records in chunks, filling the system fields Salesforce would.

        Records stream through in chunks of a few thousand, so memory stays bounded for worlds of
        hundreds of thousands of rows. Emails are lower-cased as Salesforce does on save (6.8).
        """
        loaded: dict[str, int] = {}
        now = format_datetime(time.time())
        for object_name, records in world.records.items():
            obj = get_object(object_name)
            if obj is None:
                raise ValueError(f"unknown sObject in world data: {object_name}")
            email_fields = [f.name for f in obj.fields.values() if f.type == "email"]
            total = 0
            iterator = iter(records)
            # Replacing seeded rows needs their old keys removed; a first load can skip that.
            replacing = bool(
                self.execute("SELECT 1 FROM records WHERE object=? LIMIT 1", (obj.name,))
            )
            with self.transaction() as c:
                while True:
                    chunk = list(itertools.islice(iterator, _CHUNK))
                    if not chunk:
                        break
                    rows, keys, ids = [], [], []
                    for rec in chunk:
                        doc = dict(rec)
                        for name in email_fields:
                            if isinstance(doc.get(name), str):
                                doc[name] = doc[name].lower()
                        fill_system_fields(obj.name, doc, now)
                        rows.append(self._row(obj.name, doc))
                        keys.extend(self._keys(obj.name, doc))
                        ids.append((doc["Id"],))
                    if replacing:
                        c.executemany("DELETE FROM ext_keys WHERE id=?", ids)
                    c.executemany(
                        "INSERT OR REPLACE INTO records(id, object, doc, is_deleted,"
                        " system_modstamp, last_modified_date) VALUES (?,?,?,?,?,?)",
                        rows,
                    )
                    c.executemany("INSERT INTO ext_keys VALUES (?,?,?,?)", keys)
                    total += len(chunk)
            loaded[obj.name] = loaded.get(obj.name, 0) + total
        return loaded

    # -- tokens ---------------------------------------------------------------------------------
    def add_token(self, token: str, user_id: str, issued_at: float) -> None:
        with self.transaction() as c:
            c.execute("INSERT INTO tokens VALUES (?,?,?)", (token, user_id, issued_at))

    def token(self, token: str) -> tuple[str, float] | None:
        rows = self.execute("SELECT user_id, issued_at FROM tokens WHERE token=?", (token,))
        return (rows[0][0], rows[0][1]) if rows else None

    def revoke_tokens(self) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM tokens")

    # -- jobs -----------------------------------------------------------------------------------
    def save_job(self, info: dict[str, Any], kind: str, data: bytes | None = None) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO jobs(id, kind, info, data) VALUES (?,?,?,?)",
                (info["id"], kind, json.dumps(info), data),
            )

    def update_job(self, info: dict[str, Any], **columns: Any) -> None:
        sets = ["info=?"]
        params: list[Any] = [json.dumps(info)]
        for k, v in columns.items():
            sets.append(f"{k}=?")
            params.append(v)
        with self.transaction() as c:
            c.execute(f"UPDATE jobs SET {', '.join(sets)} WHERE id=?", (*params, info["id"]))

    def job(self, job_id: str) -> tuple[str, dict[str, Any], int] | None:
        rows = self.execute("SELECT kind, info, polls FROM jobs WHERE id=?", (job_id,))
        return (rows[0][0], json.loads(rows[0][1]), rows[0][2]) if rows else None

    def job_data(self, job_id: str) -> bytes | None:
        rows = self.execute("SELECT data FROM jobs WHERE id=?", (job_id,))
        return rows[0][0] if rows else None

    def jobs(self, kind: str) -> list[dict[str, Any]]:
        return [
            json.loads(r[0])
            for r in self.execute("SELECT info FROM jobs WHERE kind=? ORDER BY seq", (kind,))
        ]

    def delete_job(self, job_id: str) -> None:
        with self.transaction() as c:
            c.execute("DELETE FROM jobs WHERE id=?", (job_id,))
            c.execute("DELETE FROM job_rows WHERE job_id=?", (job_id,))

    def add_job_rows(self, job_id: str, kind: str, lines: Iterable[str], start: int = 0) -> int:
        n = start
        batch: list[tuple] = []
        with self.transaction() as c:
            for line in lines:
                batch.append((job_id, kind, n, line))
                n += 1
                if len(batch) >= _CHUNK:
                    c.executemany("INSERT INTO job_rows VALUES (?,?,?,?)", batch)
                    batch = []
            c.executemany("INSERT INTO job_rows VALUES (?,?,?,?)", batch)
        return n - start

    def job_rows(self, job_id: str, kind: str, offset: int = 0, limit: int = -1) -> list[str]:
        return [
            r[0]
            for r in self.execute(
                "SELECT line FROM job_rows WHERE job_id=? AND kind=? ORDER BY seq LIMIT ? OFFSET ?",
                (job_id, kind, limit, offset),
            )
        ]

    def job_row_count(self, job_id: str, kind: str) -> int:
        return self.execute(
            "SELECT COUNT(*) FROM job_rows WHERE job_id=? AND kind=?", (job_id, kind)
        )[0][0]


def fill_system_fields(
    object_name: str, doc: dict[str, Any], now: str, user_id: str | None = None
) -> None:
    """Defaults Salesforce sets on create: audit fields, IsDeleted, names, picklist defaults."""
    obj = OBJECTS[object_name]
    uid = user_id or INTEGRATION_USER_ID
    doc.setdefault("IsDeleted", False)
    for f in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        doc.setdefault(f, now)
    doc.setdefault("CreatedById", uid)
    doc.setdefault("LastModifiedById", uid)
    if obj.field("OwnerId") is not None and doc.get("OwnerId") is None:
        doc["OwnerId"] = uid
    for name, default in obj.create_defaults:
        if doc.get(name) is None:
            doc[name] = default
    derive_fields(object_name, doc)


def derive_fields(object_name: str, doc: dict[str, Any]) -> None:
    """Calculated fields: person Name, Task.IsClosed, Opportunity.IsClosed/IsWon, custom-object Name
    defaulting to the Id."""
    if object_name in ("Contact", "Lead", "User"):
        doc["Name"] = " ".join(p for p in (doc.get("FirstName"), doc.get("LastName")) if p)
    elif object_name == "Task":
        doc["IsClosed"] = doc.get("Status") == "Completed"
    elif object_name == "Opportunity":
        # Salesforce derives both from the stage's OpportunityStage settings (closed / won)
        doc["IsClosed"] = doc.get("StageName") in ("Closed Won", "Closed Lost")
        doc["IsWon"] = doc.get("StageName") == "Closed Won"
    elif object_name == "Intercom_Conversation__c" and not doc.get("Name"):
        # Salesforce names a custom-object record after its Id when no Name is given.
        doc["Name"] = doc["Id"]
