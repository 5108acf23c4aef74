"""Write API records into a staging table in bounded memory: Arrow chunks into DuckDB.

Records are buffered up to ``chunk_rows``, turned into an Arrow table with the entity's schema and
upserted into the staging table in one short transaction per chunk: a row replaces the row with the
same ``upsert_key`` (for partitioned entities, the record's version in its own partition day). No
run-wide buffer exists, in Python or in DuckDB, so memory does not grow with the number of records.

A full refresh of a window ends with ``finish_window``, which removes the window's rows this run did
not write (records that moved to another day or no longer exist). Until then a reader may see both
a record's old and new rows; every row is a real version of its record, and the ``*_current`` views
(newest ``updated_at`` per id) are correct at every moment.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from intercom_salesforce.assets.extract.drift import PayloadObserver
from intercom_salesforce.extract.entities import EPOCH_RANGE, EntitySpec
from intercom_salesforce.warehouse import ident

CHUNK_ROWS = 5_000


class StagingWriter:
    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        spec: EntitySpec,
        run_id: str,
        tz: str | None = None,
        chunk_rows: int = CHUNK_ROWS,
    ):
        if spec.partitioned and not tz:
            raise ValueError(f"{spec.name} is partitioned by day: a timezone is required")
        self.conn, self.spec, self.run_id, self.tz = conn, spec, run_id, tz
        self.chunk_rows = chunk_rows
        self.buffer: list[dict[str, Any]] = []
        self.appended = 0  # records handed to the writer
        self.written = 0  # rows inserted (after collapsing repeats within a chunk)
        self.extracted_at = datetime.now(UTC)
        self._select = self._build_select()
        self.observer = PayloadObserver(spec)

    def add(self, record: dict[str, Any]) -> None:
        # a drifted key is counted (and its value nulled) instead of crashing the conversion
        self.buffer.append(self.spec.row(self.observer.observe(record)))
        if len(self.buffer) >= self.chunk_rows:
            self.flush()

    def _build_select(self) -> str:
        exprs = []
        for c in self.spec.columns:
            name = ident(c.name)
            if c.type == "TIMESTAMPTZ":
                # a value no timestamp can hold (microseconds, say) is NULL, not a failed extract
                exprs.append(
                    f"CASE WHEN {name} BETWEEN {EPOCH_RANGE[0]} AND {EPOCH_RANGE[1]} "
                    f"THEN to_timestamp({name}) END AS {name}"
                )
            elif c.type == "JSON":
                exprs.append(f"{name}::JSON AS {name}")
            else:
                exprs.append(name)
        if self.spec.partitioned:
            exprs.append("(to_timestamp(updated_at) AT TIME ZONE $tz)::DATE AS partition_date")
        exprs += ["$extracted_at::TIMESTAMPTZ AS extracted_at", "$run_id AS run_id"]
        # a record updated while we paged can come twice in one chunk; keep its newest copy
        order = "updated_at DESC, " if self.spec.partitioned else ""
        return (
            f"SELECT {', '.join(exprs)} FROM _chunk "
            f"QUALIFY row_number() OVER (PARTITION BY {ident(self.spec.id_column)} "
            f"ORDER BY {order}_seq DESC) = 1"
        )

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"extracted_at": self.extracted_at, "run_id": self.run_id}
        if self.spec.partitioned:
            params["tz"] = self.tz
        return params

    def flush(self) -> None:
        """Upsert the buffered records in one transaction."""
        if not self.buffer:
            return
        chunk = pa.Table.from_pylist(self.buffer, schema=self.spec.arrow_schema)
        chunk = chunk.append_column(
            "_seq", pa.array(range(self.appended, self.appended + len(self.buffer)), pa.int64())
        )
        keys = self.spec.upsert_key if self.spec.partitioned else (self.spec.id_column,)
        match = " AND ".join(f"t.{ident(k)} = s.{ident(k)}" for k in keys)
        table = self.spec.table
        self.conn.register("_chunk", chunk)
        try:
            self.conn.execute("BEGIN")
            self.conn.execute(
                f"CREATE OR REPLACE TEMP TABLE _staged AS {self._select}", self._params()
            )
            self.conn.execute(f"DELETE FROM {table} t USING _staged s WHERE {match}")
            self.conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _staged")
            self.written += self.conn.execute("SELECT count(*) FROM _staged").fetchall()[0][0]
            self.conn.execute("DROP TABLE _staged")
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        finally:
            self.conn.unregister("_chunk")
        self.appended += len(self.buffer)
        self.buffer = []

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
