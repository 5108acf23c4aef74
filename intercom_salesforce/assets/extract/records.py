"""Partitioned Intercom record streams -> staging tables, one workspace-local day per partition.

Contacts and conversations come from the search endpoints (one search per window: see
``search_window_filter``); companies from a full scroll filtered to the window (2.14 has no company
search); conversation parts and data events from per-record calls for what changed in the window.
Every asset replaces its window atomically, so any partition can be re-run, and reports what it cost.
"""

import time
from datetime import UTC, datetime
from typing import Any

import dagster as dg
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
from intercom_salesforce.assets.partitions import (
    daily_partitions,
    search_window_filter,
    window_days,
)
from intercom_salesforce.resources.intercom import IntercomClient, IntercomResource
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


class Progress:
    """Counts, rate and ETA for long extractions, logged every ``every`` pages."""

    def __init__(self, context: dg.AssetExecutionContext, label: str, every: int = 50):
        self.context, self.label, self.every = context, label, every
        self.started = time.monotonic()
        self.pages = self.fetched = 0
        self.total: int | None = None

    def page(self, n_records: int, total: int | None = None) -> None:
        self.pages += 1
        self.fetched += n_records
        self.total = total if total is not None else self.total
        if self.pages % self.every == 0:
            rate = self.fetched / max(self.elapsed, 1e-6)
            eta = f", ETA {(self.total - self.fetched) / rate:.0f} s" if self.total and rate else ""
            self.context.log.info(
                f"{self.label}: {self.fetched}/{self.total or '?'} records, {rate:.0f}/s{eta}"
            )

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


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
    staged: int,
    first_day: str | None,
    last_day: str | None,
    mode: str,
    **extra: Any,
) -> dict[str, Any]:
    """Record the run in ``staging.extract_runs`` and build the materialization metadata."""
    hwm = None
    if any(c.name == "updated_at" for c in spec.columns):
        hwm = conn.execute(
            f"SELECT max(updated_at) FROM {spec.table}"
            + (" WHERE partition_date BETWEEN ? AND ?" if first_day else ""),
            [first_day, last_day] if first_day else [],
        ).fetchone()[0]
    conn.execute(
        f"INSERT INTO {EXTRACT_RUNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            spec.name,
            first_day,
            last_day,
            datetime.fromtimestamp(time.time() - progress.elapsed, UTC),
            datetime.now(UTC),
            hwm,
            staged,
            client.stats.calls,
            context.run.run_id,
        ],
    )
    return {
        "dagster/row_count": staged,
        "mode": mode,
        **({"window": f"{first_day} .. {last_day} ({workspace_timezone()})"} if first_day else {}),
        "records_fetched": progress.fetched,
        "records_staged": staged,
        "pages": progress.pages,
        **client.stats.as_metadata(),
        "duration_seconds": round(progress.elapsed, 2),
        "rows_per_second": round(progress.fetched / max(progress.elapsed, 1e-6), 1),
        "high_water_mark": str(hwm) if hwm else "none",
        **extra,
    }


def complete_sub_lists(client: IntercomClient, contact: dict[str, Any]) -> int:
    """Replace truncated embedded lists (``has_more``) with the full list; returns calls made."""
    calls = 0
    for sub in ("tags", "companies"):
        value = contact.get(sub)
        if isinstance(value, dict) and value.get("has_more"):
            items: list[dict] = []
            for page in client.list_pages(
                value.get("url") or f"/contacts/{contact['id']}/{sub}", per_page=60
            ):
                items.extend(page.get("data") or [])
                calls += 1
            contact[sub] = {
                "type": "list",
                "data": items,
                "total_count": len(items),
                "has_more": False,
            }
    return calls


