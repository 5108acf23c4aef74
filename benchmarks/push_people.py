"""The people push (extract -> check -> match -> map -> Bulk API 2.0) at several sizes, three runs each.

    .venv/bin/python benchmarks/push_people.py [--contacts 10000,50000] [--change 0.01] [--keep]
        [--json reports.json]

For each size: a fresh home folder, a sandbox seeded like ``intercom-salesforce demo --contacts N``
(both emulators, seed 7, the demo's ``WorldSize``), both emulators served from this process on
ephemeral ports. Each run materializes ``[*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]``
over the demo's partition range in a child process of its own, so the peak RSS printed is the
sync's alone. Runs per size:

* first:  the whole world is matched and pushed;
* change: ``--change`` of the people whose Lead the first run created get a new custom attribute
  ``region`` in Intercom; only those Leads, with only that column, must be sent;
* idle:   nothing changed; nothing must be sent.

Prints a markdown table (Lead / Contact figures from the upsert assets' metadata), the match
rules, the peak RSS ratio between the largest and the smallest size, and yes/no checks. Exits 1
only when a run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TIMEZONE = "America/Los_Angeles"
SEED = 7  # the demo's (``sandbox seed --seed`` default)
PUSH_ASSETS = ("salesforce_lead_upserts", "salesforce_contact_upserts")
CREDENTIAL_VARS = (
    "INTERCOM_ACCESS_TOKEN",
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_USERNAME",
    "SALESFORCE_PRIVATE_KEY",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_PASSWORD",
)


# -- the child: one sync run, measured -------------------------------------------------------


def child(args: dict[str, Any]) -> int:
    """Materialize the people sync once over ``first`` .. ``last``; print one JSON line."""
    import dagster as dg

    from intercom_salesforce import settings
    from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
    from intercom_salesforce.definitions import SYNC_ASSETS

    started = time.monotonic()
    result = dg.materialize(
        [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]],
        resources=settings.build_resources(),
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": args["first"],
            "dagster/asset_partition_range_end": args["last"],
        },
        raise_on_error=False,
    )
    seconds = time.monotonic() - started
    report: dict[str, Any] = {
        "success": result.success,
        "run_id": result.run_id,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "checks_passed": [c.passed for c in result.get_asset_check_evaluations()],
        "step_seconds": {
            e.step_key: round(e.event_specific_data.duration_ms / 1000, 2)
            for e in result.get_step_success_events()
        },
        "assets": {},
    }
    if not result.success:
        report["errors"] = [str(e.message)[:2000] for e in result.all_events if e.is_failure]
    for name in ("person_matches", *PUSH_ASSETS):
        mats = result.asset_materializations_for_node(name)
        if mats:
            report["assets"][name] = {
                k: (v.value if isinstance(v.value, int | float | str | bool) else str(v.value))
                for k, v in mats[-1].metadata.items()
                if k != "sample"
            }
    print(json.dumps(report))
    return 0 if result.success else 1


# -- the parent: seed, serve, change, report --------------------------------------------------


def child_env(home: Path, urls: tuple[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    var = home / "var"
    env.update(
        INTERCOM_SALESFORCE_HOME=str(home),
        SANDBOX_DIR=str(var / "sandbox"),
        WAREHOUSE_PATH=str(var / "warehouse.duckdb"),
        SYNC_WORK_DIR=str(var / "work"),
        SANDBOX_INTERCOM_URL=urls[0],
        SANDBOX_SALESFORCE_URL=urls[1],
        INTERCOM_WORKSPACE_TIMEZONE=TIMEZONE,
    )
    return env


def child_report(
    args: list[str], env: dict[str, str], what: str, allow_failure: bool = False
) -> dict[str, Any]:
    """Run ``python <args>`` in a process of its own (so its peak RSS and CPU are its own) and
    return the JSON report it prints last. With ``allow_failure`` a failed run that still printed
    its report returns it, with the end of its error output as ``stderr_tail``."""
    proc = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=12 * 3600,
        env=env,
        cwd=ROOT,
    )
    lines = proc.stdout.strip().splitlines()
    reported = bool(lines) and lines[-1].startswith("{")
    if allow_failure and reported and proc.returncode != 0:
        return {**json.loads(lines[-1]), "stderr_tail": proc.stderr[-20000:]}
    if proc.returncode != 0 or not reported:
        raise RuntimeError(f"{what} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


def sync_in_child(env: dict[str, str], first: str, last: str) -> dict[str, Any]:
    started = time.monotonic()
    payload = json.dumps({"first": first, "last": last})
    report = child_report([__file__, "--child", payload], env, "sync run")
    report["process_seconds"] = round(time.monotonic() - started, 2)
    return report


def leads_we_created(warehouse: Path) -> list[str]:
    """Intercom ids whose Lead the sync created (sync_state 'Lead' with a 'created' outcome)."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [
            r[0]
            for r in con.execute(
                "SELECT DISTINCT s.external_id FROM sync.sync_state s "
                "JOIN sync.sync_results r ON r.sobject = s.sobject "
                "AND r.external_id = s.external_id AND r.outcome = 'created' "
                "WHERE s.sobject = 'Lead' ORDER BY 1"
            ).fetchall()
        ]
    finally:
        con.close()


