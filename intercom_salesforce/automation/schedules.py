"""The incremental sync on a schedule over yesterday's and today's (workspace-local) partitions."""

import os

import dagster as dg

from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.settings import workspace_timezone

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def current_partition_range(when) -> tuple[str, str]:
    """[yesterday, today] in the workspace's days as of ``when`` (just today on the first day)."""
    keys = daily_partitions.get_partition_keys(current_time=when)
    return keys[max(0, len(keys) - 2)], keys[-1]


def hourly_current_partition_schedule(
    job, env_var: str = "SYNC_SCHEDULE_CRON", default_cron: str = "5 * * * *"
) -> dg.ScheduleDefinition:
    """Every hour (``env_var`` to change it), sync yesterday's and today's partitions.

    One run over the two days: records updated after the previous run, but before midnight, sit
    in yesterday's partition once the day has rolled over, so a run that read only today would
    lose them. Extraction is incremental (only what changed since the last run's mark), and the
    push sends only what changed since the last successful push, so the extra day costs little.
    """

    @dg.schedule(
        name=f"{job.name}_hourly",
        job=job,
        cron_schedule=os.environ.get(env_var, default_cron),
        execution_timezone=workspace_timezone(),
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        first, last = current_partition_range(context.scheduled_execution_time)
        return dg.RunRequest(
            run_key=f"{first}..{last}@{context.scheduled_execution_time.isoformat()}",
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last},
        )

    return _schedule


def hourly_schedule(job, env_var: str, default_cron: str) -> dg.ScheduleDefinition:
    """Every hour (``env_var`` to change it), one run of an unpartitioned job: the safety net of
    a job a sensor normally starts."""
    return dg.ScheduleDefinition(
        name=f"{job.name}_hourly",
        job=job,
        cron_schedule=os.environ.get(env_var, default_cron),
        execution_timezone=workspace_timezone(),
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )
