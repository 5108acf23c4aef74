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

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.match.rules import (
    COMPANY_MATCHED,
    COMPANY_UNMATCHED,
    PERSON_MATCHED,
    PERSON_UNMATCHED,
    MatchRule,
)
from intercom_salesforce.assets.partitions import window_days
from intercom_salesforce.assets.push.batch import PushBatch, PushOutcome, merge_outcomes
from intercom_salesforce.assets.push.bulk_upsert import RETRY_EXHAUSTED, PushRun, push_batches
from intercom_salesforce.assets.push.pipeline import (
    PUSH,
    REFERENCE_MIRRORS,
    fill_pending,
    finish,
    load_checked_mapping,
    push_run,
    sample_table,
)
from intercom_salesforce.assets.push.plan import PlanLog, is_dry_run, plan_metadata, planning
from intercom_salesforce.assets.push.recovery import recover_open_jobs
from intercom_salesforce.assets.push.truth import forget_drifted, record_conflicts, stage_updates
from intercom_salesforce.assets.quality.review_queue import BLOCKING_STATUSES, upsert_items
from intercom_salesforce.mapping import (
    Mapping,
    compile_select,
    field_policies,
    output_fields,
    resolve_references,
)
from intercom_salesforce.resources.salesforce import SalesforceClient, SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import (
    COMPANY_MATCHES,
    PERSON_MATCHES,
    REVIEW_QUEUE,
    STAGING_CONTACTS_CURRENT,
    SYNC_RESULTS,
    ensure_warehouse,
    ident,
    literal,
    read_sql,
)

PEOPLE_ENTITY = "intercom_contacts"
SQL = Path(__file__).parent / "sql"


class MatchKind(Protocol):
    """A kind of match (people, companies): where its matches live, which match rules mean
    "create" or "update by Id", and what an unmatched record is created as."""

    entity: str  # the staging entity, for the review queue
    objects: tuple[str, ...]  # the Salesforce objects these records become
    update_rules: tuple[str, ...]

    def latest_matches_sql(self) -> str:
        """Each record's newest match in the window ($1 .. $2): id, rule, sf_object, sf_id,
        account_id."""
        ...

    def carried(self, mapping: Mapping, sobject: str) -> dict[str, str]:
        """Columns of the mapped object's staging view carried into its mapped rows."""
        ...

    def role_sql(self, carried: dict[str, str]) -> str:
        """The record's role over the mapped row ``s`` (people: lead or user), with the
        ``carried`` columns."""
        ...

    def create_as_sql(self, mapping: Mapping, settings: SyncSettings) -> str:
        """Which object an unmatched record is created as (NULL: not created)."""
        ...


# a person's role as the mapped scan carries it (``compile_select``'s ``carry``), so the role is
# not looked up again by id
CARRIED_ROLE = "_contact_role"


@dataclass(frozen=True)
class MatchTable:
    """The columns of a match table that ``latest_matches_sql`` reads."""

    entity: str
    table: str
    id_column: str
    object_sql: str
    sf_id_column: str
    account_sql: str
    create_rules: tuple[str, ...]
    update_rules: tuple[str, ...]
    objects: tuple[str, ...]

    def latest_matches_sql(self) -> str:
        return read_sql("select_latest_matches.sql", SQL).format(
            id=self.id_column,
            sf_object=self.object_sql,
            sf_id=self.sf_id_column,
            account_id=self.account_sql,
            table=self.table,
        )

    def carried(self, mapping: Mapping, sobject: str) -> dict[str, str]:
        return {}

    def role_sql(self, carried: dict[str, str]) -> str:
        return "NULL::VARCHAR"

    def _rules(self, extra: tuple[str, ...] = ()) -> str:
        return ", ".join(literal(r) for r in (*self.create_rules, *extra))


def _creates(mapping: Mapping, sobject: str) -> object:
    obj = mapping.objects.get(sobject)
    return obj.creates(sobject) if obj is not None else False


