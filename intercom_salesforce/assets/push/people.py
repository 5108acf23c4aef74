"""Intercom people and companies -> Salesforce Leads, Contacts and Accounts, through the mapping.

At run start the mapping is checked against the org's describe (an unknown or inactive field or
picklist value stops the run). Then, for the window's records, parents first (Accounts, then
Leads and Contacts):

* unmatched records are created when the mapping's ``create`` says so (people as Leads by
  default, or as Contacts under their company's Account; companies as Accounts), upserted by our
  external id, so a re-run never duplicates; the routing rule that set owner and record type is
  kept in ``sync.routing_decisions``;
* matched records are updated by ``Id``, which also stamps our external id on them, so later
  runs match them by the first rule; each field's source of truth decides what is sent and what
  is left alone as a conflict (``truth.py``);
* a record whose mapped values Salesforce would refuse (a picklist value the map cannot map) goes
  to the review queue, as does anything already waiting there; nothing is sent for it.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.match.rules import (
    COMPANY_MATCHED,
    COMPANY_UNMATCHED,
    PERSON_MATCHED,
    PERSON_UNMATCHED,
    MatchRule,
)
from intercom_salesforce.assets.partitions import daily_partitions, window_days
from intercom_salesforce.assets.push.bulk_upsert import RETRY_EXHAUSTED, PushOutcome, upsert_pending
from intercom_salesforce.assets.push.recovery import recover_open_jobs
from intercom_salesforce.assets.push.truth import (
    forget_drifted,
    record_conflicts,
    stage_updates,
)
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
    COMPANY_MATCHES,
    PERSON_MATCHES,
    REVIEW_QUEUE,
    STAGING_CONTACTS_CURRENT,
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


@dataclass(frozen=True)
class Matches:
    """Where an object's matches live and which match rules mean "create" or "update by Id"."""

    entity: str  # the staging entity, for the review queue
    table: str
    id_column: str
    object_sql: str
    sf_id_column: str
    account_sql: str
    role_sql: str
    create_rules: tuple[str, ...]
    update_rules: tuple[str, ...]
    objects: tuple[str, ...]  # the Salesforce objects these records become


PEOPLE = Matches(
    PEOPLE_ENTITY,
    PERSON_MATCHES,
    "intercom_contact_id",
    "sf_object",
    "sf_id",
    "account_id",
    f"(SELECT any_value(x.role) FROM {STAGING_CONTACTS_CURRENT} x WHERE x.id = s._intercom_id)",
    PERSON_UNMATCHED,
    PERSON_MATCHED,
    ("Lead", "Contact"),
)
COMPANIES = Matches(
    "intercom_companies",
    COMPANY_MATCHES,
    "intercom_company_id",
    "'Account'",
    "sf_account_id",
    "NULL::VARCHAR",
    "NULL::VARCHAR",
    COMPANY_UNMATCHED,  # no Account has this company's id or domain
    COMPANY_MATCHED,
    ("Account",),
)


def create_as_sql(mapping: Mapping, matches: Matches, settings: SyncSettings) -> str:
    """Which object an unmatched record is created as (NULL: not created), the same SQL for
    every object so the Lead and Contact pushes agree on who goes where."""
    rules = list(matches.create_rules)
    if matches is PEOPLE and settings.create_leads_without_email:
        rules.append(MatchRule.NO_EMAIL)
    listed = ", ".join(f"'{r}'" for r in rules)

    def policy(name: str):
        obj = mapping.objects.get(name)
        return obj.creates(name) if obj is not None else False

    if matches is COMPANIES:
        return f"CASE WHEN _rule IN ({listed}) AND {bool(policy('Account'))} THEN 'Account' END"
    contact = {
        "with_account": "_account_id IS NOT NULL",
        "users_with_account": "_account_id IS NOT NULL AND _role = 'user'",
    }.get(str(policy("Contact")), "FALSE")
    lead = "TRUE" if policy("Lead") is True else "FALSE"
    return (
        f"CASE WHEN _rule IN ({listed}) THEN CASE WHEN {contact} THEN 'Contact' "
        f"WHEN {lead} THEN 'Lead' END END"
    )


