"""The DuckDB warehouse: where it lives, its schemas, and the one statement that creates them."""

from __future__ import annotations

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


def read_sql(name: str, base: Path = SQL_DIR) -> str:
    """A static statement kept in a `.sql` file beside the code that runs it."""
    return (base / name).read_text()


def ident(name: str) -> str:
    """A DuckDB identifier, quoted: names come from mapping files and Salesforce describes."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A DuckDB string literal, for the few statements that cannot take a bound parameter."""
    return "'" + value.replace("'", "''") + "'"


def ensure_warehouse(conn: duckdb.DuckDBPyConnection) -> None:
    """Create schemas, tables and views if missing."""
    from intercom_salesforce.extract.entities import ALL

    conn.execute(read_sql("create_warehouse.sql"))
    for spec in ALL:
        conn.execute(spec.create_sql())
    conn.execute(read_sql("create_views.sql"))
    conn.execute(read_sql("create_quality.sql"))
    conn.execute(read_sql("create_match.sql"))
