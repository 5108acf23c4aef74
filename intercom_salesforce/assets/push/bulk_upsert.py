"""Push a batch to Salesforce with Bulk API 2.0, set-based throughout.

The caller fills the batch's ``pending`` table: one row per record, ``ext`` (the Intercom id: the
key of our sync state), ``_key`` (the value of the batch's key column: our external id, the
Salesforce ``Id`` of a matched record, or a Note's title) and one column per Salesforce field,
formatted as the CSV wants them. From here on nothing loops over rows in Python:

1. ``prepare_changes`` (``field_diff.py``) compares every field with ``sync.field_state``:
   ``pending`` -> ``changes`` -> ``send``.
2. ``write_csv_files`` (``csv_files.py``) ``COPY``s ``upload`` (the rows of ``send`` this attempt
   sends) to CSV files under the upload limit; each file is one job, in the ledger before upload.
3. ``record_results`` (``results.py``) reads the three result files into ``sync.sync_results``;
   successes move the field state forward; transient failures (``UNABLE_TO_LOCK_ROW``, unprocessed
   rows of a failed job) are sent again, with backoff, up to ``max_attempts``; permanent failures
   go to the review queue with Salesforce's message, and are retried after a person marks them
   fixed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from intercom_salesforce.assets.push.batch import CLEAR, PushBatch, PushOutcome
from intercom_salesforce.assets.push.csv_files import write_csv_files
from intercom_salesforce.assets.push.field_diff import prepare_changes
from intercom_salesforce.assets.push.results import (
    RETRY_EXHAUSTED,
    add_transient,
    record_results,
    review_rejections,
)
from intercom_salesforce.resources.salesforce import IngestResult, SalesforceClient
from intercom_salesforce.warehouse import SYNC_RESULTS, ident, literal, read_sql

SQL = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class PushRun:
    """Where and how one run pushes: its id, its CSV folder, the upload limit and the retries."""

    run_id: str
    work_dir: Path
    max_bytes: int
    max_attempts: int = 3
    retry_base_seconds: float = 1.0


def ledger_job(
    conn: duckdb.DuckDBPyConnection, batch: PushBatch, run: PushRun, job_id: str, path: Path
) -> None:
    """The job in ``sync.bulk_jobs`` as ``Open``, with the operation Salesforce was asked for,
    before its data is uploaded (``recovery.py`` finds it there after a crash)."""
    rows = conn.execute(
        f"SELECT count(*) FROM read_csv({literal(str(path))}, header=true, all_varchar=true)"
    ).fetchall()[0][0]
    conn.execute(
        read_sql("insert_bulk_job.sql", SQL),
        [
            job_id,
            batch.sobject,
            batch.operation,
            batch.key_field,
            str(path),
            rows,
            path.stat().st_size,
            datetime.now(UTC),
            run.run_id,
        ],
    ).fetchall()


def run_job(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    batch: PushBatch,
    run: PushRun,
    path: Path,
) -> IngestResult:
    """One CSV file as one Bulk job: created, in the ledger, uploaded, polled, collected."""
    return sf.ingest(
        batch.sobject,
        batch.operation,
        path,
        run.work_dir / f"{batch.sobject}-results",
        external_id_field=batch.external_id_field,
        on_job_created=lambda job_id: ledger_job(conn, batch, run, job_id, path),
    )


def _select_retry(conn: duckdb.DuckDBPyConnection, batch: PushBatch, retry: str) -> None:
    """The next attempt uploads only the rows worth sending again."""
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(batch.upload)} AS SELECT * FROM {ident(batch.send)} "
        f"WHERE ext IN (SELECT ext FROM {ident(retry)})"
    ).fetchall()
    conn.execute(f"DELETE FROM {ident(retry)}").fetchall()


def send_attempt(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    batch: PushBatch,
    run: PushRun,
    attempt: int,
    outcome: PushOutcome,
) -> int:
    """Upload ``batch.upload``, one job per file, and record each job's results; the records
    worth another attempt go to the batch's ``retry`` table. Returns how many."""
    retry = batch.table("retry")
    files = write_csv_files(
        conn,
        batch.upload,
        list(batch.columns),
        run.work_dir / f"{batch.sobject}-{attempt}",
        run.max_bytes,
        batch.key_field,
    )
    retried = 0
    for path in files:
        result = run_job(conn, sf, batch, run, path)
        outcome.job_ids.append(result.job_id)
        outcome.bytes_uploaded += result.bytes_uploaded
        counts = record_results(conn, batch, result, run.run_id)
        outcome.created += counts.get("created", 0)
        outcome.updated += counts.get("updated", 0)
        transient = add_transient(conn, batch, retry)
        if result.state != "JobComplete" and (attempt == run.max_attempts or not transient):
            outcome.failed_jobs.append(f"{result.job_id}: {result.state} {result.error_message}")
        retried += transient
    return retried


def final_outcomes(conn: duckdb.DuckDBPyConnection, outcome: PushOutcome) -> None:
    """Records, not attempts: each record's last outcome over the batch's jobs."""
    final = dict(
        conn.execute(
            "SELECT outcome, count(*) FROM (" + read_sql("select_final_outcomes.sql", SQL) + ") "
            "GROUP BY 1",
            [outcome.job_ids],
        ).fetchall()
    )
    outcome.failed = final.get("failed", 0)
    outcome.unprocessed = final.get("unprocessed", 0)
    for code, n in conn.execute(
        f"""SELECT error_code, count(*) FROM {SYNC_RESULTS}
            WHERE list_contains(?::VARCHAR[], job_id) AND outcome = 'failed' GROUP BY 1""",
        [outcome.job_ids],
    ).fetchall():
        outcome.errors_by_code[code] = n


def push_batch(
    conn: duckdb.DuckDBPyConnection, sf: SalesforceClient, batch: PushBatch, run: PushRun
) -> PushOutcome:
    """``batch.pending`` to Salesforce: diff, write, upload, record, retry the transient, queue
    the rejected. The batch's tables are dropped once its results are recorded."""
    outcome = PushOutcome()
    try:
        if prepare_changes(conn, batch, outcome) == 0:
            return outcome
        sf.check_api_budget(planned_calls=8 + outcome.sent // 10_000 * 8)
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {ident(batch.upload)} AS "
            f"SELECT * FROM {ident(batch.send)}"
        ).fetchall()
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {ident(batch.table('retry'))} (ext VARCHAR)")
        for attempt in range(1, run.max_attempts + 1):
            retry = send_attempt(conn, sf, batch, run, attempt, outcome)
            if not retry or attempt == run.max_attempts:
                break
            outcome.retried += retry
            _select_retry(conn, batch, batch.table("retry"))
            time.sleep(run.retry_base_seconds * 2 ** (attempt - 1))
        final_outcomes(conn, outcome)
        outcome.sent_to_review = review_rejections(conn, batch, run.run_id, outcome.job_ids)
        return outcome
    finally:
        batch.drop(conn)


__all__ = [
    "CLEAR",
    "RETRY_EXHAUSTED",
    "PushBatch",
    "PushOutcome",
    "PushRun",
    "push_batch",
    "write_csv_files",
]
