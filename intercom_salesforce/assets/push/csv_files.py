"""Bulk CSV files from DuckDB ``COPY``: fixed column order, split under the upload limit."""

from __future__ import annotations

from pathlib import Path

import duckdb

from intercom_salesforce.warehouse import ident, literal


def keys_path(csv_path: Path) -> Path:
    """Where the upload key -> Intercom id map of one uploaded CSV is kept."""
    return csv_path.parent / "keys.parquet"


def write_csv_files(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    out_dir: Path,
    max_bytes: int,
    key_field: str | None = None,
) -> list[Path]:
    """``COPY`` ``table`` to CSV files in ``columns`` order, each under ``max_bytes``.

    Rows are assigned to files (in ``<table>_files``) by a running sum of their JSON size in UTF-8
    bytes (an over-estimate of their CSV size; the limit is on bytes, and non-ASCII text takes
    several). NULL is an empty cell: "leave the field unchanged" in Bulk API 2.0.

    With ``key_field``, each file also gets a ``keys.parquet`` beside it: which Intercom record
    (``ext``) each upload key stands for. The CSV cannot carry it (Salesforce refuses unknown
    columns), and a run that collects the job's results after a crash needs it.
    """
    files_table = ident(table + "_files")
    cols = ", ".join(ident(c) for c in columns)
    extra = ", t.ext" if key_field else ""
    size = "strlen(to_json(t)::VARCHAR) + 16"
    total = conn.execute(f"SELECT sum({size}) FROM {ident(table)} t").fetchall()[0][0] or 0
    # the running sum sorts every row by ext; a batch that fits one file (nearly every one: a
    # file holds up to 100 MB) skips it, which at a million Leads was most of the sizing's CPU
    running = f"sum({size}) OVER (ORDER BY t.ext ROWS UNBOUNDED PRECEDING)"
    file_no = "0" if total < max_bytes else f"({running} // {int(max_bytes)})::INTEGER"
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {files_table} AS
            SELECT {cols}{extra}, {file_no} AS file_no
            FROM {ident(table)} t"""
    ).fetchall()
    out_dir.mkdir(parents=True, exist_ok=True)
    conn.execute(
        f"COPY (SELECT {cols}, file_no FROM {files_table} ORDER BY file_no, 1) "
        f"TO {literal(str(out_dir))} "
        "(FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NULL '', "
        "PARTITION_BY (file_no), OVERWRITE_OR_IGNORE true)"
    ).fetchall()
    files = sorted(out_dir.glob("file_no=*/*.csv"))
    if key_field:
        for path in files:
            file_no = int(path.parent.name.removeprefix("file_no="))
            conn.execute(
                f"COPY (SELECT {ident(key_field)} AS key, ext FROM {files_table} "
                f"WHERE file_no = ?) TO {literal(str(keys_path(path)))} (FORMAT parquet)",
                [file_no],
            ).fetchall()
    return files
