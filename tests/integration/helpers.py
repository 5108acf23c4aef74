"""What the integration tests share: materializing assets over a partition range, reading the
warehouse."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import duckdb


def materialize_range(
    assets: list[Any], resources: dict[str, Any], first: str, last: str, *, succeed: bool = True
) -> dg.ExecuteInProcessResult:
    """Run ``assets`` over the days ``first``..``last`` in one run (as a backfill does); with
    ``succeed`` the run must succeed, and the failures are shown when it does not."""
    result = dg.materialize(
        assets,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        raise_on_error=False,
    )
    if succeed:
        assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def warehouse_rows(tmp_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of ``sql`` over the test's warehouse, opened read-only for just this query."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
