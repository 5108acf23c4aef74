"""Partitioned Intercom record streams -> staging tables, one workspace-local day per partition.

Contacts and conversations come from the search endpoints (one search per run, whatever the number
of days: see ``search_filter``); companies from a full scroll filtered to the window (2.14 has no
company search); conversation parts and data events from per-record calls for what changed.

Incremental by default. Every run records in ``staging.extract_runs`` the instant up to which its
window is complete (its start, less ``search_lag_seconds``). The next run over days that an earlier
run covered reads only what changed since that mark: it searches from the mark's day (day-granular
filters cannot start mid-day), newest first, and stops at the first record older than the mark.
Records updated while a run paged are therefore read by the next one. Rows are upserted by id and
partition day, so an incremental run never removes the window's other rows. A full refresh (run tag
``intercom_salesforce/full_refresh=true``, or no earlier run covering the window) reads the whole
window and replaces it.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.extract.entities import (
    COMPANIES,
    CONTACTS,
    CONVERSATION_PARTS,
    CONVERSATIONS,
    DATA_EVENTS,
    EntitySpec,
)
from intercom_salesforce.assets.extract.staging import StagingWriter
from intercom_salesforce.assets.partitions import daily_partitions, search_filter, window_days
from intercom_salesforce.resources.intercom import (
    IntercomAPIError,
    IntercomClient,
    IntercomResource,
)
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.settings import workspace_timezone
from intercom_salesforce.warehouse import EXTRACT_RUNS, WAREHOUSE_POOL, ensure_warehouse

PARTITIONED = {
    "group_name": "extract",
    "kinds": {"intercom", "duckdb"},
    "partitions_def": daily_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "pool": WAREHOUSE_POOL,
}
FULL_REFRESH_TAG = "intercom_salesforce/full_refresh"
PART_COVERAGE = "staging.intercom_conversation_coverage"
EVENT_COVERAGE = "staging.intercom_contact_event_coverage"
COVERAGE_BATCH = 500


class Progress:
    """Counts, rate and ETA for long extractions, logged every ``every`` pages (or items)."""

    def __init__(
        self,
        context: dg.AssetExecutionContext,
        label: str,
        every: int = 50,
        total: int | None = None,
        unit: str = "records",
    ):
        self.context, self.label, self.every, self.unit = context, label, every, unit
        self.started = time.monotonic()
        self.pages = self.fetched = self.items = 0
        self.total = total

    def page(self, n_records: int, total: int | None = None) -> None:
        self.pages += 1
        self.fetched += n_records
        if total is not None and self.unit == "records":
            self.total = total
        if self.unit == "records" and self.pages % self.every == 0:
            self._log(self.fetched)

    def item(self) -> None:
        """One unit of a per-record loop (a conversation, a contact) done."""
        self.items += 1
        if self.items % self.every == 0:
            self._log(self.items)

    def _log(self, done: int) -> None:
        rate = done / max(self.elapsed, 1e-6)
        eta = f", ETA {max(0.0, (self.total - done) / rate):.0f} s" if self.total and rate else ""
        self.context.log.info(
            f"{self.label}: {done}/{self.total or '?'} {self.unit}, {rate:.0f}/s{eta}"
        )

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True)
class Plan:
    """How a run reads its window: all of it, or what changed since ``since``."""

    mode: str  # "incremental" | "full_refresh"
    since: datetime | None = None
    reason: str = ""

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"


def full_refresh_requested(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(FULL_REFRESH_TAG, "").strip().lower() in ("true", "1", "yes")


def previous_mark(conn, entity: str, first_day: str, last_day: str, tz: str) -> datetime | None:
    """The newest high-water mark of an earlier run that makes ``[first_day, last_day]`` complete
    up to it: its window started no later, and ended no earlier or ran through its mark's day
    (no record of a later day can be older than the mark). Rows written before runs recorded
    their ``mode`` hold the newest ``updated_at`` staged, not a safe mark, and are ignored."""
    rows = conn.execute(
        f"""SELECT max(high_water_mark) FROM {EXTRACT_RUNS}
            WHERE entity = ? AND mode IS NOT NULL AND high_water_mark IS NOT NULL
              AND first_day <= ?
              AND (last_day >= ? OR last_day >= (high_water_mark AT TIME ZONE ?)::DATE)""",
        [entity, first_day, last_day, tz],
    ).fetchall()
    return rows[0][0] if rows else None


def plan_window(
    conn, context: dg.AssetExecutionContext, spec: EntitySpec, window: dg.TimeWindow, tz: str
) -> Plan:
    if full_refresh_requested(context):
        return Plan("full_refresh", reason=f"run tag {FULL_REFRESH_TAG}")
    first_day, last_day = window_days(window)
    mark = previous_mark(conn, spec.name, first_day, last_day, tz)
    if mark is None:
        return Plan("full_refresh", reason="no earlier run covers the window")
    since = max(mark.astimezone(ZoneInfo(tz)), window.start)
    return Plan("incremental", since=since, reason="changed since the last run's mark")


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


def finish(
    conn,
    spec: EntitySpec,
    context: dg.AssetExecutionContext,
    client: IntercomClient,
    progress: Progress,
    intercom: IntercomResource,
    *,
    started: datetime,
    rows: int,
    written: int,
    days: tuple[str, str] | None = None,
    plan: Plan | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Record the run in ``staging.extract_runs`` and build the materialization metadata."""
    mark = started - timedelta(seconds=intercom.search_lag_seconds)
    first_day, last_day = days or (None, None)
    mode = plan.mode if plan else "full_refresh"
    conn.execute(
        f"""INSERT INTO {EXTRACT_RUNS} (entity, first_day, last_day, started_at, finished_at,
                high_water_mark, rows_staged, api_calls, run_id, mode)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            spec.name,
            first_day,
            last_day,
            started,
            datetime.now(UTC),
            mark,
            written,
            client.stats.calls,
            context.run.run_id,
            mode,
        ],
    )
    elapsed = max(progress.elapsed, 1e-6)
    metadata: dict[str, Any] = {
        "dagster/row_count": rows,
        "mode": intercom.mode,
        "extract_mode": mode,
    }
    if days:
        metadata["window"] = f"{first_day} .. {last_day} ({workspace_timezone()})"
    if plan is not None:
        metadata["extract_reason"] = plan.reason
        if plan.since is not None:
            metadata["changed_since"] = plan.since.isoformat()
    metadata.update(
        {
            "records_fetched": progress.fetched,
            "records_staged": written,
            "pages": progress.pages,
            **client.stats.as_metadata(),
            "api_calls_by_endpoint": dg.MetadataValue.json(
                dict(sorted(client.stats.by_path.items()))
            ),
            "duration_seconds": round(progress.elapsed, 2),
            "rows_per_second": round(progress.fetched / elapsed, 1),
            "high_water_mark": mark.isoformat(),
            **extra,
        }
    )
    return metadata


def complete_sub_lists(
    client: IntercomClient, record: dict[str, Any], subs: tuple[str, ...]
) -> int:
    """Replace truncated embedded lists (``has_more``) with the full list; returns calls made."""
    calls = 0
    for sub in subs:
        value = record.get(sub)
        if isinstance(value, dict) and value.get("has_more"):
            items: list[dict] = []
            for page in client.list_pages(
                value.get("url") or f"/contacts/{record['id']}/{sub}", per_page=60
            ):
                items.extend(page.get("data") or [])
                calls += 1
            record[sub] = {
                "type": "list",
                "data": items,
                "total_count": len(items),
                "has_more": False,
            }
    return calls


def upsert_coverage(conn, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Record which records' sub-resources were read, in one statement (through Arrow)."""
    if not rows:
        return
    batch = pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)})
    names = ", ".join(columns)
    conn.register("_coverage", batch)
    try:
        conn.execute(
            f"INSERT OR REPLACE INTO {table} ({names}, fetched_at) "
            f"SELECT {names}, now() FROM _coverage"
        ).fetchall()
    finally:
        conn.unregister("_coverage")
    rows.clear()


