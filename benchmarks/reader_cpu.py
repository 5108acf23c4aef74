"""What a per-record read costs the pipeline's CPU, by the number of calls in flight.

    uv run python benchmarks/reader_cpu.py [--contacts 4000] [--workers 1,2,4,8,24]
        [--coalesce-ms 5] [--latency-ms 0,100] [--calls 4000] [--calls-per-worker 150]
        [--transport]

The data events stream reads one listing per contact (``GET /events``) on
``IntercomClient.map_concurrent``, 24 in flight by default (sized for 100 ms a call), each
``--coalesce-ms`` a row (the hub's wait for answers to gather, ``curl_hub.py``). Here contacts
of a seeded world are read that way with the Intercom emulator in a process of its own, so the CPU
measured (``getrusage``: user and system) is the reader's alone, under an allowance high enough
never to wait. With ``--transport`` each row is read twice more on the same number of threads
(no limiter, no retries): through a plain ``requests.Session``, and through a bare urllib3 pool
(requests' own engine, which the client used before libcurl): what the client's libcurl
transport saves. At zero latency the readers are CPU-bound on a 2-core machine; at 100 ms they
wait.
Each row reads ``--calls`` contacts at zero latency, ``workers × --calls-per-worker`` with
latency (at most ``--contacts``), and prints
calls, wall seconds, calls a second, and the CPU milliseconds a call cost in user and in system
time.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing as mp
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ALLOWANCE = 10_000_000  # calls a minute: the limiter never waits


def serve(root: str, latency_ms: float, ready: Any, stop: Any) -> None:
    """Child process: the Intercom emulator over ``root`` until told to stop."""
    from intercom_salesforce.sandbox.intercom import (
        IntercomEmulatorConfig,
        IntercomStore,
        create_app,
    )
    from intercom_salesforce.sandbox.serving import start_in_thread

    config = IntercomEmulatorConfig(
        rate_limit_per_minute=ALLOWANCE, latency_ms=latency_ms, latency_jitter_ms=latency_ms * 0.3
    )
    server = start_in_thread(create_app(IntercomStore(Path(root) / "intercom.sqlite"), config))
    ready.put(server.url)
    stop.wait()
    server.stop()


def measured(read: Callable[[], int]) -> dict[str, float]:
    """Run ``read`` (which returns the calls it made): its calls, wall seconds and the CPU
    milliseconds a call cost the process, user and system."""
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    calls = read()
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "calls": calls,
        "wall": wall,
        "user_ms": (after.ru_utime - before.ru_utime) * 1000 / calls,
        "sys_ms": (after.ru_stime - before.ru_stime) * 1000 / calls,
    }


def read_events(
    url: str, ids: list[str], workers: int, coalesce_ms: float = 5.0
) -> dict[str, float]:
    """One listing of data events per id, ``workers`` in flight; the reader's wall and CPU."""
    from intercom_salesforce.resources.intercom import IntercomResource
    from intercom_salesforce.settings import SANDBOX_INTERCOM_TOKEN

    client = IntercomResource(
        access_token=SANDBOX_INTERCOM_TOKEN,
        base_url=url,
        mode="sandbox",
        workers=workers,
        rate_limit_per_minute=ALLOWANCE,
        coalesce_ms=coalesce_ms,
    ).client()

    def read() -> int:
        for _id, got in client.map_concurrent(
            lambda cid: client.get("/events", {"type": "user", "intercom_user_id": cid}), ids
        ):
            if isinstance(got, BaseException):
                raise got
        return client.stats.calls

    return measured(read)


