"""Every Intercom stream at benchmark size, extracted while the emulator injects faults.

A fresh emulator holds 100,000 contacts, 10,000 companies and 50,000 conversations (some with more
than 500 parts) at ``--scale 1`` and injects 5% 5xx errors, a 429 storm, a company scroll 500
and records updated while the extractor pages. One full run and one incremental run extract every
stream (each in a child process); then the row counts in DuckDB must equal the emulator's, with no
duplicate ids in the ``*_current`` views, and every record changed before the incremental run
started must be staged at its latest version. Prints a table per run and asset; exits 1 on a
mismatch.

    .venv/bin/python benchmarks/extract_full_faults.py [--scale 0.1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
from extract_common import extract_in_child, seed_and_serve, window

ASSETS = [
    "intercom_contacts",
    "intercom_conversations",
    "intercom_companies",
    "intercom_conversation_parts",
    "intercom_data_events",
    "intercom_admins",
    "intercom_teams",
    "intercom_tags",
    "intercom_data_attributes",
]
EVENT_NAMES = ("requested-demo", "upgraded-plan")  # SyncSettings' default
DAYS = 14


def print_run(label: str, report: dict) -> None:
    print(f"\n{label}: {report['seconds']:.0f} s, peak RSS {report['peak_rss_mb']:.0f} MB")
    print(
        "| asset | mode | rows | fetched | pages | API calls | retries | 429s | 5xx | "
        "seconds waited | seconds | rows/s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in ASSETS:
        m = report["assets"].get(name)
        if not m:
            continue
        print(
            f"| {name} | {m.get('extract_mode', '')} | {m['dagster/row_count']:,} | "
            f"{m['records_fetched']:,} | {m['pages']:,} | {m['api_calls']:,} | {m['retries']:,} | "
            f"{m['http_429s']} | {m['http_5xx']} | {m['seconds_waited']:.1f} | "
            f"{m['duration_seconds']:.1f} | {m['rows_per_second']:,.0f} |"
        )


def verify(store, warehouse: Path, second_started: float) -> list[tuple[str, int, int, bool]]:
    """(check, emulator, DuckDB, ok) rows."""
    con = duckdb.connect(str(warehouse), read_only=True)

    def one(sql: str, params: list | None = None) -> int:
        return con.execute(sql, params or []).fetchall()[0][0]

    checks = []
    for entity in ("contacts", "companies", "conversations"):
        view = f"staging.intercom_{entity}_current"
        n = one(f"SELECT count(*) FROM {view}")
        checks.append(
            (f"{entity} (current view)", store.count(entity), n, n == store.count(entity))
        )
        dups = one(f"SELECT count(*) - count(DISTINCT id) FROM {view}")
        checks.append((f"{entity} duplicate ids", 0, dups, dups == 0))
        latest = dict(
            store.query(
                f"SELECT id, updated_at FROM {entity} WHERE updated_at < ?", [int(second_started)]
            )
        )
        staged = dict(con.execute(f"SELECT id, epoch(updated_at)::BIGINT FROM {view}").fetchall())
        stale = sum(1 for k, v in latest.items() if staged.get(k) != v)
        checks.append((f"{entity} stale or missing versions", 0, stale, stale == 0))
    for entity in ("admins", "teams", "tags"):
        n = one(f"SELECT count(*) FROM staging.intercom_{entity}")
        checks.append((entity, store.count(entity), n, n == store.count(entity)))
    reachable = sum(
        min(n, 500)
        for _, n in store.query(
            "SELECT conversation_id, count(*) FROM conversation_parts GROUP BY 1"
        )
    )
    n = one("SELECT count(DISTINCT id) FROM staging.intercom_conversation_parts")
    checks.append(("conversation parts (≤500 per conversation)", reachable, n, n == reachable))
    long_ones = store.query(
        "SELECT count(*) FROM (SELECT conversation_id FROM conversation_parts "
        "GROUP BY 1 HAVING count(*) > 500)"
    )[0][0]
    n = one("SELECT count(*) FROM staging.intercom_conversation_coverage WHERE truncated")
    checks.append(("conversations flagged truncated", long_ones, n, n == long_ones))
    wanted = sum(
        1
        for (doc,) in store.query("SELECT doc FROM events")
        if json.loads(doc)["event_name"] in EVENT_NAMES
    )
    n = one("SELECT count(DISTINCT id) FROM staging.intercom_data_events")
    checks.append(("data events (configured names)", wanted, n, n == wanted))
    con.close()
    return checks


def main() -> int:
    from intercom_salesforce.sandbox.world import WorldSize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 100k/10k/50k")
    parser.add_argument("--rate-limit", type=int, default=10_000, help="the app's calls/minute")
    parser.add_argument(
        "--backoff", type=float, default=0.05, help="backoff_base_seconds of the client"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    size = WorldSize(
        contacts=int(100_000 * args.scale),
        companies=int(10_000 * args.scale),
        conversations=int(50_000 * args.scale),
        days=DAYS,
        long_conversations=max(1, int(10 * args.scale)),
    )
    faults = {
        "error_rate": 0.05,
        "rate_limit_storm": 3,
        "scroll_500_after_pages": max(2, size.n_companies // 200),
        "mutate_while_paging": True,
        "mutate_per_page": 2,
        "seed": 2026,
    }
    workdir = Path(tempfile.mkdtemp(prefix="extract-faults-"))
    emulator, counts, seed_s = seed_and_serve(
        workdir / "sandbox", size, faults=faults, rate_limit_per_minute=args.rate_limit
    )
    print(f"seeded in {seed_s:.0f} s: {counts}")
    print(f"faults: {faults}; client backoff_base_seconds={args.backoff}")
    resource_config = {"backoff_base_seconds": args.backoff}
    warehouse = workdir / "warehouse.duckdb"
    first, last = window(DAYS)
    try:
        full = extract_in_child(
            emulator.url, warehouse, ASSETS, first, last, resource_config=resource_config
        )
        print_run("Run 1 (no earlier run: full)", full)
        second_started = time.time()
        inc = extract_in_child(
            emulator.url, warehouse, ASSETS, first, last, resource_config=resource_config
        )
        print_run("Run 2 (incremental)", inc)
        checks = verify(emulator.store, warehouse, second_started)
    finally:
        emulator.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("\n| check | emulator | DuckDB | ok |\n|---|---:|---:|---|")
    for name, expected, got, ok in checks:
        print(f"| {name} | {expected:,} | {got:,} | {'yes' if ok else 'NO'} |")
    total_calls = sum(m["api_calls"] for r in (full, inc) for m in r["assets"].values())
    records = sum(m["records_fetched"] for m in full["assets"].values())
    print(
        f"\nAPI calls, both runs: {total_calls:,}; run 1 read {records:,} records in "
        f"{full['seconds']:.0f} s ({records / max(full['seconds'], 1e-6):,.0f}/s)"
    )
    ok = all(c[3] for c in checks)
    print("complete: yes" if ok else "complete: NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
