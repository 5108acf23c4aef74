"""Sensors: new or updated conversations and contacts start a sync of their partitions; failed
runs are recorded in the audit log.

The change sensors poll Intercom's search endpoints with a cursor (the newest ``updated_at`` seen)
and ask for one run per affected workspace-local day. Contact search matches dates by whole days,
so the query asks from the cursor's day and the cursor is applied exactly on our side. A run key
per (day, newest change) makes a repeated tick a no-op.
"""

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.settings import sensor_interval_seconds, workspace_timezone
from intercom_salesforce.webhooks.queue import BadTimestamp, WebhookQueue, epoch_seconds
from intercom_salesforce.webhooks.queue import Notification as WebhookNotification

MAX_PAGES_PER_TICK = 20


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
        minimum_interval_seconds=sensor_interval_seconds(name),
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
    minimum_interval_seconds=sensor_interval_seconds("sync_failure_audit"),
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


# notifications read per tick; the rest wait for the next one
WEBHOOK_BATCH = 500
# an item stamped this far ahead of our clock is read as "now"; further ahead it is quarantined
WEBHOOK_CLOCK_SKEW_SECONDS = 300
# Unix seconds reach 10^11 in the year 5138: a larger value is milliseconds (or garbage)
_LARGEST_PLAUSIBLE_SECONDS = 100_000_000_000


def webhook_partition(
    note: WebhookNotification, partitions_def: dg.PartitionsDefinition, tz: ZoneInfo, now: float
) -> tuple[str, int]:
    """(partition day, timestamp) a notification asks to sync, or ``BadTimestamp`` with why not.

    Each notification is judged alone, so one bad value costs only itself. A day must be a key of
    the job's partitions: a run request for a day before the first partition (or after today)
    would fail the whole tick, and with it every other notification of the batch.
    """
    if note.problem:
        raise BadTimestamp(note.problem)
    field = note.timestamp_field or "received_at"
    ts = int(note.received_at) if note.timestamp is None else epoch_seconds(note.timestamp)
    if ts < 0:
        raise BadTimestamp(f"{field} {ts} is negative")
    if ts >= _LARGEST_PLAUSIBLE_SECONDS:
        raise BadTimestamp(f"{field} {ts} is too large for Unix seconds (milliseconds?)")
    if ts > now + WEBHOOK_CLOCK_SKEW_SECONDS:
        raise BadTimestamp(f"{field} {ts} is in the future")
    ts = min(ts, int(now))  # within the allowed clock skew: today, not a day that does not exist
    day = datetime.fromtimestamp(ts, tz).date().isoformat()
    if not partitions_def.has_partition_key(day):
        first = partitions_def.get_first_partition_key()
        where = "before the first partition" if first and day < first else "outside the partitions"
        raise BadTimestamp(f"{field} {ts} falls on {day}, {where} ({first} onwards)")
    return day, ts


def _acknowledged(cursor: str | None, queue: WebhookQueue) -> int:
    """The last queue ``seq`` a committed tick asked runs for, or 0.

    0 when there is no cursor yet, it is unreadable, or it was written against another queue file
    (deleted and recreated since): then nothing is confirmed, and pending notifications are asked
    for again under the same run keys, which Dagster does not launch twice.
    """
    try:
        state = json.loads(cursor or "{}")
        seq = int(state["seq"]) if state.get("queue") == queue.instance else 0
    except (ValueError, TypeError, KeyError, AttributeError):
        return 0
    return max(0, seq)


def build_webhook_sensor(
    people_job: Any, conversations_job: Any, queue_path: str
) -> dg.SensorDefinition:
    """Turns queued webhook notifications into runs: conversation topics sync the conversation's
    day, contact and data-event topics the person's day (new lead, lead -> user, MQL events).

    Notifications stay pending until a tick that asked for their runs is committed: the cursor
    carries the queue file's id and the last ``seq`` asked for, and the next tick marks everything
    up to it consumed. A tick that fails, at any point, leaves them pending, and the retry asks for
    the same runs under the same run keys. A notification whose time cannot place it on a partition is quarantined with
    the reason (``WebhookQueue.quarantined()``) and logged, and never blocks the others.
    """

    @dg.sensor(
        name="intercom_webhook_sensor",
        jobs=[people_job, conversations_job],
        minimum_interval_seconds=sensor_interval_seconds("intercom_webhook_sensor"),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description="Runs for the days touched by webhooks the receiver queued.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        queue = WebhookQueue(Path(queue_path))
        acknowledged = _acknowledged(context.cursor, queue)
        if acknowledged:
            queue.acknowledge(acknowledged)
        tz = ZoneInfo(workspace_timezone())
        now = datetime.now().timestamp()
        wanted: dict[tuple[str, str], int] = {}
        notes = queue.pending(WEBHOOK_BATCH)
        for note in notes:
            job = conversations_job if note.topic.startswith("conversation") else people_job
            try:
                day, ts = webhook_partition(note, job.partitions_def, tz, now)
            except BadTimestamp as exc:
                queue.quarantine(note.seq, str(exc))
                context.log.warning(f"webhook notification {note.id} quarantined: {exc}")
                continue
            wanted[(job.name, day)] = max(wanted.get((job.name, day), 0), ts)
        seq = max([acknowledged, *(n.seq for n in notes)])
        cursor = json.dumps({"queue": queue.instance, "seq": seq})
        if not wanted:
            skip = f"{len(notes)} quarantined" if notes else "no webhook notifications waiting"
            return dg.SensorResult(skip_reason=skip, cursor=cursor)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"webhook:{job}:{day}:{ts}",
                    job_name=job,
                    partition_key=day,
                    tags={"intercom_salesforce/trigger": "intercom_webhook_sensor"},
                )
                for (job, day), ts in sorted(wanted.items())
            ],
            cursor=cursor,
        )

    return _sensor
