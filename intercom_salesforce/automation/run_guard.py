"""Runs that died are ended and their pool slots freed; a run that must wait says why.

Every warehouse step holds the single slot of the ``duckdb_warehouse`` pool while it runs. A
run whose process is killed (SIGKILL, OOM, a lost machine) never gives it back and stays
``STARTED`` forever, so every later run waits for a slot nobody will free. Dagster's run
monitoring frees the slots of runs that *ended* (``free_slots_after_run_end_seconds`` in both
instance configurations), but the default run launcher cannot tell that a worker died, and a run
executed in process (the CLI, ``make demo``) has no launcher at all. So:

* every run knows its process: runs started here carry the pid and host as tags; runs launched by
  Dagster's run launcher log ``Started process for run (pid: N)``;
* :func:`reap_dead_runs` marks a started run whose process is gone as failed, with the reason,
  and frees every slot held by a run that is no longer running. The CLI calls it before it starts
  a run, and the ``stale_run_sensor`` does it under the daemon;
* :func:`wait_for_pool` waits, saying which run holds the pool, and obeys SIGINT and SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from dagster._core.events import DagsterEventType

PID_TAG = "intercom_salesforce/pid"
HOST_TAG = "intercom_salesforce/host"
ACTIVE = [
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.CANCELING,
]


def process_tags() -> dict[str, str]:
    """Tags that let a later process tell whether this run's process is still alive."""
    return {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}


@dataclass(frozen=True)
class Holder:
    """A run holding (or waiting for) a pool slot."""

    run_id: str
    step_key: str
    status: str


def _started_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    """The run worker's pid: our tag, or the engine event the run launcher's worker logs."""
    if run.tags.get(PID_TAG, "").isdigit():
        return int(run.tags[PID_TAG])
    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=20
    ).records
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.engine_event_data if event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None and str(pid.value).isdigit():
            return int(pid.value)
    return None


def _process_alive(pid: int, not_after: float | None) -> bool:
    """Whether ``pid`` is a live process that was started no later than the run (pids are
    reused: a newer process with the same pid is not the run's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if not_after is None or not stat.exists():
        return True
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        if fields[0] == "Z":  # a zombie has exited; only its parent has not reaped it
            return False
        ticks = int(fields[19])
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime")
        )
    except (OSError, IndexError, ValueError, StopIteration):
        return True
    started = boot + ticks / os.sysconf("SC_CLK_TCK")
    return started <= not_after + 2


def run_is_dead(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """Why an active run can no longer be running, or None when it may be."""
    host = run.tags.get(HOST_TAG)
    if host and host != socket.gethostname():
        return None  # another machine's process: its own instance monitoring decides
    pid = _started_pid(instance, run)
    if pid is None:
        return None
    record = instance.get_run_record_by_id(run.run_id)
    started = record.start_time if record else None
    if _process_alive(pid, started):
        return None
    return f"its process {pid} on {socket.gethostname()} is gone (killed or crashed)"


def reap_dead_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """End active runs whose process died and free the pool slots of runs not running.

    Returns the ids of the runs it ended or whose slots it freed.
    """
    touched: list[str] = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE)):
        reason = run_is_dead(instance, run)
        if reason is None:
            continue
        instance.report_run_failed(run, f"Run {run.run_id} was ended: {reason}.")
        log(
            f"run {run.run_id} ({run.job_name}) was still marked running, but {reason}: "
            "marked failed"
        )
        touched.append(run.run_id)
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return touched
    for run_id in storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            log(f"freed the pool slots still held by ended run {run_id}")
            touched.append(run_id)
    return touched


def pool_holders(instance: dg.DagsterInstance, pool: str) -> tuple[int | None, list[Holder]]:
    """The pool's limit and the runs holding its slots (None: the pool has no limit)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return None, []
    info = storage.get_concurrency_info(pool)
    holders = []
    for slot in info.claimed_slots:
        run = instance.get_run_by_id(slot.run_id)
        status = run.status.value if run else "unknown"
        holders.append(Holder(slot.run_id, slot.step_key, status))
    limit = info.slot_count if info.slot_count or holders else None
    return limit, holders


class Interrupted(SystemExit):
    """SIGTERM (or SIGINT) while waiting: leave without starting the run."""


@contextmanager
def signals_end_waiting() -> Iterator[None]:
    """Within the block, SIGTERM ends the process as SIGINT would, even in a sleep."""

    def stop(signum: int, _frame: object) -> None:
        raise Interrupted(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def wait_for_pool(
    instance: dg.DagsterInstance,
    pool: str,
    *,
    log: Callable[[str], None] = print,
    poll_seconds: float = 2.0,
    say_every_seconds: float = 30.0,
    timeout_seconds: float | None = None,
) -> None:
    """Block until ``pool`` has a free slot, ending dead runs on the way and saying who holds it.

    Raises :class:`TimeoutError` after ``timeout_seconds``; SIGINT and SIGTERM end the wait.
    """
    started = time.monotonic()
    said = -say_every_seconds
    with signals_end_waiting():
        while True:
            reap_dead_runs(instance, log)
            limit, holders = pool_holders(instance, pool)
            if limit is None or len(holders) < limit:
                return
            waited = time.monotonic() - started
            if timeout_seconds is not None and waited > timeout_seconds:
                raise TimeoutError(f"pool {pool} still held after {waited:.0f} s: {holders}")
            if waited - said >= say_every_seconds:
                who = ", ".join(f"run {h.run_id} ({h.status}, step {h.step_key})" for h in holders)
                log(
                    f"[{datetime.now(UTC):%H:%M:%S}] waiting for the {pool} pool "
                    f"({limit} slot(s)), held by {who}; Ctrl-C to stop"
                )
                said = waited
            time.sleep(poll_seconds)