def extract_search_window(
    context,
    spec: EntitySpec,
    intercom: IntercomResource,
    warehouse: DuckDBResource,
    window_filter: dict[str, Any],
    on_record=None,
) -> tuple[dict[str, Any], Any]:
    """Search the window, stage its records; returns (metadata, open connection info)."""
    window = context.partition_time_window
    first_day, last_day = window_days(window)
    start_ts, end_ts = int(window.start.timestamp()), int(window.end.timestamp())
    client = intercom.client(context.log)
    check_timezone(client)
    progress = Progress(context, spec.name)
    outside = 0
    entity = spec.path.split("/")[1]
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        writer = StagingWriter(conn, spec, context.run.run_id)
        for page in client.search_pages(
            entity, window_filter, sort={"field": "updated_at", "order": "ascending"}
        ):
            records = page.get(spec.key) or []
            progress.page(len(records), page.get("total_count"))
            for record in records:
                # exact window: the search's day semantics may be wider than the window
                if not (start_ts <= int(record["updated_at"]) < end_ts):
                    outside += 1
                    continue
                if on_record:
                    on_record(client, record)
                writer.add(record)
        staged = writer.commit_window(first_day, last_day, workspace_timezone())
        metadata = finish(
            conn,
            spec,
            context,
            client,
            progress,
            staged,
            first_day,
            last_day,
            intercom.mode,
            outside_window_dropped=outside,
            duplicates_dropped=writer.appended - staged,
        )
    return metadata, (first_day, last_day, window)


