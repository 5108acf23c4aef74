"""The dedupe safeguard both matches share: a record several Salesforce records match is not
written; it waits in the review queue until a person chooses the surviving record.

Once a person has chosen (``review merge``, see manual.py) the match is ``manual``, never
``ambiguous``, so the item is not queued again: it stays ``fixed`` (resolve_passing only touches
open items), or, if someone reopened it, becomes ``resolved``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from intercom_salesforce.assets.quality.review_queue import resolve_passing, upsert_items
from intercom_salesforce.warehouse import ident, read_sql

SQL = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class AmbiguousMatches:
    """Where one match's ambiguous records are found and how their review items read."""

    entity: str  # the staging entity the review items name
    rule: str  # the review rule
    column: str  # the value a person looks at
    reason: str
    collect_sql: str  # creates ``table`` from the window's ambiguous matches
    rechecked_sql: str  # the window's records, checked again
    table: str

    def queue(
        self, conn: duckdb.DuckDBPyConnection, first_day: str, last_day: str, run_id: str
    ) -> int:
        """Queue the window's ambiguous records and resolve the items of records that now match
        one record; returns how many are queued."""
        conn.execute(read_sql(self.collect_sql, SQL), [first_day, last_day]).fetchall()
        failing = {
            r[0] for r in conn.execute(f"SELECT record_id FROM {ident(self.table)}").fetchall()
        }
        queued = upsert_items(
            conn,
            self.table,
            self.entity,
            self.rule,
            self.column,
            self.reason,
            run_id,
            candidates_column="candidates",
        )
        conn.execute(read_sql(self.rechecked_sql, SQL), [first_day, last_day]).fetchall()
        resolve_passing(conn, self.entity, [self.rule], {self.rule: failing})
        return queued
