"""The warehouse DDL runs once per fingerprint: again only when the code's DDL differs."""

import duckdb

from intercom_salesforce.warehouse import SCHEMA_MARK, ensure_warehouse, warehouse_ddl


def test_ddl_runs_when_the_fingerprint_differs_and_only_then(tmp_path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(conn)
    _, fingerprint = warehouse_ddl()
    assert conn.execute(f"SELECT fingerprint FROM {SCHEMA_MARK}").fetchall() == [(fingerprint,)]

    # the mark matches: a table dropped behind the warehouse's back is not recreated
    conn.execute("DROP TABLE sync.plans")
    ensure_warehouse(conn)
    assert not conn.execute(
        "SELECT * FROM duckdb_tables() WHERE schema_name = 'sync' AND table_name = 'plans'"
    ).fetchall()

    # a file written by other code (another fingerprint) gets the DDL again
    conn.execute(f"UPDATE {SCHEMA_MARK} SET fingerprint = 'older code'")
    ensure_warehouse(conn)
    assert conn.execute("SELECT count(*) FROM sync.plans").fetchall() == [(0,)]
    assert conn.execute(f"SELECT fingerprint FROM {SCHEMA_MARK}").fetchall() == [(fingerprint,)]


def test_inside_an_open_transaction_a_fresh_warehouse_is_created_and_rolled_back():
    conn = duckdb.connect()
    conn.execute("BEGIN")
    ensure_warehouse(conn)
    ensure_warehouse(conn)
    conn.execute("ROLLBACK")
    assert not conn.execute("SELECT * FROM duckdb_tables() WHERE schema_name = 'sync'").fetchall()


def test_a_warehouse_with_keyed_push_state_keeps_its_rows_and_loses_the_keys(tmp_path):
    """Older files hold sync_state and field_state with primary keys (in-memory indexes that
    outgrew the memory limit at a million records): the DDL moves their rows to unkeyed tables."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("CREATE SCHEMA sync")
    conn.execute(
        "CREATE TABLE sync.sync_state (sobject VARCHAR NOT NULL, external_id VARCHAR NOT NULL, "
        "sf_id VARCHAR, pushed_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (sobject, external_id))"
    )
    conn.execute(
        "CREATE TABLE sync.field_state (sobject VARCHAR NOT NULL, external_id VARCHAR NOT NULL, "
        "field VARCHAR NOT NULL, value VARCHAR, pushed_at TIMESTAMPTZ NOT NULL, "
        "PRIMARY KEY (sobject, external_id, field))"
    )
    conn.execute("INSERT INTO sync.sync_state VALUES ('Lead', 'c1', '00Q1', now())")
    conn.execute("INSERT INTO sync.field_state VALUES ('Lead', 'c1', 'Email', 'a@b.co', now())")

    ensure_warehouse(conn)

    assert (
        conn.execute(
            "SELECT table_name FROM duckdb_constraints() WHERE schema_name = 'sync' "
            "AND table_name IN ('sync_state', 'field_state') AND constraint_type = 'PRIMARY KEY'"
        ).fetchall()
        == []
    )
    assert conn.execute("SELECT external_id, sf_id FROM sync.sync_state").fetchall() == [
        ("c1", "00Q1")
    ]
    assert conn.execute("SELECT field, value FROM sync.field_state").fetchall() == [
        ("Email", "a@b.co")
    ]
    assert not conn.execute(
        "SELECT * FROM duckdb_tables() WHERE table_name LIKE '%\\_keyed' ESCAPE '\\'"
    ).fetchall()
