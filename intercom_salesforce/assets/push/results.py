"""A Bulk job's three result files into the warehouse: per-record outcomes, state, review.

``record_results`` is the one place a job's results are applied, by the run that uploaded it and
by a later run that collects it after a crash (``recovery.py``): one transaction, so a job's
results are applied once or not at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from intercom_salesforce.assets.push.batch import PushBatch
from intercom_salesforce.assets.quality.review_queue import upsert_items
from intercom_salesforce.resources.salesforce import IngestResult
from intercom_salesforce.warehouse import SYNC_RESULTS, ident, literal, read_sql

SQL = Path(__file__).parent / "sql"
# Salesforce errors worth sending again in the same run (reference 4.2)
TRANSIENT_CODES = (
    "UNABLE_TO_LOCK_ROW",
    "UNKNOWN_EXCEPTION",
    "SERVER_UNAVAILABLE",
    "REQUEST_RUNNING_TOO_LONG",
    "QUERY_TIMEOUT",
)
# review rule of records still failing after every attempt of a run (retried by the next run)
RETRY_EXHAUSTED = "salesforce_retry_exhausted"


def _has_rows(path: Path) -> bool:
    return (
        path.exists()
        and path.stat().st_size > 0
        and len(path.read_bytes()[:65536].splitlines()) > 1
    )


def load_result(
    conn: duckdb.DuckDBPyConnection, batch: PushBatch, table: str, path: Path, required: list[str]
) -> None:
    """One result CSV as ``table`` with an ``ext`` column (from ``batch.send``, by the key the
    results carry); an empty file (every record failed, say) is an empty table with the key."""
    key = ident(batch.key_field)
    if _has_rows(path):
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS SELECT r.*, s.ext "
            f"FROM read_csv({literal(str(path))}, header=true, all_varchar=true) r "
            f"LEFT JOIN {ident(batch.send)} s ON s.{key} = r.{key}"
        ).fetchall()
        return
    names = dict.fromkeys([*required, batch.key_field])
    cols = [f"NULL::VARCHAR AS {ident(c)}" for c in names] + ["NULL::VARCHAR AS ext"]
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS SELECT {', '.join(cols)} WHERE false"
    ).fetchall()


def _apply(conn: duckdb.DuckDBPyConnection, batch: PushBatch, result: IngestResult, run_id: str):
    """The statements of ``record_results``, inside its transaction."""
    now = datetime.now(UTC)
    tables = batch.tables() | {"taken": ident(batch.table("taken"))}

    def run(name: str, params: list) -> None:
        conn.execute(read_sql(name, SQL).format(**tables), params).fetchall()

    run("record_ingest_results.sql", [result.job_id, result.sobject, run_id])
    run("stage_taken_changes.sql", [result.sobject])
    # the state tables have no key to upsert on (create_warehouse.sql): delete, then insert
    run("forget_sync_state.sql", [result.sobject])
    run("advance_sync_state.sql", [result.sobject, now])
    run("forget_field_state.sql", [result.sobject])
    run("advance_field_state.sql", [result.sobject, now])
    conn.execute(f"DROP TABLE {tables['taken']}").fetchall()
    if batch.key_field != "Id":
        run("forget_upsert_key.sql", [result.sobject, batch.key_field])
        run("remember_upsert_key.sql", [result.sobject, batch.key_field, now])
    run("resolve_retried_reviews.sql", [now, RETRY_EXHAUSTED, result.sobject])
    run(
        "finish_bulk_job.sql",
        [
            result.state,
            result.records_processed,
            result.records_failed,
            result.error_message,
            now,
            result.job_id,
        ],
    )


def record_results(
    conn: duckdb.DuckDBPyConnection, batch: PushBatch, result: IngestResult, run_id: str
) -> dict[str, int]:
    """``result``'s files -> ``batch.ok`` / ``failed`` / ``unprocessed``, then per-record outcomes
    into ``sync_results``; successes move the record and field state (from ``batch.changes``).

    One transaction: a crash part-way leaves the ledger row open, and the next run collects the
    job again from the start (``recovery.py``) instead of finding half its results recorded.
    """
    load_result(conn, batch, batch.ok, result.successful_csv, ["sf__Id", "sf__Created"])
    load_result(conn, batch, batch.failed, result.failed_csv, ["sf__Id", "sf__Error"])
    load_result(conn, batch, batch.unprocessed, result.unprocessed_csv, [])
    conn.execute("BEGIN TRANSACTION")
    try:
        _apply(conn, batch, result, run_id)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return dict(
        conn.execute(
            f"SELECT outcome, count(*) FROM {SYNC_RESULTS} WHERE job_id = ? GROUP BY 1",
            [result.job_id],
        ).fetchall()
    )


def add_transient(conn: duckdb.DuckDBPyConnection, batch: PushBatch, retry: str) -> int:
    """Append the last job's records worth sending again (``batch.failed`` with a transient
    error, ``batch.unprocessed``) to ``retry`` (ext); returns how many."""
    query = read_sql("select_transient_failures.sql", SQL).format(**batch.tables())
    return len(
        conn.execute(
            f"INSERT INTO {ident(retry)} {query} RETURNING 1", [list(TRANSIENT_CODES)]
        ).fetchall()
    )


def review_rejections(
    conn: duckdb.DuckDBPyConnection, batch: PushBatch, run_id: str, job_ids: list[str]
) -> int:
    """Records not written by the batch's jobs wait in the review queue with Salesforce's message.

    Permanent rejections (rule ``salesforce_rejected``) block the record until a person acts.
    Records still failing with a transient error after every attempt, or left unprocessed by a
    job that failed (rule ``salesforce_retry_exhausted``), are listed too, so a run never ends
    with records silently unwritten; they do not block: the next run sends them again, and their
    item is resolved when Salesforce takes them.
    """
    if not job_ids:
        return 0
    sobject = batch.sobject
    final = read_sql("select_final_outcomes.sql", SQL)
    transient = f"coalesce(error_code, '') IN ({', '.join(literal(c) for c in TRANSIENT_CODES)})"
    rejected, exhausted = batch.table("rejected"), batch.table("exhausted")
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ident(rejected)} AS
            SELECT external_id AS record_id, NULL::DATE AS partition_date,
                   left(error, 1000) AS value
            FROM ({final}) WHERE outcome = 'failed' AND NOT {transient}""",
        [job_ids],
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ident(exhausted)} AS
            SELECT external_id AS record_id, NULL::DATE AS partition_date,
                   error || ' (' || attempts || ' attempts)' AS value
            FROM ({final}) WHERE outcome = 'unprocessed' OR (outcome = 'failed' AND {transient})""",
        [job_ids],
    ).fetchall()
    queued = upsert_items(
        conn,
        rejected,
        batch.review_entity,
        "salesforce_rejected",
        sobject,
        f"Salesforce rejected the {sobject}: see the value for its error",
        run_id,
    )
    queued += upsert_items(
        conn,
        exhausted,
        batch.review_entity,
        RETRY_EXHAUSTED,
        sobject,
        f"The {sobject} was not written: Salesforce still answered with a transient error after "
        "every attempt in the run; the next run sends it again",
        run_id,
    )
    for table in (rejected, exhausted):
        conn.execute(f"DROP TABLE {ident(table)}").fetchall()
    return queued
