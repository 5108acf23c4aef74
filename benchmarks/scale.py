"""The scale run: the people and conversation syncs of a large world, then a 1% incremental sync.

    .venv/bin/python benchmarks/scale.py [--contacts 1000000] [--change 0.01]
        [--allowance 1000000] [--collections-sample 2000] [--profile]
        [--profile-incremental] [--keep] [--write benchmarks/RESULTS.md]

A sandbox seeded like ``sandbox seed --contacts N`` (companies N/8, conversations N/2: 125,000
and 500,000 at a million), both emulators at zero latency, each in a process of its own (so their
CPU time is theirs, read from ``/proc``), Intercom's allowance raised to ``--allowance`` calls a
minute. Four sync runs, each in a child process (``scale_child.py``) measured per stage
(extract, check, match, map, push): the full people sync, the conversation sync, and, after
``--change`` of all contacts get a new ``region`` custom attribute, the people sync again
(incremental) as the hourly schedule runs it, over yesterday and today; then, after another
``--change`` of them, over the whole window, as a backfill's re-run would. Intercom calls are set
against the minimum for what was read; Salesforce calls are read from the emulator's request log
and usage counter. Then, on the same Salesforce emulator, a sample of Leads is loaded through
simple-salesforce's REST sObject Collections (200 a call) to compare call counts with the Bulk
API 2.0 push. ``--profile`` runs the full people sync under cProfile and reports its top entries,
``--profile-incremental`` the incremental sync. cProfile's own cost is then part of the CPU
measured: it traces every Python call on the main thread, where the per-record reads run too (a
million contacts' data events are some 120 million calls), so the CPU targets are measured without
it. ``--write`` replaces this run's section of that
file (``# Scale run``) and leaves every other section as it is; the figures also go to
``benchmarks/results/scale-<N>.json``, which a larger run reads to compare peak RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from push_people import CREDENTIAL_VARS, SEED, TIMEZONE, child_env, child_report  # noqa: E402
from results_file import write_section  # noqa: E402
from scale_report import HEADING, render  # noqa: E402
from throughput import machine  # noqa: E402

RESULTS = Path(__file__).with_name("results")


def serve(kind: str, root: str, allowance: int, ready: Any, stop: Any) -> None:
    """Child process: serve one emulator (``intercom`` or ``salesforce``) until told to stop."""
    import logging

    from intercom_salesforce.sandbox.serving import start_in_thread

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if kind == "intercom":
        from intercom_salesforce.sandbox.intercom import (
            IntercomEmulatorConfig,
            IntercomStore,
            create_app,
        )

        config = IntercomEmulatorConfig(timezone=TIMEZONE, rate_limit_per_minute=allowance)
        server = start_in_thread(create_app(IntercomStore(Path(root) / "intercom.sqlite"), config))
    else:
        from intercom_salesforce.sandbox.salesforce import (
            SalesforceEmulatorConfig,
            SalesforceStore,
            create_app,
        )
        from intercom_salesforce.sandbox.tls import ensure_tls

        app = create_app(
            SalesforceStore(Path(root) / "salesforce.sqlite"),
            SalesforceEmulatorConfig(daily_api_requests=100_000_000),
        )
        server = start_in_thread(app, ssl_context=ensure_tls(Path(root)).ssl_context)
    ready.put((kind, server.url, os.getpid()))
    stop.wait()
    server.stop()


class Emulators:
    """Both emulators, each in a spawned process of its own."""

    def __init__(self, root: Path, allowance: int):
        from intercom_salesforce.sandbox.tls import ensure_tls

        ensure_tls(root)  # once, before the Salesforce process reads it
        ctx = mp.get_context("spawn")
        ready, self.halt = ctx.Queue(), ctx.Event()
        self.procs = [
            ctx.Process(target=serve, args=(k, str(root), allowance, ready, self.halt), daemon=True)
            for k in ("intercom", "salesforce")
        ]
        for p in self.procs:
            p.start()
        got = {k: (url, pid) for k, url, pid in (ready.get(timeout=600) for _ in self.procs)}
        self.urls = {k: v[0] for k, v in got.items()}
        self.pids = {k: v[1] for k, v in got.items()}
        self.root = root

    def stop(self) -> None:
        self.halt.set()
        for p in self.procs:
            p.join(timeout=30)


# -- Salesforce's side of a run -------------------------------------------------------------


def api_usage(root: Path) -> int:
    """The Salesforce emulator's count of API calls (its ``DailyApiRequests`` used)."""
    con = sqlite3.connect(f"file:{root / 'salesforce.sqlite'}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'api_usage'").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def call_kind(method: str, path: str) -> str:
    """What a Salesforce call was for: Bulk ingest calls split into uploads, polls and the rest."""
    if "/jobs/ingest" in path:
        if path.endswith("/batches"):
            return "bulk_upload"
        if method == "GET" and path.rstrip("/").split("/")[-2] == "ingest":
            return "bulk_poll"
    for marker, kind in (
        ("/jobs/ingest", "bulk_ingest"),
        ("/jobs/query", "bulk_query"),
        ("/composite/sobjects", "collections"),
        ("/oauth2", "auth"),
        ("/describe", "describe"),
    ):
        if marker in path:
            return kind
    return "other"


