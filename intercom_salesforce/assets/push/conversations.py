"""Intercom conversations -> Salesforce Tasks on the matched Lead or Contact.

Each Task carries the subject (title or first message), the date, status from the conversation's
state, priority, ``WhoId`` (the person's Lead or Contact), ``WhatId`` (the Account when the person
is a Contact), the owner (the assignee's active Salesforce user, by email), a link to the
conversation in the Intercom inbox, and a summary of tags, assignee, team and the statistics' times;
optionally the transcript (parts as plain text, oldest first, redacted, cut to 32,000 characters
with a marker). Upserted by ``Intercom_Conversation_Id__c``, so a later change to a conversation
updates the same Task. A conversation whose person is not in Salesforce yet waits in
``sync.pending_conversations`` and is written by the first run after the person is matched or
created.
"""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.assets.push.bulk_upsert import upsert_pending
from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import SYNC_RESULTS, WAREHOUSE_POOL, ensure_warehouse, read_sql

SQL = Path(__file__).parent / "sql"
TASK_KEY = "Intercom_Conversation_Id__c"
TASK_COLUMNS = [
    TASK_KEY,
    "Subject",
    "ActivityDate",
    "Status",
    "Priority",
    "WhoId",
    "WhatId",
    "OwnerId",
    "Intercom_Link__c",
    "Description",
]
TRANSCRIPT_LIMIT = 32_000  # Task.Description is a 32,000-character long text area


@dg.asset(
    group_name="push",
    kinds={"salesforce", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    deps=[
        "intercom_conversations",
        "intercom_conversation_parts",
        "intercom_admins",
        "intercom_teams",
        "person_matches",
        "salesforce_lead_upserts",
        "salesforce_users_mirror",
    ],
)
def salesforce_conversation_tasks(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Per-record outcomes of upserting the window's conversations as Tasks."""
    first_day, last_day = window_days(context.partition_time_window)
    run_id = context.run.run_id
    sf = salesforce.client(context.log)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        conn.execute(
            "CREATE OR REPLACE TEMP TABLE _tasks AS " + read_sql("select_task_payloads.sql", SQL),
            [
                first_day,
                last_day,
                sync_settings.intercom_web_host,
                sync_settings.include_transcript,
                sync_settings.redact_transcript,
                TRANSCRIPT_LIMIT - 40,
            ],
        ).fetchall()
        conn.execute(
            """INSERT INTO sync.pending_conversations
               SELECT "Intercom_Conversation_Id__c", _contact_id,
                      'the person is not in Salesforce yet', now(), now()
               FROM _tasks WHERE _pending
               ON CONFLICT (conversation_id) DO UPDATE SET last_seen_at = now()"""
        ).fetchall()
        conn.execute(
            """DELETE FROM sync.pending_conversations WHERE conversation_id IN
               (SELECT "Intercom_Conversation_Id__c" FROM _tasks WHERE NOT _pending)"""
        ).fetchall()
        waiting = conn.execute("SELECT count(*) FROM sync.pending_conversations").fetchall()[0][0]
        cols = ", ".join(f'"{c}"' for c in TASK_COLUMNS)
        conn.execute(
            f"""CREATE OR REPLACE TEMP TABLE _pending AS
                SELECT "{TASK_KEY}" AS ext, "{TASK_KEY}" AS _key, {cols}
                FROM _tasks WHERE NOT _pending"""
        ).fetchall()
        outcome = upsert_pending(
            conn,
            sf,
            sobject="Task",
            ext_field=TASK_KEY,
            columns=TASK_COLUMNS,
            work_dir=sync_settings.run_dir(run_id, "tasks"),
            max_bytes=sync_settings.max_upload_bytes,
            run_id=run_id,
            review_entity="intercom_conversations",
            clearable={"WhatId", "OwnerId"},
        )
        sample = conn.execute(
            f"SELECT outcome, external_id, sf_id, coalesce(error, '') FROM {SYNC_RESULTS} "
            "WHERE run_id = ? AND sobject = 'Task' ORDER BY outcome DESC, external_id LIMIT 10",
            [run_id],
        ).fetchall()
    metadata = {
        "dagster/row_count": outcome.sent,
        "mode": salesforce.mode,
        **outcome.as_metadata(),
        "waiting_for_person": waiting,
        "transcripts": sync_settings.include_transcript,
        **sf.usage.as_metadata(),
        "sample": dg.MetadataValue.md(
            "| outcome | conversation | task | error |\n|---|---|---|---|\n"
            + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in sample)
        ),
    }
    if outcome.failed_jobs:
        raise dg.Failure(
            description="Bulk job(s) did not complete: " + "; ".join(outcome.failed_jobs),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)
