"""Shared plumbing of the extraction benchmarks: seed an emulator, extract in a child process.

Each extraction runs in its own Python process (``extract_run``), so its peak RSS
(``ru_maxrss``) belongs to that extraction alone; the emulator serves from the parent process.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Emulator:
    url: str
    store: Any
    server: Any

    def stop(self) -> None:
        self.server.stop()
        self.store.close()


def seed_and_serve(
    root: Path,
    size,
    timezone: str = "America/Los_Angeles",
    faults: dict[str, Any] | None = None,
    rate_limit_per_minute: int = 10_000,
) -> tuple[Emulator, dict[str, int], float]:
    """A fresh emulator over a freshly generated world; returns it, its counts and seed seconds."""
    from intercom_salesforce.sandbox.intercom import (
        FaultConfig,
        IntercomEmulatorConfig,
        IntercomStore,
        create_app,
    )
    from intercom_salesforce.sandbox.serving import start_in_thread
    from intercom_salesforce.sandbox.world import World

    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    store = IntercomStore(root / "intercom.sqlite")
    store.reset()
    counts = store.load_world(World(size=size, timezone=timezone).intercom())
    seconds = time.monotonic() - started
    config = IntercomEmulatorConfig(
        timezone=timezone,
        rate_limit_per_minute=rate_limit_per_minute,
        faults=FaultConfig(**(faults or {})),
    )
    server = start_in_thread(create_app(store, config))
    return Emulator(server.url, store, server), counts, seconds


def extract_in_child(
    url: str,
    warehouse: Path,
    assets: list[str],
    first: str,
    last: str,
    *,
    full_refresh: bool = False,
    resource_config: dict[str, Any] | None = None,
    timeout: float = 6 * 3600,
) -> dict[str, Any]:
    """Run ``extract_run.py`` in a subprocess; returns its JSON report (with ``peak_rss_mb``)."""
    args = {
        "url": url,
        "warehouse": str(warehouse),
        "assets": assets,
        "first": first,
        "last": last,
        "full_refresh": full_refresh,
        "resource_config": resource_config or {},
    }
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("extract_run.py")), json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "INTERCOM_WORKSPACE_TIMEZONE": "America/Los_Angeles"},
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"extraction failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def window(days: int) -> tuple[str, str]:
    """The last ``days`` + 2 daily partitions up to today's."""
    from intercom_salesforce.assets.partitions import daily_partitions

    keys = daily_partitions.get_partition_keys()
    return keys[-(days + 2)], keys[-1]


def own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
