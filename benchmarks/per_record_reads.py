"""Per-record reads against the Intercom emulator with real latency: one call at a time vs many.

    uv run python benchmarks/per_record_reads.py [--conversations 500] [--latency-ms 100]
        [--jitter-ms 30]

Reads every conversation by id (what the parts stream does per changed conversation) through
``IntercomClient.map_concurrent`` with 1, 8 and 16 in flight (``workers``) under the default allowance
(10,000 calls a minute), and prints calls, wall seconds, calls per second and the ratio to the
API's floor (calls / allowance per second).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, seed, start
from intercom_salesforce.sandbox.world import WorldSize


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=100)
    parser.add_argument("--jitter-ms", type=float, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        state = SandboxState(Path(tmp) / "sandbox")
        seed(state, WorldSize(contacts=args.conversations * 2, conversations=args.conversations))
        running = start(
            state,
            intercom_config=IntercomEmulatorConfig(
                latency_ms=args.latency_ms, latency_jitter_ms=args.jitter_ms
            ),
        )
        try:
            store = IntercomStore(state.intercom_db)
            ids = [r[0] for r in store.query("SELECT id FROM conversations ORDER BY id")]
            store.close()
            floor_per_second = 10_000 / 60
            print(
                f"{len(ids)} conversations read by id, emulator latency "
                f"{args.latency_ms:g} ± {args.jitter_ms:g} ms"
            )
            print("| workers | calls | wall s | calls/s | floor s | wall / floor |")
            print("|---|---|---|---|---|---|")
            for workers in (1, 8, 16):
                client = IntercomResource(
                    access_token="sandbox-intercom-token",
                    base_url=running.intercom_url,
                    mode="sandbox",
                    workers=workers,
                ).client()
                started = time.monotonic()
                for _item, result in client.map_concurrent(
                    lambda cid, c=client: c.get(f"/conversations/{cid}"), ids
                ):
                    if isinstance(result, BaseException):
                        raise result
                wall = time.monotonic() - started
                calls = client.stats.calls
                floor = calls / floor_per_second
                print(
                    f"| {workers} | {calls} | {wall:.1f} | {calls / wall:.0f} | {floor:.1f} "
                    f"| {wall / floor:.2f} |"
                )
        finally:
            running.stop()


if __name__ == "__main__":
    main()
