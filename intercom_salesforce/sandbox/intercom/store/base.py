"""The SQLite connection every entity store shares: locking, transactions, versions, paging SQL.

One connection in WAL mode serves the threaded server; a re-entrant lock serialises access, which
keeps SQLite's single-writer rule trivially true and costs little at emulator request rates.
"""

from __future__ import annotations

import contextlib
import json
import pathlib
import random
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

SCHEMA = pathlib.Path(__file__).with_name("schema.sql").read_text()
TABLES = (
    "meta",
    "contacts",
    "contact_links",
    "contact_taggings",
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
# the tables of records (not links or metadata), in order: what /_sandbox/counts reports
COUNTED = tuple(
    t
    for t in TABLES
    if t not in {"meta", "contact_links", "contact_taggings", "company_links", "conversation_links"}
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
DEFAULT_APP_ID = "sbx4pp1d"
DERIVED_HELD = 1_000_000
"""How many derived values (``StoreBase.derived``) one kind holds before it starts over."""
BULK_CACHE_KIB = -131072
"""SQLite's page cache while seeding (negative: KiB), so index pages stay in memory."""


def has_word(text: Any, word: Any) -> int:
    """SQL function for ``source.body``: Intercom matches each word of the body (§4.1)."""
    if not isinstance(text, str) or not isinstance(word, str):
        return 0
    return int(word.lower() in _words_of(text))


def _words_of(text: str) -> set[str]:
    return {w.lower() for w in _WORD_RE.findall(_TAG_RE.sub(" ", text))}


def has_word_beyond(text: Any, word: Any, direction: Any) -> int:
    """SQL function for ``>`` (``direction`` 1) and ``<`` (-1) on ``source.body``: like its
    ``=``, each word of the body is compared on its own, case-insensitively (§4.1)."""
    if not isinstance(text, str) or not isinstance(word, str):
        return 0
    bound = word.lower()
    words = _words_of(text)
    if direction > 0:
        return int(any(w > bound for w in words))
    return int(any(w < bound for w in words))


def new_hex_id() -> str:
    """24-hex ids like Intercom's contact and company ids."""
    return secrets.token_hex(12)


def id_list(ids: Iterable[str]) -> str:
    """Ids as one JSON array parameter, read back with ``json_each``: any number of ids binds as
    a single parameter, so no statement is built per list length."""
    return json.dumps(list(ids))


class NotFound(KeyError):
    """A referenced record does not exist."""


class StoreFormatError(RuntimeError):
    """The file was written by an emulator that kept records unrendered: seed it again."""


class StoreBase:
    """Connection, lock and transaction plumbing shared by the per-entity stores."""

    def __init__(self, path: pathlib.Path, clock: Callable[[], float] = time.time) -> None:
        self.path = pathlib.Path(path)
        self.clock = clock
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.create_function("ic_has_word", 2, has_word, deterministic=True)
        self._conn.create_function("ic_has_word_beyond", 3, has_word_beyond, deterministic=True)
        self._conn.executescript(SCHEMA)
        self._check_format()
        self._counts: dict[tuple[Any, ...], tuple[tuple[int, int], int]] = {}
        self._derived: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
        self._version = 0
        self._bulk_depth = 0

    def _check_format(self) -> None:
        """A store file written before records were kept rendered cannot be served: say so."""
        columns = {r[1] for r in self._conn.execute("PRAGMA table_info(conversations)")}
        row = self._conn.execute("SELECT doc FROM contacts LIMIT 1").fetchone()
        if "body" not in columns or (row and '"opted_in_subscription_types"' not in row[0]):
            raise StoreFormatError(
                f"{self.path} was written by an older emulator: run "
                "`intercom-salesforce sandbox seed` again"
            )

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
            return result

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Write a seed at disk speed: rows go to the file once (a rollback journal in memory
        rather than the WAL, which writes every page twice), without fsyncs, through a 128 MB
        page cache. A crash mid-seed leaves a file to seed again; WAL comes back at the end.
        Switching journals needs no other connection open; otherwise the WAL simply stays."""
        with self._lock:
            self._bulk_depth += 1
            if self._bulk_depth == 1:
                self._conn.execute("PRAGMA journal_mode=MEMORY")
                self._conn.execute("PRAGMA synchronous=OFF")
                self._conn.execute(f"PRAGMA cache_size={BULK_CACHE_KIB}")
            try:
                yield
            finally:
                self._bulk_depth -= 1
                if self._bulk_depth == 0:
                    self._conn.execute("PRAGMA cache_size=-2000")
                    self._conn.execute("PRAGMA journal_mode=WAL")
                    self._conn.execute("PRAGMA synchronous=NORMAL")

    def _data_version(self) -> tuple[int, int]:
        """Changes whenever anyone commits: this connection (counter) or another one, such as a
        second ``IntercomStore`` on the same file (SQLite's ``PRAGMA data_version``)."""
        other = self._conn.execute("PRAGMA data_version").fetchone()[0]
        return self._version, int(other)

    def reset(self) -> None:
        """Drop all data (the schema stays)."""

        def run(conn: sqlite3.Connection) -> None:
            for table in TABLES:
                conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

        self._write(run)

    def count(self, entity: str) -> int:
        if entity not in COUNTED:
            raise KeyError(entity)
        return int(self.query(f"SELECT COUNT(*) FROM {entity}")[0][0])  # noqa: S608

    def app_info(self) -> dict[str, Any]:
        rows = self.query("SELECT value FROM meta WHERE key = 'app'")
        return json.loads(rows[0][0]) if rows else {}

    def _app_id(self) -> str:
        return self.app_info().get("id_code") or DEFAULT_APP_ID

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

    def derived(
        self,
        name: str,
        keys: list[str],
        compute: Callable[[list[str]], dict[str, Any]],
        default: Any,
    ) -> dict[str, Any]:
        """Values per key (a record, a model) derived from the tables (``name``: which), computed
        for the keys not yet held by ``compute(missing) -> {key: value}`` (``default`` where it
        has none) and held until the next write, here or on another connection.

        A value such as a company's user count costs a join over every linked contact; a large
        company's is asked for again with each of its thousands of contacts, so computing it per
        request makes a read grow with the world.
        """
        with self._lock:
            version = self._data_version()
            held = self._derived.get(name)
            if held is None or held[0] != version or len(held[1]) > DERIVED_HELD:
                held = (version, {})
                self._derived[name] = held
            values = held[1]
            missing = [k for k in keys if k not in values]
            if missing:
                found = compute(missing)
                values.update({k: found.get(k, default) for k in missing})
            return {k: values[k] for k in keys}

    def sample_ids(self, table: str, where: str, params: list[Any], n: int, seed: int) -> list[str]:
        """Up to ``n`` ids matching ``where``, chosen reproducibly (for mutate-while-paging)."""
        total = self.count_where(table, where, params)
        if total == 0:
            return []
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
