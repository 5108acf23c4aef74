"""Write API records into a staging table in bounded memory: Arrow chunks into DuckDB.

Records are buffered up to ``chunk_rows``, turned into an Arrow table with the entity's schema and
appended to a temp table; ``commit_*`` then replaces the window (or the whole table) in one
transaction, keeping the newest version of a record seen twice while paging.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from intercom_salesforce.assets.extract.entities import EntitySpec

CHUNK_ROWS = 5_000


class StagingWriter:
    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        spec: EntitySpec,
        run_id: str,
        chunk_rows: int = CHUNK_ROWS,
    ):
        self.conn, self.spec, self.run_id, self.chunk_rows = conn, spec, run_id, chunk_rows
        self.buffer: list[dict[str, Any]] = []
        self.appended = 0
        self.temp = f"_stage_{spec.name}"
        cols = ", ".join(
            f'"{c.name}" {"BIGINT" if c.type == "TIMESTAMPTZ" else "VARCHAR" if c.type == "JSON" else c.type}'
            for c in spec.columns
        )
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {self.temp} ({cols}, _seq BIGINT)")

    def add(self, record: dict[str, Any]) -> None:
        self.buffer.append(self.spec.row(record))
        if len(self.buffer) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        chunk = pa.Table.from_pylist(self.buffer, schema=self.spec.arrow_schema)
        chunk = chunk.append_column(
            "_seq", pa.array(range(self.appended, self.appended + len(self.buffer)), pa.int64())
        )
        self.conn.register("_chunk", chunk)
        self.conn.execute(f"INSERT INTO {self.temp} SELECT * FROM _chunk")
        self.conn.unregister("_chunk")
        self.appended += len(self.buffer)
        self.buffer = []

    def _select(self, tz: str | None) -> tuple[str, list[Any]]:
        exprs = []
        for c in self.spec.columns:
            if c.type == "TIMESTAMPTZ":
                exprs.append(f'to_timestamp("{c.name}")')
            elif c.type == "JSON":
                exprs.append(f'"{c.name}"::JSON')
            else:
                exprs.append(f'"{c.name}"')
        params: list[Any] = []
        if self.spec.partitioned:
            exprs.append("(to_timestamp(updated_at) AT TIME ZONE ?)::DATE")
            params.append(tz)
        exprs += ["?", "?"]
        params += [datetime.now(UTC), self.run_id]
        # a record updated while we paged can be seen twice; keep its newest (then latest) copy
        sql = (
            f"SELECT {', '.join(exprs)} FROM {self.temp} "
            f'QUALIFY row_number() OVER (PARTITION BY "{self.spec.id_column}" '
            f"ORDER BY {'updated_at DESC, ' if self.spec.partitioned else ''}_seq DESC) = 1"
        )
        return sql, params

    def commit_window(self, first_day: str, last_day: str, tz: str) -> int:
        """Replace the window's partitions with what was staged; returns rows now in the window."""
        self.flush()
        select, params = self._select(tz)
        self.conn.execute("BEGIN")
        self.conn.execute(
            f"DELETE FROM {self.spec.table} WHERE partition_date BETWEEN ? AND ?",
            [first_day, last_day],
        )
        self.conn.execute(f"INSERT INTO {self.spec.table} {select}", params)
        self.conn.execute("COMMIT")
        return self.conn.execute(
            f"SELECT count(*) FROM {self.spec.table} WHERE partition_date BETWEEN ? AND ?",
            [first_day, last_day],
        ).fetchone()[0]

    def commit_replace_keys(self, key_column: str, tz: str) -> int:
        """Replace every row whose ``key_column`` value was staged (e.g. parts per conversation)."""
        self.flush()
        select, params = self._select(tz)
        self.conn.execute("BEGIN")
        self.conn.execute(
            f'DELETE FROM {self.spec.table} WHERE "{key_column}" IN '
            f'(SELECT DISTINCT "{key_column}" FROM {self.temp})'
        )
        self.conn.execute(f"INSERT INTO {self.spec.table} {select}", params)
        self.conn.execute("COMMIT")
        return self.appended

    def commit_all(self) -> int:
        """Replace the whole table (reference data)."""
        self.flush()
        select, params = self._select(None)
        self.conn.execute("BEGIN")
        self.conn.execute(f"DELETE FROM {self.spec.table}")
        self.conn.execute(f"INSERT INTO {self.spec.table} {select}", params)
        self.conn.execute("COMMIT")
        return self.conn.execute(f"SELECT count(*) FROM {self.spec.table}").fetchone()[0]
