"""One asset factory for every Intercom stream: its row in the entity table decides the rest.

Partitioned streams are one workspace-local day per partition, incremental by default (see
``ledger``); a full refresh is the run tag ``intercom_salesforce/full_refresh=true``. A stream read
per parent depends on its parent's asset. After the read, the run goes into the ledger
(:func:`ledger.record_run`) and, separately, its metadata is built (:func:`stream_metadata`).
"""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb

from intercom_salesforce.assets.extract import ledger
from intercom_salesforce.assets.extract.consumers import wanted_events
from intercom_salesforce.assets.extract.ledger import Plan
from intercom_salesforce.assets.extract.staging import StagingWriter
from intercom_salesforce.assets.extract.streams import (
    Progress,
    Staged,
    changed_parents,
    read_children,
    read_list,
    read_window,
)
from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.extract.entities import EntitySpec
from intercom_salesforce.resources.intercom import IntercomClient, IntercomResource
from intercom_salesforce.settings import workspace_timezone
from intercom_salesforce.warehouse import WAREHOUSE_POOL, ensure_warehouse

FULL_REFRESH_TAG = "intercom_salesforce/full_refresh"
COMMON = {"group_name": "extract", "kinds": {"intercom", "duckdb"}, "pool": WAREHOUSE_POOL}
PARTITIONED = {
    **COMMON,
    "partitions_def": daily_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
}


def full_refresh_requested(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(FULL_REFRESH_TAG, "").strip().lower() in ("true", "1", "yes")


def check_timezone(client: IntercomClient) -> dict[str, Any]:
    """Partitions are days in the configured timezone; it must be the workspace's."""
    app = client.me().get("app") or {}
    tz = workspace_timezone()
    if app.get("timezone") and app["timezone"] != tz:
        raise dg.Failure(
            f"Intercom workspace timezone is {app['timezone']} but partitions are days in {tz}; "
            f"set INTERCOM_WORKSPACE_TIMEZONE={app['timezone']}"
        )
    return app


class StreamRun:
    """One materialization of one stream: its client, connection, writer and progress."""

    def __init__(
        self, context: dg.AssetExecutionContext, spec: EntitySpec, conn: duckdb.DuckDBPyConnection
    ):
        self.context, self.spec, self.conn = context, spec, conn
        self.intercom: IntercomResource = context.resources.intercom
        self.client = self.intercom.client(context.log)
        self.tz = workspace_timezone()
        self.days = window_days(context.partition_time_window) if spec.partitioned else None
        self.writer = StagingWriter(conn, spec, context.run.run_id, self.tz)
        self.progress = Progress(context.log, spec.name)

    def read(self) -> Staged:
        if self.spec.read in ("search", "scroll"):
            return self.read_window()
        if self.spec.read == "children":
            return self.read_children()
        return read_list(self.client, self.spec, self.writer, self.progress)

    def read_window(self) -> Staged:
        assert self.days is not None
        check_timezone(self.client)
        window = self.context.partition_time_window
        reason = f"run tag {FULL_REFRESH_TAG}" if full_refresh_requested(self.context) else None
        plan = ledger.plan_window(
            self.conn, self.spec.name, window.start, self.days, self.tz, reason
        )
        span = (window.start, window.end)
        return read_window(
            self.client, self.spec, self.writer, self.progress, plan, span, self.days
        )

    def read_children(self) -> Staged:
        assert self.days is not None
        full = full_refresh_requested(self.context)
        plan = Plan("full_refresh" if full else "incremental")
        wanted, why, needed = None, "", None
        if self.spec.wanted_field:
            wanted, why, needed = wanted_events(self.context.resources.sync_settings)
        todo, spared, fresh = [], 0, True
        if wanted is None or wanted:
            todo, spared, fresh = changed_parents(
                self.conn, self.spec, self.days, full, wanted, needed
            )
        unit = self.spec.parent_unit
        self.progress = Progress(
            self.context.log, self.spec.name, every=200, total=len(todo), unit=unit
        )
        tally = read_children(
            self.conn, self.client, self.spec, self.writer, self.progress, todo, wanted, fresh
        )
        extra: dict[str, Any] = {
            f"{unit}_fetched": tally.parents - tally.missing,
            f"{unit}_missing": tally.missing,
        }
        if self.spec.coverage and self.spec.coverage.total_paths:
            extra[f"{unit}_truncated"] = len(tally.truncated)
            extra["truncated_sample"] = dg.MetadataValue.md(
                f"| {unit.removesuffix('s')} | retrieved | true count |\n|---|---|---|\n"
                + "\n".join(f"| {c[0]} | {c[2]} | {c[3]} |" for c in tally.truncated[:10])
            )
        if wanted is not None:
            extra[f"{self.spec.wanted_field}s"] = ", ".join(sorted(wanted)) or f"none: {why}"
            extra["read_because"] = why
            # matched for certain to an object no event rule writes, or with no email and ids
            # that match nothing (see consumers)
            extra[f"{unit}_not_needed"] = spared
        self.writer.flush()
        return Staged(plan, self.writer.written, self.writer.written, extra)


def stream_metadata(run: StreamRun, staged: Staged, mark: datetime) -> dict[str, Any]:
    """The materialization's metadata: what was read, what it cost, where the window stands."""
    stats, progress = run.client.stats, run.progress
    metadata: dict[str, Any] = {
        "dagster/row_count": staged.rows,
        "mode": run.intercom.mode,
        "extract_mode": staged.plan.mode,
    }
    if run.days:
        metadata["window"] = f"{run.days[0]} .. {run.days[1]} ({run.tz})"
        metadata["extract_reason"] = staged.plan.reason
        if staged.plan.since is not None:
            metadata["changed_since"] = staged.plan.since.isoformat()
    metadata.update(
        {
            "records_fetched": progress.fetched,
            "records_staged": staged.written,
            "pages": progress.pages,
            **stats.as_metadata(),
            "api_calls_by_endpoint": dg.MetadataValue.json(dict(sorted(stats.by_path.items()))),
            "duration_seconds": round(progress.elapsed, 2),
            "rows_per_second": round(progress.fetched / max(progress.elapsed, 1e-6), 1),
            "high_water_mark": mark.isoformat(),
            **staged.extra,
        }
    )
    return metadata


def extract_stream(context: dg.AssetExecutionContext, spec: EntitySpec) -> dict[str, Any]:
    """Read the stream as its table row says, stage it, record the run; returns metadata."""
    started = datetime.now(UTC)
    with context.resources.warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        run = StreamRun(context, spec, conn)
        staged = run.read()
        mark = ledger.high_water_mark(started, run.intercom.search_lag_seconds)
        ledger.record_run(
            conn,
            spec.name,
            days=run.days,
            started=started,
            mark=mark,
            rows_staged=staged.written,
            api_calls=run.client.stats.calls,
            run_id=context.run.run_id,
            mode=staged.plan.mode,
        )
    return stream_metadata(run, staged, mark)


def build_stream_asset(spec: EntitySpec) -> dg.AssetsDefinition:
    """The asset of one entity: partitioned by day unless it is reference data; a per-parent
    stream depends on its parent, and one read for consumers needs their settings."""
    resources = {"intercom", "warehouse"} | ({"sync_settings"} if spec.wanted_field else set())

    @dg.asset(
        name=spec.name,
        description=spec.description,
        deps=[dg.AssetKey(name) for name in (spec.parent.name, *spec.after)]
        if spec.parent
        else None,
        required_resource_keys=resources,
        **(PARTITIONED if spec.partitioned else COMMON),
    )
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=extract_stream(context, spec))

    return _asset
