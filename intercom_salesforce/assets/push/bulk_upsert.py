"""Push pending payloads to Salesforce with Bulk API 2.0 upserts, set-based throughout.

The caller fills a temp table ``_pending``: one row per record, ``ext`` (the Intercom id: the key
of our sync state), ``_key`` (the value of the upsert key column: our external id, or the
Salesforce ``Id`` of a matched record) and one column per Salesforce field, formatted as the CSV
wants them. From here on
nothing loops over rows in Python:

1. DuckDB unpivots the payloads and compares every field with ``sync.field_state`` (what was last
   pushed). Only changed fields carry a value; an unchanged field is an empty cell (Bulk API 2.0
   leaves it alone), a field that became empty is ``#N/A`` (Bulk API 2.0 clears it). Records with
   no changed field are not sent at all.
2. ``COPY`` writes the CSV files (split under the upload limit), the resource uploads them.
3. DuckDB reads the three result files into ``sync.sync_results``; successes move the field state
   forward; transient failures (``UNABLE_TO_LOCK_ROW``, unprocessed rows of a failed job) are sent
   again, with backoff, up to ``max_attempts``; permanent failures go to the review queue with
   Salesforce's message, and are retried after a person marks them fixed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb

from intercom_salesforce.resources.salesforce import IngestResult, SalesforceClient
from intercom_salesforce.warehouse import BULK_JOBS, REVIEW_QUEUE, SYNC_RESULTS, read_sql

SQL = Path(__file__).parent / "sql"
FIELD_STATE = "sync.field_state"
RECORD_STATE = "sync.sync_state"
CLEAR = "#N/A"
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


@dataclass
class PushOutcome:
    considered: int = 0
    unchanged: int = 0
    sent: int = 0
    fields_sent: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    unprocessed: int = 0
    retried: int = 0
    sent_to_review: int = 0
    conflicts: int = 0  # fields left alone in this run (still open or new)
    conflicts_new: int = 0
    salesforce_edits_overwritten: int = 0
    bytes_uploaded: int = 0
    job_ids: list[str] = field(default_factory=list)
    failed_jobs: list[str] = field(default_factory=list)
    errors_by_code: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {
            "considered": self.considered,
            "unchanged": self.unchanged,
            "sent": self.sent,
            "fields_sent": self.fields_sent,
            "created": self.created,
            "updated": self.updated,
            "failed": self.failed,
            "unprocessed": self.unprocessed,
            "retried": self.retried,
            "sent_to_review": self.sent_to_review,
            "conflicts": self.conflicts,
            "conflicts_new": self.conflicts_new,
            "salesforce_edits_overwritten": self.salesforce_edits_overwritten,
            "bytes_uploaded": self.bytes_uploaded,
            "bulk_job_ids": ", ".join(self.job_ids) or "none",
        }


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def prepare_changes(
    conn: duckdb.DuckDBPyConnection,
    sobject: str,
    key_field: str,
    columns: list[str],
    outcome: PushOutcome,
    clearable: set[str] | None = None,
) -> int:
    """Build ``_changes`` (ext, field, value) and the wide ``_send`` table of changed cells.

    A value that became empty is a change only for ``clearable`` fields (sent as ``#N/A``); for the
    others an empty Intercom value leaves Salesforce's alone. ``None`` means every field clears.
    """
    outcome.considered = conn.execute("SELECT count(*) FROM _pending").fetchall()[0][0]
    fields = [c for c in columns if c != key_field]
    if not fields:
        raise ValueError(f"nothing to send for {sobject}: only the key column {key_field}")
    casts = ", ".join(f"{_q(c)}::VARCHAR AS {_q(c)}" for c in fields)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _pending_text AS SELECT ext, {casts} FROM _pending"
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _cells AS
            SELECT ext, field, value FROM _pending_text
            UNPIVOT INCLUDE NULLS (value FOR field IN ({", ".join(_q(c) for c in fields)}))"""
    ).fetchall()
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _changes AS
            SELECT c.ext, c.field, c.value
            FROM _cells c
            LEFT JOIN {FIELD_STATE} s
              ON s.sobject = ? AND s.external_id = c.ext AND s.field = c.field
            WHERE (s.field IS NULL AND c.value IS NOT NULL)
               OR (s.field IS NOT NULL AND c.value IS DISTINCT FROM s.value
                   AND (c.value IS NOT NULL OR ? OR list_contains(?::VARCHAR[], c.field)))""",
        [sobject, clearable is None, sorted(clearable or [])],
    ).fetchall()
    field_list = ", ".join(f"'{c}'" for c in fields)
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _send AS
            SELECT k._key AS {_q(key_field)}, pv.* EXCLUDE (ext), pv.ext FROM (
                PIVOT (SELECT ext, field, coalesce(value, '{CLEAR}') AS v FROM _changes)
                ON field IN ({field_list}) USING first(v) GROUP BY ext) pv
            JOIN (SELECT ext, _key FROM _pending) k ON k.ext = pv.ext"""
    ).fetchall()
    sent = conn.execute("SELECT count(*) FROM _send").fetchall()[0][0]
    outcome.sent = sent
    outcome.unchanged = outcome.considered - sent
    outcome.fields_sent = conn.execute("SELECT count(*) FROM _changes").fetchall()[0][0]
    return sent


