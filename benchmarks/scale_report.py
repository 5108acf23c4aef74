"""The scale run's Markdown: per-stage tables, calls against their minimum, the targets.

``render`` turns ``scale.py``'s result (and, for a larger run, the 100,000 run's) into the
``# Scale run`` section; ``results_file.write_section`` puts it into RESULTS.md in place of the
previous one, leaving every other section as it is.
"""

from __future__ import annotations

import math
import re
from typing import Any

from throughput import machine

HEADING = "# Scale run"
STAGES = ("extract", "check", "match", "map", "push")
PUSH_ASSETS = (
    "salesforce_account_upserts",
    "salesforce_lead_upserts",
    "salesforce_contact_upserts",
    "salesforce_conversations",
)
MATCH_ASSETS = ("company_matches", "person_matches")
PAGE_SIZE = {"intercom_contacts": 150, "intercom_conversations": 150, "intercom_companies": 100}
CHILD_UNIT = {"intercom_conversation_parts": "conversations", "intercom_data_events": "contacts"}
UPLOAD_LIMIT = 100 * 1024 * 1024
ROWS_1M = 1_000_000
GB = 1024


def _num(md: dict[str, Any], key: str) -> int:
    value = md.get(key, 0)
    return int(value) if isinstance(value, int | float) else 0


def stage_records(run: dict[str, Any]) -> dict[str, int]:
    """What each stage handled: records read, rows checked, matched, mapped, sent."""
    assets = run["assets"]
    intercom = [md for name, md in assets.items() if name.startswith("intercom_")]
    mirror = [md for name, md in assets.items() if name.endswith("_mirror")]
    pushes = [assets.get(name, {}) for name in PUSH_ASSETS]
    return {
        "extract": sum(_num(md, "records_fetched") for md in intercom)
        + sum(_num(md, "records_read") for md in mirror),
        "check": sum(c["rows"] or 0 for c in run["checks"].values()),
        "match": sum(_num(assets.get(n, {}), "dagster/row_count") for n in MATCH_ASSETS),
        "map": sum(_num(md, "considered") for md in pushes),
        "push": sum(_num(md, "sent") for md in pushes),
    }