@dg.asset(**PARTITIONED)
def intercom_contacts(
    context: dg.AssetExecutionContext, intercom: IntercomResource, warehouse: DuckDBResource
):
    """Intercom contacts (users and leads) updated in the partition's days.

    One row per contact and partition day of its ``updated_at``; ``intercom_contacts_current``
    keeps the newest version per id. Truncated ``tags``/``companies`` lists are fetched in full.
    """
    extra_calls = {"n": 0}

    def complete(client: IntercomClient, contact: dict[str, Any]) -> None:
        extra_calls["n"] += complete_sub_lists(client, contact)

    window = context.partition_time_window
    metadata, _ = extract_search_window(
        context, CONTACTS, intercom, warehouse, search_window_filter(window), complete
    )
    metadata["sub_list_calls"] = extra_calls["n"]
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(**PARTITIONED)
def intercom_conversations(
    context: dg.AssetExecutionContext, intercom: IntercomResource, warehouse: DuckDBResource
):
    """Intercom conversations (metadata, tags, assignees, statistics) updated in the window.

    Conversation search documents ``>`` as "greater or equal" and no day rounding, so the search
    asks for a day more on each side and the window is applied exactly on our side.
    """
    window = context.partition_time_window
    day = 86_400
    wide = {
        "operator": "AND",
        "value": [
            {"field": "updated_at", "operator": ">", "value": int(window.start.timestamp()) - day},
            {"field": "updated_at", "operator": "<", "value": int(window.end.timestamp()) + day},
        ],
    }
    metadata, _ = extract_search_window(context, CONVERSATIONS, intercom, warehouse, wide)
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(**PARTITIONED)
def intercom_companies(
    context: dg.AssetExecutionContext, intercom: IntercomResource, warehouse: DuckDBResource
):
    """Intercom companies updated in the window, from one full scroll (no company search in 2.14).

    The list endpoint stops at 10,000 companies, so the scroll is the only complete read; a scroll
    interrupted by a 500 restarts from the beginning, and duplicates collapse on id.
    """
    window = context.partition_time_window
    first_day, last_day = window_days(window)
    start_ts, end_ts = int(window.start.timestamp()), int(window.end.timestamp())
    client = intercom.client(context.log)
    check_timezone(client)
    progress = Progress(context, "intercom_companies")
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        writer = StagingWriter(conn, COMPANIES, context.run.run_id)
        for data in client.scroll_companies():
            progress.page(len(data))
            for company in data:
                if start_ts <= int(company.get("updated_at") or 0) < end_ts:
                    writer.add(company)
        staged = writer.commit_window(first_day, last_day, workspace_timezone())
        metadata = finish(
            conn,
            COMPANIES,
            context,
            client,
            progress,
            staged,
            first_day,
            last_day,
            intercom.mode,
            companies_scanned=progress.fetched,
        )
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(**PARTITIONED, deps=[intercom_conversations])
def intercom_conversation_parts(
    context: dg.AssetExecutionContext, intercom: IntercomResource, warehouse: DuckDBResource
):
    """Parts of the conversations that changed in the window: one call per changed conversation.

    Intercom returns at most the 500 most recent parts; a conversation with more is flagged
    (parts retrieved vs ``statistics.count_conversation_parts``), never silently short.
    """
    first_day, last_day = window_days(context.partition_time_window)
    client = intercom.client(context.log)
    progress = Progress(context, "intercom_conversation_parts", every=200)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        # changed = not fetched yet at this updated_at
        todo = conn.execute(
            f"""SELECT c.id, c.updated_at FROM {CONVERSATIONS.current_view} c
                WHERE c.partition_date BETWEEN ? AND ?
                  AND NOT EXISTS (SELECT 1 FROM staging.intercom_conversation_coverage v
                                  WHERE v.conversation_id = c.id AND v.updated_at = c.updated_at)
                ORDER BY c.id""",
            [first_day, last_day],
        ).fetchall()
        writer = StagingWriter(conn, CONVERSATION_PARTS, context.run.run_id)
        coverage: list[tuple] = []
        for conversation_id, updated_at in todo:
            detail = client.get(f"/conversations/{conversation_id}")
            parts_obj = detail.get("conversation_parts") or {}
            parts = parts_obj.get("conversation_parts") or []
            total = (detail.get("statistics") or {}).get("count_conversation_parts")
            total = max(int(total or 0), int(parts_obj.get("total_count") or 0), len(parts))
            for part in parts:
                writer.add({**part, "conversation_id": conversation_id})
            coverage.append((conversation_id, updated_at, len(parts), total, len(parts) < total))
            progress.page(len(parts), None)
        writer.commit_replace_keys("conversation_id", workspace_timezone())
        if coverage:
            conn.executemany(
                "INSERT OR REPLACE INTO staging.intercom_conversation_coverage VALUES (?, ?, ?, ?, ?, now())",
                coverage,
            )
        truncated = [c for c in coverage if c[4]]
        metadata = finish(
            conn,
            CONVERSATION_PARTS,
            context,
            client,
            progress,
            writer.appended,
            None,
            None,
            intercom.mode,
            conversations_fetched=len(todo),
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
    reads only the changed contacts and keeps only ``sync_settings.event_names``.
    """
    first_day, last_day = window_days(context.partition_time_window)
    client = intercom.client(context.log)
    progress = Progress(context, "intercom_data_events", every=200)
    wanted = set(sync_settings.event_names)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        contacts = (
            [
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM {CONTACTS.current_view} WHERE partition_date BETWEEN ? AND ? "
                    "ORDER BY id",
                    [first_day, last_day],
                ).fetchall()
            ]
            if wanted
            else []
        )
        writer = StagingWriter(conn, DATA_EVENTS, context.run.run_id)
        kept = 0
        for contact_id in contacts:
            url: str | None = "/events"
            params: dict[str, Any] | None = {
                "type": "user",
                "intercom_user_id": contact_id,
                "per_page": 150,
            }
            while url:
                page = client.request("GET", url, params=params)
                events = page.get("events") or []
                progress.page(len(events))
                for event in events:
                    if event.get("event_name") in wanted:
                        writer.add(event)
                        kept += 1
                nxt = (page.get("pages") or {}).get("next")
                url, params = (nxt, None) if nxt else (None, None)
        writer.commit_replace_keys("id", workspace_timezone())
        metadata = finish(
            conn,
            DATA_EVENTS,
            context,
            client,
            progress,
            kept,
            None,
            None,
            intercom.mode,
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