def write_csv_files(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    out_dir: Path,
    max_bytes: int,
    key_field: str | None = None,
) -> list[Path]:
    """``COPY`` ``table`` to CSV files in ``columns`` order, each under ``max_bytes``.

    Rows are assigned to files by a running sum of their JSON size in UTF-8 bytes (an
    over-estimate of their CSV size; the limit is on bytes, and non-ASCII text takes several).
    NULL is an empty cell: "leave the field unchanged" in Bulk API 2.0.

    With ``key_field``, each file also gets a ``keys.parquet`` beside it: which Intercom record
    (``ext``) each upload key stands for. The CSV cannot carry it (Salesforce refuses unknown
    columns), and a run that collects the job's results after a crash needs it.
    """
    cols = ", ".join(_q(c) for c in columns)
    extra = ", t.ext" if key_field else ""
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _files AS
            SELECT {cols}{extra},
                   (sum(strlen(to_json(t)::VARCHAR) + 16)
                        OVER (ORDER BY t.ext ROWS UNBOUNDED PRECEDING) // ?)::INTEGER AS file_no
            FROM {table} t""",
        [max_bytes],
    ).fetchall()
    out_dir.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f"COPY (SELECT {cols}, file_no FROM _files ORDER BY file_no, 1) TO '{out_dir}' "
        "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULL '', "
        "PARTITION_BY (file_no), OVERWRITE_OR_IGNORE true)"
    ).fetchall()
    files = sorted(out_dir.glob("file_no=*/*.csv"))
    if key_field:
        for path in files:
            file_no = int(path.parent.name.removeprefix("file_no="))
            conn.execute(
                f"COPY (SELECT {_q(key_field)} AS key, ext FROM _files WHERE file_no = ?) "
                f"TO '{keys_path(path)}' (FORMAT parquet)",
                [file_no],
            ).fetchall()
    return files


def keys_path(csv_path: Path) -> Path:
    """Where the upload key -> Intercom id map of one uploaded CSV is kept."""
    return csv_path.parent / "keys.parquet"


def _load_result(
    conn: duckdb.DuckDBPyConnection, view: str, path: Path, key_field: str, required: list[str]
) -> None:
    """Expose one result CSV as a table with an ``ext`` column; empty files become empty tables."""
    has_rows = (
        path.exists()
        and path.stat().st_size > 0
        and len(path.read_bytes()[:65536].splitlines()) > 1
    )
    if has_rows:
        # results carry the upsert key; our state is keyed by the Intercom id we sent it for
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT r.*, s.ext "
            f"FROM read_csv('{path}', header=true, all_varchar=true) r "
            f"LEFT JOIN _send s ON s.{_q(key_field)} = r.{_q(key_field)}"
        ).fetchall()
    else:
        # an empty result file (every record failed, say) still has the key column
        names = dict.fromkeys([*required, key_field])
        cols = [f"NULL::VARCHAR AS {_q(c)}" for c in names] + ["NULL::VARCHAR AS ext"]
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE {view} AS SELECT {', '.join(cols)} WHERE false"
        ).fetchall()


def record_results(
    conn: duckdb.DuckDBPyConnection, result: IngestResult, key_field: str, run_id: str
) -> dict[str, int]:
    """Per-record outcomes into ``sync_results``; successes move the record and field state.

    One transaction: a crash part-way leaves the ledger row open, and the next run collects the
    job again from the start (``recovery.py``) instead of finding half its results recorded.
    """
    _load_result(conn, "_ok", result.successful_csv, key_field, ["sf__Id", "sf__Created"])
    _load_result(conn, "_failed", result.failed_csv, key_field, ["sf__Id", "sf__Error"])
    _load_result(conn, "_unprocessed", result.unprocessed_csv, key_field, [])
    now = datetime.now(UTC)
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            read_sql("record_ingest_results.sql", SQL), [result.job_id, result.sobject, run_id]
        ).fetchall()
        conn.execute(
            f"""INSERT OR REPLACE INTO {RECORD_STATE}
                SELECT ?, ext, "sf__Id", ? FROM _ok""",
            [result.sobject, now],
        ).fetchall()
        conn.execute(
            f"""INSERT OR REPLACE INTO {FIELD_STATE}
                SELECT ?, ch.ext, ch.field, ch.value, ? FROM _changes ch
                WHERE ch.ext IN (SELECT ext FROM _ok)""",
            [result.sobject, now],
        ).fetchall()
        if key_field != "Id":
            # the upsert key was sent too: remember it, so a later update by Id does not resend it
            conn.execute(
                f"""INSERT OR REPLACE INTO {FIELD_STATE}
                    SELECT ?, ext, ?, {_q(key_field)}, ? FROM _ok""",
                [result.sobject, key_field, now],
            ).fetchall()
        conn.execute(
            f"""UPDATE {REVIEW_QUEUE} SET status = 'resolved', resolved_at = ?
                WHERE rule = ? AND status = 'open' AND column_name = ?
                  AND record_id IN (SELECT ext FROM _ok)""",
            [now, RETRY_EXHAUSTED, result.sobject],
        ).fetchall()
        conn.execute(
            f"""UPDATE {BULK_JOBS} SET state = ?, records_processed = ?, records_failed = ?,
                   error_message = ?, finished_at = ? WHERE job_id = ?""",
            [
                result.state,
                result.records_processed,
                result.records_failed,
                result.error_message,
                now,
                result.job_id,
            ],
        ).fetchall()
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


def _transient_exts(conn: duckdb.DuckDBPyConnection) -> list[str]:
    codes = ", ".join(f"'{c}'" for c in TRANSIENT_CODES)
    return [
        r[0]
        for r in conn.execute(
            f"""SELECT ext FROM _failed WHERE split_part("sf__Error", ':', 1) IN ({codes})
            UNION SELECT ext FROM _unprocessed"""
        ).fetchall()
    ]


def review_rejections(
    conn: duckdb.DuckDBPyConnection, entity: str, sobject: str, run_id: str, job_ids: list[str]
) -> int:
    """Records not written in this push wait in the review queue with Salesforce's message.

    Permanent rejections (rule ``salesforce_rejected``) block the record until a person acts.
    Records still failing with a transient error after every attempt, or left unprocessed by a
    job that failed (rule ``salesforce_retry_exhausted``), are listed too, so a run never ends
    with records silently unwritten; they do not block: the next run sends them again, and their
    item is resolved when Salesforce takes them.
    """
    from intercom_salesforce.assets.quality.review_queue import upsert_items

    if not job_ids:
        return 0
    marks = ", ".join("?" for _ in job_ids)
    codes = ", ".join(f"'{c}'" for c in TRANSIENT_CODES)
    final = f"""SELECT external_id, arg_max(outcome, recorded_at) AS outcome,
                       arg_max(error_code, recorded_at) AS error_code,
                       arg_max(coalesce(error, 'left unprocessed by job ' || job_id),
                               recorded_at) AS error,
                       count(*) AS attempts
                FROM {SYNC_RESULTS} WHERE job_id IN ({marks}) GROUP BY external_id"""
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _failures AS
            SELECT external_id AS record_id, NULL::DATE AS partition_date,
                   left(error, 1000) AS value
            FROM ({final})
            WHERE outcome = 'failed' AND coalesce(error_code, '') NOT IN ({codes})""",
        job_ids,
    ).fetchall()
    queued = upsert_items(
        conn,
        entity,
        "salesforce_rejected",
        sobject,
        f"Salesforce rejected the {sobject}: see the value for its error",
        run_id,
    )
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _failures AS
            SELECT external_id AS record_id, NULL::DATE AS partition_date,
                   error || ' (' || attempts || ' attempts)' AS value
            FROM ({final})
            WHERE outcome = 'unprocessed'
               OR (outcome = 'failed' AND coalesce(error_code, '') IN ({codes}))""",
        job_ids,
    ).fetchall()
    return queued + upsert_items(
        conn,
        entity,
        RETRY_EXHAUSTED,
        sobject,
        f"The {sobject} was not written: Salesforce still answered with a transient error after "
        "every attempt in the run; the next run sends it again",
        run_id,
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
    review_entity: str,
    max_attempts: int = 3,
    retry_base_seconds: float = 1.0,
    clearable: set[str] | None = None,
    operation: Literal["upsert", "insert"] = "upsert",
) -> PushOutcome:
    """Diff, write, upload, record, retry the transient, queue the rejected.

    ``operation="insert"`` is for objects without an external id (Note): ``ext_field`` is then a
    column unique per record that the results echo back, so they can be matched to it.
    """
    outcome = PushOutcome()
    if prepare_changes(conn, sobject, ext_field, columns, outcome, clearable) == 0:
        return outcome
    sf.check_api_budget(planned_calls=8 + outcome.sent // 10_000 * 8)
    conn.execute("CREATE OR REPLACE TEMP TABLE _batch AS SELECT * FROM _send").fetchall()
    for attempt in range(1, max_attempts + 1):
        files = write_csv_files(
            conn, "_batch", columns, work_dir / f"{sobject}-{attempt}", max_bytes, ext_field
        )
        retry: list[str] = []
        for path in files:
            rows = conn.execute(
                f"SELECT count(*) FROM read_csv('{path}', header=true, all_varchar=true)"
            ).fetchall()[0][0]

            def ledger(job_id: str, path: Path = path, rows: int = rows) -> None:
                conn.execute(
                    f"INSERT INTO {BULK_JOBS} (job_id, sobject, operation, external_id_field, "
                    "csv_path, rows_uploaded, bytes_uploaded, state, created_at, run_id) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'Open', ?, ?)",
                    [
                        job_id,
                        sobject,
                        operation,
                        ext_field,
                        str(path),
                        rows,
                        path.stat().st_size,
                        datetime.now(UTC),
                        run_id,
                    ],
                ).fetchall()

            result = sf.ingest(
                sobject,
                operation,
                path,
                work_dir / f"{sobject}-results",
                external_id_field=ext_field if operation == "upsert" else None,
                on_job_created=ledger,
            )
            outcome.job_ids.append(result.job_id)
            outcome.bytes_uploaded += result.bytes_uploaded
            counts = record_results(conn, result, ext_field, run_id)
            outcome.created += counts.get("created", 0)
            outcome.updated += counts.get("updated", 0)
            transient = _transient_exts(conn)
            if result.state != "JobComplete" and (attempt == max_attempts or not transient):
                outcome.failed_jobs.append(
                    f"{result.job_id}: {result.state} {result.error_message}"
                )
            retry.extend(transient)
        if not retry or attempt == max_attempts:
            break
        outcome.retried += len(retry)
        conn.execute("CREATE OR REPLACE TEMP TABLE _retry (ext VARCHAR)").fetchall()
        conn.executemany("INSERT INTO _retry VALUES (?)", [[e] for e in retry])
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE _batch AS SELECT * FROM _send "
            "WHERE ext IN (SELECT ext FROM _retry)"
        ).fetchall()
        time.sleep(retry_base_seconds * 2 ** (attempt - 1))
    marks = ", ".join("?" for _ in outcome.job_ids)
    final = dict(
        conn.execute(
            f"""SELECT outcome, count(*) FROM (
                SELECT external_id, arg_max(outcome, recorded_at) AS outcome
                FROM {SYNC_RESULTS} WHERE job_id IN ({marks}) GROUP BY 1) GROUP BY 1""",
            outcome.job_ids,
        ).fetchall()
    )
    outcome.failed = final.get("failed", 0)
    outcome.unprocessed = final.get("unprocessed", 0)
    for code, n in conn.execute(
        f"""SELECT error_code, count(*) FROM {SYNC_RESULTS}
            WHERE job_id IN ({marks}) AND outcome = 'failed' GROUP BY 1""",
        outcome.job_ids,
    ).fetchall():
        outcome.errors_by_code[code] = n
    outcome.sent_to_review = review_rejections(
        conn, review_entity, sobject, run_id, outcome.job_ids
    )
    return outcome


__all__ = ["CLEAR", "REVIEW_QUEUE", "PushOutcome", "upsert_pending", "write_csv_files"]
