"""One sync run of the scale benchmark, in a process of its own, measured stage by stage.

Called by ``scale.py`` with a JSON argument (``job``: ``people`` or ``conversations``, ``first`` /
``last`` partition keys, ``pids`` of the emulator processes, ``allowance`` per minute). A sampler
thread records, every 0.1 s, this process's CPU seconds and resident memory and each emulator
process's CPU seconds (``/proc/<pid>/stat``). After the run, Dagster's event log gives each
step's start and end; a wrapper around ``SalesforceClient.ingest_all`` gives the Bulk API work
inside the push assets. Each stage's figures are the samples' differences over its intervals:
``map`` is the push assets' steps less their Bulk work, ``push`` the Bulk work. Prints one JSON
line.
"""

from __future__ import annotations

import bisect
import cProfile
import io
import json
import os
import pstats
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
MATCH_STEPS = {"company_matches", "person_matches"}
PUSH_STEPS = {
    "salesforce_account_upserts",
    "salesforce_lead_upserts",
    "salesforce_contact_upserts",
    "salesforce_conversations",
}
Interval = tuple[float, float]


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def own_rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE_MB


THREADS = ("main", "python_workers", "native")  # where the pipeline's own CPU goes


class ThreadCpu:
    """CPU seconds of this process by kind of thread: the main thread (Dagster, the page loop,
    DuckDB calls), other Python threads (the worker pools' HTTP reads) and native threads
    (DuckDB's). A thread that ended keeps the last figure seen for it."""

    def __init__(self) -> None:
        self.seen: dict[int, tuple[str, float]] = {}

    def kind(self, tid: int, python: dict[int, str]) -> str:
        if tid == threading.main_thread().native_id:
            return "main"
        return "python_workers" if tid in python else "native"

    def totals(self) -> tuple[float, ...]:
        python = {t.native_id: t.name for t in threading.enumerate() if t.native_id}
        for task in Path("/proc/self/task").iterdir():
            tid = int(task.name)
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # ended meanwhile
            kind = self.seen[tid][0] if tid in self.seen else self.kind(tid, python)
            self.seen[tid] = (kind, (int(fields[11]) + int(fields[12])) / TICKS)
        return tuple(sum(c for k, c in self.seen.values() if k == kind) for kind in THREADS)


class Sampler(threading.Thread):
    """Samples (time, own CPU, own RSS MB, each emulator's CPU, own CPU by thread kind) until
    stopped."""

    def __init__(self, pids: dict[str, int], every: float = 0.1):
        super().__init__(daemon=True, name="scale-sampler")
        self.pids, self.every = pids, every
        self.samples: list[tuple[float, ...]] = []
        self.done = threading.Event()
        self.threads = ThreadCpu()

    def sample(self) -> tuple[float, ...]:
        emulators = (proc_cpu(pid) for pid in self.pids.values())
        own = (time.time(), time.process_time(), own_rss_mb())
        return (*own, *emulators, *self.threads.totals())

    def run(self) -> None:
        self.samples.append(self.sample())
        while not self.done.wait(self.every):
            self.samples.append(self.sample())

    def stop(self) -> None:
        self.done.set()
        self.join()
        self.samples.append(self.sample())

    def at(self, t: float, column: int) -> float:
        """The column's value at time ``t``, interpolated between the two nearest samples."""
        times = [s[0] for s in self.samples]
        i = bisect.bisect_left(times, t)
        if i <= 0:
            return self.samples[0][column]
        if i >= len(times):
            return self.samples[-1][column]
        (t0, *_), (t1, *_) = self.samples[i - 1], self.samples[i]
        v0, v1 = self.samples[i - 1][column], self.samples[i][column]
        return v0 + (v1 - v0) * (t - t0) / max(t1 - t0, 1e-9)

    def delta(self, intervals: list[Interval], column: int) -> float:
        return sum(self.at(b, column) - self.at(a, column) for a, b in intervals)

    def peak(self, intervals: list[Interval], column: int = 2) -> float:
        inside = [s[column] for s in self.samples if any(a <= s[0] <= b for a, b in intervals)]
        edges = [self.at(t, column) for iv in intervals for t in iv]
        return max(inside + edges, default=0.0)


def stage_of(step: str, extract_steps: set[str]) -> str:
    if step in extract_steps:
        return "extract"
    if step in MATCH_STEPS:
        return "match"
    if step in PUSH_STEPS:
        return "map"
    if step == "review_queue_summary":
        return "other"
    return "check"


def step_intervals(instance: Any, run_id: str) -> dict[str, Interval]:
    """Each step's (start, end) in Unix seconds, from the run's event log."""
    started: dict[str, float] = {}
    spans: dict[str, Interval] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            started[entry.step_key] = entry.timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in started:
            spans[entry.step_key] = (started[entry.step_key], entry.timestamp)
    return spans


def stage_figures(sampler: Sampler, intervals: list[Interval], less: list[Interval]) -> dict:
    """Wall, own CPU, peak RSS and emulator CPU over ``intervals`` minus ``less``."""
    figures = {
        "wall_s": sum(b - a for a, b in intervals) - sum(b - a for a, b in less),
        "cpu_s": sampler.delta(intervals, 1) - sampler.delta(less, 1),
        "peak_rss_mb": sampler.peak(intervals),
    }
    columns = [f"{name}_emulator_cpu_s" for name in sampler.pids]
    columns += [f"{kind}_cpu_s" for kind in THREADS]
    for i, name in enumerate(columns):
        figures[name] = sampler.delta(intervals, 3 + i) - sampler.delta(less, 3 + i)
    return {k: round(v, 2) for k, v in figures.items()}