def stage_table(run: dict[str, Any]) -> list[str]:
    records = stage_records(run)
    out = [
        "| stage | wall s | pipeline CPU s | peak RSS MB | records | records/s "
        "| Intercom emulator CPU s | Salesforce emulator CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in STAGES:
        s = run["stages"].get(name)
        if not s:
            continue
        rate = records[name] / s["wall_s"] if s["wall_s"] else 0.0
        out.append(
            f"| {name} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s['peak_rss_mb']:.0f} "
            f"| {records[name]:,} | {rate:,.0f} | {s['intercom_emulator_cpu_s']:.1f} "
            f"| {s['salesforce_emulator_cpu_s']:.1f} |"
        )
    out.append(
        f"| **run** (process start, imports, Dagster) | **{run['seconds']:.1f}** "
        f"| **{run['cpu_s']:.1f}** | **{run['peak_rss_mb']:.0f}** | | | | |"
    )
    return out


def step_table(run: dict[str, Any], top: int = 8) -> list[str]:
    """The steps holding the most pipeline CPU, split by the kind of thread that spent it."""
    steps = sorted(run["stages"]["steps"].items(), key=lambda kv: -kv[1]["cpu_s"])[:top]
    out = [
        "| step | wall s | pipeline CPU s | main thread | Python worker threads | native "
        "(DuckDB) threads | Intercom emulator CPU s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    out += [
        f"| {name} | {s['wall_s']:.1f} | {s['cpu_s']:.1f} | {s.get('main_cpu_s', 0):.1f} "
        f"| {s.get('python_workers_cpu_s', 0):.1f} | {s.get('native_cpu_s', 0):.1f} "
        f"| {s['intercom_emulator_cpu_s']:.1f} |"
        for name, s in steps
    ]
    return out


#: where the package was checked out, in a profile's file names: left out, so that they read
#: the same from any checkout
_CHECKOUT = re.compile(r"\S*/(?=intercom_salesforce/)")


def profile_lines(text: str, limit: int) -> list[str]:
    """The first ``limit`` non-blank lines of a cProfile listing, the package's paths relative."""
    return [_CHECKOUT.sub("", line) for line in text.strip().splitlines() if line.strip()][:limit]


def intercom_minimum(name: str, md: dict[str, Any]) -> int:
    """Calls the records read need at least: full pages, plus one per per-record read (and,
    for a window read, the one ``GET /me`` that checks the workspace's timezone)."""
    if name in CHILD_UNIT:
        unit = CHILD_UNIT[name]
        return _num(md, f"{unit}_fetched") + _num(md, f"{unit}_missing")
    pages = math.ceil(_num(md, "records_fetched") / PAGE_SIZE[name])
    if name == "intercom_companies":
        pages += 1  # the scroll ends with an empty page
    return 1 + max(1, pages) + _num(md, "sub_list_calls")


def intercom_rows(run: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [
        (name, _num(md, "records_fetched"), _num(md, "api_calls"), intercom_minimum(name, md))
        for name, md in run["assets"].items()
        if name.startswith("intercom_")
    ]


def intercom_table(runs: dict[str, Any]) -> list[str]:
    out = [
        "| run | stream | records read | calls | minimum | calls / minimum |",
        "|---|---|---:|---:|---:|---:|",
    ]
    spared = []
    for label, run in runs.items():
        for name, fetched, calls, least in intercom_rows(run):
            out.append(
                f"| {label} | {name} | {fetched:,} | {calls:,} | {least:,} | {calls / least:.3f} |"
            )
        events = run["assets"].get("intercom_data_events", {})
        if "contacts_not_needed" in events:
            spared.append(f"{label}: {_num(events, 'contacts_not_needed'):,}")
    if spared:
        out += [
            "",
            "Contacts whose data events were not listed, matched for certain to a Salesforce "
            "Contact while only Lead fields follow events, or with no email whose ids match "
            "nothing: " + "; ".join(spared) + ".",
        ]
    return out


def bytes_uploaded(run: dict[str, Any]) -> int:
    return sum(_num(run["assets"].get(n, {}), "bytes_uploaded") for n in PUSH_ASSETS)


def salesforce_table(runs: dict[str, Any]) -> list[str]:
    kinds = ("bulk_ingest", "bulk_upload", "bulk_poll", "bulk_query", "describe", "auth", "other")
    out = [
        "| run | rows sent | bytes uploaded | Salesforce calls | " + " | ".join(kinds) + " |",
        "|---|---:|---:|---:|" + "---:|" * len(kinds),
    ]
    for label, run in runs.items():
        by_kind = run["salesforce_calls_by_kind"]
        out.append(
            f"| {label} | {stage_records(run)['push']:,} | {bytes_uploaded(run):,} "
            f"| {run['salesforce_calls']:,} | "
            + " | ".join(str(by_kind.get(k, 0)) for k in kinds)
            + " |"
        )
    return out


#: The calls of a Bulk API 2.0 load: create and close the job, fetch its results, upload, poll.
BULK_LOAD_KINDS = ("bulk_ingest", "bulk_upload", "bulk_poll")


def bulk_vs_collections(result: dict[str, Any]) -> dict[str, Any]:
    """The full runs' Bulk ingest calls against REST Collections' for the same rows, and both
    carried to a million rows (Bulk: the same jobs, uploads by the 100 MB file limit, polls in
    proportion to rows; Collections: one call per 200 rows)."""
    full = [r for label, r in result["runs"].items() if "full" in label]
    rows = sum(stage_records(r)["push"] for r in full)
    kinds = [r["salesforce_calls_by_kind"] for r in full]
    uploads = sum(k.get("bulk_upload", 0) for k in kinds)
    polls = sum(k.get("bulk_poll", 0) for k in kinds)
    bulk = sum(k.get("bulk_ingest", 0) for k in kinds) + uploads + polls
    per_object = [_num(r["assets"].get(n, {}), "sent") for r in full for n in PUSH_ASSETS]
    collections = sum(math.ceil(n / 200) for n in per_object)
    scale = ROWS_1M / max(rows, 1)
    sent_bytes = sum(bytes_uploaded(r) for r in full)
    bulk_1m = (
        bulk
        - uploads
        - polls
        + max(uploads, math.ceil(sent_bytes * scale / UPLOAD_LIMIT))
        + math.ceil(polls * scale)
    )
    people = next(r for label, r in result["runs"].items() if label == "people (full)")
    people_kinds = people["salesforce_calls_by_kind"]
    return {
        "people_rows": stage_records(people)["push"],
        "people_bulk": sum(people_kinds.get(k, 0) for k in BULK_LOAD_KINDS),
        "people_collections": sum(
            math.ceil(_num(people["assets"].get(n, {}), "sent") / 200) for n in PUSH_ASSETS
        ),
        "rows": rows,
        "bulk": bulk,
        "collections": collections,
        "bulk_1m": bulk_1m,
        "bulk_1m_linear": math.ceil(bulk * scale),
        "collections_1m": math.ceil(ROWS_1M / 200),
    }


def collections_lines(result: dict[str, Any], cmp: dict[str, Any]) -> list[str]:
    sample = result["collections"]
    per_call = sample["seconds"] / max(sample["calls"], 1)
    return [
        f"REST sObject Collections sample on the same emulator: {sample['rows']:,} Leads in "
        f"{sample['calls']:,} calls ({sample['calls_by_kind']}), {sample['seconds']:.1f} s "
        f"({per_call * 1000:.0f} ms a call), {sample['bytes']:,} bytes of JSON.",
        "",
        "| load | rows | Bulk API 2.0 calls | Collections calls (200 rows a call) "
        "| Bulk / Collections |",
        "|---|---:|---:|---:|---:|",
        f"| measured: the full people sync's push | {cmp['people_rows']:,} "
        f"| {cmp['people_bulk']:,} | {cmp['people_collections']:,} "
        f"| {cmp['people_bulk'] / max(cmp['people_collections'], 1):.2%} |",
        f"| measured (the full runs' pushes) | {cmp['rows']:,} | {cmp['bulk']:,} "
        f"| {cmp['collections']:,} | {cmp['bulk'] / max(cmp['collections'], 1):.2%} |",
        f"| carried to 1,000,000 rows | 1,000,000 | {cmp['bulk_1m']:,} "
        f"| {cmp['collections_1m']:,} | {cmp['bulk_1m'] / cmp['collections_1m']:.2%} |",
        f"| carried to 1,000,000 rows, every Bulk call in proportion to rows | 1,000,000 "
        f"| {cmp['bulk_1m_linear']:,} | {cmp['collections_1m']:,} "
        f"| {cmp['bulk_1m_linear'] / cmp['collections_1m']:.2%} |",
    ]


def _bulk_target(cmp: dict[str, Any]) -> tuple[str, str, bool]:
    """Bulk against Collections calls for a million rows: measured on the full people sync's push
    when it sent at least that many (one load, as the target reads), else carried to a million
    from the full runs' pushes."""
    name = "Salesforce calls for 1,000,000 rows under 1% of REST Collections"
    if cmp["people_rows"] >= ROWS_1M:
        bulk, coll = cmp["people_bulk"], cmp["people_collections"]
        how = f"the people push, {cmp['people_rows']:,} rows, measured"
    else:
        bulk, coll = cmp["bulk_1m"], cmp["collections_1m"]
        how = "carried to 1,000,000 rows"
    return name, f"{bulk:,} / {coll:,} = {bulk / coll:.2%} ({how})", bulk < 0.01 * coll


def targets(
    result: dict[str, Any], baseline: dict[str, Any] | None
) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for the scale run's targets; None: not measurable by this run."""
    runs = result["runs"]
    n = result["contacts"]
    peak = max(r["peak_rss_mb"] for r in runs.values())
    people = next(r for label, r in runs.items() if label.startswith("people") and "full" in label)
    incremental = next(r for label, r in runs.items() if label.endswith("incremental)"))
    whole = next((r for label, r in runs.items() if "whole window" in label), None)
    rows = [row for r in runs.values() for row in intercom_rows(r)]
    worst = max(rows, key=lambda x: x[2] / x[3])
    cpu = sum(s["cpu_s"] for k, s in people["stages"].items() if k in STAGES)
    cmp = bulk_vs_collections(result)
    out: list[tuple[str, str, bool | None]] = [
        (
            "completes",
            ", ".join(f"{k}: {'ok' if r['success'] else 'FAILED'}" for k, r in runs.items()),
            all(r["success"] for r in runs.values()),
        ),
        ("peak RSS under 1.5 GB", f"{peak:,.0f} MB", peak < 1.5 * GB),
    ]
    if baseline is not None:
        base = max(r["peak_rss_mb"] for r in baseline["runs"].values())
        out.append(
            ("peak RSS within 1.5× of the 100,000 run", f"{peak / base:.2f}×", peak / base <= 1.5)
        )
    else:
        out.append(("peak RSS within 1.5× of the 100,000 run", f"this is the {n:,} run", None))
    out += [
        (
            "Intercom calls within 1.05× of the minimum",
            f"worst {worst[0]}: {worst[2]:,} / {worst[3]:,} = {worst[2] / worst[3]:.3f}×",
            all(c <= 1.05 * m for _, _, c, m in rows),
        ),
        _bulk_target(cmp),
    ]
    own = f"{cpu:.0f} s over the stages ({people['cpu_s']:.0f} s for the whole process)"
    if n >= ROWS_1M:
        out.append(("pipeline CPU under 5 minutes for the people sync", own, cpu < 300))
    else:
        est = cpu * ROWS_1M / n
        out.append(
            (
                "pipeline CPU under 5 minutes for the people sync",
                f"{own} at {n:,}; about {est:.0f} s at 1,000,000 if it grows in proportion",
                None if est < 300 else False,
            )
        )
    out.append(
        (
            "1% incremental sync under 2 minutes wall",
            f"{incremental['seconds']:.1f} s (the hourly schedule's window: yesterday and today)",
            incremental["seconds"] < 120,
        )
    )
    if whole is not None:
        out.append(
            (
                "1% incremental sync under 2 minutes wall, over the whole window (a re-run of "
                "the backfill, beyond the target)",
                f"{whole['seconds']:.1f} s",
                whole["seconds"] < 120,
            )
        )
    return out


def estimate_lines(result: dict[str, Any]) -> list[str]:
    """For a run below a million: how long the million would take, every run (and the seeding)
    growing in proportion to the records, as the per-record reads make them."""
    n = result["contacts"]
    if n >= ROWS_1M:
        return []
    scale = ROWS_1M / n
    runs = sum(r["seconds"] for r in result["runs"].values()) * scale
    seed = float(result["seed"]["seconds"]) * scale
    calls = sum(c for r in result["runs"].values() for _, _, c, _ in intercom_rows(r)) * scale
    return [
        f"1,000,000 not measured: estimated {(runs + seed) / 60:.0f} minutes ({seed / 60:.0f} "
        f"to seed, {runs / 60:.0f} for the three runs), because each run's time grows with its "
        f"records: about {calls:,.0f} Intercom calls, most of them one per contact (data "
        "events) or per conversation (parts), which the emulator on this shared 2-core machine "
        f"serves at the rates measured here ({n:,} → 1,000,000 is ×{scale:.0f}).",
        "",
    ]


def incremental_runs(result: dict[str, Any]) -> str:
    """Which incremental runs the result holds, and over which partitions."""
    days = result.get("schedule_window")
    if days is None:  # a run from before the scheduled window was measured
        return "the incremental run (over the whole window)"
    return (
        f"each incremental run: the hourly schedule's ({days[0]} .. {days[1]}), then one over "
        "the whole window"
    )


def verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def render(result: dict[str, Any], baseline: dict[str, Any] | None, command: str) -> str:
    seed = result["seed"]
    out = [
        HEADING,
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {result.get('machine') or machine()}. Total wall time "
        f"{result['wall_s']:.0f} s (seeding included).",
        "",
        f"World (seed {seed['seed']}, seeded in {seed['seconds']} s): Intercom {seed['intercom']}; "
        f"Salesforce {seed['salesforce']}. Both emulators at zero latency, each in its own "
        f"process; partitions {result['window'][0]} .. {result['window'][1]}; "
        f"{result['changed']:,} contacts changed before {incremental_runs(result)}.",
        "",
        "Per stage: wall and CPU seconds of the pipeline process over the stage's steps (sampled "
        "every 0.1 s), its peak resident memory then, and the CPU the emulators' processes spent "
        "meanwhile. map is the push assets less their Bulk API work (push).",
        "",
    ]
    for label, run in result["runs"].items():
        out += [f"## {label}", "", *stage_table(run), ""]
        if isinstance(next(iter(run["stages"]["steps"].values()), None), dict):
            out += ["Where the pipeline's CPU went, by step:", "", *step_table(run), ""]
    out += ["## Intercom calls against the minimum", "", *intercom_table(result["runs"]), ""]
    out += ["## Salesforce calls", "", *salesforce_table(result["runs"]), ""]
    cmp = bulk_vs_collections(result)
    out += ["## Bulk API 2.0 against REST Collections", "", *collections_lines(result, cmp), ""]
    out += estimate_lines(result)
    checks = targets(result, baseline)
    out += ["## Targets", "", "| target | measured | met |", "|---|---|---|"]
    out += [f"| {name} | {figure} | {verdict(met)} |" for name, figure, met in checks]
    out.append("")
    for label, run in result["runs"].items():
        if not run.get("profile"):
            continue
        out += [
            f"## Profile of the {label} sync (cProfile, main thread, by own time)",
            "",
            "```",
            *profile_lines(run["profile"], 30),
            "```",
            "",
        ]
        if run.get("profile_ours"):
            out += [
                f"Its own functions by cumulative time (the {label} sync):",
                "",
                "```",
                *profile_lines(run["profile_ours"], 40),
                "```",
                "",
            ]
    return "\n".join(out)
