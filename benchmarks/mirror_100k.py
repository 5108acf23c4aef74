"""Mirror 100,000 Contacts and 100,000 Leads from the Salesforce emulator into DuckDB, twice.

    .venv/bin/python benchmarks/mirror_100k.py [--contacts N] [--leads N] [--change 0.01] [--keep]

The emulator is seeded and served over TLS in a child process, so the peak RSS printed is the
pipeline's alone (Dagster, simple-salesforce, DuckDB). The first run reads every record; then 1% of
each object is updated through simple-salesforce's Bulk API 2.0 ``update``, and the second run must
read exactly those. Counts in DuckDB must equal the org's after each run.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DAY = 86_400


def contacts(n: int, start: float) -> Iterator[dict]:
    from intercom_salesforce.sandbox.salesforce.ids import make_id
    from intercom_salesforce.sandbox.salesforce.values import format_datetime

    for i in range(n):
        stamp = format_datetime(start + i * 0.25)  # distinct, in the past, like a real org
        yield {
            "Id": make_id("Contact", 1 + i),
            "FirstName": f"First{i}",
            "LastName": f"Last{i}",
            "Email": f"contact{i}@bench.example.com",
            "Intercom_Contact_Id__c": f"ic-{i:07d}" if i % 2 else None,
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
            "SystemModstamp": stamp,
        }


def leads(n: int, start: float) -> Iterator[dict]:
    from intercom_salesforce.sandbox.salesforce.ids import make_id
    from intercom_salesforce.sandbox.salesforce.values import format_datetime

    for i in range(n):
        stamp = format_datetime(start + i * 0.25)
        yield {
            "Id": make_id("Lead", 1 + i),
            "LastName": f"Lead{i}",
            "Company": f"Company {i % 5000}",
            "Email": f"lead{i}@bench.example.org",
            "Status": "Open - Not Contacted",
            "CreatedDate": stamp,
            "LastModifiedDate": stamp,
            "SystemModstamp": stamp,
        }


def serve(root: str, n_contacts: int, n_leads: int, ready: mp.Queue, stop: mp.Event) -> None:
    """Child process: seed the store, serve the emulator over TLS until told to stop."""
    from intercom_salesforce.sandbox.salesforce import (
        SalesforceEmulatorConfig,
        SalesforceStore,
        SalesforceWorldData,
        create_app,
    )
    from intercom_salesforce.sandbox.serving import start_in_thread
    from intercom_salesforce.sandbox.tls import ensure_tls

    started = time.monotonic()
    store = SalesforceStore(Path(root) / "salesforce.sqlite")
    begin = time.time() - 90 * DAY
    store.load_world(
        SalesforceWorldData(
            records={"Contact": contacts(n_contacts, begin), "Lead": leads(n_leads, begin)}
        )
    )
    seeded = time.monotonic() - started
    tls = ensure_tls(Path(root))
    server = start_in_thread(
        create_app(store, SalesforceEmulatorConfig(daily_api_requests=1_000_000)),
        ssl_context=tls.ssl_context,
    )
    ready.put((server.url, seeded))
    stop.wait()
    server.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--change", type=float, default=0.01, help="share of records updated")
    parser.add_argument("--keep", action="store_true", help="keep the org and warehouse files")
    args = parser.parse_args()

    import dagster as dg
    import duckdb
    from dagster_duckdb import DuckDBResource

    from intercom_salesforce.assets.mirror.salesforce_objects import (
        salesforce_contacts_mirror,
        salesforce_leads_mirror,
    )
    from intercom_salesforce.resources.salesforce import SalesforceResource
    from intercom_salesforce.resources.sync_settings import SyncSettings
    from intercom_salesforce.sandbox.salesforce.ids import make_id
    from intercom_salesforce.sandbox.salesforce.store import SalesforceStore
    from intercom_salesforce.settings import SANDBOX_SF_CLIENT_ID, SANDBOX_SF_CLIENT_SECRET

    tmp = Path(tempfile.mkdtemp(prefix="mirror-bench-"))
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(
        target=serve, args=(str(tmp / "org"), args.contacts, args.leads, ready, stop), daemon=True
    )
    child.start()
    url, seeded = ready.get(timeout=1800)
    print(f"seeded {args.contacts:,} Contacts and {args.leads:,} Leads in {seeded:.1f} s; {url}")

    sf_resource = SalesforceResource(
        mode="sandbox",
        login_url=url,
        auth_flow="client_credentials",
        client_id=SANDBOX_SF_CLIENT_ID,
        client_secret=SANDBOX_SF_CLIENT_SECRET,
        ca_bundle=str(tmp / "org" / "tls" / "ca.pem"),
    )
    resources = {
        "salesforce": sf_resource,
        "warehouse": DuckDBResource(database=str(tmp / "warehouse.duckdb")),
        "sync_settings": SyncSettings(work_dir=str(tmp / "work")),
    }
    store = SalesforceStore(tmp / "org" / "salesforce.sqlite")
    objects = {"Contact": "salesforce_contacts_mirror", "Lead": "salesforce_leads_mirror"}
    tables = {"Contact": "mirror.salesforce_contacts", "Lead": "mirror.salesforce_leads"}
    rows: list[tuple] = []

    def run(label: str) -> dict[str, dict]:
        result = dg.materialize(
            [salesforce_contacts_mirror, salesforce_leads_mirror],
            resources=resources,
            instance=dg.DagsterInstance.ephemeral(),
        )
        assert result.success
        seconds = {
            e.step_key: e.event_specific_data.duration_ms / 1000
            for e in result.get_step_success_events()
        }
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out = {}
        con = duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True)
        for sobject, asset in objects.items():
            md = {
                k: v.value
                for k, v in result.asset_materializations_for_node(asset)[-1].metadata.items()
            }
            mirrored = con.execute(f"SELECT count(*) FROM {tables[sobject]}").fetchone()[0]
            assert mirrored == store.count(sobject), (sobject, mirrored, store.count(sobject))
            out[sobject] = md
            rows.append(
                (
                    label,
                    sobject,
                    mirrored,
                    seconds[asset],
                    md["records_read"],
                    md["salesforce_api_calls"],
                    rss,
                )
            )
        con.close()
        return out

    run("first (full)")

    # change 1% of each object through simple-salesforce, unmodified, by Bulk API 2.0 update
    sf = sf_resource.client().sf
    changed: dict[str, int] = {}
    for sobject, n in (("Contact", args.contacts), ("Lead", args.leads)):
        picked = range(0, n, max(1, round(1 / args.change)))
        path = tmp / f"{sobject}-changes.csv"
        path.write_text(
            "Id,Title\n" + "".join(f"{make_id(sobject, 1 + i)},Changed {i}\n" for i in picked)
        )
        getattr(sf.bulk2, sobject).update(csv_file=str(path), wait=0.5)
        changed[sobject] = len(picked)

    second = run("second (incremental)")
    for sobject, n in changed.items():
        assert second[sobject]["incremental"] and second[sobject]["records_read"] == n, (
            sobject,
            second[sobject]["records_read"],
            n,
        )

    stop.set()
    child.join(timeout=30)
    header = ("run", "object", "rows", "seconds", "records read", "API calls", "peak RSS MB")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for label, sobject, n, secs, read, calls, rss in rows:
        print(f"| {label} | {sobject} | {n:,} | {secs:.1f} | {read:,} | {calls} | {rss:.0f} |")
    print(f"changed through Bulk API 2.0 update: {changed}")
    if args.keep:
        print(f"files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
