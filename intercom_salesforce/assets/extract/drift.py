"""Schema drift in Intercom's payloads, observed while records stream into staging.

Intercom sends every documented key, null when unset. A key that stops arriving (renamed upstream)
or arrives with another JSON type (retyped) would otherwise turn into silent nulls or a crash deep
in a conversion. The observer counts, per staged column, records where the key was missing or its
value had the wrong type, keeps one sample, and writes the counts to
``staging.payload_observations``; the quality gate fails, blocking and naming the column, when a
key never arrived in a run's records or any value had the wrong type.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from intercom_salesforce.extract.entities import Column, EntitySpec

OBSERVATIONS = "staging.payload_observations"

# JSON types each staged type accepts (None is always accepted: a documented key may be null)
ACCEPTS: dict[str, tuple[type, ...]] = {
    "VARCHAR": (str,),
    "BIGINT": (int,),
    "TIMESTAMPTZ": (int,),
    "DOUBLE": (int, float),
    "BOOLEAN": (bool,),
    "JSON": (dict, list),
}

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


def _lookup(record: dict[str, Any], path: str) -> tuple[bool, Any]:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def type_ok(column: Column, value: Any) -> bool:
    if value is None:
        return True
    accepted = ACCEPTS[column.type]
    if isinstance(value, bool) and bool not in accepted:
        return False  # JSON true is not a number
    return isinstance(value, accepted)


class PayloadObserver:
    """Counts missing keys and wrong types per column of one entity for one run."""

    def __init__(self, spec: EntitySpec):
        self.spec = spec
        # computed columns and nested paths read optional shapes; observe direct keys only
        self.columns = [
            c for c in spec.columns if c.read is None and "." not in (c.source or c.name)
        ]
        self.records = 0
        self.missing = {c.name: 0 for c in self.columns}
        self.wrong = {c.name: 0 for c in self.columns}
        self.samples: dict[str, str] = {}

    def observe(self, record: dict[str, Any]) -> dict[str, Any]:
        """Count this record; return it with unconvertible values nulled, so staging never crashes."""
        self.records += 1
        cleaned = record
        for c in self.columns:
            present, value = _lookup(record, c.source or c.name)
            if not present:
                self.missing[c.name] += 1
                continue
            if not type_ok(c, value):
                self.wrong[c.name] += 1
                self.samples.setdefault(c.name, repr(value)[:200])
                try:
                    c.value(record)  # still convertible (a number sent as a string): keep it
                except (TypeError, ValueError):
                    if cleaned is record:
                        cleaned = dict(record)
                    cleaned[c.source or c.name] = None
        return cleaned

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