def stages(
    sampler: Sampler, spans: dict[str, Interval], bulk: list[Interval], extract_steps: set[str]
) -> dict[str, dict]:
    by_stage: dict[str, list[Interval]] = {}
    for step, span in spans.items():
        by_stage.setdefault(stage_of(step, extract_steps), []).append(span)
    out = {
        name: stage_figures(sampler, ivs, bulk if name == "map" else [])
        for name, ivs in by_stage.items()
    }
    if bulk:
        out["push"] = stage_figures(sampler, bulk, [])
    out["steps"] = {k: stage_figures(sampler, [span], []) for k, span in spans.items()}
    return out


def timed_ingest(bulk: list[Interval]) -> None:
    """Record the interval of every ``ingest_all`` (the push's Bulk API work)."""
    from intercom_salesforce.resources.salesforce import SalesforceClient

    original = SalesforceClient.ingest_all

    def ingest_all(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.time()
        try:
            return original(self, *args, **kwargs)
        finally:
            bulk.append((started, time.time()))

    SalesforceClient.ingest_all = ingest_all  # type: ignore[method-assign]


def selection(job: str) -> tuple[list[Any], list[Any]]:
    """The job's assets (as the Dagster job selects them) and the checks on them."""
    from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
    from intercom_salesforce.definitions import CONVERSATION_ASSETS, SYNC_ASSETS

    assets = SYNC_ASSETS if job == "people" else CONVERSATION_ASSETS
    names = {a.key.to_user_string() for a in assets}
    return list(assets), [c for entity, c in CHECKS_BY_ENTITY.items() if entity in names]


def metadata(result: Any, assets: list[Any]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for asset in assets:
        name = asset.key.to_user_string()
        mats = result.asset_materializations_for_node(name)
        if mats:
            out[name] = {
                k: (v.value if isinstance(v.value, int | float | str | bool) else str(v.value))
                for k, v in mats[-1].metadata.items()
                if k not in ("sample", "truncated_sample", "api_calls_by_endpoint")
            }
            calls = mats[-1].metadata.get("api_calls_by_endpoint")
            if calls is not None:
                out[name]["api_calls_by_endpoint"] = calls.value
    return out


def top_entries(profiler: cProfile.Profile, n: int = 15) -> str:
    """The run's main thread: the functions holding the most time of their own."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(n)
    return out.getvalue()


def our_entries(profiler: cProfile.Profile, n: int = 25) -> str:
    """The project's own functions by cumulative time: which step's SQL or calls hold it."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"intercom_salesforce[/\\]assets", n)
    return out.getvalue()


def main(args: dict[str, Any]) -> int:
    import dagster as dg

    from intercom_salesforce import settings
    from intercom_salesforce.assets.extract.records import RECORD_ASSETS
    from intercom_salesforce.assets.mirror.salesforce_objects import MIRROR_ASSETS
    from intercom_salesforce.resources.intercom import IntercomResource

    bulk: list[Interval] = []
    timed_ingest(bulk)
    assets, checks = selection(args["job"])
    resources = settings.build_resources()
    resources["intercom"] = IntercomResource(
        access_token=settings.SANDBOX_INTERCOM_TOKEN,
        base_url=settings.sandbox_intercom_url(os.environ),
        mode="sandbox",
        rate_limit_per_minute=args["allowance"],
    )
    instance = dg.DagsterInstance.ephemeral()
    sampler = Sampler(args["pids"])
    profiler = cProfile.Profile() if args.get("profile") else None
    sampler.start()
    started = time.monotonic()
    if profiler:
        profiler.enable()
    result = dg.materialize(
        [*assets, *checks],
        resources=resources,
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": args["first"],
            "dagster/asset_partition_range_end": args["last"],
        },
        raise_on_error=False,
    )
    seconds = time.monotonic() - started
    if profiler:
        profiler.disable()
    sampler.stop()
    extract_steps = {a.key.to_user_string() for a in [*RECORD_ASSETS, *MIRROR_ASSETS]}
    report: dict[str, Any] = {
        "success": result.success,
        "seconds": round(seconds, 2),
        "cpu_s": round(sum(os.times()[:2]), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "stages": stages(sampler, step_intervals(instance, result.run_id), bulk, extract_steps),
        "assets": metadata(result, assets),
        "checks": {
            e.check_name: {"passed": e.passed, "rows": e.metadata.get("rows_checked")}
            for e in result.get_asset_check_evaluations()
        },
    }
    for check in report["checks"].values():
        rows = check["rows"]
        check["rows"] = rows.value if rows is not None else None
    if profiler:
        report["profile"] = top_entries(profiler)
        report["profile_ours"] = our_entries(profiler)
    if not result.success:
        report["errors"] = [str(e.message)[:2000] for e in result.all_events if e.is_failure]
    print(json.dumps(report))
    return 0 if result.success else 1


if __name__ == "__main__":
    raise SystemExit(main(json.loads(sys.argv[1])))
