"""Bulk jobs a run left open: collected (or aborted) before anything new is sent.

Every ingest job is written to ``sync.bulk_jobs`` as ``Open`` right after Salesforce creates it,
before its data is uploaded, and gets its final state only when its results are recorded. A run
that died in between (killed while uploading, polling or reading results) leaves the row open,
while in Salesforce the job may still finish. Forgetting it would log created records as updated
on the next run, lose their routing decisions and, for Notes (inserted: no external id), insert a
second Note when the old job completes. So each push starts here, for its object:

* a job still ``Open`` in Salesforce never had its upload closed: it is aborted, and nothing of it
  is processed, so its records are simply diffed and sent again;
* a job that was closed is polled to its end and its three result files are applied exactly as
  the run that created it would have (``record_results``), from the uploaded CSV and the key map
  kept beside it; the records then count as this run's outcomes;
* a job the org no longer knows (results are kept seven days) is marked ``Lost``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from intercom_salesforce.assets.push.batch import CLEAR, Operation, PushBatch
from intercom_salesforce.assets.push.csv_files import keys_path
from intercom_salesforce.assets.push.results import record_results
from intercom_salesforce.resources.salesforce import TERMINAL_STATES, SalesforceClient
from intercom_salesforce.warehouse import BULK_JOBS, ident, literal, read_sql

SQL = Path(__file__).parent / "sql"

# ledger states that need nothing more
SETTLED = (*sorted(TERMINAL_STATES), "Lost", "Unrecoverable")


@dataclass
class Recovery:
    """What a push found open in the ledger and what became of each job."""

    collected: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    created: int = 0
    updated: int = 0

    def as_metadata(self) -> dict[str, object]:
        return {
            "recovered_jobs": ", ".join(self.collected) or "none",
            "recovered_jobs_aborted": ", ".join(self.aborted) or "none",
            "recovered_jobs_lost": ", ".join(self.lost) or "none",
        }


@dataclass(frozen=True)
class OpenJob:
    """A ledger row not settled yet: the job and the batch it uploaded."""

    job_id: str
    sobject: str
    operation: Operation
    key_field: str
    csv_path: Path
    bytes_uploaded: int

    def batch(self) -> PushBatch:
        """The batch as the run that uploaded it had it (its fields come from the CSV)."""
        return PushBatch(self.sobject, self.key_field, (), self.operation)


def open_jobs(conn: duckdb.DuckDBPyConnection, sobject: str) -> list[OpenJob]:
    """The ledger's jobs of ``sobject`` that are not settled, oldest first."""
    rows = conn.execute(read_sql("select_open_jobs.sql", SQL), [sobject, list(SETTLED)]).fetchall()
    return [
        OpenJob(job_id, sobject, operation, key_field, Path(csv_path or ""), size)
        for job_id, operation, key_field, csv_path, size in rows
    ]


def _settle(conn: duckdb.DuckDBPyConnection, job_id: str, state: str, message: str) -> None:
    conn.execute(
        f"UPDATE {BULK_JOBS} SET state = ?, error_message = ?, finished_at = ? WHERE job_id = ?",
        [state, message, datetime.now(UTC), job_id],
    ).fetchall()


def stage_upload(conn: duckdb.DuckDBPyConnection, batch: PushBatch, csv_path: Path) -> None:
    """``batch.send`` and ``batch.changes`` of an uploaded file, as the run that uploaded it had
    them. A non-empty cell was a changed field (``#N/A``: cleared); an empty one was left alone.
    """
    tables = batch.tables() | {
        "csv": literal(str(csv_path)),
        "keys": literal(str(keys_path(csv_path))),
        "clear": literal(CLEAR),
    }
    for name, table in (
        ("stage_uploaded_send.sql", batch.send),
        ("stage_uploaded_changes.sql", batch.changes),
    ):
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {ident(table)} AS "
            + read_sql(name, SQL).format(**tables)
        ).fetchall()


def collect_job(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    job: OpenJob,
    run_id: str,
    results_dir: Path,
) -> dict[str, int]:
    """Poll a job a dead run closed to its end and apply its results as that run would have."""
    batch = job.batch()
    try:
        result = sf.collect(
            job.sobject, job.operation, job.job_id, results_dir, bytes_uploaded=job.bytes_uploaded
        )
        stage_upload(conn, batch, job.csv_path)
        return record_results(conn, batch, result, run_id)
    finally:
        batch.drop(conn)


def settle_unfinished(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    job: OpenJob,
    run_id: str,
    found: Recovery,
    log: logging.Logger,
) -> bool:
    """Settle a job that cannot be collected (unknown to the org, never closed, upload file gone);
    False when it can be."""
    state = sf.job_state(job.job_id)
    if state is None:
        _settle(conn, job.job_id, "Lost", f"the org no longer knows job {job.job_id}")
        found.lost.append(job.job_id)
        return True
    if state == "Open":
        sf.abort(job.job_id)
        _settle(conn, job.job_id, "Aborted", f"aborted by run {run_id}: its upload never closed")
        found.aborted.append(job.job_id)
        log.warning(
            "Bulk job %s (%s) was left open by a run that died: aborted", job.job_id, job.sobject
        )
        return True
    if not (job.csv_path.is_file() and keys_path(job.csv_path).is_file()):
        _settle(conn, job.job_id, "Unrecoverable", f"upload file {job.csv_path} is gone")
        found.lost.append(job.job_id)
        return True
    log.warning(
        "Bulk job %s (%s) was left %s by a run that died: collecting its results",
        job.job_id,
        job.sobject,
        state,
    )
    return False


def recover_open_jobs(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    sobject: str,
    run_id: str,
    results_dir: Path,
    log: logging.Logger | None = None,
) -> Recovery:
    """Collect or abort every job of ``sobject`` the ledger still holds open."""
    log = log or logging.getLogger(__name__)
    found = Recovery()
    for job in open_jobs(conn, sobject):
        if settle_unfinished(conn, sf, job, run_id, found, log):
            continue
        counts = collect_job(conn, sf, job, run_id, results_dir)
        found.collected.append(job.job_id)
        found.created += counts.get("created", 0)
        found.updated += counts.get("updated", 0)
    return found
