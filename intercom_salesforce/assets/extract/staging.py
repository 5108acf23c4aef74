"""Write API records into a staging table in bounded memory: pages of JSON into DuckDB.

Pages are buffered up to ``chunk_rows`` records, handed to DuckDB as JSON text, typed there and
upserted into the staging table in one short transaction per chunk: a row replaces the row with the
same ``upsert_key`` (for partitioned entities, the record's version in its own partition day). No
run-wide buffer exists, in Python or in DuckDB, so memory does not grow with the number of records.

A full refresh of a window ends with ``finish_window``, which removes the window's rows this run did
not write (records that moved to another day or no longer exist). Until then a reader may see both
a record's old and new rows; every row is a real version of its record, and the ``*_current`` views
(newest ``updated_at`` per id) are correct at every moment.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from intercom_salesforce.assets.extract.drift import PayloadObserver, observe_sql
from intercom_salesforce.extract.entities import EPOCH_RANGE, Column, EntitySpec
from intercom_salesforce.warehouse import ident, literal

#: records upserted by one transaction. Each chunk's commit and its delete of the keys it
#: replaces cost about as much whatever the chunk's size, and the delete scans the table: at a
#: million contacts, chunks of 5,000 spent 47 s of CPU staging, chunks of 20,000 37 to 39 s, for
#: 36 MB more at peak (``benchmarks/staging_writer.py --records 1000000 --chunk-rows
#: 5000,20000``); chunks of 50,000 cost more of both.
CHUNK_ROWS = 20_000
# records parsed by one statement: DuckDB holds the parsed JSON of every record a statement reads
# (about 40 KB a contact), so a chunk is parsed in slices and upserted whole
PARSE_ROWS = 1_000


def records_sql(pages: str) -> str:
    """The pages of relation ``pages`` unnested: each record's JSON ``r``, its order ``_seq``
    (its page's first position ``base`` plus its place ``i`` in the page), and the page's
    parent."""
    return (
        "SELECT base + i AS _seq, parent, r FROM ("
        "SELECT base, parent, unnest(rs) AS r, unnest(generate_series(0, len(rs) - 1)) AS i "
        f"FROM (SELECT base, parent, json_extract(page, '$[*]') AS rs FROM {pages}))"
    )


def page_json(records: list[dict[str, Any]]) -> bytes:
    """A page's records as UTF-8 JSON, in one call (orjson; the stdlib for integers past 64
    bits, which orjson refuses)."""
    try:
        return orjson.dumps(records)
    except TypeError:
        return json.dumps(records, ensure_ascii=False).encode()


class StagingWriter:
    """Stages pages of one entity's records: JSON in, typed rows out, all of it in DuckDB.

    A page is handed over as it came (one orjson encoding of its records). At each chunk DuckDB
    unnests the pages, reads every record's keys in one parse (``json_transform`` with the
    entity's structure), counts drift (``json_type``) and upserts the typed rows. No Python runs
    per record: that is what keeps a million contacts from costing minutes of interpreter time.
    """

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        spec: EntitySpec,
        run_id: str,
        tz: str | None = None,
        chunk_rows: int = CHUNK_ROWS,
        parse_rows: int = PARSE_ROWS,
    ):
        if spec.partitioned and not tz:
            raise ValueError(f"{spec.name} is partitioned by day: a timezone is required")
        self.conn, self.spec, self.run_id, self.tz = conn, spec, run_id, tz
        self.chunk_rows, self.parse_rows = chunk_rows, parse_rows
        self.pages: list[bytes] = []
        self.parents: list[str | None] = []
        self.bases: list[int] = []
        self.buffered = 0  # records in ``pages``
        self.appended = 0  # records handed to the writer
        self.written = 0  # rows inserted (after collapsing repeats within a chunk)
        self.extracted_at = datetime.now(UTC)
        self.observer = PayloadObserver(spec)
        self._records = self._records_sql()
        # a chunk whose ids are all distinct (nearly every one) skips the window that keeps
        # each id's newest copy: its sort cost 2 to 3 µs a contact, the check a tenth of that
        self._select_distinct, self._select = self._build_select()
        id_value = self._value(next(c for c in spec.columns if c.name == spec.id_column))
        self._ids_distinct = f"SELECT count(*) = count(DISTINCT {id_value}) FROM _records"

    def add_page(self, records: list[dict[str, Any]], parent: str | None = None) -> None:
        """Buffer a page of records; ``parent`` fills ``spec.parent_field`` on each of them."""
        if not records:
            return
        self.pages.append(page_json(records))
        self.parents.append(parent)
        self.bases.append(self.appended + self.buffered)
        self.buffered += len(records)
        if self.buffered >= self.chunk_rows:
            self.flush()

    def _records_sql(self) -> str:
        """One row per buffered record: its order ``_seq``, parent, its keys read in one parse
        (``s``) and their JSON types (``t``, for drift)."""
        paths = self.observer.paths()
        types = f"json_type(r, {paths})" if self.observer.columns else "NULL::VARCHAR[]"
        structure = literal(self.spec.structure())
        return (
            f"SELECT _seq, parent AS _parent, json_transform(r, {structure}) AS s, "
            f"{types} AS t FROM ({records_sql('_slice')})"
        )

    def _value(self, column: Column) -> str:
        value = column.select()
        if column.name == self.spec.parent_field:
            value = f"coalesce(_parent, {value})"
        if column.type == "TIMESTAMPTZ":
            # a value no timestamp can hold (microseconds, say) is NULL, not a failed extract
            value = (
                f"CASE WHEN {value} BETWEEN {EPOCH_RANGE[0]} AND {EPOCH_RANGE[1]} "
                f"THEN to_timestamp({value}) END"
            )
        return value

    def _build_select(self) -> tuple[str, str]:
        """The typed rows of ``_records``: as they are, and each id's newest copy only."""
        spec = self.spec
        exprs = [f"{self._value(c)} AS {ident(c.name)}" for c in spec.columns]
        order = ""
        if spec.partitioned:
            updated = next(c for c in spec.columns if c.name == "updated_at").select()
            exprs.append(f"(to_timestamp({updated}) AT TIME ZONE $tz)::DATE AS partition_date")
            exprs.append(f"{updated} AS _updated")
            # a record updated while we paged can come twice in one chunk; keep its newest copy
            order = "_updated DESC, "
        exprs += ["$extracted_at::TIMESTAMPTZ AS extracted_at", "$run_id AS run_id", "_seq"]
        drop = "_seq, _updated" if spec.partitioned else "_seq"
        rows = f"SELECT * EXCLUDE ({drop}) FROM (SELECT {', '.join(exprs)} FROM _records)"
        newest = (
            f" QUALIFY row_number() OVER (PARTITION BY {ident(spec.id_column)} "
            f"ORDER BY {order}_seq DESC) = 1"
        )
        return rows, rows + newest

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"extracted_at": self.extracted_at, "run_id": self.run_id}
        if self.spec.partitioned:
            params["tz"] = self.tz
        return params

    def flush(self) -> None:
        """Upsert the buffered records in one transaction."""
        if not self.pages:
            return
        chunk = pa.table(
            {
                "page": pa.array(self.pages, pa.string()),
                "parent": pa.array(self.parents, pa.string()),
                "base": pa.array(self.bases, pa.int64()),
            }
        )
        keys = self.spec.upsert_key if self.spec.partitioned else (self.spec.id_column,)
        match = " AND ".join(f"t.{ident(k)} = s.{ident(k)}" for k in keys)
        table = self.spec.table
        self.conn.register("_chunk", chunk)
        try:
            self.conn.execute("BEGIN")
            self._parse(chunk)
            counts = self.conn.execute(observe_sql(self.spec, "_records")).fetchone()
            assert counts is not None
            self.observer.add(self.conn, counts, f"({records_sql('_chunk')})")
            distinct = self.conn.execute(self._ids_distinct).fetchall()[0][0]
            select = self._select_distinct if distinct else self._select
            self.conn.execute(f"CREATE OR REPLACE TEMP TABLE _staged AS {select}", self._params())
            self.conn.execute(f"DELETE FROM {table} t USING _staged s WHERE {match}")
            self.conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _staged")
            self.written += self.conn.execute("SELECT count(*) FROM _staged").fetchall()[0][0]
            self.conn.execute("DROP TABLE _staged")
            self.conn.execute("DROP TABLE _records")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self.conn.unregister("_chunk")
        self.appended += self.buffered
        self.pages, self.parents, self.bases, self.buffered = [], [], [], 0

    def _parse(self, chunk: pa.Table) -> None:
        """Type the chunk's records into ``_records``, about ``parse_rows`` records at a time
        (whole pages: a slice ends at the first page that reaches it)."""
        ends = [b - self.appended for b in self.bases[1:]] + [self.buffered]
        first, start, done = True, 0, 0
        for i, end in enumerate(ends):
            if end - done < self.parse_rows and i + 1 < len(ends):
                continue
            self.conn.register("_slice", chunk.slice(start, i + 1 - start))
            verb = "CREATE OR REPLACE TEMP TABLE _records AS" if first else "INSERT INTO _records"
            try:
                self.conn.execute(f"{verb} {self._records}")
            finally:
                self.conn.unregister("_slice")
            first, start, done = False, i + 1, end

    def finish_window(self, first_day: str, last_day: str) -> int:
        """Full refresh: drop the window's rows this run did not write; returns rows in it."""
        self.flush()
        self.observer.write(self.conn, self.run_id, first_day, last_day)
        self.conn.execute(
            f"DELETE FROM {self.spec.table} WHERE partition_date BETWEEN ? AND ? "
            "AND run_id IS DISTINCT FROM ?",
            [first_day, last_day, self.run_id],
        )
        return self.window_rows(first_day, last_day)

    def finish_upsert(self) -> int:
        """Incremental: nothing else to replace; returns the rows this run wrote."""
        self.flush()
        self.observer.write(self.conn, self.run_id, None, None)
        return self.written

    def finish_plan(self, incremental: bool, first_day: str, last_day: str) -> int:
        """Finish as the run's plan says; returns the rows now in the window."""
        if incremental:
            self.finish_upsert()
            return self.window_rows(first_day, last_day)
        return self.finish_window(first_day, last_day)

    def window_rows(self, first_day: str, last_day: str) -> int:
        return self.conn.execute(
            f"SELECT count(*) FROM {self.spec.table} WHERE partition_date BETWEEN ? AND ?",
            [first_day, last_day],
        ).fetchall()[0][0]

    def finish_all(self) -> int:
        """Reference data: the table is exactly what this run read."""
        self.flush()
        self.observer.write(self.conn, self.run_id, None, None)
        self.conn.execute(
            f"DELETE FROM {self.spec.table} WHERE run_id IS DISTINCT FROM ?", [self.run_id]
        )
        return self.conn.execute(f"SELECT count(*) FROM {self.spec.table}").fetchall()[0][0]
