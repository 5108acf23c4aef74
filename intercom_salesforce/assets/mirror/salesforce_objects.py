"""The org's keys for matching and ownership, mirrored into DuckDB from one table of specs.

Each :class:`MirrorSpec` becomes one asset that reads its object through Bulk API 2.0 query (one
job, pages streamed to CSV files, loaded by DuckDB) into one ``mirror.*`` table. The first run reads
everything and replaces the table; later runs read only what changed since the object's high-water
mark in ``mirror.high_water_marks`` (``SystemModstamp > mark``) and merge on ``Id``.

Deleted records, per object (``MirrorSpec.deletes``):

* ``is_deleted`` (Account, Contact, Lead, Opportunity): incremental runs use ``queryAll`` and select
  ``IsDeleted``, so records sent to the recycle bin or merged away since the last run come back
  flagged and are removed from the mirror. A record that left the recycle bin before the next run
  (hard-deleted, emptied, or purged after its 15 days) is not returned by ``queryAll`` at all and
  stays in the mirror until a run with ``full_refresh``.
* ``snapshot`` (queues, queue objects, record types): these objects have no ``IsDeleted`` field,
  so an incremental read cannot see a deletion; they are a few dozen rows, so every run reads
  them in full and replaces the table (the same single query job an incremental read would cost).
* ``never`` (User): Salesforce users are deactivated (``IsActive``), never deleted.

The mark is the largest ``SystemModstamp`` read. Salesforce stamps a record when it is written,
which can be a moment before its transaction commits, so a record committed after our query with
a stamp below the mark would be skipped; ``lookback_seconds`` re-reads that window when wanted.
"""

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from intercom_salesforce.mapping import MappingError, load_mapping, output_fields
from intercom_salesforce.mapping.writeback import writeback_fields
from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import (
    MIRROR_CONTACTS,
    MIRROR_LEADS,
    WAREHOUSE_POOL,
    ensure_warehouse,
    ident,
    literal,
    read_sql,
)

SQL = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class MirrorSpec:
    """One mirrored object: its asset, table, the fields read (the table's columns, in order)."""

    asset: str
    sobject: str
    table: str
    fields: tuple[str, ...]
    description: str
    deletes: Literal["is_deleted", "snapshot", "never"]
    where: str | None = None  # a fixed filter, e.g. only the Groups that are queues
    mapped: bool = False  # also read the mapping's fields of this object into ``_values``

    def soql(
        self, since: datetime | None, extra: tuple[str, ...] = ()
    ) -> tuple[str, Literal["query", "queryAll"]]:
        """The query and its Bulk operation: everything, or what changed after ``since``."""
        fields = list(self.fields) + list(extra)
        conditions = [self.where] if self.where else []
        operation: Literal["query", "queryAll"] = "query"
        if since is not None:
            conditions.append(f"SystemModstamp > {soql_datetime(since)}")
            if self.deletes == "is_deleted":
                fields.append("IsDeleted")
                operation = "queryAll"
        soql = f"SELECT {', '.join(fields)} FROM {self.sobject}"
        if conditions:
            soql += " WHERE " + " AND ".join(conditions)
        return soql, operation


def soql_datetime(ts: datetime) -> str:
    """A SOQL datetime literal in UTC with milliseconds (SystemModstamp's precision)."""
    ts = ts.astimezone(UTC)
    return f"{ts:%Y-%m-%dT%H:%M:%S}.{ts.microsecond // 1000:03d}Z"


