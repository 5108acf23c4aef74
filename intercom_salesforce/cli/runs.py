"""Running a sync job in this process, as ``demo`` and ``sync`` do: the Dagster home, the sync
lock, and the job itself."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from intercom_salesforce import settings

if TYPE_CHECKING:
    import dagster as dg

CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def prepare_dagster_home() -> Path:
    """DAGSTER_HOME under var/, holding a copy of the project's dagster.yaml, so a run from the
    command line lands on the instance ``make dev`` shows."""
    home = settings.paths().dagster_home
    home.mkdir(parents=True, exist_ok=True)
    src = settings.project_root() / "dagster.yaml"
    if not src.exists():  # a home outside the checkout: use the checkout's instance config
        src = CHECKOUT_ROOT / "dagster.yaml"
    if src.exists():
        shutil.copyfile(src, home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@contextmanager
def sync_lock(path: Path, poll_seconds: float = 2.0) -> Iterator[None]:
    """One sync at a time per warehouse, across processes and instances.

    An advisory ``flock`` on a file beside the warehouse: the kernel drops it when its process
    dies, however it dies, so a killed run never leaves it held. A second sync waits, saying
    which process holds it; SIGINT and SIGTERM end the wait.
    """
    import fcntl

    from intercom_salesforce.automation.run_guard import signals_end_waiting

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh, signals_end_waiting():
        said = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not said:
                    fh.seek(0)
                    holder = fh.read().strip() or "another process"
                    click.echo(f"waiting for the sync lock {path} held by {holder}; Ctrl-C to stop")
                    said = True
                time.sleep(poll_seconds)
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {datetime.now():%Y-%m-%d %H:%M:%S}\n")
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_job(
    job_name: str,
    first: str,
    last: str,
    source: str,
    *,
    quiet: bool = False,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Execute a sync job over ``first``..``last`` in this process, on the instance at
    ``DAGSTER_HOME``, with ``tags`` besides its own: after taking the sync lock, ending runs that
    died and waiting for the warehouse pool, so a crashed run never wedges this one."""
    import dagster as dg

    from intercom_salesforce.automation.run_guard import process_tags, wait_for_pool
    from intercom_salesforce.definitions import defs
    from intercom_salesforce.warehouse import WAREHOUSE_POOL

    job = defs.resolve_job_def(job_name)
    lock = settings.paths().warehouse.with_name(settings.paths().warehouse.name + ".sync.lock")
    with sync_lock(lock), dg.DagsterInstance.get() as instance:
        wait_for_pool(instance, WAREHOUSE_POOL, log=lambda m: click.echo(m))
        days = (
            {
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            }
            if job.partitions_def is not None
            else {}
        )
        return job.execute_in_process(
            instance=instance,
            tags={**days, "source": source, **(tags or {}), **process_tags()},
            raise_on_error=False,
            run_config=(
                {"loggers": {"console": {"config": {"log_level": "WARNING"}}}} if quiet else {}
            ),
        )


def print_stages(result: dg.ExecuteInProcessResult) -> None:
    """One line per step of a finished run: how long it took, and the rows it wrote with their
    rate where the step reports a row count."""
    import dagster as dg

    rows: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        count = event.materialization.metadata.get("dagster/row_count")
        if event.step_key and count is not None:
            rows[event.step_key] = rows.get(event.step_key, 0) + int(count.value)
    with dg.DagsterInstance.get() as instance:
        stats = instance.get_run_step_stats(result.run_id)
    for step in sorted(stats, key=lambda s: s.start_time or 0):
        seconds = max((step.end_time or 0) - (step.start_time or 0), 0.0)
        line = f"  {step.step_key:<44} {seconds:6.1f} s"
        if step.step_key in rows:
            rate = rows[step.step_key] / seconds if seconds > 0 else 0.0
            line += f"  {rows[step.step_key]:>7,} rows  {rate:>8,.0f} rows/s"
        if step.status is not None and step.status.value != "SUCCESS":
            line += f"  {step.status.value}"
        click.echo(line)


def checks_passed(result: dg.ExecuteInProcessResult) -> bool:
    """Whether the run's quality checks ran and none that blocks failed (none ran: the run
    failed first). A failed row rule is a warning: its records wait in review, the rest go."""
    import dagster as dg

    checks = result.get_asset_check_evaluations()
    return bool(checks) and all(
        c.passed or c.severity == dg.AssetCheckSeverity.WARN for c in checks
    )
