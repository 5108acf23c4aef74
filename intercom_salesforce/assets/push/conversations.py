"""Intercom conversations -> Salesforce, as Tasks, ``Intercom_Conversation__c`` records or Notes.

The mapping file's ``conversations.target`` chooses the object (Task by default). Every target
carries the subject (title or first message), the person (the matched or created Lead or
Contact), the Account when the person is a Contact, the owner, a link to the conversation in the
Intercom inbox, tags, assignee and team names and the statistics' times; optionally the
transcript (parts as plain text, oldest first, redacted, cut to 32,000 characters with a marker).

* Task and ``Intercom_Conversation__c`` are upserted by ``Intercom_Conversation_Id__c``, so a
  later change to a conversation updates the same record.
* Note has no custom fields, so no external id: a new conversation's Note is inserted with the
  conversation id in its title (``[Intercom #id] subject``, unique, which is how the results are
  read back), its Id kept in ``sync.sync_state``, and later changes update that Note by Id.
  ``ParentId`` cannot change after insert.

The owner and record type come from ``conversations.routing`` (first matching rule, then the
default, then the assignee's active user); the rule that decided is kept per record in
``sync.routing_decisions``. A conversation whose person is not in Salesforce yet waits in
``sync.pending_conversations`` and is written by the first run after the person is matched or
created.
"""

import re
from dataclasses import replace
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from intercom_salesforce.assets.partitions import window_days
from intercom_salesforce.assets.push.batch import (
    Operation,
    PushBatch,
    PushOutcome,
    merge_outcomes,
)
from intercom_salesforce.assets.push.bulk_upsert import PushRun, push_batch, push_batches
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
from intercom_salesforce.mapping import Mapping, MappingError
from intercom_salesforce.mapping.conversations import (
    check_conversation_target,
    compile_routing,
    routes_record_types,
)
from intercom_salesforce.mapping.references import resolve_conversation_references
from intercom_salesforce.resources.salesforce import SalesforceClient, SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.warehouse import SYNC_RESULTS, ensure_warehouse, read_sql

SQL = Path(__file__).parent / "sql"
CONVERSATION_KEY = "Intercom_Conversation_Id__c"
TRANSCRIPT_LIMIT = 32_000  # Description, Transcript__c and Body are 32,000-character text areas
REVIEW_ENTITY = "intercom_conversations"

# Each target's columns, in CSV order, as SQL over the routed payload ``r``
# (columns of sql/select_conversation_payloads.sql plus _route_owner / _route_record_type).
STATUS = (
    "CASE r.state WHEN 'closed' THEN 'Completed' WHEN 'snoozed' THEN 'Waiting on someone else' "
    "ELSE 'In Progress' END"
)
TARGET_COLUMNS: dict[str, dict[str, str]] = {
    "Task": {
        CONVERSATION_KEY: "r.conversation_id",
        "Subject": "left(r.subject, 255)",
        "ActivityDate": "sync.sf_date(r.opened_at AT TIME ZONE 'UTC')",
        "Status": STATUS,
        "Priority": "CASE WHEN r.priority = 'priority' THEN 'High' ELSE 'Normal' END",
        "WhoId": "r.sf_id",
        "WhatId": "r.account_id",
        "OwnerId": "r._route_owner",
        "Intercom_Link__c": "r.link",
        "Description": "r.description",
    },
    "Intercom_Conversation__c": {
        CONVERSATION_KEY: "r.conversation_id",
        "Name": "left(r.subject, 80)",
        "Contact__c": "CASE WHEN r.sf_object = 'Contact' THEN r.sf_id END",
        "Lead__c": "CASE WHEN r.sf_object = 'Lead' THEN r.sf_id END",
        "Account__c": "r.account_id",
        "State__c": "r.state",
        "Link__c": "r.link",
        "Tags__c": "nullif(left(r.tags, 255), '')",
        "Opened_At__c": "sync.sf_datetime(r.opened_at)",
        "Closed_At__c": "CASE WHEN r.state = 'closed' THEN sync.sf_datetime(r.closed_at) END",
        "Transcript__c": "r.description",
        "OwnerId": "r._route_owner",
    },
    "Note": {
        "Title": "left('[Intercom #' || r.conversation_id || '] ' || r.subject, 80)",
        "ParentId": "r.sf_id",
        "Body": "r.description",
        "OwnerId": "r._route_owner",
        "IsPrivate": "'false'",
    },
}
# values that may become empty and must then be cleared (``#N/A``), per target
CLEARABLE: dict[str, set[str]] = {
    "Task": {"WhatId"},
    "Intercom_Conversation__c": {"Contact__c", "Lead__c", "Account__c", "Closed_At__c", "Tags__c"},
    "Note": set(),
}
NOTE_NOT_UPDATEABLE = {"ParentId", "IsPrivate"}


