"""Blocking asset checks on the staging assets, one per suite, partitioned like their assets.

A check that fails with ERROR severity stops every downstream asset in the same run, so nothing
reaches Salesforce from a bad batch. Checks write the review queue, so they share the warehouse
writers' pool.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.assets.quality.gate import run_gate
from intercom_salesforce.assets.quality.suites import SUITES, Suite
from intercom_salesforce.warehouse import WAREHOUSE_POOL, ensure_warehouse


def check_window(context: dg.AssetCheckExecutionContext) -> dg.TimeWindow:
    """The time window of the partition range this check runs for."""
    keys = context.partition_key_range
    start = daily_partitions.time_window_for_partition_key(keys.start).start
    end = daily_partitions.time_window_for_partition_key(keys.end).end
    return dg.TimeWindow(start, end)


def build_gx_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=suite.entity,
        name=suite.check_name,
        blocking=True,
        partitions_def=daily_partitions,
        pool=WAREHOUSE_POOL,
        description=f"Great Expectations suite for {suite.entity}: structural rules block; "
        "offending rows go to the review queue; a row rule over its bad-share threshold blocks.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
    ) -> dg.AssetCheckResult:
        window = check_window(context)
        first_day, last_day = window_days(window)
        with warehouse.get_connection() as conn:
            ensure_warehouse(conn)
            return run_gate(conn, suite, first_day, last_day, window, context.run.run_id)

    return _check


QUALITY_CHECKS = [build_gx_check(suite) for suite in SUITES]
CHECKS_BY_ENTITY = {
    suite.entity: check for suite, check in zip(SUITES, QUALITY_CHECKS, strict=True)
}