def run_size(n: int, change: float, keep: bool) -> dict[str, Any]:
    from intercom_salesforce import settings
    from intercom_salesforce.cli.demo import partition_range
    from intercom_salesforce.sandbox.intercom.store import IntercomStore
    from intercom_salesforce.sandbox.runtime import SandboxState, seed, start
    from intercom_salesforce.sandbox.world import WorldSize

    home = Path(tempfile.mkdtemp(prefix=f"push-bench-{n}-"))
    state = SandboxState(home / "var" / "sandbox")
    print(f"{n:,} contacts: seeding under {home} ...", flush=True)
    info = seed(state, WorldSize(contacts=n), seed_value=SEED, timezone=TIMEZONE)
    print(f"  seeded in {info['seconds']} s: Intercom {info['intercom']}", flush=True)
    print(f"  Salesforce {info['salesforce']}", flush=True)
    sandbox = start(state)
    runs: dict[str, dict[str, Any]] = {}
    try:
        urls = (sandbox.intercom_url, sandbox.salesforce_url)
        env = child_env(home, urls)
        intercom = settings.build_intercom({"SANDBOX_INTERCOM_URL": urls[0]})
        window = partition_range(intercom)
        assert window is not None, "the seeded Intercom holds no contacts"
        first, last = window
        print(f"  partitions {first} .. {last}", flush=True)

        def run(label: str) -> dict[str, Any]:
            report = sync_in_child(env, first, last)
            runs[label] = report
            print(
                f"  {label:<6} run: {report['seconds']:.1f} s, peak RSS "
                f"{report['peak_rss_mb']:.0f} MB",
                flush=True,
            )
            return report

        run("first")
        ours = leads_we_created(Path(env["WAREHOUSE_PATH"]))
        changed = random.Random(1).sample(ours, min(len(ours), max(1, round(len(ours) * change))))
        store = IntercomStore(state.intercom_db)
        try:
            for i, contact_id in enumerate(changed):
                store.update_contact(contact_id, custom_attributes={"region": f"BENCH{i}"})
        finally:
            store.close()
        print(f"  changed region on {len(changed)} of {len(ours)} created Leads", flush=True)
        run("change")
        run("idle")
    finally:
        sandbox.stop()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)
    return {
        "contacts": n,
        "home": str(home),
        "seed_seconds": info["seconds"],
        "window": window,
        "created_leads": len(ours),
        "changed": len(changed),
        "runs": runs,
    }


def push_md(report: dict[str, Any], sobject: str) -> dict[str, Any]:
    return report["assets"].get(f"salesforce_{sobject.lower()}_upserts", {})


def cell(report: dict[str, Any], key: str) -> str:
    lead, contact = push_md(report, "Lead"), push_md(report, "Contact")
    return f"{lead.get(key, 0):,} / {contact.get(key, 0):,}"


def bulk_jobs(report: dict[str, Any]) -> int:
    ids = [str(push_md(report, s).get("bulk_job_ids", "none")) for s in ("Lead", "Contact")]
    return sum(len(j.split(", ")) for j in ids if j != "none")


