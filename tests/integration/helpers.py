"""What the integration tests share: materializing assets over a partition range."""

from __future__ import annotations

from typing import Any

import dagster as dg


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
