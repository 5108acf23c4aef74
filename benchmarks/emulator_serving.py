"""How fast the Intercom emulator serves, so pipeline benchmarks measure the pipeline.

    uv run python benchmarks/emulator_serving.py [--contacts 20000] [--repeat 3]
    uv run python benchmarks/emulator_serving.py --seed-contacts 100000
    uv run python benchmarks/emulator_serving.py --seed-contacts 1000000 --root /tmp/big
    uv run python benchmarks/emulator_serving.py --root /tmp/big    # serve that world

The first form seeds a sandbox (``sandbox/runtime.py``), serves it with latency 0 and a rate
limit high enough never to bite, and measures over loopback with ``requests``: contacts per second
paging ``GET /contacts`` and ``POST /contacts/search`` (150 a page), and requests per second of
``GET /contacts/{id}`` and ``GET /conversations/{id}``. Each figure is the best of ``--repeat``
runs (the machine is shared) and is printed beside its target. The second form only times the
seed of that many contacts and reports the process's peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, seed, start
from intercom_salesforce.sandbox.world import WorldSize

LIST_TARGET = 5000.0
GET_TARGET = 300.0
HEADERS = {
    "Authorization": "Bearer sandbox-intercom-token",
    "Intercom-Version": "2.14",
    "Accept": "application/json",
}


def _session() -> requests.Session:
    session = requests.Session()
    session.headers.update(HEADERS)
    return session


def _page_all(fetch: Callable[[str | None], dict[str, Any]], max_records: int) -> int:
    """Follow ``pages.next.starting_after`` until the end or ``max_records``."""
    cursor: str | None = None
    seen = 0
    while seen < max_records:
        body = fetch(cursor)
        seen += len(body["data"])
        nxt = (body.get("pages") or {}).get("next")
        if not nxt:
            break
        cursor = nxt["starting_after"]
    return seen


def list_rate(base: str, max_records: int) -> float:
    """Contacts per second paging ``GET /contacts``."""
    session = _session()

    def fetch(cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"per_page": 150}
        if cursor:
            params["starting_after"] = cursor
        response = session.get(f"{base}/contacts", params=params, timeout=60)
        response.raise_for_status()
        return response.json()

    started = time.perf_counter()
    n = _page_all(fetch, max_records)
    return n / (time.perf_counter() - started)


def search_rate(base: str, max_records: int) -> float:
    """Contacts per second paging ``POST /contacts/search`` (an incremental extract's query)."""
    session = _session()

    def fetch(cursor: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "query": {"field": "updated_at", "operator": ">", "value": 0},
            "sort": {"field": "updated_at", "order": "ascending"},
            "pagination": {"per_page": 150},
        }
        if cursor:
            body["pagination"]["starting_after"] = cursor
        response = session.post(f"{base}/contacts/search", json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    started = time.perf_counter()
    n = _page_all(fetch, max_records)
    return n / (time.perf_counter() - started)


def get_rate(base: str, kind: str, ids: list[str]) -> float:
    """Requests per second of ``GET /{kind}/{id}``, one connection."""
    session = _session()
    started = time.perf_counter()
    for record_id in ids:
        response = session.get(f"{base}/{kind}/{record_id}", timeout=60)
        response.raise_for_status()
        response.content  # noqa: B018 - read the whole body
    return len(ids) / (time.perf_counter() - started)


def _sample(state: SandboxState, table: str, n: int) -> list[str]:
    store = IntercomStore(state.intercom_db)
    try:
        rows = store.query(f"SELECT id FROM {table} ORDER BY id LIMIT ?", (n,))  # noqa: S608
    finally:
        store.close()
    return [r[0] for r in rows]


def serve_bench(contacts: int, repeat: int, max_records: int, gets: int, root: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = SandboxState((root or Path(tmp)) / "sandbox")
        seeded = state.seeded()
        if seeded is None:
            started = time.monotonic()
            seed(state, WorldSize(contacts=contacts))
            print(f"seeded {contacts:,} contacts in {time.monotonic() - started:.1f} s")
        else:  # a sandbox seeded earlier under --root (say by --seed-contacts) is served as is
            contacts = seeded["intercom"]["contacts"]
        contact_ids = _sample(state, "contacts", gets)
        conversation_ids = _sample(state, "conversations", gets)
        running = start(
            state, intercom_config=IntercomEmulatorConfig(rate_limit_per_minute=10_000_000)
        )
        try:
            base = running.intercom_url
            runs: dict[str, tuple[str, float, Callable[[], float]]] = {
                "GET /contacts (contacts/s)": (
                    "list",
                    LIST_TARGET,
                    lambda: list_rate(base, max_records),
                ),
                "POST /contacts/search (contacts/s)": (
                    "search",
                    LIST_TARGET,
                    lambda: search_rate(base, max_records),
                ),
                "GET /contacts/{id} (requests/s)": (
                    "get",
                    GET_TARGET,
                    lambda: get_rate(base, "contacts", contact_ids),
                ),
                "GET /conversations/{id} (requests/s)": (
                    "get",
                    GET_TARGET,
                    lambda: get_rate(base, "conversations", conversation_ids),
                ),
            }
            print(f"\nbest of {repeat} runs, latency 0, {contacts:,} contacts seeded\n")
            print("| measure | rate | target | met |")
            print("|---|---|---|---|")
            for name, (_kind, target, run) in runs.items():
                best = max(run() for _ in range(repeat))
                met = "met" if best >= target else "not met"
                print(f"| {name} | {best:,.0f} | >= {target:,.0f} | {met} |")
        finally:
            running.stop()


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size of this process, or of its largest finished child such as a seed
    worker (Linux reports kilobytes)."""
    return resource.getrusage(who).ru_maxrss / 1024


def seed_bench(contacts: int, root: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = SandboxState((root or Path(tmp)) / "sandbox")
        started = time.monotonic()
        info = seed(state, WorldSize(contacts=contacts))
        wall = time.monotonic() - started
        cpu = sum(
            getattr(resource.getrusage(who), field)
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
            for field in ("ru_utime", "ru_stime")
        )
        counts = info["intercom"]
        print(
            "| contacts | companies | conversations | parts | events | seed s | CPU s "
            "| peak RSS MB (seeding process) | peak RSS MB (largest worker) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        print(
            f"| {counts['contacts']:,} | {counts['companies']:,} | {counts['conversations']:,} "
            f"| {counts['conversation_parts']:,} | {counts['events']:,} | {wall:.1f} | {cpu:.0f} "
            f"| {_peak_rss_mb():.0f} | {_peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20_000, help="world size to serve")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-records", type=int, default=20_000, help="records paged per run")
    parser.add_argument("--gets", type=int, default=1000, help="single GETs per run")
    parser.add_argument("--seed-contacts", type=int, help="only time seeding this many contacts")
    parser.add_argument(
        "--root", type=Path, help="seed under this folder (or serve what it holds) not a temp one"
    )
    args = parser.parse_args()
    if args.seed_contacts:
        seed_bench(args.seed_contacts, args.root)
    else:
        serve_bench(args.contacts, args.repeat, args.max_records, args.gets, args.root)


if __name__ == "__main__":
    main()
