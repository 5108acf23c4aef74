"""Push a table of pending payloads to Salesforce with Bulk API 2.0 upserts, set-based throughout.

The caller fills a temp table ``_pending`` (one row per record; payload columns in CSV order, plus
``ext`` and ``payload_hash``). From here on nothing loops over rows in Python: DuckDB drops what
``sync_state`` says was already pushed, ``COPY`` writes the CSV files (split under the upload
limit), and the three result files are read back by DuckDB into ``sync_results``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from intercom_salesforce.resources.salesforce import IngestResult, SalesforceClient
from intercom_salesforce.warehouse import BULK_JOBS, SYNC_RESULTS, SYNC_STATE, read_sql

SQL = Path(__file__).parent / "sql"


@dataclass
class PushOutcome:
    considered: int = 0
    unchanged: int = 0
    sent: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    unprocessed: int = 0
    bytes_uploaded: int = 0
    job_ids: list[str] = field(default_factory=list)
    failed_jobs: list[str] = field(default_factory=list)
    errors_by_code: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {
            "considered": self.considered,
            "unchanged": self.unchanged,
            "sent": self.sent,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "unprocessed": self.unprocessed,
            "bytes_uploaded": self.bytes_uploaded,
            "bulk_job_ids": ", ".join(self.job_ids) or "none",
        }


def prepare_changed(conn: duckdb.DuckDBPyConnection, sobject: str, outcome: PushOutcome) -> int:
    """Keep in ``_pending`` only the records whose payload differs from what was last pushed."""
    outcome.considered = conn.execute("SELECT count(*) FROM _pending").fetchone()[0]
    conn.execute(
        f"""DELETE FROM _pending WHERE EXISTS (
              SELECT 1 FROM {SYNC_STATE} s
              WHERE s.sobject = ? AND s.external_id = _pending.ext
                AND s.payload_hash = _pending.payload_hash)""",
        [sobject],
    )
    remaining = conn.execute("SELECT count(*) FROM _pending").fetchone()[0]
    outcome.unchanged = outcome.considered - remaining
    return remaining


def write_csv_files(
    conn: duckdb.DuckDBPyConnection, columns: list[str], out_dir: Path, max_bytes: int
) -> list[Path]:
    """``COPY`` the pending payloads to CSV files, each under ``max_bytes``.

    Rows are assigned to files by a running sum of their JSON length (an over-estimate of their
    CSV length); empty cells mean "leave unchanged", per Bulk API 2.0.
    """
    cols = ", ".join(f'"{c}"' for c in columns)
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _pending_files AS
            SELECT {cols},
                   (sum(length(payload::VARCHAR) + 16) OVER (ORDER BY ext ROWS UNBOUNDED PRECEDING)
                    // ?)::INTEGER AS file_no
            FROM _pending""",
        [max_bytes],
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f"COPY (SELECT {cols}, file_no FROM _pending_files ORDER BY file_no, 1) TO '{out_dir}' "
        "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULL '', "
        "PARTITION_BY (file_no), OVERWRITE_OR_IGNORE true)"
    )
    return sorted(out_dir.glob("file_no=*/*.csv"))