def salesforce_calls(emu: Emulators, since: float, ca: str) -> dict[str, int]:
    """Calls in the emulator's request log since ``since`` (Unix seconds), by kind."""
    log = requests.get(emu.urls["salesforce"] + "/_sandbox/requests", verify=ca, timeout=60).json()
    counts: dict[str, int] = {}
    for entry in log:
        stamp = datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        if stamp >= since and not entry["path"].startswith("/_sandbox"):
            kind = call_kind(entry["method"], entry["path"])
            counts[kind] = counts.get(kind, 0) + 1
    return counts


# -- the runs -------------------------------------------------------------------------------


def sync(
    env: dict[str, str],
    emu: Emulators,
    job: str,
    window: tuple[str, str],
    args: Any,
    ca: str,
    profile: bool = False,
) -> dict[str, Any]:
    """One sync run in a child process; its report with the Salesforce calls it made."""
    payload = {
        "job": job,
        "first": window[0],
        "last": window[1],
        "pids": emu.pids,
        "allowance": args.allowance,
        "profile": profile,
    }
    since, usage = time.time(), api_usage(emu.root)
    child = str(Path(__file__).with_name("scale_child.py"))
    # a failed run is reported (completes: not met) with the figures of the others
    report = child_report([child, json.dumps(payload)], env, f"{job} sync", allow_failure=True)
    report["salesforce_calls"] = api_usage(emu.root) - usage
    report["salesforce_calls_by_kind"] = salesforce_calls(emu, since, ca)
    return report


def change_contacts(state: Any, share: float, round_: int = 1) -> int:
    """A new ``region`` on ``share`` of all contacts (updated_at moves to now), as a PUT does;
    each round picks its own contacts and values."""
    from intercom_salesforce.sandbox.intercom.store import IntercomStore

    store = IntercomStore(state.intercom_db)
    try:
        ids = [r[0] for r in store.query("SELECT id FROM contacts ORDER BY id")]
        picked = random.Random(round_).sample(ids, max(1, round(len(ids) * share)))
        for i, contact_id in enumerate(picked):
            region = f"SCALE{i}" if round_ == 1 else f"SCALE{round_}-{i}"
            store.update_contact(contact_id, custom_attributes={"region": region})
    finally:
        store.close()
    return len(picked)


def collections_sample(emu: Emulators, n: int, ca: str) -> dict[str, Any]:
    """Create ``n`` Leads through REST sObject Collections, 200 a call, with simple-salesforce."""
    from intercom_salesforce.resources.salesforce import SalesforceResource
    from intercom_salesforce.settings import SANDBOX_SF_CLIENT_ID, SANDBOX_SF_CLIENT_SECRET

    sf = (
        SalesforceResource(
            mode="sandbox",
            login_url=emu.urls["salesforce"],
            auth_flow="client_credentials",
            client_id=SANDBOX_SF_CLIENT_ID,
            client_secret=SANDBOX_SF_CLIENT_SECRET,
            ca_bundle=ca,
        )
        .client()
        .sf
    )
    rows = [
        {
            "attributes": {"type": "Lead"},
            "LastName": f"Collections{i}",
            "Company": f"Scale Co {i % 500}",
            "Email": f"collections{i}@scale.example.com",
        }
        for i in range(n)
    ]
    since, usage, sent, started = time.time(), api_usage(emu.root), 0, time.monotonic()
    for i in range(0, n, 200):
        body = json.dumps({"allOrNone": False, "records": rows[i : i + 200]})
        sent += len(body.encode())
        results = sf.restful("composite/sobjects", method="POST", data=body)
        assert all(r.get("success") for r in results), results[:3]
    return {
        "rows": n,
        "seconds": round(time.monotonic() - started, 2),
        "calls": api_usage(emu.root) - usage,
        "calls_by_kind": salesforce_calls(emu, since, ca),
        "bytes": sent,
    }


def partition_window(env: dict[str, str]) -> tuple[str, str]:
    from intercom_salesforce import settings
    from intercom_salesforce.cli.demo import partition_range

    window = partition_range(settings.build_intercom(env))
    assert window is not None, "the seeded Intercom holds no contacts"
    return window