@dataclass(frozen=True)
class PeopleMatches(MatchTable):
    """People become Leads or, under their company's Account, Contacts."""

    def carried(self, mapping: Mapping, sobject: str) -> dict[str, str]:
        """A person's role, from the contacts the object is mapped from."""
        return {CARRIED_ROLE: "role"} if mapping.objects[sobject].source == "contacts" else {}

    def role_sql(self, carried: dict[str, str]) -> str:
        """The role carried from the mapped scan, else looked up by id (an object mapped from
        another source)."""
        if CARRIED_ROLE in carried:
            return f"s.{CARRIED_ROLE}"
        return (
            f"(SELECT any_value(x.role) FROM {STAGING_CONTACTS_CURRENT} x "
            "WHERE x.id = s._intercom_id)"
        )

    def create_as_sql(self, mapping: Mapping, settings: SyncSettings) -> str:
        """The same SQL for every object, so the Lead and Contact pushes agree on who goes
        where."""
        listed = self._rules((MatchRule.NO_EMAIL,) if settings.create_leads_without_email else ())
        contact = {
            "with_account": "_account_id IS NOT NULL",
            "users_with_account": "_account_id IS NOT NULL AND _role = 'user'",
        }.get(str(_creates(mapping, "Contact")), "FALSE")
        lead = "TRUE" if _creates(mapping, "Lead") is True else "FALSE"
        return (
            f"CASE WHEN _rule IN ({listed}) THEN CASE WHEN {contact} THEN 'Contact' "
            f"WHEN {lead} THEN 'Lead' END END"
        )


@dataclass(frozen=True)
class CompanyMatches(MatchTable):
    """Companies become Accounts."""

    def create_as_sql(self, mapping: Mapping, settings: SyncSettings) -> str:
        return (
            f"CASE WHEN _rule IN ({self._rules()}) "
            f"AND {bool(_creates(mapping, 'Account'))} THEN 'Account' END"
        )


PEOPLE = PeopleMatches(
    PEOPLE_ENTITY,
    PERSON_MATCHES,
    "intercom_contact_id",
    "sf_object",
    "sf_id",
    "account_id",
    PERSON_UNMATCHED,
    PERSON_MATCHED,
    ("Lead", "Contact"),
)
COMPANIES = CompanyMatches(
    "intercom_companies",
    COMPANY_MATCHES,
    "intercom_company_id",
    "'Account'",
    "sf_account_id",
    "NULL::VARCHAR",
    COMPANY_UNMATCHED,  # no Account has this company's id or domain
    COMPANY_MATCHED,
    ("Account",),
)


def stage_mapped(
    conn: duckdb.DuckDBPyConnection,
    mapping: Mapping,
    sobject: str,
    describe: dict[str, dict],
    first_day: str,
    last_day: str,
    matches: MatchKind = PEOPLE,
    create_as: str = "NULL",
) -> str:
    """The window's records through the mapping, with their newest match, the Account a new
    Contact goes under (``AccountId``) and what an unmatched one is created as (``_create_as``);
    returns the name of that table (``_mapped_<object>``)."""
    refs = resolve_references(conn, mapping, sobject)
    carried = matches.carried(mapping, sobject)
    select = compile_select(mapping, sobject, describe, refs, carried)
    account = (
        ', _account_id AS "AccountId"'
        if sobject == "Contact" and "AccountId" not in output_fields(mapping, sobject)
        else ""
    )
    mapped = f"_mapped_{sobject.lower()}"
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ident(mapped)} AS
            SELECT *, {create_as} AS _create_as{account} FROM (
            SELECT s.*, m.rule AS _rule, m.sf_object AS _sf_object, m.sf_id AS _sf_id,
                   m.account_id AS _account_id, {matches.role_sql(carried)} AS _role
            FROM ({select}) s
            JOIN ({matches.latest_matches_sql()}) m ON m.id = s._intercom_id)""",
        [first_day, last_day],
    ).fetchall()
    return mapped


def review_unmapped(
    conn: duckdb.DuckDBPyConnection, mapped: str, run_id: str, entity: str = PEOPLE_ENTITY
) -> int:
    """Records whose mapped values the org would refuse wait in review, with the fields named."""
    flags = [
        r[0]
        for r in conn.execute(
            f"SELECT column_name FROM (DESCRIBE {ident(mapped)}) "
            "WHERE column_name LIKE '\\_unmapped\\_%' ESCAPE '\\'"
        ).fetchall()
    ]
    fields = (
        ", ".join(
            f"CASE WHEN {ident(f)} THEN {literal(f.removeprefix('_unmapped_'))} END" for f in flags
        )
        or "NULL"
    )
    unmapped = f"{mapped}_unmapped"
    conn.execute(
        f"""CREATE OR REPLACE TEMP TABLE {ident(unmapped)} AS
            SELECT _intercom_id AS record_id, NULL::DATE AS partition_date,
                   coalesce(_review_reason, concat_ws(', ', {fields})) AS value
            FROM {ident(mapped)} WHERE _needs_review"""
    ).fetchall()
    return upsert_items(
        conn,
        unmapped,
        entity,
        "mapping_unmapped_value",
        "mapped fields",
        "A mapped value cannot be sent to Salesforce: the value names each field and why",
        run_id,
    )


def pending_rows(
    conn: duckdb.DuckDBPyConnection,
    batch: PushBatch,
    source: str,
    key_sql: str,
    where: str,
    params: list[Any],
    append: bool = False,
) -> None:
    """``batch.pending`` from a mapped relation: its records to send that nothing in review
    blocks, with the batch's columns (added to those already there with ``append``)."""
    fill_pending(
        conn,
        batch,
        ident(source),
        "_intercom_id",
        key_sql,
        {c: f"{ident(c)}::VARCHAR" for c in batch.fields},
        f"""NOT _needs_review AND ({where})
            AND _intercom_id NOT IN (SELECT record_id FROM {REVIEW_QUEUE}
                                     WHERE entity = ? AND list_contains(?::VARCHAR[], status)
                                       AND rule <> ?)""",
        [*params, batch.review_entity, list(BLOCKING_STATUSES), RETRY_EXHAUSTED],
        append,
    )