def _load_result(
    conn: duckdb.DuckDBPyConnection, view: str, path: Path, ext_field: str, required: list[str]
) -> None:
    """Expose one result CSV as a view with an ``ext`` column; empty files become empty views."""
    has_rows = (
        path.exists()
        and path.stat().st_size > 0
        and len(path.read_bytes()[:65536].splitlines()) > 1
    )
    if has_rows:
        conn.execute(
            f'CREATE OR REPLACE TEMP TABLE {view} AS SELECT *, "{ext_field}" AS ext '
            f"FROM read_csv('{path}', header=true, all_varchar=true)"
        )
    else:
        cols = [f'NULL::VARCHAR AS "{c}"' for c in required] + ["NULL::VARCHAR AS ext"]
        conn.execute(f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT {', '.join(cols)} WHERE false")


def record_results(
    conn: duckdb.DuckDBPyConnection,
    result: IngestResult,
    ext_field: str,
    run_id: str,
    outcome: PushOutcome,
) -> None:
    _load_result(conn, "_ok", result.successful_csv, ext_field, ["sf__Id", "sf__Created"])
    _load_result(conn, "_failed", result.failed_csv, ext_field, ["sf__Id", "sf__Error"])
    _load_result(conn, "_unprocessed", result.unprocessed_csv, ext_field, [])
    conn.execute(
        read_sql("record_ingest_results.sql", SQL), [result.job_id, result.sobject, run_id]
    )
    conn.execute(
        f"""INSERT OR REPLACE INTO {SYNC_STATE}
            SELECT ?, ok.ext, ok."sf__Id", p.payload_hash, p.payload, now()
            FROM _ok ok JOIN _pending p ON p.ext = ok.ext""",
        [result.sobject],
    )
    counts = dict(
        conn.execute(
            f"SELECT outcome, count(*) FROM {SYNC_RESULTS} WHERE job_id = ? GROUP BY 1",
            [result.job_id],
        ).fetchall()
    )
    outcome.created += counts.get("created", 0)
    outcome.updated += counts.get("updated", 0)
    outcome.failed += counts.get("failed", 0)
    outcome.unprocessed += counts.get("unprocessed", 0)
    for code, n in conn.execute(
        f"SELECT error_code, count(*) FROM {SYNC_RESULTS} WHERE job_id = ? "
        "AND outcome = 'failed' GROUP BY 1",
        [result.job_id],
    ).fetchall():
        outcome.errors_by_code[code] = outcome.errors_by_code.get(code, 0) + n
    conn.execute(
        f"""UPDATE {BULK_JOBS} SET state = ?, records_processed = ?, records_failed = ?,
               error_message = ?, finished_at = ? WHERE job_id = ?""",
        [
            result.state,
            result.records_processed,
            result.records_failed,
            result.error_message,
            datetime.now(UTC),
            result.job_id,
        ],
    )


def upsert_pending(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    *,
    sobject: str,
    ext_field: str,
    columns: list[str],
    work_dir: Path,
    max_bytes: int,
    run_id: str,
) -> PushOutcome:
    """Diff, write, upload and record. ``_pending`` must exist (see module docstring)."""
    outcome = PushOutcome()
    if prepare_changed(conn, sobject, outcome) == 0:
        return outcome
    files = write_csv_files(conn, columns, work_dir / f"{sobject}-upload", max_bytes)
    outcome.sent = conn.execute("SELECT count(*) FROM _pending").fetchone()[0]
    sf.check_api_budget(planned_calls=len(files) * 8)
    for path in files:
        rows = conn.execute(
            f"SELECT count(*) FROM read_csv('{path}', header=true, all_varchar=true)"
        ).fetchone()[0]

        def ledger(job_id: str, path: Path = path, rows: int = rows) -> None:
            conn.execute(
                f"INSERT INTO {BULK_JOBS} (job_id, sobject, operation, external_id_field, "
                "csv_path, rows_uploaded, bytes_uploaded, state, created_at, run_id) "
                "VALUES (?, ?, 'upsert', ?, ?, ?, ?, 'Open', ?, ?)",
                [
                    job_id,
                    sobject,
                    ext_field,
                    str(path),
                    rows,
                    path.stat().st_size,
                    datetime.now(UTC),
                    run_id,
                ],
            )

        result = sf.ingest(
            sobject,
            "upsert",
            path,
            work_dir / f"{sobject}-results",
            external_id_field=ext_field,
            on_job_created=ledger,
        )
        outcome.job_ids.append(result.job_id)
        outcome.bytes_uploaded += result.bytes_uploaded
        if result.state != "JobComplete":
            outcome.failed_jobs.append(f"{result.job_id}: {result.state} {result.error_message}")
        record_results(conn, result, ext_field, run_id, outcome)
    return outcome
