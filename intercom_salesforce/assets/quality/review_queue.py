"""The review queue: what a rule or Salesforce refused, kept with its reason until a person acts.

Statuses: ``open`` (waiting; the record is not pushed), ``fixed`` (a person handled it: the record
is pushed on the next run, and stays fixed while the offending value is unchanged), ``dismissed``
(never pushed), ``resolved`` (a later check found the record good again).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from intercom_salesforce.warehouse import ident, read_sql

SQL = Path(__file__).parent / "sql"
# the records a push must skip
BLOCKING_STATUSES = ("open", "dismissed")


def queue_rule_failures(
    conn: duckdb.DuckDBPyConnection,
    suite: Any,
    rule: Any,
    frame: pd.DataFrame,
    failing: list[dict[str, Any]],
    run_id: str,
) -> int:
    """Upsert one row rule's failures (GX's unexpected index list) into the queue."""
    ids = pd.DataFrame({"record_id": [str(f[suite.id_column]) for f in failing]}).drop_duplicates()
    values = frame[[suite.id_column, "partition_date", rule.column]].copy()
    values.columns = ["record_id", "partition_date", "value"]
    values["record_id"] = values["record_id"].astype(str)
    values["value"] = values["value"].astype("string")
    conn.register("_failing_ids", ids)
    conn.register("_failing_values", values)
    try:
        conn.execute(read_sql("collect_rule_failures.sql", SQL)).fetchall()
    finally:
        conn.unregister("_failing_ids")
        conn.unregister("_failing_values")
    return upsert_items(
        conn, "_rule_failures", suite.entity, rule.name, rule.column, rule.reason, run_id
    )


def upsert_items(
    conn: duckdb.DuckDBPyConnection,
    failures: str,
    entity: str,
    rule: str,
    column: str | None,
    reason: str,
    run_id: str,
    candidates_column: str | None = None,
) -> int:
    """Merge the table ``failures`` (record_id, partition_date, value[, candidates]) into the
    queue; returns how many items it holds.

    A fixed item stays fixed while its value is unchanged; a changed value, or a resolved item
    failing again, reopens it. Dismissed items stay dismissed.
    """
    now = datetime.now(UTC)
    candidates = f"f.{ident(candidates_column)}" if candidates_column else "NULL::VARCHAR[]"
    # the one part that varies: which column, if any, holds the candidates
    conn.execute(
        "CREATE OR REPLACE TEMP VIEW _review_failures AS SELECT f.record_id, f.partition_date, "
        f"f.value, {candidates} AS candidates FROM {ident(failures)} f"
    ).fetchall()
    # DuckDB wants a statement's result consumed before the next one
    conn.execute(
        read_sql("update_review_items.sql", SQL), [now, run_id, reason, entity, rule]
    ).fetchall()
    conn.execute(
        read_sql("insert_review_items.sql", SQL), [entity, rule, column, reason, now, run_id]
    ).fetchall()
    return conn.execute(f"SELECT count(*) FROM {ident(failures)}").fetchall()[0][0]


def checked_records(conn: duckdb.DuckDBPyConnection, ids: Iterable[Any]) -> None:
    """The records a check looked at, as the temp table ``_rechecked`` resolve_passing reads."""
    frame = pd.DataFrame({"record_id": pd.Series([str(i) for i in ids], dtype="string")})
    conn.register("_checked_ids", frame)
    try:
        conn.execute(read_sql("rechecked_ids.sql", SQL)).fetchall()
    finally:
        conn.unregister("_checked_ids")


def resolve_passing(
    conn: duckdb.DuckDBPyConnection,
    entity: str,
    rules: list[str],
    failing: dict[str, set[str]],
) -> int:
    """Open items of records checked again (temp table ``_rechecked(record_id)``) that now pass
    their rule become resolved."""
    resolved = 0
    for rule in rules:
        conn.execute(read_sql("still_failing.sql", SQL), [sorted(failing.get(rule, ()))])
        resolved += conn.execute(
            read_sql("resolve_review_items.sql", SQL), [entity, rule]
        ).fetchall()[0][0]
    return resolved


def set_status(
    conn: duckdb.DuckDBPyConnection, item_id: int, status: str, note: str | None
) -> dict[str, Any] | None:
    """A person's decision on one item (``fixed`` or ``dismissed``, or back to ``open``)."""
    if status not in ("fixed", "dismissed", "open"):
        raise ValueError(f"unknown status {status!r}")
    row = conn.execute(read_sql("set_review_status.sql", SQL), [status, note, item_id]).fetchone()
    if row is None:
        return None
    return dict(zip(["item_id", "entity", "record_id", "rule", "status"], row, strict=True))