def target_columns(mapping: Mapping) -> dict[str, str]:
    columns = dict(TARGET_COLUMNS[mapping.conversations.target])
    if routes_record_types(mapping):
        columns["RecordTypeId"] = "r._route_record_type"
    return columns


def stage_conversations(conn, mapping: Mapping, settings: SyncSettings, first: str, last: str):
    """``_conversations``: the window's routed payloads; pending ones recorded as waiting."""
    try:
        refs = resolve_conversation_references(conn, mapping)
    except MappingError as exc:
        raise dg.Failure(description=f"Conversation routing cannot be resolved:\n{exc}") from exc
    payload = read_sql("select_conversation_payloads.sql", SQL)
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE _conversations AS " + compile_routing(mapping, payload, refs),
        [
            first,
            last,
            settings.intercom_web_host,
            settings.include_transcript,
            settings.redact_transcript,
            TRANSCRIPT_LIMIT - 40,
        ],
    ).fetchall()
    conn.execute(
        """INSERT INTO sync.pending_conversations
           SELECT conversation_id, _contact_id, 'the person is not in Salesforce yet', now(), now()
           FROM _conversations WHERE _pending
           ON CONFLICT (conversation_id) DO UPDATE SET last_seen_at = now()"""
    ).fetchall()
    conn.execute(
        """DELETE FROM sync.pending_conversations WHERE conversation_id IN
           (SELECT conversation_id FROM _conversations WHERE NOT _pending)"""
    ).fetchall()


def pending_from(
    conn: duckdb.DuckDBPyConnection,
    batch: PushBatch,
    columns: dict[str, str],
    key_sql: str,
    where: str = "TRUE",
    params: list | None = None,
) -> None:
    """``batch.pending`` from the routed conversations (``_conversations``) whose person is in
    Salesforce."""
    fill_pending(
        conn,
        batch,
        "_conversations r",
        "r.conversation_id",
        key_sql,
        columns,
        f"NOT r._pending AND ({where})",
        params,
    )


NOTE_TITLE_ID = r"^\[Intercom #([^\]]+)\]"
SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15,18}$")


def adopt_existing_notes(conn, sf, chunk: int = 200) -> int:
    """Notes already in the org for conversations we have no Note Id for, found by the id in
    their title (a run that died after Salesforce inserted them but before their results were
    recorded): kept in ``sync.sync_state``, so they are updated, never inserted twice."""
    parents = [
        r[0]
        for r in conn.execute(
            """SELECT DISTINCT sf_id FROM _conversations WHERE NOT _pending
               AND conversation_id NOT IN (SELECT external_id FROM sync.sync_state
                                           WHERE sobject = 'Note')"""
        ).fetchall()
        if r[0] and SALESFORCE_ID.match(r[0])
    ]
    found: list[tuple[str, str]] = []
    for i in range(0, len(parents), chunk):
        ids = ", ".join(f"'{p}'" for p in parents[i : i + chunk])
        soql = f"SELECT Id, Title FROM Note WHERE ParentId IN ({ids}) AND Title LIKE '[Intercom #%'"
        found += [
            (r["Id"], r["Title"]) for r in sf.call(lambda s, q=soql: s.query_all(q))["records"]
        ]
    if not found:
        return 0
    conn.execute("CREATE OR REPLACE TEMP TABLE _found_notes (id VARCHAR, title VARCHAR)")
    conn.executemany("INSERT INTO _found_notes VALUES (?, ?)", found)
    adopted = conn.execute(
        f"""INSERT INTO sync.sync_state
            SELECT 'Note', c.conversation_id, min(n.id), now()
            FROM _found_notes n
            JOIN _conversations c
              ON c.conversation_id = regexp_extract(n.title, '{NOTE_TITLE_ID}', 1)
            WHERE c.conversation_id NOT IN (SELECT external_id FROM sync.sync_state
                                            WHERE sobject = 'Note')
            GROUP BY 2
            RETURNING 1"""
    ).fetchall()
    return len(adopted)