def print_report(sizes: list[dict[str, Any]], change: float) -> None:
    print()
    print("Lead / Contact in each count column (from salesforce_{lead,contact}_upserts).")
    print()
    header = (
        "contacts",
        "run",
        "seconds",
        "peak RSS MB",
        "considered",
        "sent",
        "fields sent",
        "created",
        "updated",
        "conflicts",
        "Bulk jobs",
    )
    print("| " + " | ".join(header) + " |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    labels = {"first": "first", "change": f"{change:.0%} change", "idle": "idle"}
    for size in sizes:
        for label, r in size["runs"].items():
            print(
                f"| {size['contacts']:,} | {labels[label]} | {r['seconds']:.1f} | "
                f"{r['peak_rss_mb']:.0f} | {cell(r, 'considered')} | {cell(r, 'sent')} | "
                f"{cell(r, 'fields_sent')} | {cell(r, 'created')} | {cell(r, 'updated')} | "
                f"{cell(r, 'conflicts')} | {bulk_jobs(r)} |"
            )
    print()
    print(
        "| contacts | run | bytes uploaded (Lead / Contact) | push step seconds (Lead / Contact) "
        "| slowest steps (s) | person_matches rules |"
    )
    print("|---:|---|---:|---:|---|---|")
    for size in sizes:
        for label, r in size["runs"].items():
            rules = {
                k.removeprefix("rule_"): v
                for k, v in r["assets"].get("person_matches", {}).items()
                if k.startswith("rule_")
            }
            steps = r["step_seconds"]
            slow = sorted(steps.items(), key=lambda kv: -kv[1])[:3]
            print(
                f"| {size['contacts']:,} | {labels[label]} | {cell(r, 'bytes_uploaded')} | "
                f"{steps.get(PUSH_ASSETS[0], 0):.1f} / {steps.get(PUSH_ASSETS[1], 0):.1f} | "
                + ", ".join(f"{k} {v:.1f}" for k, v in slow)
                + " | "
                + ", ".join(f"{k} {v:,}" for k, v in sorted(rules.items()))
                + " |"
            )
    print()
    small, large = sizes[0], sizes[-1]
    if len(sizes) > 1:
        ratio = large["runs"]["first"]["peak_rss_mb"] / small["runs"]["first"]["peak_rss_mb"]
        print(
            f"peak RSS of the first run, {large['contacts']:,} / {small['contacts']:,} contacts: "
            f"{ratio:.2f}x"
        )

    def yes(ok: bool) -> str:
        return "yes" if ok else "no"

    for size in sizes:
        n, runs, changed = size["contacts"], size["runs"], size["changed"]
        first, moved, idle = runs["first"], runs["change"], runs["idle"]
        lead, contact = push_md(moved, "Lead"), push_md(moved, "Contact")
        print(f"{n:,} contacts:")
        checked = all(r["checks_passed"] and all(r["checks_passed"]) for r in runs.values())
        print(f"  quality check passed on every run: {yes(checked)}")
        print(f"  first run created Leads: {yes(push_md(first, 'Lead').get('created', 0) > 0)}")
        print(
            f"  {change:.0%} run Lead sent == changed ({lead.get('sent', 0)} vs {changed}): "
            f"{yes(lead.get('sent') == changed)}"
        )
        print(
            f"  {change:.0%} run Lead fields sent == changed ({lead.get('fields_sent', 0)} vs "
            f"{changed}): {yes(lead.get('fields_sent') == changed)}"
        )
        print(f"  {change:.0%} run Contact sent 0: {yes(contact.get('sent') == 0)}")
        none_created = lead.get("created") == 0 and contact.get("created") == 0
        print(f"  {change:.0%} run created nothing: {yes(none_created)}")
        print(
            "  idle run sent 0: "
            + yes(all(push_md(idle, s).get("sent") == 0 for s in ("Lead", "Contact")))
        )
        print(f"  idle run started no Bulk job: {yes(bulk_jobs(idle) == 0)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", default="10000,50000", help="sizes, comma-separated")
    parser.add_argument("--change", type=float, default=0.01, help="share of created Leads changed")
    parser.add_argument("--keep", action="store_true", help="keep each size's home folder")
    parser.add_argument("--json", type=Path, help="also write every run's report to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(json.loads(args.child))
    for var in CREDENTIAL_VARS:  # the sandbox only, as the demo does
        os.environ.pop(var, None)
    sizes = [int(s.replace("_", "")) for s in args.contacts.split(",") if s.strip()]
    started = time.monotonic()
    results = [run_size(n, args.change, args.keep) for n in sorted(sizes)]
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print_report(results, args.change)
    if args.keep:
        for r in results:
            print(f"kept {r['home']}")
    print(f"\ntotal wall time {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
