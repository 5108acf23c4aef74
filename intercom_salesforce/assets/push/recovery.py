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

from intercom_salesforce.assets.push.bulk_upsert import CLEAR, keys_path, record_results
from intercom_salesforce.resources.salesforce import TERMINAL_STATES, SalesforceClient
from intercom_salesforce.warehouse import BULK_JOBS

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


def open_jobs(conn: duckdb.DuckDBPyConnection, sobject: str) -> list[tuple]:
    marks = ", ".join("?" for _ in SETTLED)
    return conn.execute(
        f"""SELECT job_id, operation, external_id_field, csv_path, coalesce(bytes_uploaded, 0)
            FROM {BULK_JOBS}
            WHERE sobject = ? AND coalesce(state, 'Open') NOT IN ({marks})
            ORDER BY created_at""",
        [sobject, *SETTLED],
    ).fetchall()


def _settle(conn: duckdb.DuckDBPyConnection, job_id: str, state: str, message: str) -> None:
    conn.execute(
        f"UPDATE {BULK_JOBS} SET state = ?, error_message = ?, finished_at = ? WHERE job_id = ?",
        [state, message, datetime.now(UTC), job_id],
    ).fetchall()


def stage_upload(conn: duckdb.DuckDBPyConnection, csv_path: Path, key_field: str) -> None:
    """``_send`` and ``_changes`` of an uploaded file, as the run that uploaded it had them.

    A non-empty cell was a changed field (``#N/A``: cleared); an empty one was left alone.
    """
    key = '"' + key_field.replace('"', '""') + '"'
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _send AS
            SELECT c.*, k.ext
            FROM read_csv('{csv_path}', header=true, all_varchar=true, hive_partitioning=false) c
            JOIN read_parquet('{keys_path(csv_path)}') k ON k.key = c.{key}"""
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _changes AS
            SELECT ext, field, CASE WHEN value = '{CLEAR}' THEN NULL ELSE value END AS value
            FROM (UNPIVOT (SELECT * EXCLUDE ({key}) FROM _send)
                  ON COLUMNS(* EXCLUDE (ext)) INTO NAME field VALUE value)"""
    ).fetchall()


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
    for job_id, operation, key_field, csv_path, size in open_jobs(conn, sobject):
        state = sf.job_state(job_id)
        if state is None:
            _settle(conn, job_id, "Lost", f"the org no longer knows job {job_id}")
            found.lost.append(job_id)
            continue
        if state == "Open":
            sf.abort(job_id)
            _settle(conn, job_id, "Aborted", f"aborted by run {run_id}: its upload never closed")
            found.aborted.append(job_id)
            log.warning(
                "Bulk job %s (%s) was left open by a run that died: aborted", job_id, sobject
            )
            continue
        path = Path(csv_path or "")
        if not (path.is_file() and keys_path(path).is_file()):
            _settle(conn, job_id, "Unrecoverable", f"upload file {csv_path} is gone")
            found.lost.append(job_id)
            continue
        log.warning(
            "Bulk job %s (%s) was left %s by a run that died: collecting its results",
            job_id,
            sobject,
            state,
        )
        result = sf.collect(sobject, operation, job_id, results_dir, bytes_uploaded=size)
        stage_upload(conn, path, key_field)
        counts = record_results(conn, result, key_field, run_id)
        found.collected.append(job_id)
        found.created += counts.get("created", 0)
        found.updated += counts.get("updated", 0)
    return found
