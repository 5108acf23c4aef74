"""Under the daemon: runs whose process died are ended and their pool slots freed.

Dagster's run monitoring frees the slots of runs that ended, but the default run launcher cannot
tell that a run worker was killed, so such a run would stay STARTED and hold the warehouse pool
forever. This sensor asks the operating system instead (``run_guard.reap_dead_runs``).
"""

from __future__ import annotations

import dagster as dg

from intercom_salesforce.automation.run_guard import reap_dead_runs
from intercom_salesforce.settings import sensor_interval_seconds


@dg.sensor(
    name="stale_run_sensor",
    minimum_interval_seconds=sensor_interval_seconds("stale_run_sensor"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Ends runs whose process died and frees the pool slots they held.",
)
def stale_run_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    ended = reap_dead_runs(context.instance, context.log.warning)
    return dg.SkipReason(
        f"ended or freed {len(ended)} run(s): {', '.join(ended)}" if ended else "no stale runs"
    )