def stage_mapped(
    conn,
    mapping: Mapping,
    sobject: str,
    describe: dict[str, dict],
    first_day: str,
    last_day: str,
    matches: Matches = PEOPLE,
    create_as: str = "NULL",
) -> None:
    """``_mapped``: the window's records through the mapping, with their newest match, the
    Account a new Contact goes under (``AccountId``) and what an unmatched one is created as."""
    refs = resolve_references(conn, mapping, sobject)
    select = compile_select(mapping, sobject, describe, refs)
    m = matches
    account = (
        ', _account_id AS "AccountId"'
        if sobject == "Contact" and "AccountId" not in output_fields(mapping, sobject)
        else ""
    )
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _mapped AS
            SELECT *, {create_as} AS _create_as{account} FROM (
            SELECT s.*, m.rule AS _rule, m.sf_object AS _sf_object, m.sf_id AS _sf_id,
                   m.account_id AS _account_id, {m.role_sql} AS _role
            FROM ({select}) s
            JOIN (SELECT {m.id_column} AS id, arg_max(rule, partition_date) AS rule,
                         arg_max({m.object_sql}, partition_date) AS sf_object,
                         arg_max({m.sf_id_column}, partition_date) AS sf_id,
                         arg_max({m.account_sql}, partition_date) AS account_id
                  FROM {m.table} WHERE partition_date BETWEEN ? AND ?
                  GROUP BY 1) m ON m.id = s._intercom_id)""",
        [first_day, last_day],
    ).fetchall()


def review_unmapped(conn, run_id: str, entity: str = PEOPLE_ENTITY) -> int:
    """Records whose mapped values the org would refuse wait in review, with the fields named."""
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
                   coalesce(_review_reason, concat_ws(', ', {fields})) AS value
            FROM _mapped WHERE _needs_review"""
    ).fetchall()
    return upsert_items(
        conn,
        entity,
        "mapping_unmapped_value",
        "mapped fields",
        "A mapped value cannot be sent to Salesforce: the value names each field and why",
        run_id,
    )