def extract_search(
    context: dg.AssetExecutionContext,
    spec: EntitySpec,
    intercom: IntercomResource,
    warehouse: DuckDBResource,
) -> dict[str, Any]:
    """Search the window (or what changed in it) and stage its records; returns metadata."""
    window = context.partition_time_window
    tz = workspace_timezone()
    days = window_days(window)
    started = datetime.now(UTC)
    client = intercom.client(context.log)
    check_timezone(client)
    progress = Progress(context, spec.name)
    outside = older = sub_list_calls = 0
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        plan = plan_window(conn, context, spec, window, tz)
        start = plan.since or window.start
        start_ts, end_ts = int(start.timestamp()), int(window.end.timestamp())
        writer = StagingWriter(conn, spec, context.run.run_id, tz)
        if start_ts < end_ts:
            # a full read goes oldest first, so a record updated while we page comes round again
            # at the end; an incremental read goes newest first and stops at the mark
            order = "descending" if plan.incremental else "ascending"
            pages = client.search_pages(
                spec.search_entity,
                search_filter(start, window.end, spec.search_dates or "day"),
                sort={"field": "updated_at", "order": order},
            )
            for page in pages:
                records = page.get(spec.key) or []
                progress.page(len(records), page.get("total_count"))
                reached_mark = False
                for record in records:
                    updated = int(record["updated_at"])
                    if updated < start_ts:
                        older += 1
                        reached_mark = True
                    elif updated >= end_ts:
                        outside += 1
                    else:
                        sub_list_calls += complete_sub_lists(client, record, spec.sub_lists)
                        writer.add(record)
                if plan.incremental and reached_mark:
                    pages.close()
                    break
        rows = writer.finish_plan(plan.incremental, *days)
        return finish(
            conn,
            spec,
            context,
            client,
            progress,
            intercom,
            started=started,
            rows=rows,
            written=writer.written,
            days=days,
            plan=plan,
            outside_window_dropped=outside,
            older_than_mark_dropped=older,
            duplicates_collapsed=writer.appended - writer.written,
            sub_list_calls=sub_list_calls,
        )