def conversation_batch(
    target: str, key_field: str, columns: list[str], operation: Operation = "upsert"
) -> PushBatch:
    """A batch of conversation records: their review entity and the fields that may clear."""
    return PushBatch(
        target, key_field, tuple(columns), operation, frozenset(CLEARABLE[target]), REVIEW_ENTITY
    )


def push_notes(
    conn: duckdb.DuckDBPyConnection, sf: SalesforceClient, columns: dict[str, str], run: PushRun
) -> PushOutcome:
    """Notes have no external id: new conversations' Notes are inserted (their title is the key
    the results echo back), known ones updated by the Id kept in ``sync.sync_state``."""
    adopt_existing_notes(conn, sf)
    known = "r.conversation_id IN (SELECT external_id FROM sync.sync_state WHERE sobject = 'Note')"
    inserts = conversation_batch("Note", "Title", list(columns), "insert")
    pending_from(conn, inserts, columns, columns["Title"], f"NOT ({known})")
    updatable = {k: v for k, v in columns.items() if k not in NOTE_NOT_UPDATEABLE}
    note_id = (
        "(SELECT s.sf_id FROM sync.sync_state s "
        "WHERE s.sobject = 'Note' AND s.external_id = r.conversation_id)"
    )
    updates = conversation_batch("Note", "Id", ["Id", *updatable])
    pending_from(conn, updates, updatable, note_id, known)
    # new and known conversations are different records: their jobs run at once
    inserted, updated = push_batches(conn, sf, [inserts, updates], run)
    # the Notes just inserted are diffed as known ones too (nothing changed since: nothing is
    # sent), so they count as considered by the update like the rest
    again = conversation_batch("Note", "Id", ["Id", *updatable])
    pending_from(
        conn,
        again,
        updatable,
        note_id,
        f"""{known} AND r.conversation_id IN (SELECT external_id FROM sync.sync_results
                WHERE list_contains(?::VARCHAR[], job_id) AND outcome = 'created')""",
        [inserted.job_ids],
    )
    return merge_outcomes(inserted, updated, push_batch(conn, sf, again, run))


def push_conversations(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    mapping: Mapping,
    settings: SyncSettings,
    run_id: str,
    plan: PlanLog | None = None,
) -> PushOutcome:
    """The routed conversations to the mapping's target: upserted by the conversation id, or,
    for Notes, inserted then updated by Id. With a ``plan`` (a dry run) the batches are diffed
    into the plan and nothing is sent."""
    target = mapping.conversations.target
    columns = target_columns(mapping)
    run = replace(push_run(settings, run_id, target.lower()), plan=plan)
    if target == "Note":
        return push_notes(conn, sf, columns, run)
    batch = conversation_batch(target, CONVERSATION_KEY, list(columns))
    pending_from(conn, batch, columns, "r.conversation_id")
    return push_batch(conn, sf, batch, run)


def record_routing(conn, target: str, run_id: str) -> dict[str, int]:
    """Keep the rule that routed each record; counts per rule for the metadata."""
    conn.execute(
        """INSERT OR REPLACE INTO sync.routing_decisions
           SELECT ?, conversation_id, _route_rule, _route_owner, _route_record_type, now(), ?
           FROM _conversations WHERE NOT _pending""",
        [target, run_id],
    ).fetchall()
    return dict(
        conn.execute(
            "SELECT _route_rule, count(*) FROM _conversations WHERE NOT _pending GROUP BY 1 "
            "ORDER BY 2 DESC"
        ).fetchall()
    )