def pending_rows(
    conn,
    columns: list[str],
    key: str,
    where: str,
    params: list[Any],
    entity: str = PEOPLE_ENTITY,
    source: str = "_mapped",
) -> None:
    """``_pending`` for ``upsert_pending``: the rows to send with the given field columns."""
    cols = ", ".join(f'"{c}"::VARCHAR AS "{c}"' for c in columns)
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE _pending AS
            SELECT _intercom_id AS ext, {key} AS _key, {cols}
            FROM {source}
            WHERE NOT _needs_review AND ({where})
              AND _intercom_id NOT IN (SELECT record_id FROM {REVIEW_QUEUE}
                                       WHERE entity = ? AND status IN ('open', 'dismissed')
                                         AND rule <> ?)""",
        [*params, entity, RETRY_EXHAUSTED],
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


def record_routing(conn, sobject: str, run_id: str, fields: list[str]) -> None:
    """Keep the routing rule of each record this run created (routing applies on create)."""
    owner = '"OwnerId"' if "OwnerId" in fields else "NULL"
    record_type = '"RecordTypeId"' if "RecordTypeId" in fields else "NULL"
    conn.execute(
        f"""INSERT OR REPLACE INTO sync.routing_decisions
            SELECT ?, _intercom_id, _routing_rule, {owner}, {record_type}, now(), ?
            FROM _mapped
            WHERE _routing_rule IS NOT NULL AND _intercom_id IN (
                SELECT external_id FROM {SYNC_RESULTS}
                WHERE run_id = ? AND sobject = ? AND outcome = 'created')""",
        [sobject, run_id, run_id, sobject],
    ).fetchall()


def push_object(
    conn,
    sf: SalesforceClient,
    mapping: Mapping,
    describe: dict,
    sobject: str,
    settings: SyncSettings,
    first_day: str,
    last_day: str,
    run_id: str,
    matches: Matches = PEOPLE,
) -> tuple[PushOutcome, int]:
    """Create the unmatched records meant to become ``sobject`` (by our external id), then
    update the matched ones (by Id, stamping our external id): only changed fields are sent."""
    stage_mapped(
        conn,
        mapping,
        sobject,
        describe,
        first_day,
        last_day,
        matches,
        create_as_sql(mapping, matches, settings),
    )
    queued = review_unmapped(conn, run_id, matches.entity)
    fields = output_fields(mapping, sobject)
    policies = field_policies(mapping, sobject)
    clearable = {f for f, (_truth, clear) in policies.items() if clear}
    ext = mapping.objects[sobject].external_id
    work = settings.run_dir(run_id, sobject.lower())
    common = dict(
        sobject=sobject,
        work_dir=work,
        max_bytes=settings.max_upload_bytes,
        max_attempts=settings.push_attempts,
        retry_base_seconds=settings.push_retry_seconds,
        run_id=run_id,
        review_entity=matches.entity,
        clearable=clearable,
    )
    outcomes = []
    created = (
        [*fields, "AccountId"] if sobject == "Contact" and "AccountId" not in fields else fields
    )
    # a record this sync already wrote as another object of its kind (a Contact, when the
    # match this run read predates it) is never created a second time
    siblings = [o for o in matches.objects if o != sobject] or ["-"]
    pending_rows(
        conn,
        created,
        f'"{ext}"',
        f"""_create_as = ? AND "{ext}" IS NOT NULL AND _intercom_id NOT IN (
            SELECT external_id FROM sync.sync_state WHERE sobject IN ({", ".join("?" for _ in siblings)}))""",
        [sobject, *siblings],
        matches.entity,
    )
    outcomes.append(upsert_pending(conn, sf, ext_field=ext, columns=created, **common))
    record_routing(conn, sobject, run_id, fields)
    # updates: each field's source of truth decides what is sent; conflicts are left alone
    listed = ", ".join(f"'{r}'" for r in matches.update_rules)
    routed_owner = any("OwnerId" in r.set for _, r in mapping.rules_for(sobject))
    update_policies = dict(policies)
    if sobject == "Contact" and "AccountId" not in policies:
        # a matched Contact without an Account takes its company's (never replaces one)
        update_policies["AccountId"] = ("fill_blank", False)
    ours = stage_updates(
        conn,
        sobject,
        update_policies,
        f"_sf_object = ? AND _rule IN ({listed})",
        [sobject],
        routed_owner,
    )
    conflicts, new_conflicts = record_conflicts(conn, sobject, run_id)
    overwritten = forget_drifted(conn, sobject)
    pending_rows(conn, ours, "_sf_id", "TRUE", [], matches.entity, source="_decided")
    outcomes.append(upsert_pending(conn, sf, ext_field="Id", columns=["Id", *ours], **common))
    outcomes[-1].conflicts = conflicts
    outcomes[-1].conflicts_new = new_conflicts
    outcomes[-1].salesforce_edits_overwritten = overwritten
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


def run_push(context, salesforce, warehouse, sync_settings, sobject: str, matches: Matches):
    first_day, last_day = window_days(context.partition_time_window)
    run_id = context.run.run_id
    sf = salesforce.client(context.log)
    mapping, describe = load_checked_mapping(sf, sync_settings.mapping_file)
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        if sobject not in mapping.objects:
            return dg.MaterializeResult(
                metadata={"mode": salesforce.mode, "skipped": f"{sobject} is not mapped"}
            )
        recovery = recover_open_jobs(
            conn,
            sf,
            sobject,
            run_id,
            sync_settings.run_dir(run_id, f"{sobject.lower()}-recovered"),
            context.log,
        )
        outcome, queued = push_object(
            conn,
            sf,
            mapping,
            describe,
            sobject,
            sync_settings,
            first_day,
            last_day,
            run_id,
            matches,
        )
        sample = conn.execute(
            f"SELECT outcome, external_id, sf_id, coalesce(error, '') FROM {SYNC_RESULTS} "
            "WHERE run_id = ? AND sobject = ? ORDER BY outcome DESC, external_id LIMIT 10",
            [run_id, sobject],
        ).fetchall()
    outcome.created += recovery.created
    outcome.updated += recovery.updated
    metadata = {
        **people_metadata(salesforce, sf, outcome, queued, sample),
        **recovery.as_metadata(),
    }
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
    return run_push(context, salesforce, warehouse, sync_settings, "Lead", PEOPLE)


@dg.asset(**PUSH, deps=["person_matches", "salesforce_lead_upserts", *REFERENCE_MIRRORS])
def salesforce_contact_upserts(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Per-record outcomes of pushing the window's people to Contacts: matched Contacts updated
    by Id; when the mapping says so, unmatched people created as Contacts under their Account."""
    return run_push(context, salesforce, warehouse, sync_settings, "Contact", PEOPLE)


@dg.asset(**PUSH, deps=["company_matches", "salesforce_accounts_mirror", *REFERENCE_MIRRORS])
def salesforce_account_upserts(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Per-record outcomes of pushing the window's companies to Accounts: matched Accounts
    updated by Id; when the mapping says so, unmatched companies created by our external id.
    Runs before people, so new Contacts can go under new Accounts."""
    return run_push(context, salesforce, warehouse, sync_settings, "Account", COMPANIES)
