"""New and changed people -> Salesforce Leads, upserted by our external id through Bulk API 2.0."""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.assets.push.bulk_upsert import upsert_pending
from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import SYNC_RESULTS, WAREHOUSE_POOL, ensure_warehouse, read_sql

SQL = Path(__file__).parent / "sql"
LEAD_COLUMNS = [
    "Intercom_Contact_Id__c",
    "Intercom_User_Id__c",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "Company",
    "LeadSource",
    "Intercom_Role__c",
    "Intercom_Last_Seen__c",
]


@dg.asset(
    group_name="push",
    kinds={"salesforce", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    deps=["person_matches"],
)
def salesforce_lead_upserts(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Per-record outcomes of upserting the window's unmatched people as Leads.

    Only records whose payload changed since the last successful push are sent; the upsert key is
    our external id, so a re-run never creates a duplicate.
    """
    first_day, last_day = window_days(context.partition_time_window)
    ext = sync_settings.person_external_id_field
    run_id = context.run.run_id
    sf = salesforce.client(context.log)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        payloads = read_sql("select_lead_payloads.sql", SQL)
        conn.execute(
            f"""CREATE OR REPLACE TEMP TABLE _pending AS
                SELECT p.*, p."{ext}" AS ext FROM ({payloads}) p""",
            [
                first_day,
                last_day,
                sync_settings.default_company,
                sync_settings.lead_source,
                sync_settings.create_leads_without_email,
            ],
        ).fetchall()
        outcome = upsert_pending(
            conn,
            sf,
            sobject="Lead",
            ext_field=ext,
            columns=LEAD_COLUMNS,
            work_dir=sync_settings.run_dir(run_id, "leads"),
            max_bytes=sync_settings.max_upload_bytes,
            run_id=run_id,
            review_entity="intercom_contacts",
        )
        sample = conn.execute(
            f"SELECT outcome, external_id, sf_id, coalesce(error, '') FROM {SYNC_RESULTS} "
            "WHERE run_id = ? AND sobject = 'Lead' ORDER BY outcome DESC, external_id LIMIT 10",
            [run_id],
        ).fetchall()
    metadata = {
        "dagster/row_count": outcome.sent,
        "mode": salesforce.mode,
        **outcome.as_metadata(),
        "errors_by_code": dg.MetadataValue.json(outcome.errors_by_code),
        **sf.usage.as_metadata(),
        "sample": dg.MetadataValue.md(
            "| outcome | intercom id | sf id | error |\n|---|---|---|---|\n"
            + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in sample)
        ),
    }
    if outcome.failed_jobs:
        raise dg.Failure(
            description="Bulk job(s) did not complete: "
            + "; ".join(outcome.failed_jobs)
            + ". Unprocessed records stay pending and are retried on the next run.",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)
