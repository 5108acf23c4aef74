"""Intercom contacts -> ``staging.intercom_contacts``, one daily partition per workspace-local day.

Pages stream through Arrow into DuckDB in chunks, so memory does not grow with the workspace.
A window of many days is one search (see ``search_window_filter``), and the window's rows are
replaced atomically, so any partition can be re-run.
"""

import json
import time
from datetime import UTC, datetime

import dagster as dg
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.partitions import (
    daily_partitions,
    search_window_filter,
    window_days,
)
from intercom_salesforce.assets.quality.contacts_suite import (
    CONTACTS_SUITE_CHECK,
    validate_contacts_window,
)
from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.settings import workspace_timezone
from intercom_salesforce.warehouse import STAGING_CONTACTS, WAREHOUSE_POOL, ensure_warehouse

CHUNK_ROWS = 5_000

# The columns we keep, in the order of the staging table; nested objects stay JSON.
CONTACT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("workspace_id", pa.string()),
        ("external_id", pa.string()),
        ("role", pa.string()),
        ("email", pa.string()),
        ("email_domain", pa.string()),
        ("name", pa.string()),
        ("phone", pa.string()),
        ("owner_id", pa.int64()),
        ("unsubscribed_from_emails", pa.bool_()),
        ("created_at", pa.int64()),
        ("updated_at", pa.int64()),
        ("signed_up_at", pa.int64()),
        ("last_seen_at", pa.int64()),
        ("custom_attributes", pa.string()),
        ("location", pa.string()),
        ("tags", pa.string()),
        ("companies", pa.string()),
    ]
)
JSON_FIELDS = {"custom_attributes", "location", "tags", "companies"}


def contact_row(contact: dict) -> dict:
    """Flatten one API contact to the staging columns (nested objects as JSON text)."""
    row = {}
    for field in CONTACT_SCHEMA.names:
        value = contact.get(field)
        if field in JSON_FIELDS:
            value = None if value is None else json.dumps(value, ensure_ascii=False)
        row[field] = value
    return row


def _flush(conn, rows: list[dict]) -> int:
    chunk = pa.Table.from_pylist(rows, schema=CONTACT_SCHEMA)  # noqa: F841 - read by DuckDB
    conn.execute("INSERT INTO _contacts_chunk SELECT * FROM chunk")
    return len(rows)


@dg.asset(
    group_name="extract",
    kinds={"intercom", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            CONTACTS_SUITE_CHECK,
            asset="intercom_contacts",
            blocking=True,
            description="Great Expectations suite for staged contacts",
        )
    ],
)
def intercom_contacts(
    context: dg.AssetExecutionContext,
    intercom: IntercomResource,
    warehouse: DuckDBResource,
):
    """Intercom contacts (users and leads) updated in the partition's days, as staged rows.

    One row per contact and partition day of its ``updated_at``; ``intercom_contacts_current``
    keeps the newest version per id across partitions.
    """
    started = time.monotonic()
    window = context.partition_time_window
    first_day, last_day = window_days(window)
    client = intercom.client(context.log)
    me = client.me()
    app = me.get("app") or {}
    tz_name = workspace_timezone()
    if app.get("timezone") and app["timezone"] != tz_name:
        raise dg.Failure(
            f"Intercom workspace timezone is {app['timezone']} but partitions are days in "
            f"{tz_name}; set INTERCOM_WORKSPACE_TIMEZONE={app['timezone']}"
        )
    start_ts, end_ts = int(window.start.timestamp()), int(window.end.timestamp())
    query = search_window_filter(window)
    pages = fetched = kept = 0
    total = None
    run_id = context.run.run_id
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE _contacts_chunk AS "
            f"SELECT * FROM {STAGING_CONTACTS} LIMIT 0"
        )
        conn.execute("ALTER TABLE _contacts_chunk DROP COLUMN partition_date")
        conn.execute("ALTER TABLE _contacts_chunk DROP COLUMN extracted_at")
        conn.execute("ALTER TABLE _contacts_chunk DROP COLUMN run_id")
        for col in ("created_at", "updated_at", "signed_up_at", "last_seen_at"):
            conn.execute(f"ALTER TABLE _contacts_chunk ALTER COLUMN {col} TYPE BIGINT")
        buffer: list[dict] = []
        for page in client.search_pages(
            "contacts", query, sort={"field": "updated_at", "order": "ascending"}
        ):
            pages += 1
            total = page.get("total_count", total)
            for contact in page.get("data", []):
                fetched += 1
                # Exact window check: protects against day-rounding differences (Preview mode)
                if not (start_ts <= int(contact["updated_at"]) < end_ts):
                    continue
                buffer.append(contact_row(contact))
            if len(buffer) >= CHUNK_ROWS:
                kept += _flush(conn, buffer)
                buffer = []
            if pages % 50 == 0:
                rate = fetched / max(time.monotonic() - started, 1e-6)
                eta = (total - fetched) / rate if total and rate else None
                context.log.info(
                    f"contacts: {fetched}/{total} fetched, {rate:.0f}/s, ETA {eta:.0f}s"
                    if eta is not None
                    else f"{fetched} fetched"
                )
        if buffer:
            kept += _flush(conn, buffer)
        conn.execute("BEGIN")
        conn.execute(
            f"DELETE FROM {STAGING_CONTACTS} WHERE partition_date BETWEEN ? AND ?",
            [first_day, last_day],
        )
        conn.execute(
            f"""
            INSERT INTO {STAGING_CONTACTS}
            SELECT id, workspace_id, external_id, role, email, email_domain, name, phone,
                   owner_id, unsubscribed_from_emails,
                   to_timestamp(created_at), to_timestamp(updated_at),
                   to_timestamp(signed_up_at), to_timestamp(last_seen_at),
                   custom_attributes::JSON, location::JSON, tags::JSON, companies::JSON,
                   (to_timestamp(updated_at) AT TIME ZONE ?)::DATE, ?, ?
            FROM _contacts_chunk
            -- a record updated while we paged can be seen twice; keep its newest version
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC) = 1
            """,
            [tz_name, datetime.now(UTC), run_id],
        )
        conn.execute("COMMIT")
        staged = conn.execute(
            f"SELECT count(*) FROM {STAGING_CONTACTS} WHERE partition_date BETWEEN ? AND ?",
            [first_day, last_day],
        ).fetchone()[0]
        per_day = conn.execute(
            f"SELECT partition_date::VARCHAR, count(*) FROM {STAGING_CONTACTS} "
            "WHERE partition_date BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
            [first_day, last_day],
        ).fetchall()
        check = validate_contacts_window(conn, first_day, last_day, window)
    elapsed = time.monotonic() - started
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": staged,
            "mode": intercom.mode,
            "window": f"{first_day} .. {last_day} ({tz_name})",
            "records_fetched": fetched,
            "records_staged": staged,
            "duplicates_dropped": kept - staged,
            "pages": pages,
            **client.stats.as_metadata(),
            "duration_seconds": round(elapsed, 2),
            "rows_per_second": round(fetched / max(elapsed, 1e-6), 1),
            "rows_per_day": dg.MetadataValue.md(
                "| day | rows |\n|---|---|\n" + "\n".join(f"| {d} | {n} |" for d, n in per_day)
            ),
        },
    )
    yield check