def build_search_asset(spec: EntitySpec) -> dg.AssetsDefinition:
    @dg.asset(name=spec.name, description=spec.description, **PARTITIONED)
    def _asset(
        context: dg.AssetExecutionContext, intercom: IntercomResource, warehouse: DuckDBResource
    ) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata=extract_search(context, spec, intercom, warehouse))

    return _asset


intercom_contacts = build_search_asset(CONTACTS)
intercom_conversations = build_search_asset(CONVERSATIONS)


@dg.asset(**PARTITIONED)
def intercom_companies(
    context: dg.AssetExecutionContext, intercom: IntercomResource, warehouse: DuckDBResource
):
    """Intercom companies updated in the window, from one full scroll (no company search in 2.14).

    The list endpoint stops at 10,000 companies, so the scroll is the only complete read; a scroll
    interrupted by a 500 restarts from the beginning, and repeats collapse on id. An incremental
    run still scrolls everything but stages only companies changed since the mark.
    """
    window = context.partition_time_window
    tz = workspace_timezone()
    days = window_days(window)
    started = datetime.now(UTC)
    client = intercom.client(context.log)
    check_timezone(client)
    progress = Progress(context, COMPANIES.name)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        plan = plan_window(conn, context, COMPANIES, window, tz)
        start_ts = int((plan.since or window.start).timestamp())
        end_ts = int(window.end.timestamp())
        writer = StagingWriter(conn, COMPANIES, context.run.run_id, tz)
        for data in client.scroll_companies():
            progress.page(len(data))
            for company in data:
                if start_ts <= int(company.get("updated_at") or 0) < end_ts:
                    writer.add(company)
        rows = writer.finish_plan(plan.incremental, *days)
        metadata = finish(
            conn,
            COMPANIES,
            context,
            client,
            progress,
            intercom,
            started=started,
            rows=rows,
            written=writer.written,
            days=days,
            plan=plan,
            companies_scanned=progress.fetched,
            scroll_restarts=client.stats.scroll_restarts,
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(**PARTITIONED, deps=[intercom_conversations])
def intercom_conversation_parts(
    context: dg.AssetExecutionContext, intercom: IntercomResource, warehouse: DuckDBResource
):
    """Parts of the conversations that changed in the window: one call per changed conversation,
    ``intercom.workers`` at a time within the shared rate limit, written by this thread alone.

    A conversation is read again only when its ``updated_at`` moved since its parts were read
    (``staging.intercom_conversation_coverage``). Intercom returns at most the 500 most recent
    parts; a conversation with more is flagged there (parts retrieved vs
    ``statistics.count_conversation_parts``) and in metadata, never silently short. Parts are
    upserted by id, so parts that fell out of the newest 500 since an earlier read are kept.
    """
    days = window_days(context.partition_time_window)
    tz = workspace_timezone()
    started = datetime.now(UTC)
    client = intercom.client(context.log)
    full = full_refresh_requested(context)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        todo = conn.execute(
            f"""SELECT c.id, c.updated_at FROM {CONVERSATIONS.current_view} c
                WHERE c.partition_date BETWEEN ? AND ?
                  AND (? OR NOT EXISTS (SELECT 1 FROM {PART_COVERAGE} v
                       WHERE v.conversation_id = c.id AND v.updated_at = c.updated_at))
                ORDER BY c.id""",
            [*days, full],
        ).fetchall()
        progress = Progress(
            context, CONVERSATION_PARTS.name, every=200, total=len(todo), unit="conversations"
        )
        writer = StagingWriter(conn, CONVERSATION_PARTS, context.run.run_id, tz)
        coverage: list[tuple] = []
        truncated: list[tuple] = []
        missing = 0

        def save_coverage() -> None:
            writer.flush()  # parts first: coverage must never claim parts not yet staged
            upsert_coverage(
                conn,
                PART_COVERAGE,
                ("conversation_id", "updated_at", "parts_retrieved", "parts_total", "truncated"),
                coverage,
            )

        def fetch(item: tuple[str, Any]) -> dict[str, Any] | None:
            try:
                return client.get(f"/conversations/{item[0]}")
            except IntercomAPIError as exc:
                if exc.status != 404:
                    raise
                return None  # deleted since it was staged

        for (conversation_id, updated_at), detail in client.map_concurrent(fetch, todo):
            if isinstance(detail, BaseException):
                raise detail
            if detail is None:
                missing += 1
                progress.item()
                continue
            parts_obj = detail.get("conversation_parts") or {}
            parts = parts_obj.get("conversation_parts") or []
            total = (detail.get("statistics") or {}).get("count_conversation_parts")
            total = max(int(total or 0), int(parts_obj.get("total_count") or 0), len(parts))
            for part in parts:
                writer.add({**part, "conversation_id": conversation_id})
            row = (conversation_id, updated_at, len(parts), total, len(parts) < total)
            coverage.append(row)
            if row[4]:
                truncated.append(row)
            progress.page(len(parts))
            progress.item()
            if len(coverage) >= COVERAGE_BATCH:
                save_coverage()
        save_coverage()
        metadata = finish(
            conn,
            CONVERSATION_PARTS,
            context,
            client,
            progress,
            intercom,
            started=started,
            rows=writer.written,
            written=writer.written,
            days=days,
            plan=Plan("full_refresh" if full else "incremental"),
            conversations_fetched=len(todo) - missing,
            conversations_missing=missing,
            conversations_truncated=len(truncated),
            truncated_sample=dg.MetadataValue.md(
                "| conversation | retrieved | true count |\n|---|---|---|\n"
                + "\n".join(f"| {c[0]} | {c[2]} | {c[3]} |" for c in truncated[:10])
            ),
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(**PARTITIONED, deps=[intercom_contacts])
def intercom_data_events(
    context: dg.AssetExecutionContext,
    intercom: IntercomResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Data events of the contacts that changed in the window, for the configured names only.

    Intercom has no workspace-wide event feed: one listing per contact (90 days deep), so this
    reads only contacts whose ``updated_at`` moved since their events were last read
    (``staging.intercom_contact_event_coverage``) and keeps only ``sync_settings.event_names``.
    Contacts are read ``intercom.workers`` at a time within the shared rate limit.
    """
    days = window_days(context.partition_time_window)
    tz = workspace_timezone()
    started = datetime.now(UTC)
    client = intercom.client(context.log)
    wanted = set(sync_settings.event_names)
    full = full_refresh_requested(context)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        contacts = (
            conn.execute(
                f"""SELECT c.id, c.updated_at FROM {CONTACTS.current_view} c
                    WHERE c.partition_date BETWEEN ? AND ?
                      AND (? OR NOT EXISTS (SELECT 1 FROM {EVENT_COVERAGE} v
                           WHERE v.contact_id = c.id AND v.updated_at = c.updated_at))
                    ORDER BY c.id""",
                [*days, full],
            ).fetchall()
            if wanted
            else []
        )
        progress = Progress(
            context, DATA_EVENTS.name, every=200, total=len(contacts), unit="contacts"
        )
        writer = StagingWriter(conn, DATA_EVENTS, context.run.run_id, tz)
        coverage: list[tuple] = []

        def save_coverage() -> None:
            writer.flush()
            upsert_coverage(
                conn, EVENT_COVERAGE, ("contact_id", "updated_at", "events_read"), coverage
            )

        def fetch(item: tuple[str, Any]) -> list[dict[str, Any]]:
            events: list[dict[str, Any]] = []
            pages = client.list_pages(
                "/events", params={"type": "user", "intercom_user_id": item[0]}
            )
            for page in pages:
                events.extend(page.get("events") or [])
            return events

        for (contact_id, updated_at), events in client.map_concurrent(fetch, contacts):
            if isinstance(events, BaseException):
                raise events
            progress.page(len(events))
            kept = 0
            for event in events:
                if event.get("event_name") in wanted:
                    writer.add(event)
                    kept += 1
            coverage.append((contact_id, updated_at, kept))
            progress.item()
            if len(coverage) >= COVERAGE_BATCH:
                save_coverage()
        save_coverage()
        metadata = finish(
            conn,
            DATA_EVENTS,
            context,
            client,
            progress,
            intercom,
            started=started,
            rows=writer.written,
            written=writer.written,
            days=days,
            plan=Plan("full_refresh" if full else "incremental"),
            contacts_read=len(contacts),
            event_names=", ".join(sorted(wanted)) or "none configured",
        )
    return dg.MaterializeResult(metadata=metadata)


RECORD_ASSETS = [
    intercom_contacts,
    intercom_conversations,
    intercom_companies,
    intercom_conversation_parts,
    intercom_data_events,
]
