"""The org's people keys mirrored into DuckDB for matching: Contacts and Leads.

Read through Bulk API 2.0 query (one job per object, pages streamed to CSV files, loaded by
DuckDB), incrementally by ``SystemModstamp``: the first run reads everything, later runs only what
changed since the high-water mark, merged on ``Id``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import (
    MIRROR_CONTACTS,
    MIRROR_HWM,
    MIRROR_LEADS,
    WAREHOUSE_POOL,
    ensure_warehouse,
)


@dataclass(frozen=True)
class MirrorSpec:
    """One mirrored object: its table and the fields read (the table's columns, in order)."""

    sobject: str
    table: str
    fields: tuple[str, ...]


CONTACTS = MirrorSpec(
    "Contact",
    MIRROR_CONTACTS,
    (
        "Id",
        "Email",
        "AccountId",
        "OwnerId",
        "Intercom_Contact_Id__c",
        "Intercom_User_Id__c",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    ),
)
LEADS = MirrorSpec(
    "Lead",
    MIRROR_LEADS,
    (
        "Id",
        "Email",
        "OwnerId",
        "Intercom_Contact_Id__c",
        "Intercom_User_Id__c",
        "IsConverted",
        "ConvertedContactId",
        "Status",
        "LastModifiedDate",
        "LastModifiedById",
        "SystemModstamp",
    ),
)


def refresh_mirror(
    context: dg.AssetExecutionContext,
    spec: MirrorSpec,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    settings: SyncSettings,
) -> dg.MaterializeResult:
    sf = salesforce.client(context.log)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        hwm = conn.execute(
            f"SELECT system_modstamp FROM {MIRROR_HWM} WHERE sobject = ?", [spec.sobject]
        ).fetchone()
    soql = f"SELECT {', '.join(spec.fields)} FROM {spec.sobject}"
    if hwm and hwm[0] is not None:
        # >= not >: several records can share the mark's second; re-reading them is harmless
        soql += f" WHERE SystemModstamp >= {hwm[0].astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
    files = sf.query_to_files(
        spec.sobject, soql, settings.run_dir(context.run.run_id, f"mirror-{spec.sobject}")
    )
    files = [f for f in files if f.stat().st_size > 0]
    cols = ", ".join(f'"{c}"' for c in spec.fields)
    with warehouse.get_connection() as conn:
        read = 0
        conn.execute("BEGIN")
        if files:
            types = {c: "VARCHAR" for c in spec.fields}
            conn.execute(
                "CREATE OR REPLACE TEMP TABLE _mirror_batch AS SELECT * FROM read_csv(?, "
                "header=true, columns=?, auto_detect=false, quote='\"', escape='\"')",
                [[str(f) for f in files], types],
            )
            read = conn.execute("SELECT count(*) FROM _mirror_batch").fetchone()[0]
            conn.execute(f'DELETE FROM {spec.table} WHERE "Id" IN (SELECT "Id" FROM _mirror_batch)')
            # Bulk query CSVs quote every value; an empty cell is a null
            values = ", ".join(f"NULLIF(\"{c}\", '')" for c in spec.fields)
            conn.execute(f"INSERT INTO {spec.table} ({cols}) SELECT {values} FROM _mirror_batch")
        conn.execute(
            f"INSERT OR REPLACE INTO {MIRROR_HWM} "
            f'SELECT ?, (SELECT max("SystemModstamp") FROM {spec.table}), ?',
            [spec.sobject, datetime.now(UTC)],
        )
        conn.execute("COMMIT")
        total = conn.execute(f"SELECT count(*) FROM {spec.table}").fetchone()[0]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "mode": salesforce.mode,
            "records_read": read,
            "incremental": bool(hwm and hwm[0] is not None),
            "soql": soql,
            "bulk_job_ids": ", ".join(sf.usage.jobs),
            **sf.usage.as_metadata(),
        }
    )


@dg.asset(group_name="mirror", kinds={"salesforce", "duckdb"}, pool=WAREHOUSE_POOL)
def salesforce_contacts_mirror(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Salesforce Contacts' keys (Id, Email, AccountId, OwnerId, our external ids)."""
    return refresh_mirror(context, CONTACTS, salesforce, warehouse, sync_settings)


@dg.asset(group_name="mirror", kinds={"salesforce", "duckdb"}, pool=WAREHOUSE_POOL)
def salesforce_leads_mirror(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Salesforce Leads' keys, with conversion state (IsConverted, ConvertedContactId)."""
    return refresh_mirror(context, LEADS, salesforce, warehouse, sync_settings)
