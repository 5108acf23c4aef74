"""Blocking asset checks on the staging assets, one per suite, partitioned like their assets.

A check that fails with ERROR severity stops every downstream asset in the same run, so nothing
reaches Salesforce from a bad batch.
"""

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.assets.quality.contacts_suite import (
    CONTACTS_SUITE_CHECK,
    validate_contacts_window,
)
from intercom_salesforce.warehouse import WAREHOUSE_POOL, ensure_warehouse


def check_window(context: dg.AssetCheckExecutionContext) -> dg.TimeWindow:
    """The time window of the partition range this check runs for."""
    keys = context.partition_key_range
    start = daily_partitions.time_window_for_partition_key(keys.start).start
    end = daily_partitions.time_window_for_partition_key(keys.end).end
    return dg.TimeWindow(start, end)


@dg.asset_check(
    asset="intercom_contacts",
    name=CONTACTS_SUITE_CHECK,
    blocking=True,
    partitions_def=daily_partitions,
    pool=WAREHOUSE_POOL,
    description="Great Expectations suite for staged contacts: columns, ids, window, emails.",
)
def contacts_pass_gx_suite(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource
) -> dg.AssetCheckResult:
    window = check_window(context)
    first_day, last_day = window_days(window)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        return validate_contacts_window(conn, first_day, last_day, window)


QUALITY_CHECKS = [contacts_pass_gx_suite]
