"""The review queue: what a rule or Salesforce refused, kept with its reason until a person acts.

Statuses: ``open`` (waiting; the record is not pushed), ``fixed`` (a person handled it: the record
is pushed on the next run, and stays fixed while the offending value is unchanged), ``dismissed``
(never pushed), ``resolved`` (a later check found the record good again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from intercom_salesforce.warehouse import REVIEW_QUEUE, ident

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
        conn.execute(
            """CREATE OR REPLACE TEMP TABLE _rule_failures AS
               SELECT f.record_id, max(v.partition_date) AS partition_date,
                      arg_max(v.value, v.partition_date) AS value
               FROM _failing_ids f JOIN _failing_values v USING (record_id)
               GROUP BY f.record_id"""
        ).fetchall()
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
    source = ident(failures)
    cand = f"f.{candidates_column}" if candidates_column else "NULL::VARCHAR[]"
    conn.execute(
        f"""
        UPDATE {REVIEW_QUEUE} q SET
            value = f.value, partition_date = f.partition_date, last_seen_at = ?, run_id = ?,
            reason = ?, candidates = {cand},
            status = CASE
                WHEN q.status = 'fixed' AND q.value IS NOT DISTINCT FROM f.value THEN 'fixed'
                WHEN q.status = 'dismissed' THEN 'dismissed'
                ELSE 'open' END,
            resolved_at = CASE
                WHEN q.status IN ('resolved') THEN NULL ELSE q.resolved_at END
        FROM {source} f
        WHERE q.entity = ? AND q.rule = ? AND q.record_id = f.record_id""",
        [now, run_id, reason, entity, rule],
    ).fetchall()  # DuckDB wants a statement's result consumed before the next one
    conn.execute(
        f"""
        INSERT INTO {REVIEW_QUEUE} (entity, record_id, partition_date, rule, column_name, value,
                                    reason, candidates, status, first_seen_at, last_seen_at,
                                    run_id)
        SELECT ?, f.record_id, f.partition_date, ?, ?, f.value, ?, {cand}, 'open', ?, ?, ?
        FROM {source} f
        WHERE NOT EXISTS (SELECT 1 FROM {REVIEW_QUEUE} q
                          WHERE q.entity = ? AND q.rule = ? AND q.record_id = f.record_id)""",
        [entity, rule, column, reason, now, now, run_id, entity, rule],
    ).fetchall()
    return conn.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0]


def resolve_passing(
    conn: duckdb.DuckDBPyConnection,
    entity: str,
    rules: list[str],
    checked_ids_sql: str,
    params: list[Any],
    failing: dict[str, set[str]],
) -> int:
    """Open items of records that were checked again and now pass their rule become resolved."""
    resolved = 0
    for rule in rules:
        conn.execute("CREATE OR REPLACE TEMP TABLE _still_failing (record_id VARCHAR)")
        if failing.get(rule):
            conn.executemany("INSERT INTO _still_failing VALUES (?)", [[r] for r in failing[rule]])
        resolved += conn.execute(
            f"""UPDATE {REVIEW_QUEUE} SET status = 'resolved', resolved_at = now()
                WHERE entity = ? AND rule = ? AND status = 'open'
                  AND record_id IN ({checked_ids_sql})
                  AND record_id NOT IN (SELECT record_id FROM _still_failing)""",
            [entity, rule, *params],
        ).fetchall()[0][0]
    return resolved


def set_status(
    conn: duckdb.DuckDBPyConnection, item_id: int, status: str, note: str | None
) -> dict[str, Any] | None:
    """A person's decision on one item (``fixed`` or ``dismissed``, or back to ``open``)."""
    if status not in ("fixed", "dismissed", "open"):
        raise ValueError(f"unknown status {status!r}")
    row = conn.execute(
        f"""UPDATE {REVIEW_QUEUE} SET status = ?, note = coalesce(?, note),
                   resolved_at = CASE WHEN ? = 'open' THEN NULL ELSE now() END
            WHERE item_id = ? RETURNING item_id, entity, record_id, rule, status""",
        [status, note, status, item_id],
    ).fetchone()
    if row is None:
        return None
    return dict(zip(["item_id", "entity", "record_id", "rule", "status"], row, strict=True))
