"""Intercom people -> Salesforce Leads and Contacts, through the deployment's mapping file.

At run start the mapping is checked against the org's describe (an unknown or inactive field or
picklist value stops the run). Then, for the window's people:

* unmatched people become Leads, upserted by our external id (a re-run never duplicates);
* people matched to a Lead or a Contact update that record by its ``Id``, which also stamps our
  external id on it, so later runs match it by the first rule;
* a person whose mapped values Salesforce would refuse (a picklist value the map cannot map) goes
  to the review queue, as does anyone already waiting there; nothing is sent for them.

Source of truth on updates: ``intercom`` fields are sent when they change; ``salesforce`` fields are
set on create only; ``fill_blank`` and ``newest`` fields, which need the org's current values, are
also set on create only, so an update never overwrites what a person entered in Salesforce.
"""

from pathlib import Path
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.assets.push.bulk_upsert import PushOutcome, upsert_pending
from intercom_salesforce.assets.quality.review_queue import upsert_items
from intercom_salesforce.mapping import (
    Mapping,
    MappingError,
    check_against_describe,
    compile_select,
    field_policies,
    load_mapping,
    output_fields,
    resolve_references,
)
from intercom_salesforce.mapping.conversations import check_conversation_target
from intercom_salesforce.resources.salesforce import SalesforceClient, SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import (
    PERSON_MATCHES,
    REVIEW_QUEUE,
    SYNC_RESULTS,
    WAREHOUSE_POOL,
    ensure_warehouse,
)

PEOPLE_ENTITY = "intercom_contacts"


def load_checked_mapping(
    sf: SalesforceClient, path: str, conversations: bool = False
) -> tuple[Mapping, dict[str, dict]]:
    """The mapping file, validated against the org's describe of every mapped object (and of
    the conversation target, when ``conversations``)."""
    try:
        mapping = load_mapping(Path(path))
        names = list(mapping.objects)
        if conversations and mapping.conversations.target not in names:
            names.append(mapping.conversations.target)
        describe = {name: sf.call(lambda s, n=name: getattr(s, n).describe()) for name in names}
        check_against_describe(mapping, describe)
        if conversations:
            check_conversation_target(mapping, describe[mapping.conversations.target])
    except MappingError as exc:
        raise dg.Failure(description=f"The mapping cannot be used with this org:\n{exc}") from exc
    return mapping, describe


def stage_mapped(
    conn, mapping: Mapping, sobject: str, describe: dict[str, dict], first_day: str, last_day: str
) -> None:
    """``_mapped``: the window's people through the mapping, with their newest match."""
    refs = resolve_references(conn, mapping, sobject)
    select = compile_select(mapping, sobject, describe, refs)
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _mapped AS
            SELECT s.*, m.rule AS _rule, m.sf_object AS _sf_object, m.sf_id AS _sf_id
            FROM ({select}) s
            JOIN (SELECT intercom_contact_id, arg_max(rule, partition_date) AS rule,
                         arg_max(sf_object, partition_date) AS sf_object,
                         arg_max(sf_id, partition_date) AS sf_id
                  FROM {PERSON_MATCHES} WHERE partition_date BETWEEN ? AND ?
                  GROUP BY 1) m ON m.intercom_contact_id = s._intercom_id""",
        [first_day, last_day],
    ).fetchall()


def review_unmapped(conn, run_id: str) -> int:
    """People whose mapped values the org would refuse wait in review, with the fields named."""
    flags = [
        r[0]
        for r in conn.execute(
            "SELECT column_name FROM (DESCRIBE _mapped) WHERE column_name LIKE '\\_unmapped\\_%' "
            "ESCAPE '\\'"
        ).fetchall()
    ]
    fields = (
        ", ".join(f"CASE WHEN \"{f}\" THEN '{f.removeprefix('_unmapped_')}' END" for f in flags)
        or "NULL"
    )
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _failures AS
            SELECT _intercom_id AS record_id, NULL::DATE AS partition_date,
                   concat_ws(', ', {fields}) AS value
            FROM _mapped WHERE _needs_review"""
    ).fetchall()
    return upsert_items(
        conn,
        PEOPLE_ENTITY,
        "mapping_unmapped_value",
        "mapped fields",
        "A mapped value has no valid Salesforce picklist value",
        run_id,
    )


