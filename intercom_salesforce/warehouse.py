"""The DuckDB warehouse: where it lives, its schemas, and the one statement that creates them."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).parent / "sql"

STAGING_CONTACTS = "staging.intercom_contacts"
STAGING_CONTACTS_CURRENT = "staging.intercom_contacts_current"
EXTRACT_RUNS = "staging.extract_runs"
MIRROR_CONTACTS = "mirror.salesforce_contacts"
MIRROR_LEADS = "mirror.salesforce_leads"
MIRROR_HWM = "mirror.high_water_marks"
PERSON_MATCHES = "match.person_matches"
COMPANY_MATCHES = "match.company_matches"
SYNC_STATE = "sync.sync_state"
BULK_JOBS = "sync.bulk_jobs"
SYNC_RESULTS = "sync.sync_results"
REVIEW_QUEUE = "quality.review_queue"
SYNC_CONFLICTS = "sync.sync_conflicts"
INTERCOM_FIELD_STATE = "sync.intercom_field_state"
INTERCOM_WRITE_RESULTS = "sync.intercom_write_results"

# Dagster pool shared by every asset that writes the warehouse: DuckDB allows one writer process.
WAREHOUSE_POOL = "duckdb_warehouse"


# ``DuckDBResource`` adds this user agent to its connections' settings. DuckDB lets a process open
# a second connection to a file only with the same settings as the open ones, so the CLI's and
# the sensors' connections carry it too.
RESOURCE_USER_AGENT = {"custom_user_agent": "dagster"}


def connect(
    database: str, config: Mapping[str, str], read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A connection with the settings the warehouse resource's connections have."""
    return duckdb.connect(database, read_only=read_only, config={**RESOURCE_USER_AGENT, **config})


@functools.cache
def read_sql(name: str, base: Path = SQL_DIR) -> str:
    """A static statement kept in a `.sql` file beside the code that runs it (read once)."""
    return (base / name).read_text()


def ident(name: str) -> str:
    """A DuckDB identifier, quoted: names come from mapping files and Salesforce describes."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A DuckDB string literal, for the few statements that cannot take a bound parameter."""
    return "'" + value.replace("'", "''") + "'"


SCHEMA_MARK = "sync.warehouse_schema"


@functools.cache
def warehouse_ddl() -> tuple[tuple[str, ...], str]:
    """Every statement that creates the warehouse, in order, and their fingerprint."""
    from intercom_salesforce.extract.entities import ALL

    statements = (
        read_sql("create_warehouse.sql"),
        *(spec.create_sql() for spec in ALL),
        read_sql("create_views.sql"),
        read_sql("create_quality.sql"),
        read_sql("create_match.sql"),
    )
    return statements, hashlib.sha256("\n;\n".join(statements).encode()).hexdigest()


def ensure_warehouse(conn: duckdb.DuckDBPyConnection) -> None:
    """Create schemas, tables and views if missing.

    Every asset calls this before it writes; the DDL (about fifty statements, some ``ALTER``s that
    migrate older files) runs only when the warehouse does not carry this code's fingerprint in
    ``sync.warehouse_schema``, so a run's twenty assets pay one lookup each instead of the DDL.
    """
    statements, fingerprint = warehouse_ddl()
    # looked up, not tried: a failed statement would abort the caller's open transaction
    marked = conn.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE schema_name = 'sync' AND table_name = 'warehouse_schema'"
    ).fetchall()
    if marked == [(1,)]:
        marks = conn.execute(f"SELECT fingerprint FROM {SCHEMA_MARK}").fetchall()
        if marks == [(fingerprint,)]:
            return
    keyed = _unkey_state_tables(conn)
    for statement in statements:
        conn.execute(statement)
    for table in keyed:
        conn.execute(f"INSERT INTO sync.{table} SELECT * FROM sync.{table}{KEYED_SUFFIX}")
        conn.execute(f"DROP TABLE sync.{table}{KEYED_SUFFIX}")
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_MARK} (fingerprint VARCHAR, applied_at TIMESTAMPTZ)"
    )
    conn.execute(f"DELETE FROM {SCHEMA_MARK}")
    conn.execute(f"INSERT INTO {SCHEMA_MARK} VALUES (?, now())", [fingerprint]).fetchall()


#: The push state tables that lost their primary key (``create_warehouse.sql`` says why).
UNKEYED_STATE = ("sync_state", "field_state")
KEYED_SUFFIX = "_keyed"


def _unkey_state_tables(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Rename the state tables a warehouse still holds with their primary key out of the way.

    DuckDB cannot drop a constraint, so the DDL creates each afresh and ``ensure_warehouse`` moves
    the rows over and drops the old table; the caller's transaction (if any) keeps it atomic.
    """
    keyed = [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM duckdb_constraints() WHERE schema_name = 'sync' "
            "AND constraint_type = 'PRIMARY KEY' AND list_contains(?, table_name)",
            [list(UNKEYED_STATE)],
        ).fetchall()
    ]
    for table in keyed:
        conn.execute(f"ALTER TABLE sync.{table} RENAME TO {table}{KEYED_SUFFIX}")
    return keyed


def upsert_conflicts(conn: duckdb.DuckDBPyConnection, rows_sql: str, run_id: str) -> None:
    """Record one run's conflicts in ``sync.sync_conflicts`` (new, or seen again and reopened).

    ``rows_sql`` selects them in the columns ``upsert_conflicts.sql`` names; the push and the
    write-back each select theirs, and both record them here.
    """
    sql = read_sql("upsert_conflicts.sql").format(conflicts=f"({rows_sql})")
    conn.execute(sql, [run_id]).fetchall()
