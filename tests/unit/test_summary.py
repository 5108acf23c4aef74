"""The run summary after a failed step: the warehouse may lack the tables the failed steps would
have created; the summary shows what there is instead of crashing."""

from __future__ import annotations

import duckdb

from intercom_salesforce.cli import print_summary


def test_summary_of_a_run_whose_steps_failed(tmp_path, monkeypatch, capsys):
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()  # created, then every step failed
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    print_summary("run-1", "2026-11-01", "2026-11-02", checks_passed=False)
    out = capsys.readouterr().out
    assert "0 contacts staged" in out
    assert "FAILED: nothing was pushed" in out
    assert "Bulk jobs:                none" in out


def test_summary_counts_records_not_attempts(tmp_path, monkeypatch, capsys):
    """A Lead that failed twice and then was created counts once, as created."""
    from intercom_salesforce.warehouse import ensure_warehouse

    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    ensure_warehouse(con)
    for n, outcome in enumerate(["failed", "failed", "created"]):
        con.execute(
            "INSERT INTO sync.sync_results VALUES (?, 'Lead', 'c1', NULL, ?, NULL, NULL, NULL, "
            "TIMESTAMPTZ '2026-11-01 00:00:00+00' + INTERVAL (?) SECOND, 'run-1')",
            [f"job{n}", outcome, n],
        )
    con.close()
    monkeypatch.setenv("WAREHOUSE_PATH", str(warehouse))
    print_summary("run-1", "2026-11-01", "2026-11-02", checks_passed=True)
    out = capsys.readouterr().out
    assert "Salesforce Leads:         created 1, updated 0, failed 0" in out
