"""Sensors: new or updated conversations and contacts start a sync of their partitions; failed
runs are recorded in the audit log.

The change sensors poll Intercom's search endpoints with a cursor (the newest ``updated_at`` seen)
and ask for one run per affected workspace-local day. Contact search matches dates by whole days,
so the query asks from the cursor's day and the cursor is applied exactly on our side. A run key
per (day, newest change) makes a repeated tick a no-op.
"""

import json
import os
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.settings import workspace_timezone

MAX_PAGES_PER_TICK = 20
# how often the change sensors poll Intercom (each tick is one or more search calls)
SENSOR_INTERVAL_SECONDS = int(os.environ.get("SYNC_SENSOR_INTERVAL_SECONDS", "60"))


def changed_days(
    intercom: IntercomResource, entity: str, key: str, cursor: int
) -> tuple[dict[str, int], int]:
    """{partition day: newest updated_at} for records updated after ``cursor``, and the new cursor."""
    client = intercom.client()
    tz = ZoneInfo(workspace_timezone())
    # "> t" on contacts starts at the next day; ask from the day before the cursor's day instead
    since = max(0, cursor - 86_400)
    days: dict[str, int] = {}
    newest = cursor
    for n, page in enumerate(
        client.search_pages(
            entity,
            {"field": "updated_at", "operator": ">", "value": since},
            sort={"field": "updated_at", "order": "ascending"},
        )
    ):
        for record in page.get(key) or []:
            ts = int(record["updated_at"])
            if ts <= cursor:
                continue
            day = datetime.fromtimestamp(ts, tz).date().isoformat()
            days[day] = max(days.get(day, 0), ts)
            newest = max(newest, ts)
        if n + 1 >= MAX_PAGES_PER_TICK:
            break  # the rest is read on the next tick, from the new cursor
    return days, newest


def requests_for(days: dict[str, int], prefix: str) -> list[dg.RunRequest]:
    return [
        dg.RunRequest(
            run_key=f"{prefix}:{day}:{ts}",
            partition_key=day,
            tags={"intercom_salesforce/trigger": prefix},
        )
        for day, ts in sorted(days.items())
    ]


def build_change_sensor(
    name: str, job: Any, entity: str, key: str, description: str
) -> dg.SensorDefinition:
    @dg.sensor(
        name=name,
        job=job,
        minimum_interval_seconds=60,
        description=description,
        default_status=dg.DefaultSensorStatus.STOPPED,
    )
    def _sensor(context: dg.SensorEvaluationContext, intercom: IntercomResource):
        cursor = int(context.cursor) if context.cursor else None
        if cursor is None:
            # first tick: start from now; history is the backfill's job, not the sensor's
            context.update_cursor(str(int(datetime.now().timestamp())))
            return dg.SkipReason("cursor initialised; watching for changes from now on")
        days, newest = changed_days(intercom, entity, key, cursor)
        context.update_cursor(str(newest))
        if not days:
            return dg.SkipReason(f"no {entity} updated since the cursor")
        return requests_for(days, name)

    return _sensor


@dg.run_failure_sensor(
    name="sync_failure_audit",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed sync run in the audit log.",
)
def sync_failure_audit(context: dg.RunFailureSensorContext):
    """A failed run becomes an observation of the ``sync_audit`` asset: the audit log is Dagster's
    own event history, so a failure is visible beside the materializations it interrupted."""
    run = context.dagster_run
    failure = context.failure_event
    context.instance.report_runless_asset_event(
        dg.AssetObservation(
            asset_key="sync_audit",
            metadata={
                "event": "run_failed",
                "run_id": run.run_id,
                "job": run.job_name,
                "partition": run.tags.get("dagster/partition")
                or f"{run.tags.get('dagster/asset_partition_range_start', '')}.."
                f"{run.tags.get('dagster/asset_partition_range_end', '')}",
                "message": (failure.message or "")[:2000] if failure else "",
                "steps_failed": json.dumps([e.step_key for e in context.get_step_failure_events()]),
            },
        )
    )


# the asset the failure sensor reports on, declared so the UI shows it
sync_audit = dg.AssetSpec(
    "sync_audit",
    group_name="quality",
    kinds={"dagster"},
    description="Failed sync runs, recorded by the sync_failure_audit sensor.",
)


def build_webhook_sensor(
    people_job: Any, conversations_job: Any, queue_path: str
) -> dg.SensorDefinition:
    """Turns queued webhook notifications into runs: conversation topics sync the conversation's
    day, contact and data-event topics the person's day (new lead, lead -> user, MQL events)."""

    @dg.sensor(
        name="intercom_webhook_sensor",
        jobs=[people_job, conversations_job],
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Runs for the days touched by webhooks the receiver queued.",
    )
    def _sensor(context: dg.SensorEvaluationContext):
        from pathlib import Path

        from intercom_salesforce.webhooks.queue import WebhookQueue

        tz = ZoneInfo(workspace_timezone())
        wanted: dict[tuple[str, str], int] = {}
        for note in WebhookQueue(Path(queue_path)).take():
            job = conversations_job if note.topic.startswith("conversation") else people_job
            ts = note.updated_at or int(datetime.now().timestamp())
            day = datetime.fromtimestamp(ts, tz).date().isoformat()
            key = (job.name, day)
            wanted[key] = max(wanted.get(key, 0), ts)
        if not wanted:
            return dg.SkipReason("no webhook notifications waiting")
        return [
            dg.RunRequest(
                run_key=f"webhook:{job}:{day}:{ts}",
                job_name=job,
                partition_key=day,
                tags={"intercom_salesforce/trigger": "intercom_webhook_sensor"},
            )
            for (job, day), ts in sorted(wanted.items())
        ]

    return _sensor