def pending_rows(conn, columns: list[str], key: str, where: str, params: list[Any]) -> None:
    """``_pending`` for ``upsert_pending``: the rows to send with the given field columns."""
    cols = ", ".join(f'"{c}"::VARCHAR AS "{c}"' for c in columns)
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _pending AS
            SELECT _intercom_id AS ext, {key} AS _key, {cols}
            FROM _mapped
            WHERE NOT _needs_review AND ({where})
              AND _intercom_id NOT IN (SELECT record_id FROM {REVIEW_QUEUE}
                                       WHERE entity = ? AND status IN ('open', 'dismissed'))""",
        [*params, PEOPLE_ENTITY],
    ).fetchall()


def merge_outcomes(*outcomes: PushOutcome) -> PushOutcome:
    total = PushOutcome()
    for o in outcomes:
        for name, value in vars(o).items():
            current = getattr(total, name)
            if isinstance(value, int):
                setattr(total, name, current + value)
            elif isinstance(value, list):
                current.extend(value)
            elif isinstance(value, dict):
                for k, v in value.items():
                    current[k] = current.get(k, 0) + v
    return total


def push_people_object(
    conn,
    sf: SalesforceClient,
    mapping: Mapping,
    describe: dict,
    sobject: str,
    settings: SyncSettings,
    first_day: str,
    last_day: str,
    run_id: str,
    create: bool,
) -> tuple[PushOutcome, int]:
    stage_mapped(conn, mapping, sobject, describe, first_day, last_day)
    queued = review_unmapped(conn, run_id)
    fields = output_fields(mapping, sobject)
    policies = field_policies(mapping, sobject)
    create_only = {f for f, (truth, _clear) in policies.items() if truth != "intercom"}
    clearable = {f for f, (_truth, clear) in policies.items() if clear}
    ext = mapping.objects[sobject].external_id
    work = settings.run_dir(run_id, sobject.lower())
    common = dict(
        sobject=sobject,
        work_dir=work,
        max_bytes=settings.max_upload_bytes,
        run_id=run_id,
        review_entity=PEOPLE_ENTITY,
        clearable=clearable,
    )
    outcomes = []
    if create:
        rules = "_rule = 'none'" + (
            " OR _rule = 'no_email'" if settings.create_leads_without_email else ""
        )
        pending_rows(conn, fields, f'"{ext}"', rules, [])
        outcomes.append(upsert_pending(conn, sf, ext_field=ext, columns=fields, **common))
    # updates leave out the fields we only set on create: an absent column is left alone
    ours = [f for f in fields if f not in create_only]
    pending_rows(
        conn,
        ours,
        "_sf_id",
        "_sf_object = ? AND _rule IN ('manual', 'external_id', 'user_id', 'email')",
        [sobject],
    )
    outcomes.append(upsert_pending(conn, sf, ext_field="Id", columns=["Id", *ours], **common))
    return merge_outcomes(*outcomes), queued


def people_metadata(
    salesforce: SalesforceResource,
    sf: SalesforceClient,
    outcome: PushOutcome,
    queued: int,
    sample: list[tuple],
) -> dict[str, Any]:
    return {
        "dagster/row_count": outcome.sent,
        "mode": salesforce.mode,
        **outcome.as_metadata(),
        "sent_to_review": outcome.sent_to_review + queued,
        "errors_by_code": dg.MetadataValue.json(outcome.errors_by_code),
        **sf.usage.as_metadata(),
        "sample": dg.MetadataValue.md(
            "| outcome | intercom id | sf id | error |\n|---|---|---|---|\n"
            + "\n".join("| " + " | ".join(str(v) for v in row) + " |" for row in sample)
        ),
    }


def run_people_push(context, salesforce, warehouse, sync_settings, sobject: str, create: bool):
    first_day, last_day = window_days(context.partition_time_window)
    run_id = context.run.run_id
    sf = salesforce.client(context.log)
    mapping, describe = load_checked_mapping(sf, sync_settings.mapping_file)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        outcome, queued = push_people_object(
            conn, sf, mapping, describe, sobject, sync_settings, first_day, last_day, run_id, create
        )
        sample = conn.execute(
            f"SELECT outcome, external_id, sf_id, coalesce(error, '') FROM {SYNC_RESULTS} "
            "WHERE run_id = ? AND sobject = ? ORDER BY outcome DESC, external_id LIMIT 10",
            [run_id, sobject],
        ).fetchall()
    metadata = people_metadata(salesforce, sf, outcome, queued, sample)
    if outcome.failed_jobs:
        raise dg.Failure(
            description="Bulk job(s) did not complete: "
            + "; ".join(outcome.failed_jobs)
            + ". Unprocessed records stay pending and are retried on the next run.",
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


PUSH = dict(
    group_name="push",
    kinds={"salesforce", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
REFERENCE_MIRRORS = [
    "salesforce_users_mirror",
    "salesforce_queues_mirror",
    "salesforce_queue_sobjects_mirror",
    "salesforce_record_types_mirror",
]


@dg.asset(**PUSH, deps=["person_matches", *REFERENCE_MIRRORS])
def salesforce_lead_upserts(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Per-record outcomes of pushing the window's people to Leads: new people created by our
    external id, matched Leads updated by Id; only changed fields are sent."""
    return run_people_push(context, salesforce, warehouse, sync_settings, "Lead", create=True)


@dg.asset(**PUSH, deps=["person_matches", "salesforce_lead_upserts", *REFERENCE_MIRRORS])
def salesforce_contact_updates(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Per-record outcomes of updating matched Contacts (by Id) with the mapped, changed fields.

    Runs after the Leads so a run's writes go parents-first; Accounts are matched, not created.
    """
    return run_people_push(context, salesforce, warehouse, sync_settings, "Contact", create=False)