def plan_conversations(
    conn: duckdb.DuckDBPyConnection,
    sf: SalesforceClient,
    mapping: Mapping,
    settings: SyncSettings,
    window: tuple[str, str],
    run_id: str,
    mode: str,
) -> dict:
    """A dry run of the conversation push: staged, routed and diffed as a push would, inside a
    transaction that is rolled back (waiting conversations, routing decisions, Note Ids found in
    the org are not kept); no recovery, no Bulk job. Returns the plan's metadata."""
    target = mapping.conversations.target
    plan = PlanLog(run_id, settings.run_dir(run_id, f"{target.lower()}-plan"))
    with planning(conn, plan):
        stage_conversations(conn, mapping, settings, *window)
        plan.add_waiting(conn, target, "_conversations")
        push_conversations(conn, sf, mapping, settings, run_id, plan)
    return {**plan_metadata(conn, plan, target, mode), "target": target}


@dg.asset(
    **PUSH,
    deps=[
        "intercom_conversations",
        "intercom_conversation_parts",
        "intercom_admins",
        "intercom_teams",
        "intercom_tags",
        "person_matches",
        "salesforce_lead_upserts",
        "salesforce_contact_upserts",
        *REFERENCE_MIRRORS,
    ],
)
def salesforce_conversations(
    context: dg.AssetExecutionContext,
    salesforce: SalesforceResource,
    warehouse: DuckDBResource,
    sync_settings: SyncSettings,
):
    """Per-record outcomes of writing the window's conversations to the configured target
    (Task, Intercom_Conversation__c or Note), routed by the mapping's conversation rules."""
    first_day, last_day = window_days(context.partition_time_window)
    run_id = context.run.run_id
    sf = salesforce.client(context.log)
    mapping, describe = load_checked_mapping(sf, sync_settings.mapping_file, conversations=True)
    target = mapping.conversations.target
    try:
        check_conversation_target(mapping, describe[target], list(target_columns(mapping)))
    except MappingError as exc:
        raise dg.Failure(description=f"Conversations cannot be written:\n{exc}") from exc
    with warehouse.get_connection() as conn:
        ensure_warehouse(conn)
        if is_dry_run(context.run.tags):
            return dg.MaterializeResult(
                metadata=plan_conversations(
                    conn, sf, mapping, sync_settings, (first_day, last_day), run_id, salesforce.mode
                )
            )
        stage_conversations(conn, mapping, sync_settings, first_day, last_day)
        waiting = conn.execute("SELECT count(*) FROM sync.pending_conversations").fetchall()[0][0]
        recovery = recover_open_jobs(
            conn, sf, target, run_id, sync_settings.run_dir(run_id, "recovered"), context.log
        )
        outcome = push_conversations(conn, sf, mapping, sync_settings, run_id)
        outcome.created += recovery.created
        outcome.updated += recovery.updated
        by_rule = record_routing(conn, target, run_id)
        sample = conn.execute(
            f"""SELECT r.outcome, r.external_id, r.sf_id, coalesce(d.rule, ''),
                       coalesce(r.error, '')
                FROM {SYNC_RESULTS} r
                LEFT JOIN sync.routing_decisions d
                       ON d.sobject = r.sobject AND d.external_id = r.external_id
                WHERE r.run_id = ? AND r.sobject = ? ORDER BY r.outcome DESC, r.external_id
                LIMIT 10""",
            [run_id, target],
        ).fetchall()
    metadata = {
        "dagster/row_count": outcome.sent,
        "mode": salesforce.mode,
        "target": target,
        **outcome.as_metadata(),
        **recovery.as_metadata(),
        "waiting_for_person": waiting,
        "transcripts": sync_settings.include_transcript,
        "routed_by_rule": dg.MetadataValue.json(by_rule),
        **sf.usage.as_metadata(),
        "sample": sample_table(["outcome", "conversation", target, "rule", "error"], sample),
    }
    return finish(outcome, metadata)
