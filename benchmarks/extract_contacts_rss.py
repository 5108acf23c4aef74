"""Peak RSS of extracting 10,000 and then 100,000 contacts must differ by at most 1.5x.

For each size: a fresh emulator seeded from ``World`` (contacts only, plus a few companies they
belong to), then ``intercom_contacts`` over every partition with data, in a child process so its
peak RSS is its own. Prints contacts, seconds, records/s, API calls, API calls per record, peak
RSS and the ratio of the two peaks; exits 1 if the ratio is above 1.5.

    .venv/bin/python benchmarks/extract_contacts_rss.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from extract_common import extract_in_child, seed_and_serve, window

MAX_RATIO = 1.5
DAYS = 14


def run_size(n: int, workdir: Path) -> dict:
    from intercom_salesforce.sandbox.world import WorldSize

    size = WorldSize(
        contacts=n, companies=max(4, n // 100), conversations=0, days=DAYS, long_conversations=0
    )
    emulator, counts, seed_s = seed_and_serve(workdir / f"sandbox-{n}", size)
    try:
        first, last = window(DAYS)
        report = extract_in_child(
            emulator.url,
            workdir / f"warehouse-{n}.duckdb",
            ["intercom_contacts"],
            first,
            last,
            full_refresh=True,
        )
    finally:
        emulator.stop()
    md = report["assets"]["intercom_contacts"]
    assert md["records_staged"] == counts["contacts"], (md["records_staged"], counts)
    return {
        "contacts": counts["contacts"],
        "seed_s": seed_s,
        "seconds": md["duration_seconds"],
        "records_per_s": md["rows_per_second"],
        "api_calls": md["api_calls"],
        "calls_per_record": md["api_calls"] / max(1, counts["contacts"]),
        "peak_rss_mb": report["peak_rss_mb"],
        "cpu_seconds": report["cpu_seconds"],
        "cpu_per_1000": 1000 * report["cpu_seconds"] / max(1, counts["contacts"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000])
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="extract-rss-"))
    rows = []
    try:
        for n in args.sizes:
            rows.append(run_size(n, workdir))
            r = rows[-1]
            print(
                f"  {n:>7} contacts extracted in {r['seconds']:.1f} s (seeded in {r['seed_s']:.0f} s)"
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(
        "| contacts | seconds | records/s | API calls | API calls/record | peak RSS MB "
        "| process CPU s | CPU s / 1,000 contacts |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['contacts']:,} | {r['seconds']:.1f} | {r['records_per_s']:,.0f} | "
            f"{r['api_calls']:,} | {r['calls_per_record']:.4f} | {r['peak_rss_mb']:.0f} "
            f"| {r['cpu_seconds']:.1f} | {r['cpu_per_1000']:.3f} |"
        )
    ratio = rows[1]["peak_rss_mb"] / rows[0]["peak_rss_mb"]
    verdict = "OK" if ratio <= MAX_RATIO else "TOO HIGH"
    print(
        f"\npeak RSS {rows[1]['contacts']:,} / {rows[0]['contacts']:,}: {ratio:.2f} "
        f"(limit {MAX_RATIO}) {verdict}"
    )
    return 0 if ratio <= MAX_RATIO else 1


if __name__ == "__main__":
    raise SystemExit(main())