def record_routing(
    conn: duckdb.DuckDBPyConnection, mapped: str, sobject: str, run_id: str, fields: list[str]
) -> None:
    """Keep the routing rule of each record this run created (routing applies on create)."""
    owner = '"OwnerId"' if "OwnerId" in fields else "NULL"
    record_type = '"RecordTypeId"' if "RecordTypeId" in fields else "NULL"
    conn.execute(
        read_sql("record_routing.sql", SQL).format(
            owner=owner, record_type=record_type, mapped=ident(mapped)
        ),
        [sobject, run_id],
    ).fetchall()


@dataclass(frozen=True)
class ObjectPush:
    """One object's push: the mapping's fields, their policies and the run's settings."""

    conn: duckdb.DuckDBPyConnection
    sf: SalesforceClient
    mapping: Mapping
    sobject: str
    matches: MatchKind
    run: PushRun
    slice_rows: int  # SyncSettings.decide_slice_rows

    @property
    def fields(self) -> list[str]:
        return output_fields(self.mapping, self.sobject)

    @property
    def policies(self) -> dict[str, tuple[str, bool]]:
        return field_policies(self.mapping, self.sobject)

    def batch(self, key_field: str, columns: list[str]) -> PushBatch:
        clearable = frozenset(f for f, (_truth, clear) in self.policies.items() if clear)
        return PushBatch(
            self.sobject, key_field, tuple(columns), "upsert", clearable, self.matches.entity
        )


def stage_creates(p: ObjectPush, mapped: str) -> PushBatch:
    """The batch of unmatched records meant to become the object, upserted by our external id."""
    ext = p.mapping.objects[p.sobject].external_id
    fields = p.fields
    created = (
        [*fields, "AccountId"] if p.sobject == "Contact" and "AccountId" not in fields else fields
    )
    batch = p.batch(ext, created)
    # a record this sync already wrote as another object of its kind (a Contact, when the
    # match this run read predates it) is never created a second time
    siblings = [o for o in p.matches.objects if o != p.sobject] or ["-"]
    pending_rows(
        p.conn,
        batch,
        mapped,
        ident(ext),
        f"""_create_as = ? AND {ident(ext)} IS NOT NULL AND _intercom_id NOT IN (
            SELECT external_id FROM sync.sync_state WHERE list_contains(?::VARCHAR[], sobject))""",
        [p.sobject, siblings],
    )
    return batch


@dataclass
class StagedUpdates:
    """The batch of matched records to update by Id, and what deciding its fields found."""

    batch: PushBatch
    conflicts: int
    conflicts_new: int
    overwritten: int


