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
from intercom_salesforce.assets.push.plan import PlanLog
from intercom_salesforce.assets.push.results import (
    RETRY_EXHAUSTED,
    add_transient,
    record_results,
    review_rejections,
)
from intercom_salesforce.resources.salesforce import IngestJob, IngestResult, SalesforceClient
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
    plan: PlanLog | None = None  # a dry run: batches are diffed into the plan, never uploaded


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


def run_jobs(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    files: list[tuple[PushBatch, Path]],
    run: PushRun,
) -> list[IngestResult]:
    """Each CSV file as one Bulk job, all at once: created and in the ledger one by one, then
    uploaded, polled and collected together (``SalesforceClient.ingest_all``)."""
    jobs = [
        IngestJob(
            batch.sobject,
            batch.operation,
            path,
            run.work_dir / f"{batch.sobject}-results",
            batch.external_id_field,
        )
        for batch, path in files
    ]
    batch_of = {job: batch for job, (batch, _path) in zip(jobs, files, strict=True)}
    return sf.ingest_all(
        jobs,
        on_job_created=lambda job, job_id: ledger_job(
            conn, batch_of[job], run, job_id, job.csv_path
        ),
    )


def _select_retry(conn: duckdb.DuckDBPyConnection, batch: PushBatch) -> None:
    """The next attempt uploads only the rows worth sending again."""
    retry = ident(batch.table("retry"))
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(batch.upload)} AS SELECT * FROM {ident(batch.send)} "
        f"WHERE ext IN (SELECT ext FROM {retry})"
    ).fetchall()
    conn.execute(f"DELETE FROM {retry}").fetchall()


def batch_files(
    conn: duckdb.DuckDBPyConnection, batch: PushBatch, run: PushRun, attempt: int
) -> list[tuple[PushBatch, Path]]:
    """``batch.upload`` as CSV files, in a folder of the batch's own for this attempt."""
    folder = run.work_dir / f"{batch.sobject}-{batch.prefix.strip('_')}-{attempt}"
    paths = write_csv_files(
        conn, batch.upload, list(batch.columns), folder, run.max_bytes, batch.key_field
    )
    return [(batch, path) for path in paths]


def send_attempt(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    batches: list[PushBatch],
    outcomes: dict[str, PushOutcome],
    run: PushRun,
    attempt: int,
) -> dict[str, int]:
    """Upload every batch's ``upload`` rows, one job per file, all jobs at once, and record each
    job's results; the records worth another attempt go to each batch's ``retry`` table.
    Returns how many per batch (by prefix)."""
    files = [f for batch in batches for f in batch_files(conn, batch, run, attempt)]
    results = run_jobs(conn, sf, files, run)
    retried = {batch.prefix: 0 for batch in batches}
    for (batch, _path), result in zip(files, results, strict=True):
        outcome = outcomes[batch.prefix]
        outcome.job_ids.append(result.job_id)
        outcome.bytes_uploaded += result.bytes_uploaded
        counts = record_results(conn, batch, result, run.run_id)
        outcome.created += counts.get("created", 0)
        outcome.updated += counts.get("updated", 0)
        transient = add_transient(conn, batch, batch.table("retry"))
        if result.state != "JobComplete" and (attempt == run.max_attempts or not transient):
            outcome.failed_jobs.append(f"{result.job_id}: {result.state} {result.error_message}")
        retried[batch.prefix] += transient
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


def _start(
    conn: duckdb.DuckDBPyConnection, sf: SalesforceClient, batch: PushBatch, outcome: PushOutcome
) -> bool:
    """Diff the batch; when something changed, check the API budget and stage its first upload."""
    if prepare_changes(conn, batch, outcome) == 0:
        return False
    sf.check_api_budget(planned_calls=8 + outcome.sent // 10_000 * 8)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(batch.upload)} AS SELECT * FROM {ident(batch.send)}"
    ).fetchall()
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {ident(batch.table('retry'))} (ext VARCHAR)")
    return True


def plan_batches(
    conn: duckdb.DuckDBPyConnection, batches: list[PushBatch], plan: PlanLog
) -> list[PushOutcome]:
    """A dry run's push: each batch diffed exactly as a push diffs it, and its records added to
    the plan; no CSV is written, no Bulk job created."""
    outcomes = [PushOutcome() for _batch in batches]
    for batch, outcome in zip(batches, outcomes, strict=True):
        prepare_changes(conn, batch, outcome)
        plan.add_batch(conn, batch)
    return outcomes


def push_batches(
    conn: duckdb.DuckDBPyConnection, sf: SalesforceClient, batches: list[PushBatch], run: PushRun
) -> list[PushOutcome]:
    """Independent batches to Salesforce together: diff each, then per attempt write, upload,
    poll and record all their jobs at once; retry the transient, queue the rejected. The
    batches' tables are dropped once their results are recorded. A dry run (``run.plan``) stops
    after the diff."""
    outcomes = {batch.prefix: PushOutcome() for batch in batches}
    try:
        if run.plan is not None:
            return plan_batches(conn, batches, run.plan)
        sending = [b for b in batches if _start(conn, sf, b, outcomes[b.prefix])]
        active = sending
        for attempt in range(1, run.max_attempts + 1):
            if not active:
                break
            retry = send_attempt(conn, sf, active, outcomes, run, attempt)
            active = [b for b in active if retry[b.prefix]]
            if not active or attempt == run.max_attempts:
                break
            for batch in active:
                outcomes[batch.prefix].retried += retry[batch.prefix]
                _select_retry(conn, batch)
            time.sleep(run.retry_base_seconds * 2 ** (attempt - 1))
        for batch in sending:
            outcome = outcomes[batch.prefix]
            final_outcomes(conn, outcome)
            outcome.sent_to_review = review_rejections(conn, batch, run.run_id, outcome.job_ids)
        return [outcomes[batch.prefix] for batch in batches]
    finally:
        for batch in batches:
            batch.drop(conn)


def push_batch(
    conn: duckdb.DuckDBPyConnection, sf: SalesforceClient, batch: PushBatch, run: PushRun
) -> PushOutcome:
    """One batch to Salesforce (``push_batches`` of one)."""
    return push_batches(conn, sf, [batch], run)[0]


__all__ = [
    "CLEAR",
    "RETRY_EXHAUSTED",
    "PushBatch",
    "PushOutcome",
    "PushRun",
    "push_batch",
    "push_batches",
    "write_csv_files",
]
