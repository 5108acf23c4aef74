"""Only changed fields are sent: a batch's pending rows diffed against ``sync.field_state``.

An unchanged field is an empty cell (Bulk API 2.0 leaves it alone), a field that became empty is
``#N/A`` (Bulk API 2.0 clears it); records with no changed field are not sent at all.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from intercom_salesforce.assets.push.batch import CLEAR, PushBatch, PushOutcome
from intercom_salesforce.warehouse import ident, literal, read_sql

SQL = Path(__file__).parent / "sql"


def _count(conn: duckdb.DuckDBPyConnection, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {ident(table)}").fetchall()[0][0]


def prepare_changes(conn: duckdb.DuckDBPyConnection, batch: PushBatch, outcome: PushOutcome) -> int:
    """``batch.pending`` -> ``batch.changes`` (ext, field, value) and ``batch.send`` (the CSV
    rows of the changed records); returns how many records are sent.

    A value that became empty is a change only for ``batch.clearable`` fields (sent as ``#N/A``);
    for the others an empty Intercom value leaves Salesforce's alone.
    """
    fields = batch.fields
    if not fields:
        raise ValueError(f"nothing to send for {batch.sobject}: only the key {batch.key_field}")
    outcome.considered = _count(conn, batch.pending)
    casts = ", ".join(f"{ident(c)}::VARCHAR AS {ident(c)}" for c in fields)
    cells = (
        f"(SELECT ext, field, value FROM (SELECT ext, {casts} FROM {ident(batch.pending)}) "
        f"UNPIVOT INCLUDE NULLS (value FOR field IN ({', '.join(ident(c) for c in fields)})))"
    )
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(batch.changes)} AS "
        + read_sql("select_changed_fields.sql", SQL).format(cells=cells),
        [batch.sobject, batch.clearable is None, sorted(batch.clearable or [])],
    ).fetchall()
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(batch.send)} AS "
        + read_sql("select_send_rows.sql", SQL).format(
            key=ident(batch.key_field),
            changes=ident(batch.changes),
            pending=ident(batch.pending),
            fields=", ".join(literal(c) for c in fields),
            casts=casts,
            any_value=" OR ".join(f"{ident(c)} IS NOT NULL" for c in fields),
            clear=literal(CLEAR),
        ),
        [batch.sobject],
    ).fetchall()
    sent = _count(conn, batch.send)
    outcome.sent = sent
    outcome.unchanged = outcome.considered - sent
    outcome.fields_sent = _count(conn, batch.changes)
    return sent
