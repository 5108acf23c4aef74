"""What the Salesforce emulator spends to answer a Bulk API 2.0 query job, by the result's size.

    uv run python benchmarks/bulk_query_job.py [--leads 100000,400000,1000000]

The mirror's incremental read after a full push is a Bulk query whose result holds every Lead the
push wrote (``WHERE SystemModstamp > ...``): a million rows at the scale run's size. The emulator
materialises a job's result when it completes (``bulk.run_query_job``). Here each size is seeded
into a fresh emulator store (no HTTP: only the job's own work is timed) and the job is run once;
the table gives wall and CPU seconds and the microseconds a row cost, which stay flat when the cost
grows with the result rather than with its square.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from intercom_salesforce.sandbox.salesforce import SalesforceStore, SalesforceWorldData, bulk
from intercom_salesforce.sandbox.salesforce.ids import make_id

SOQL = "SELECT Id, Email, LastName FROM Lead WHERE SystemModstamp > 2000-01-01T00:00:00Z"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(leads: int, root: Path) -> tuple[int, float, float]:
    """Rows, wall and CPU seconds of one query job over ``leads`` Leads."""
    store = SalesforceStore(root / f"org-{leads}.sqlite")
    records = [
        {"Id": make_id("Lead", i), "LastName": f"L{i}", "Company": "C", "Email": f"l{i}@x.com"}
        for i in range(1, leads + 1)
    ]
    store.load_world(SalesforceWorldData(records={"Lead": records}))
    del records
    info = {"id": f"job-{leads}", "_query": SOQL, "operation": "query", "columnDelimiter": "COMMA"}
    started, cpu = time.monotonic(), cpu_seconds()
    bulk.run_query_job(store, info)
    wall, used = time.monotonic() - started, cpu_seconds() - cpu
    store.close()
    return int(info["numberRecordsProcessed"]), wall, used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", default="100000,400000,1000000")
    args = parser.parse_args()
    print("| result rows | wall s | CPU s | µs a row |")
    print("|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for leads in (int(n) for n in args.leads.split(",")):
            rows, wall, used = measure(leads, Path(tmp))
            print(f"| {rows:,} | {wall:.1f} | {used:.1f} | {1e6 * used / max(rows, 1):.1f} |")


if __name__ == "__main__":
    main()
