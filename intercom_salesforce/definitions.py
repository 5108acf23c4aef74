"""Assembles the stages and binds the shared resources (sandbox or real services, see settings)."""

from __future__ import annotations

import dagster as dg

from intercom_salesforce.assets.extract.records import (
    RECORD_ASSETS,
    intercom_companies,
    intercom_contacts,
    intercom_conversation_parts,
    intercom_conversations,
    intercom_data_events,
)
from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.match.companies import company_matches
from intercom_salesforce.assets.match.people import person_matches
from intercom_salesforce.assets.mirror.salesforce_objects import MIRROR_ASSETS, MIRROR_BY_NAME
from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.assets.push.conversations import salesforce_conversations
from intercom_salesforce.assets.push.people import (
    salesforce_account_upserts,
    salesforce_contact_upserts,
    salesforce_lead_upserts,
)
from intercom_salesforce.assets.quality.checks import QUALITY_CHECKS
from intercom_salesforce.assets.quality.review_summary import review_queue_summary
from intercom_salesforce.assets.writeback.assets import MIRRORS, WRITEBACK_ASSETS
from intercom_salesforce.automation.salesforce_sensor import build_salesforce_sensor
from intercom_salesforce.automation.schedules import (
    hourly_current_partition_schedule,
    hourly_schedule,
)
from intercom_salesforce.automation.sensors import (
    build_change_sensor,
    build_webhook_sensor,
    sync_audit,
    sync_failure_audit,
)
from intercom_salesforce.automation.stale_run_sensor import stale_run_sensor
from intercom_salesforce.settings import build_resources, paths

# The people sync, end to end: what make demo, the schedule and UI backfills run.
SYNC_ASSETS = [
    intercom_contacts,
    intercom_companies,
    intercom_data_events,
    *MIRROR_ASSETS,
    company_matches,
    salesforce_account_upserts,
    person_matches,
    salesforce_lead_upserts,
    salesforce_contact_upserts,
    review_queue_summary,
]

# Runs that write Salesforce carry this tag; both instance configurations let one such run at a
# time out of the queue, so two syncs never diff against the same state at once.
SYNC_TAGS = {"intercom_salesforce/writes": "salesforce"}

sync_people_job = dg.define_asset_job(
    "sync_people_job",
    tags=SYNC_TAGS,
    selection=dg.AssetSelection.assets(*SYNC_ASSETS),
    partitions_def=daily_partitions,
    description="Intercom people and companies -> checks -> match -> map -> Salesforce, "
    "over partitions.",
)

sync_people_schedule = hourly_current_partition_schedule(sync_people_job)

# Conversations (Tasks, the custom object or Notes), after the people they belong to (reference data refreshed alongside).
CONVERSATION_ASSETS = [
    intercom_conversations,
    intercom_conversation_parts,
    salesforce_conversations,
]
sync_conversations_job = dg.define_asset_job(
    "sync_conversations_job",
    tags=SYNC_TAGS,
    selection=dg.AssetSelection.assets(*CONVERSATION_ASSETS),
    partitions_def=daily_partitions,
    description="Intercom conversations -> Salesforce Tasks, Intercom_Conversation__c records or "
    "Notes on the matched Lead or Contact, routed by the mapping's conversation rules.",
)
# the sensor reacts within a minute; the schedule is the safety net, half an hour after the people
sync_conversations_schedule = hourly_current_partition_schedule(
    sync_conversations_job, "SYNC_CONVERSATIONS_SCHEDULE_CRON", "35 * * * *"
)

conversation_sensor = build_change_sensor(
    "intercom_conversations_sensor",
    sync_conversations_job,
    "conversations",
    "conversations",
    "New or updated Intercom conversations start a conversation sync of their days.",
)
contact_sensor = build_change_sensor(
    "intercom_contacts_sensor",
    sync_people_job,
    "contacts",
    "data",
    "New or updated Intercom contacts (new leads, lead -> user, attribute changes) start a "
    "people sync of their days.",
)

webhook_sensor = build_webhook_sensor(
    sync_people_job, sync_conversations_job, str(paths().webhook_queue)
)

# Salesforce context back into Intercom: the mirror reads what changed, the write-back writes
# what differs from what it last wrote. It shares the sync jobs' queue tag, so it never runs
# beside a push that compares against what it writes.
WRITEBACK_JOB_ASSETS = [*(MIRROR_BY_NAME[m] for m in MIRRORS), *WRITEBACK_ASSETS]
salesforce_writeback_job = dg.define_asset_job(
    "salesforce_writeback_job",
    tags=SYNC_TAGS,
    selection=dg.AssetSelection.assets(*WRITEBACK_JOB_ASSETS),
    description="Salesforce mirror -> owner, status, account, deal stage and milestone tags on "
    "the matched Intercom contacts and companies.",
)
salesforce_changes_sensor = build_salesforce_sensor(salesforce_writeback_job)
# the sensor reacts within its interval; the schedule is the safety net
salesforce_writeback_schedule = hourly_schedule(
    salesforce_writeback_job, "WRITEBACK_SCHEDULE_CRON", "50 * * * *"
)

extract_intercom_job = dg.define_asset_job(
    "extract_intercom_job",
    selection=dg.AssetSelection.assets(*RECORD_ASSETS),
    partitions_def=daily_partitions,
    description="Every partitioned Intercom stream into staging.",
)
refresh_reference_job = dg.define_asset_job(
    "refresh_reference_job",
    selection=dg.AssetSelection.assets(*REFERENCE_ASSETS),
    description="Intercom admins, teams, tags and data attributes.",
)

ALL_ASSETS = [
    *SYNC_ASSETS,
    salesforce_conversations,
    *[a for a in RECORD_ASSETS if a not in SYNC_ASSETS],
    *REFERENCE_ASSETS,
    *WRITEBACK_ASSETS,
    sync_audit,
]

defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=QUALITY_CHECKS,
    jobs=[
        sync_people_job,
        sync_conversations_job,
        salesforce_writeback_job,
        extract_intercom_job,
        refresh_reference_job,
    ],
    schedules=[sync_people_schedule, sync_conversations_schedule, salesforce_writeback_schedule],
    sensors=[
        conversation_sensor,
        contact_sensor,
        webhook_sensor,
        sync_failure_audit,
        stale_run_sensor,
        salesforce_changes_sensor,
    ],
    # one process per run: steps share the warehouse connection's process and pay imports once
    executor=dg.in_process_executor,
    resources=build_resources(),
)
