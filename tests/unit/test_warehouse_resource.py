"""The warehouse resource hands freed C-heap memory back when a step's connection closes, whether
the step succeeded or failed, and still behaves as the DuckDB resource the assets are typed for;
while a connection is open, the garbage collector runs less often."""

import gc
import sys

import dagster as dg
import duckdb
import pytest
from dagster_duckdb import DuckDBResource

from intercom_salesforce.resources import warehouse as warehouse_module
from intercom_salesforce.resources.collector import (
    RUN_THRESHOLDS,
    collect_less_often,
    restore_collection,
)
from intercom_salesforce.resources.warehouse import WarehouseResource, release_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_trim_is_available_on_glibc():
    assert release_freed_memory() is True


def test_connections_trim_when_they_close_even_after_a_failure(tmp_path, monkeypatch):
    trims: list[int] = []
    monkeypatch.setattr(warehouse_module, "release_freed_memory", lambda: trims.append(1))
    resource = WarehouseResource(
        database=str(tmp_path / "w.duckdb"), connection_config={"memory_limit": "256MB"}
    )
    assert isinstance(resource, DuckDBResource)
    with resource.get_connection() as conn:
        conn.execute("CREATE TABLE t AS SELECT range AS n FROM range(1000)")
        assert conn.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "244.1 MiB"
    assert trims == [1]
    with pytest.raises(RuntimeError, match="step failed"), resource.get_connection() as conn:
        raise RuntimeError("step failed")
    assert trims == [1, 1]
    with resource.get_connection() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == 1000


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return int(status.read().split("VmRSS:")[1].split()[0]) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_a_freed_query_frame_is_given_back(tmp_path):
    """A query result turned into a frame passes through Arrow's pool, which keeps the memory
    once the frame is gone; releasing hands it back."""
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    frame = conn.execute(
        "SELECT 'value-' || range::VARCHAR AS a, 'other-' || range::VARCHAR AS b, "
        "'third-' || range::VARCHAR AS c FROM range(600000)"
    ).df()
    conn.close()
    del frame
    gc.collect()
    held = _rss_mb()
    release_freed_memory()
    assert _rss_mb() < held - 20


def test_a_step_collects_garbage_less_often_while_its_connection_is_open(tmp_path):
    before = gc.get_threshold()
    seen: list[tuple[int, ...]] = []

    @dg.asset
    def parses_pages(warehouse: DuckDBResource) -> None:
        with warehouse.get_connection() as conn:
            seen.append(gc.get_threshold())
            conn.execute("SELECT 1").fetchall()
        seen.append(gc.get_threshold())

    @dg.asset(deps=[parses_pages])
    def fails(warehouse: DuckDBResource) -> None:
        with warehouse.get_connection():
            seen.append(gc.get_threshold())
            raise RuntimeError("step failed")

    result = dg.materialize(
        [parses_pages, fails],
        resources={"warehouse": WarehouseResource(database=str(tmp_path / "w.duckdb"))},
        raise_on_error=False,
    )
    assert not result.success
    assert seen == [RUN_THRESHOLDS, before, RUN_THRESHOLDS]
    assert gc.get_threshold() == before  # the failed step put it back too


def test_nested_holders_keep_the_thresholds_until_the_last_one_is_done():
    before = gc.get_threshold()
    collect_less_often()
    collect_less_often()
    restore_collection()
    assert gc.get_threshold() == RUN_THRESHOLDS
    restore_collection()
    assert gc.get_threshold() == before
    restore_collection()  # one too many changes nothing
    assert gc.get_threshold() == before
