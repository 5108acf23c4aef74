"""The quality checks on the staging assets: one multi-asset check per suite, one spec per rule.

A check that fails with ERROR severity stops every downstream asset in the same run, so nothing
reaches Salesforce from a bad batch: the structural rules (``<prefix>_pass_gx_suite``), schema
drift (``<prefix>_no_schema_drift``) and a row rule over its bad-share threshold
(``<prefix>_no_bad_batch``) are blocking. Each row rule (``<prefix>_<rule>``) is a WARN check: its
failing rows wait in the review queue and are never pushed, the rest of the batch goes on.

One GX run per suite and window yields every result. The checks write the review queue, so they
share the warehouse writers' pool; they are partitioned like their assets.
"""

import gc
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.assets.quality.gate import GateWindow, run_gate
from intercom_salesforce.assets.quality.suites import SUITES, Suite
from intercom_salesforce.mapping import Mapping, MappingError, load_mapping
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import WAREHOUSE_POOL, ensure_warehouse


def check_window(context: dg.AssetCheckExecutionContext) -> dg.TimeWindow:
    """The time window of the partition range this check runs for."""
    keys = context.partition_key_range
    start = daily_partitions.time_window_for_partition_key(keys.start).start
    end = daily_partitions.time_window_for_partition_key(keys.end).end
    return dg.TimeWindow(start, end)


def check_specs(suite: Suite) -> list[dg.AssetCheckSpec]:
    """The suite's checks: the blocking ones first, then one warning per row rule."""

    def spec(name: str, blocking: bool, description: str) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            name,
            asset=suite.entity,
            blocking=blocking,
            partitions_def=daily_partitions,
            description=description,
        )

    specs = [
        spec(
            suite.check_name,
            True,
            f"Great Expectations structural rules for {suite.entity} (ids present and unique, "
            "timestamps inside the window, known values): a failure blocks the batch.",
        ),
        spec(
            suite.drift_check_name,
            True,
            f"Schema drift in the {suite.entity} payload seen while staging (a key that never "
            "arrived, a value of the wrong type): a failure blocks the batch.",
        ),
    ]
    if suite.row_rules:
        specs.append(
            spec(
                suite.batch_check_name,
                True,
                f"No row rule of {suite.entity} is broken by more than its share of the window "
                "(something upstream broke): a failure blocks the batch.",
            )
        )
    specs += [
        spec(suite.rule_check_name(r), False, f"{r.reason}. Failing rows wait in review.")
        for r in suite.row_rules
    ]
    return specs


def rule_mapping(settings: SyncSettings) -> Mapping:
    """The deployment's mapping, which some rules take their value sets from."""
    try:
        return load_mapping(Path(settings.mapping_file))
    except MappingError as exc:
        raise dg.Failure(description=f"The mapping file cannot be read:\n{exc}") from exc


def build_gx_check(suite: Suite) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"{suite.entity}_quality_gate",
        specs=check_specs(suite),
        pool=WAREHOUSE_POOL,
        description=f"Great Expectations suite for {suite.entity}, one result per rule.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext,
        warehouse: DuckDBResource,
        sync_settings: SyncSettings,
    ) -> Iterator[dg.AssetCheckResult]:
        window = check_window(context)
        first_day, last_day = window_days(window)
        gate_window = GateWindow(
            first_day, last_day, int(window.start.timestamp()), int(window.end.timestamp())
        )
        mapping = rule_mapping(sync_settings) if suite.needs_mapping else None
        with warehouse.get_connection() as conn:
            ensure_warehouse(conn)
            results = run_gate(conn, suite, gate_window, context.run.run_id, mapping)
            # the validation's results hold the window's frame in reference cycles: collected
            # now, it is given back when the connection closes (a million contacts: 250 MB less
            # under the steps that follow), not whenever a later step triggers a full collection
            gc.collect()
        yield from results

    return _check


QUALITY_CHECKS = [build_gx_check(suite) for suite in SUITES]
CHECKS_BY_ENTITY = {
    suite.entity: check for suite, check in zip(SUITES, QUALITY_CHECKS, strict=True)
}
