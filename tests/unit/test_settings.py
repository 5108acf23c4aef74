"""The Bulk poll wait: one setting, a default per mode, a clear error for a bad value. The
warehouse's memory limit, the same on every connection the process opens, and the size of the
push's decision slices that goes with it."""

import pytest

from intercom_salesforce.cli.summary import connect_read_only
from intercom_salesforce.settings import (
    DEFAULT_WAREHOUSE_MEMORY_LIMIT,
    PRODUCTION_BULK_POLL_SECONDS,
    SANDBOX_BULK_POLL_SECONDS,
    ConfigurationError,
    build_resources,
    build_salesforce,
    build_warehouse,
    bulk_poll_seconds,
    sync_tuning,
    warehouse_config,
)


def test_sandbox_polls_sooner_than_production_unless_set():
    assert build_salesforce({}).poll_initial_seconds == SANDBOX_BULK_POLL_SECONDS
    assert SANDBOX_BULK_POLL_SECONDS < PRODUCTION_BULK_POLL_SECONDS
    assert build_salesforce({"SALESFORCE_BULK_POLL_SECONDS": "0.02"}).poll_initial_seconds == 0.02


@pytest.mark.parametrize("raw", ["0", "-1", "soon"])
def test_a_bad_poll_wait_is_refused_by_name(raw):
    with pytest.raises(ConfigurationError, match="SALESFORCE_BULK_POLL_SECONDS"):
        bulk_poll_seconds({"SALESFORCE_BULK_POLL_SECONDS": raw}, 0.5)


def memory_limit(conn) -> str:
    return conn.execute("SELECT current_setting('memory_limit')").fetchone()[0]


def test_the_warehouse_is_held_to_its_memory_limit_on_every_connection(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    assert warehouse_config({}) == {"memory_limit": DEFAULT_WAREHOUSE_MEMORY_LIMIT}
    assert warehouse_config({"WAREHOUSE_MEMORY_LIMIT": "none"}) == {}  # DuckDB's own default
    monkeypatch.setenv("WAREHOUSE_MEMORY_LIMIT", "300MB")
    with build_warehouse().get_connection() as conn:
        assert memory_limit(conn) == "286.1 MiB"
        # a run's connection is still open (a failed step's traceback can hold it): the summary
        # opens the same file in the same process, which DuckDB allows only with equal settings
        summary = connect_read_only(str(tmp_path / "warehouse.duckdb"))
        assert memory_limit(summary) == "286.1 MiB"
        summary.close()


@pytest.mark.parametrize("raw", ["lots", "4XB"])
def test_a_bad_memory_limit_is_refused_by_name(raw):
    with pytest.raises(ConfigurationError, match="WAREHOUSE_MEMORY_LIMIT"):
        warehouse_config({"WAREHOUSE_MEMORY_LIMIT": raw})


def test_the_decision_slice_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERCOM_SALESFORCE_HOME", str(tmp_path))
    assert build_resources({})["sync_settings"].decide_slice_rows == 250_000
    tuned = build_resources({"SYNC_DECIDE_SLICE_ROWS": "50000"})["sync_settings"]
    assert tuned.decide_slice_rows == 50_000


@pytest.mark.parametrize("raw", ["0", "-5", "many"])
def test_a_bad_decision_slice_is_refused_by_name(raw):
    with pytest.raises(ConfigurationError, match="SYNC_DECIDE_SLICE_ROWS"):
        sync_tuning({"SYNC_DECIDE_SLICE_ROWS": raw})
