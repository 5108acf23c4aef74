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
