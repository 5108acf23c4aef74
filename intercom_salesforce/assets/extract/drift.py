"""Schema drift in Intercom's payloads, observed while records stream into staging.

Intercom sends every documented key, null when unset. A key that stops arriving (renamed upstream)
or arrives with another JSON type (retyped) would otherwise turn into silent nulls or a crash deep
in a conversion. The observer counts, per staged column, records where the key was missing or its
value had the wrong type (in SQL, chunk by chunk, as the writer stages them), keeps one sample,
and writes the counts to ``staging.payload_observations``; the quality gate fails, blocking and
naming the column, when a key never arrived in a run's records or any value had the wrong type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from intercom_salesforce.extract.entities import Column, EntitySpec, json_key
from intercom_salesforce.warehouse import literal

OBSERVATIONS = "staging.payload_observations"

# JSON types (DuckDB's ``json_type``) each staged type accepts; a documented key may be null
ACCEPTS: dict[str, tuple[str, ...]] = {
    "VARCHAR": ("VARCHAR",),
    "BIGINT": ("BIGINT", "UBIGINT"),
    "TIMESTAMPTZ": ("BIGINT", "UBIGINT"),
    "DOUBLE": ("BIGINT", "UBIGINT", "DOUBLE"),
    "BOOLEAN": ("BOOLEAN",),
    "JSON": ("OBJECT", "ARRAY"),
}
SAMPLE_CHARS = 200

CREATE_SQL = f"""
CREATE TABLE IF NOT EXISTS {OBSERVATIONS} (
    entity        VARCHAR NOT NULL,
    run_id        VARCHAR NOT NULL,
    first_day     DATE,
    last_day      DATE,
    column_name   VARCHAR NOT NULL,
    source_path   VARCHAR NOT NULL,
    expected_type VARCHAR NOT NULL,
    records       BIGINT NOT NULL,
    missing       BIGINT NOT NULL,
    wrong_type    BIGINT NOT NULL,
    sample        VARCHAR,
    observed_at   TIMESTAMPTZ NOT NULL
);
"""


def observe_sql(spec: EntitySpec, records: str) -> str:
    """One scan of a chunk's records (``records``: a relation with its keys' JSON types ``t``, in
    ``spec.observed`` order) counting missing keys and wrong types per column."""
    parts = ["count(*)"]
    for i, c in enumerate(spec.observed, start=1):
        parts += [
            f"count(*) FILTER (WHERE t[{i}] IS NULL)",
            f"count(*) FILTER (WHERE {wrong_type(c, f't[{i}]')})",
        ]
    return f"SELECT {', '.join(parts)} FROM {records}"


def wrong_type(column: Column, json_type: str) -> str:
    accepted = ", ".join(literal(a) for a in (*ACCEPTS[column.type], "NULL"))
    return f"{json_type} NOT IN ({accepted})"


def path(column: Column) -> str:
    """The column's key as a JSON path literal."""
    return literal("$." + json_key(column.path))


def sample_sql(column: Column, records: str) -> str:
    """The first wrong-typed value of ``column`` in ``records`` (a relation with the record
    JSON ``r`` and its order ``_seq``): read only for a column that had one."""
    value = f"json_extract(r, {path(column)})"
    return (
        f"SELECT left({value}::VARCHAR, {SAMPLE_CHARS}) FROM {records} "
        f"WHERE {wrong_type(column, f'json_type({value})')} ORDER BY _seq LIMIT 1"
    )


class PayloadObserver:
    """Counts missing keys and wrong types per column of one entity for one run.

    The counting is SQL over each chunk (``observe_sql``); DuckDB reads a wrong-typed value as
    NULL when it cannot convert it (``json_transform``), so staging never crashes on one."""

    def __init__(self, spec: EntitySpec):
        self.spec = spec
        self.columns = spec.observed
        self.records = 0
        self.missing = {c.name: 0 for c in self.columns}
        self.wrong = {c.name: 0 for c in self.columns}
        self.samples: dict[str, str] = {}

    def paths(self) -> str:
        """The JSON paths whose types ``observe_sql`` expects as ``t``."""
        return "[" + ", ".join(path(c) for c in self.columns) + "]"

    def add(self, conn: duckdb.DuckDBPyConnection, counts: tuple[Any, ...], records: str) -> None:
        """Add one chunk's counts, as ``observe_sql`` returns them; a column's first wrong value
        is read from ``records`` (see ``sample_sql``)."""
        self.records += counts[0]
        for i, c in enumerate(self.columns):
            missing, wrong = counts[1 + 2 * i : 3 + 2 * i]
            self.missing[c.name] += missing
            self.wrong[c.name] += wrong
            if wrong and c.name not in self.samples:
                found = conn.execute(sample_sql(c, records)).fetchall()
                if found:
                    self.samples[c.name] = found[0][0]

    def write(
        self,
        conn: duckdb.DuckDBPyConnection,
        run_id: str,
        first_day: str | None,
        last_day: str | None,
    ) -> None:
        conn.execute(CREATE_SQL)
        now = datetime.now(UTC)
        conn.executemany(
            f"INSERT INTO {OBSERVATIONS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    self.spec.name,
                    run_id,
                    first_day,
                    last_day,
                    c.name,
                    c.source or c.name,
                    c.type,
                    self.records,
                    self.missing[c.name],
                    self.wrong[c.name],
                    self.samples.get(c.name),
                    now,
                ]
                for c in self.columns
            ],
        )
