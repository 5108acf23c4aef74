"""The incremental sync on a schedule over the current (workspace-local) day's partition."""

import os

import dagster as dg

from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.settings import workspace_timezone


def hourly_current_partition_schedule(job) -> dg.ScheduleDefinition:
    """Every hour (``SYNC_SCHEDULE_CRON`` to change it), sync today's partition.

    Re-running the same day is cheap and safe: extraction replaces the day's rows and the push
    sends only what changed since the last successful push.
    """

    @dg.schedule(
        name=f"{job.name}_hourly",
        job=job,
        cron_schedule=os.environ.get("SYNC_SCHEDULE_CRON", "5 * * * *"),
        execution_timezone=workspace_timezone(),
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        key = daily_partitions.get_last_partition_key(current_time=context.scheduled_execution_time)
        return dg.RunRequest(
            run_key=f"{key}@{context.scheduled_execution_time.isoformat()}", partition_key=key
        )

    return _schedule