MIRROR_SPECS: tuple[MirrorSpec, ...] = (
    MirrorSpec(
        "salesforce_users_mirror",
        "User",
        "mirror.salesforce_users",
        ("Id", "Email", "IsActive", "Name", "SystemModstamp"),
        "Salesforce Users (Id, Email, IsActive, Name): who can own a record.",
        deletes="never",
    ),
    MirrorSpec(
        "salesforce_queues_mirror",
        "Group",
        "mirror.salesforce_queues",
        ("Id", "Name", "DeveloperName", "Email", "SystemModstamp"),
        "Salesforce queues (Groups of Type 'Queue'): the other kind of Lead owner.",
        deletes="snapshot",
        where="Type = 'Queue'",
    ),
    MirrorSpec(
        "salesforce_queue_sobjects_mirror",
        "QueueSobject",
        "mirror.salesforce_queue_sobjects",
        ("Id", "QueueId", "SobjectType", "SystemModstamp"),
        "Which objects each queue may own (QueueSobject).",
        deletes="snapshot",
    ),
    MirrorSpec(
        "salesforce_record_types_mirror",
        "RecordType",
        "mirror.salesforce_record_types",
        ("Id", "Name", "DeveloperName", "SobjectType", "IsActive", "SystemModstamp"),
        "Record types per object, for RecordTypeId.",
        deletes="snapshot",
    ),
    MirrorSpec(
        "salesforce_accounts_mirror",
        "Account",
        "mirror.salesforce_accounts",
        (
            "Id",
            "Name",
            "Website",
            "OwnerId",
            "Intercom_Company_Id__c",
            "SystemModstamp",
            "LastModifiedDate",
        ),
        "Salesforce Accounts' keys (Id, Name, Website, OwnerId, our external id) and the current "
        "values of the mapped fields.",
        deletes="is_deleted",
        mapped=True,
    ),
    MirrorSpec(
        "salesforce_contacts_mirror",
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
        "Salesforce Contacts' keys (Id, Email, AccountId, OwnerId, our external ids) and the "
        "current values of the mapped fields.",
        deletes="is_deleted",
        mapped=True,
    ),
    MirrorSpec(
        "salesforce_leads_mirror",
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
        "Salesforce Leads' keys, with conversion state (IsConverted, ConvertedContactId), and "
        "the current values of the mapped fields.",
        deletes="is_deleted",
        mapped=True,
    ),
    MirrorSpec(
        "salesforce_opportunities_mirror",
        "Opportunity",
        "mirror.salesforce_opportunities",
        ("Id", "AccountId", "StageName", "IsWon", "OwnerId", "SystemModstamp"),
        "Salesforce Opportunities (Id, AccountId, StageName, IsWon, OwnerId), and the fields "
        "the write-back to Intercom reads (Name, Amount, CloseDate, IsClosed, ...).",
        deletes="is_deleted",
        mapped=True,
    ),
)


class MirrorConfig(dg.Config):
    """Per-run choices; the defaults read incrementally."""

    full_refresh: bool = Field(
        default=False,
        description="Read every record and replace the table, ignoring the high-water mark.",
    )
    lookback_seconds: int = Field(
        default=0,
        ge=0,
        description="Also re-read records stamped this long before the high-water mark.",
    )


def mapped_fields(spec: MirrorSpec, sf, settings: SyncSettings) -> tuple[str, ...]:
    """The mapping's fields of ``spec``'s object (and its owner), and those its ``to_intercom``
    section reads, that the org has and the spec does not read already; a field the org lacks
    is left to the push's describe check (and is no value for the write-back)."""
    try:
        mapping = load_mapping(Path(settings.mapping_file))
    except MappingError as exc:
        raise dg.Failure(description=f"The mapping file cannot be read:\n{exc}") from exc
    wanted = writeback_fields(mapping, spec.sobject)
    if spec.sobject in mapping.objects:
        wanted |= {*output_fields(mapping, spec.sobject), "OwnerId"}
    if not wanted - set(spec.fields):
        return ()
    described = sf.call(lambda s: getattr(s, spec.sobject).describe())
    known = {f["name"] for f in described.get("fields", [])}
    return tuple(sorted(f for f in wanted if f in known and f not in spec.fields))


def load_batch(conn: duckdb.DuckDBPyConnection, files: list[Path], columns: list[str]) -> None:
    """The pages as the temp table ``_mirror_batch`` (all text), with an ``IsDeleted`` column
    that is NULL unless the read was a ``queryAll``."""
    if files:
        conn.execute(
            read_sql("load_pages.sql", SQL),
            [[str(f) for f in files], {c: "VARCHAR" for c in columns}],
        )
    else:
        typed = ", ".join(f"NULL::VARCHAR AS {ident(c)}" for c in columns)
        conn.execute(f"CREATE OR REPLACE TEMP TABLE _mirror_batch AS SELECT {typed} WHERE false")
    conn.execute('ALTER TABLE _mirror_batch ADD COLUMN IF NOT EXISTS "IsDeleted" VARCHAR')