def update_slices(
    conn: duckdb.DuckDBPyConnection, mapped: str, where: str, params: list, slice_rows: int
) -> list[str]:
    """``where`` over ``mapped`` split into slices of about ``slice_rows`` records each, by a
    hash of the Intercom id: every record falls in exactly one slice."""
    count = conn.execute(f"SELECT count(*) FROM {ident(mapped)} WHERE {where}", params).fetchall()
    parts = max(1, -(-count[0][0] // slice_rows))
    if parts == 1:
        return [where]
    return [f"({where}) AND hash(_intercom_id) % {parts} = {i}" for i in range(parts)]


def stage_update_batch(p: ObjectPush, mapped: str) -> StagedUpdates:
    """Matched records updated by Id (which stamps our external id): each field's source of
    truth decides what is sent; conflicts are left alone.

    The decisions are worked out ``slice_rows`` records at a time: each slice's join of mapped
    values, last pushed values and Salesforce rows is dropped before the next is built, so the
    warehouse's memory holds one slice of it, not the window's."""
    routed_owner = any("OwnerId" in r.set for _, r in p.mapping.rules_for(p.sobject))
    update_policies = dict(p.policies)
    if p.sobject == "Contact" and "AccountId" not in update_policies:
        # a matched Contact without an Account takes its company's (never replaces one)
        update_policies["AccountId"] = ("fill_blank", False)
    listed = ", ".join(literal(r) for r in p.matches.update_rules)
    where = f"_sf_object = ? AND _rule IN ({listed})"
    staged: StagedUpdates | None = None
    for part in update_slices(p.conn, mapped, where, [p.sobject], p.slice_rows):
        decisions = stage_updates(
            p.conn, mapped, p.sobject, update_policies, part, [p.sobject], routed_owner
        )
        conflicts, new_conflicts = record_conflicts(p.conn, decisions, p.run.run_id)
        if p.run.plan is not None:
            p.run.plan.add_conflicts(p.conn, p.sobject, decisions.conflicts)
        overwritten = forget_drifted(p.conn, decisions)
        first = staged is None
        if staged is None:
            staged = StagedUpdates(p.batch("Id", ["Id", *decisions.columns]), 0, 0, 0)
        pending_rows(
            p.conn, staged.batch, decisions.decided, "_sf_id", "TRUE", [], append=not first
        )
        staged.conflicts += conflicts
        staged.conflicts_new += new_conflicts
        staged.overwritten += overwritten
        decisions.drop(p.conn)
    assert staged is not None  # update_slices returns at least one slice
    return staged


def push_object(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    mapping: Mapping,
    describe: dict,
    sobject: str,
    settings: SyncSettings,
    first_day: str,
    last_day: str,
    run_id: str,
    matches: MatchKind = PEOPLE,
    plan: PlanLog | None = None,
) -> tuple[PushOutcome, int]:
    """Create the unmatched records meant to become ``sobject`` (by our external id), then
    update the matched ones (by Id, stamping our external id): only changed fields are sent.
    With a ``plan`` (a dry run) every step runs up to the diff and the records go to the plan."""
    mapped = stage_mapped(
        conn,
        mapping,
        sobject,
        describe,
        first_day,
        last_day,
        matches,
        matches.create_as_sql(mapping, settings),
    )
    queued = review_unmapped(conn, mapped, run_id, matches.entity)
    run = replace(push_run(settings, run_id, sobject.lower()), plan=plan)
    if plan is not None:
        plan.add_reviews(
            conn,
            mapped,
            sobject,
            matches.update_rules,
            matches.entity,
            list(BLOCKING_STATUSES),
            RETRY_EXHAUSTED,
        )
    p = ObjectPush(conn, sf, mapping, sobject, matches, run, settings.decide_slice_rows)
    creates = stage_creates(p, mapped)
    updates = stage_update_batch(p, mapped)
    # the two batches hold different records (unmatched / matched): their jobs run at once
    created, updated = push_batches(conn, sf, [creates, updates.batch], p.run)
    record_routing(conn, mapped, sobject, run_id, p.fields)
    updated.conflicts = updates.conflicts
    updated.conflicts_new = updates.conflicts_new
    updated.salesforce_edits_overwritten = updates.overwritten
    return merge_outcomes(created, updated), queued


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
        "sample": sample_table(["outcome", "intercom id", "sf id", "error"], sample),
    }


def run_push(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
    sobject: str,
    matches: MatchKind,
) -> dg.MaterializeResult:
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
        push = partial(
            push_object,
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
        if is_dry_run(context.run.tags):
            # no recovery either: collecting or aborting a job is a write; the plan counts them
            plan = PlanLog(run_id, sync_settings.run_dir(run_id, f"{sobject.lower()}-plan"))
            with planning(conn, plan):
                push(plan=plan)
            return dg.MaterializeResult(
                metadata=plan_metadata(conn, plan, sobject, salesforce.mode)
            )
        recovery = recover_open_jobs(
            conn,
            sf,
            sobject,
            run_id,
            sync_settings.run_dir(run_id, f"{sobject.lower()}-recovered"),
            context.log,
        )
        outcome, queued = push()
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
    return finish(
        outcome, metadata, ". Unprocessed records stay pending and are retried on the next run."
    )


@dg.asset(**PUSH, deps=["person_matches", "intercom_data_events", *REFERENCE_MIRRORS])
def salesforce_lead_upserts(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Per-record outcomes of pushing the window's people to Leads: new people created by our
    external id, matched Leads updated by Id; only changed fields are sent."""
    return run_push(context, salesforce, warehouse, sync_settings, "Lead", PEOPLE)


@dg.asset(
    **PUSH,
    deps=[
        "person_matches",
        "intercom_data_events",
        "salesforce_lead_upserts",
        *REFERENCE_MIRRORS,
    ],
)
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