def read_events_requests(url: str, ids: list[str], workers: int) -> dict[str, float]:
    """The same listings through a bare ``requests.Session`` on ``workers`` threads."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from intercom_salesforce.settings import SANDBOX_INTERCOM_TOKEN

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(10, workers))
    session.mount("http://", adapter)
    session.trust_env = False
    session.headers.update(
        {"Authorization": f"Bearer {SANDBOX_INTERCOM_TOKEN}", "Accept": "application/json"}
    )

    def fetch(cid: str) -> None:
        resp = session.get(f"{url}/events", params={"type": "user", "intercom_user_id": cid})
        resp.raise_for_status()
        resp.json()

    def read() -> int:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(fetch, ids))
        return len(ids)

    return measured(read)


def read_events_urllib3(url: str, ids: list[str], workers: int) -> dict[str, float]:
    """The same listings through a bare urllib3 pool manager, connections kept alive."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlencode

    import orjson
    import urllib3

    from intercom_salesforce.settings import SANDBOX_INTERCOM_TOKEN

    pool = urllib3.PoolManager(maxsize=max(10, workers), retries=False)
    headers = {"Authorization": f"Bearer {SANDBOX_INTERCOM_TOKEN}", "Accept": "application/json"}

    def fetch(cid: str) -> None:
        query = urlencode({"type": "user", "intercom_user_id": cid})
        resp = pool.request("GET", f"{url}/events?{query}", headers=headers)
        assert resp.status == 200, resp.status
        orjson.loads(resp.data)

    def read() -> int:
        with ThreadPoolExecutor(workers) as executor:
            list(executor.map(fetch, ids))
        return len(ids)

    return measured(read)


def main() -> None:
    from intercom_salesforce.sandbox.intercom.store import IntercomStore
    from intercom_salesforce.sandbox.runtime import SandboxState, seed
    from intercom_salesforce.sandbox.world import WorldSize

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=4000)
    parser.add_argument("--workers", default="1,2,4,8,24")
    parser.add_argument("--coalesce-ms", default="5")
    parser.add_argument("--latency-ms", default="0,100")
    parser.add_argument("--calls", type=int, default=4000)
    parser.add_argument("--calls-per-worker", type=int, default=150)
    parser.add_argument(
        "--transport", action="store_true", help="also read through a plain requests.Session"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = SandboxState(Path(tmp) / "sandbox")
        seed(state, WorldSize(contacts=args.contacts))
        store = IntercomStore(state.intercom_db)
        ids = [r[0] for r in store.query("SELECT id FROM contacts ORDER BY id")]
        store.close()
        print(f"Data events read per contact ({len(ids):,} contacts seeded), emulator apart")
        print()
        print(
            "| reader | latency ms | workers | coalesce ms | calls | wall s | calls/s "
            "| user ms/call | sys ms/call |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        ctx = mp.get_context("spawn")
        for latency in (float(v) for v in args.latency_ms.split(",")):
            ready, stop = ctx.Queue(), ctx.Event()
            proc = ctx.Process(target=serve, args=(str(state.root), latency, ready, stop))
            proc.start()
            try:
                url = ready.get(timeout=120)
                for workers in (int(v) for v in args.workers.split(",")):
                    calls = workers * args.calls_per_worker if latency else args.calls
                    readers: list[tuple[str, str, Callable[..., dict[str, float]]]] = [
                        ("IntercomClient", c, functools.partial(read_events, coalesce_ms=float(c)))
                        for c in args.coalesce_ms.split(",")
                    ]
                    if args.transport:
                        readers.append(("requests.Session", "", read_events_requests))
                        readers.append(("urllib3.PoolManager", "", read_events_urllib3))
                    for name, coalesce, reader in readers:
                        got = reader(url, ids[:calls], workers)
                        print(
                            f"| {name} | {latency:g} | {workers} | {coalesce} | {got['calls']:,} "
                            f"| {got['wall']:.1f} | {got['calls'] / got['wall']:,.0f} "
                            f"| {got['user_ms']:.2f} | {got['sys_ms']:.2f} |",
                            flush=True,
                        )
            finally:
                stop.set()
                proc.join(timeout=30)


if __name__ == "__main__":
    main()