def merge_batch(
    conn: duckdb.DuckDBPyConnection, spec: MirrorSpec, extra: tuple[str, ...], incremental: bool
) -> None:
    """Replace the mirror's rows (all of them, or those read again) with the batch's live ones.

    The spec's fields are columns; the mapping's ``extra`` fields go into the ``_values`` JSON.
    Bulk query CSVs quote every value, so an empty cell is a null.
    """
    cols = ", ".join(ident(c) for c in spec.fields)
    values = ", ".join(f"NULLIF({ident(c)}, '')" for c in spec.fields)
    if spec.mapped:
        cols += ', "_values"'
        pairs = ", ".join(f"{literal(c)}, NULLIF({ident(c)}, '')" for c in extra)
        values += f", json_object({pairs})" if extra else ", NULL::JSON"
    if incremental:
        conn.execute(f'DELETE FROM {spec.table} WHERE "Id" IN (SELECT "Id" FROM _mirror_batch)')
    else:
        conn.execute(f"DELETE FROM {spec.table}")
    conn.execute(
        f"INSERT INTO {spec.table} ({cols}) SELECT {values} FROM _mirror_batch "
        "WHERE lower(coalesce(\"IsDeleted\", '')) <> 'true'"
    )


def refresh_mirror(
    context: dg.AssetExecutionContext,
    spec: MirrorSpec,
    config: MirrorConfig,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    settings: SyncSettings,
) -> dg.MaterializeResult:
    sf = salesforce.client(context.log)
    extra = mapped_fields(spec, sf, settings) if spec.mapped else ()
    signature = ",".join(extra)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        row = conn.execute(read_sql("high_water_mark.sql", SQL), [spec.sobject]).fetchone()
    mark: datetime | None = row[0] if row else None
    # a changed field list means the rows read so far lack some values: read everything again
    fields_changed = row is not None and row[1] != signature
    incremental = (
        mark is not None
        and spec.deletes != "snapshot"
        and not config.full_refresh
        and not fields_changed
    )
    since = mark - timedelta(seconds=config.lookback_seconds) if incremental and mark else None
    soql, operation = spec.soql(since, extra)
    page_dir = settings.run_dir(context.run.run_id, f"mirror-{spec.sobject}")
    # the org as of the query's start: a push recorded after it may be missing from the pages
    read_at = datetime.now(UTC)
    files = sf.query_to_files(spec.sobject, soql, page_dir, operation=operation)
    files = [f for f in files if f.stat().st_size > 0]
    columns = list(spec.fields) + list(extra) + (["IsDeleted"] if operation == "queryAll" else [])
    with warehouse.get_connection() as conn:
        conn.execute("BEGIN")
        load_batch(conn, files, columns)
        read, deleted, newest = conn.execute(read_sql("batch_summary.sql", SQL)).fetchone()
        merge_batch(conn, spec, extra, incremental)
        # a full read sets the mark afresh; an incremental read only moves it forward
        new_mark = mark if newest is None else max(mark, newest) if incremental and mark else newest
        conn.execute(
            read_sql("save_high_water_mark.sql", SQL), [spec.sobject, new_mark, read_at, signature]
        )
        conn.execute("COMMIT")
        conn.execute("DROP TABLE IF EXISTS _mirror_batch")
        total = conn.execute(f"SELECT count(*) FROM {spec.table}").fetchone()[0]
    # the pages are loaded and the mirror is the record of them; keep the work folder small
    shutil.rmtree(page_dir, ignore_errors=True)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            "mode": salesforce.mode,
            "records_read": read,
            "records_deleted": deleted,
            "incremental": incremental,
            "mapped_fields": signature or "none",
            "high_water_mark": new_mark.isoformat() if new_mark else "none",
            "soql": soql,
            "bulk_operation": operation,
            "bulk_job_ids": ", ".join(sf.usage.jobs),
            **sf.usage.as_metadata(),
        }
    )


def build_mirror_asset(spec: MirrorSpec) -> dg.AssetsDefinition:
    """One asset per spec; all write the warehouse, so all share its pool."""

    @dg.asset(
        name=spec.asset,
        group_name="mirror",
        kinds={"salesforce", "duckdb"},
        pool=WAREHOUSE_POOL,
        description=spec.description,
    )
    def _mirror(
        context: dg.AssetExecutionContext,
        config: MirrorConfig,
        salesforce: SalesforceResource,
        warehouse: DuckDBResource,
        sync_settings: SyncSettings,
    ) -> dg.MaterializeResult:
        return refresh_mirror(context, spec, config, salesforce, warehouse, sync_settings)

    return _mirror


MIRROR_ASSETS: list[dg.AssetsDefinition] = [build_mirror_asset(s) for s in MIRROR_SPECS]
MIRROR_BY_NAME = {a.key.to_user_string(): a for a in MIRROR_ASSETS}
# the two the sync job matches against
salesforce_contacts_mirror = MIRROR_BY_NAME["salesforce_contacts_mirror"]
salesforce_leads_mirror = MIRROR_BY_NAME["salesforce_leads_mirror"]