def schedule_window(window: tuple[str, str]) -> tuple[str, str]:
    """The hourly schedule's partitions on the window's last day: that day and the one before
    (``automation/schedules.py``), as the window's first day at the earliest."""
    from datetime import date, timedelta

    last = date.fromisoformat(window[1])
    return max(window[0], (last - timedelta(days=1)).isoformat()), window[1]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from intercom_salesforce.sandbox.runtime import SandboxState, seed
    from intercom_salesforce.sandbox.world import WorldSize

    home = Path(tempfile.mkdtemp(prefix=f"scale-{args.contacts}-"))
    state = SandboxState(home / "var" / "sandbox")
    print(f"{args.contacts:,} contacts: seeding under {home} ...", flush=True)
    info = seed(state, WorldSize(contacts=args.contacts), seed_value=SEED, timezone=TIMEZONE)
    print(f"  seeded in {info['seconds']} s: {info['intercom']}", flush=True)
    emu = Emulators(state.root, args.allowance)
    ca = str(state.root / "tls" / "ca.pem")
    out: dict[str, Any] = {"contacts": args.contacts, "seed": info, "runs": {}}
    try:
        env = child_env(home, (emu.urls["intercom"], emu.urls["salesforce"]))
        window = partition_window(env)
        out["window"] = window
        for label, job in (("people (full)", "people"), ("conversations (full)", "conversations")):
            profile = args.profile and job == "people"
            out["runs"][label] = sync(env, emu, job, window, args, ca, profile)
            print(f"  {label}: {out['runs'][label]['seconds']:.1f} s", flush=True)
        # the incremental sync as the hourly schedule runs it (yesterday and today), then again
        # over the whole window (a backfill's re-run), each after its own share of changes
        out["schedule_window"] = schedule_window(window)
        incrementals = (
            (f"people ({args.change:.0%} incremental)", out["schedule_window"]),
            (f"people ({args.change:.0%} incremental, whole window)", window),
        )
        for round_, (label, days) in enumerate(incrementals, start=1):
            out["changed"] = change_contacts(state, args.change, round_)
            print(f"  changed {out['changed']:,} contacts", flush=True)
            profile = args.profile_incremental and round_ == 1
            out["runs"][label] = sync(env, emu, "people", days, args, ca, profile)
            print(f"  {label}: {out['runs'][label]['seconds']:.1f} s", flush=True)
        out["collections"] = collections_sample(emu, args.collections_sample, ca)
    finally:
        emu.stop()
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)
    return out


def command_line(args: argparse.Namespace) -> str:
    """The run's command as given from the project's root (``nice`` when the run was niced)."""
    niceness = os.nice(0)
    prefix = f"nice -n {niceness} " if niceness > 0 else ""
    parts = [f"{prefix}.venv/bin/python benchmarks/scale.py", f"--contacts {args.contacts}"]
    if args.change != 0.01:
        parts.append(f"--change {args.change:g}")
    if args.profile:
        parts.append("--profile")
    if args.profile_incremental:
        parts.append("--profile-incremental")
    if args.write:
        parts.append("--write benchmarks/RESULTS.md")
    return " ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--change", type=float, default=0.01)
    parser.add_argument("--allowance", type=int, default=1_000_000, help="Intercom calls/minute")
    parser.add_argument("--collections-sample", type=int, default=2_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the full people sync")
    parser.add_argument(
        "--profile-incremental", action="store_true", help="cProfile the incremental sync"
    )
    parser.add_argument("--keep", action="store_true", help="keep the sandbox and warehouse")
    parser.add_argument("--write", type=Path, help="replace the scale run's section of this file")
    parser.add_argument("--from-json", type=Path, help="only render a run's saved figures")
    args = parser.parse_args()
    for var in CREDENTIAL_VARS:  # the sandbox only
        os.environ.pop(var, None)
    if args.from_json:
        result = json.loads(args.from_json.read_text())
        args.contacts = result["contacts"]
    else:
        started = time.monotonic()
        result = run(args)
        result["wall_s"] = round(time.monotonic() - started, 1)
        result["command"] = command_line(args)
        result["machine"] = machine()
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"scale-{args.contacts}.json").write_text(json.dumps(result, indent=2))
    smaller = RESULTS / "scale-100000.json"
    baseline = (
        json.loads(smaller.read_text()) if args.contacts > 100_000 and smaller.exists() else None
    )
    profiled = [label for label, r in result["runs"].items() if r.get("profile")]
    args.profile = any(label.startswith("people (full") for label in profiled)
    args.profile_incremental = any("incremental" in label for label in profiled)
    text = render(result, baseline, result.get("command") or command_line(args))
    print(text)
    if args.write:
        write_section(args.write, text, HEADING)
    return 0 if all(r["success"] for r in result["runs"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
