"""Seed, reset and serve the sandbox: both emulators, their state on disk, their TLS material.

State lives under one folder (``var/sandbox`` by default, git-ignored): ``intercom.sqlite``,
``salesforce.sqlite``, ``tls/`` and ``seed.json`` (what was seeded, with which seed and size).
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from intercom_salesforce.sandbox.intercom.app import create_app as create_intercom_app
from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.intercom.store.base import StoreFormatError
from intercom_salesforce.sandbox.salesforce.app import create_app as create_salesforce_app
from intercom_salesforce.sandbox.salesforce.config import SalesforceEmulatorConfig
from intercom_salesforce.sandbox.salesforce.store import SalesforceStore
from intercom_salesforce.sandbox.seeding import load_intercom
from intercom_salesforce.sandbox.serving import RunningServer, start_in_thread
from intercom_salesforce.sandbox.tls import ensure_tls
from intercom_salesforce.sandbox.world import World, WorldSize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SandboxState:
    """Where one sandbox keeps its files."""

    root: Path

    @property
    def intercom_db(self) -> Path:
        return self.root / "intercom.sqlite"

    @property
    def salesforce_db(self) -> Path:
        return self.root / "salesforce.sqlite"

    @property
    def seed_file(self) -> Path:
        return self.root / "seed.json"

    def seeded(self) -> dict | None:
        return json.loads(self.seed_file.read_text()) if self.seed_file.exists() else None


def reset(state: SandboxState) -> None:
    """Forget everything the sandbox holds (the TLS material too)."""
    if state.root.exists():
        shutil.rmtree(state.root)


def seed(
    state: SandboxState,
    size: WorldSize | None = None,
    seed_value: int = 7,
    timezone: str = "America/Los_Angeles",
) -> dict:
    """Load a fresh deterministic world into both emulators' stores; returns counts per entity."""
    size = size or WorldSize()
    state.root.mkdir(parents=True, exist_ok=True)
    world = World(seed=seed_value, size=size, timezone=timezone)
    started = time.monotonic()
    try:
        ic = IntercomStore(state.intercom_db)
    except StoreFormatError:
        for path in state.root.glob(state.intercom_db.name + "*"):
            path.unlink()
        ic = IntercomStore(state.intercom_db)
    ic.reset()
    intercom_counts = load_intercom(ic, world)
    sf = SalesforceStore(state.salesforce_db)
    sf.reset()
    salesforce_counts = sf.load_world(world.salesforce())
    info = {
        "seed": seed_value,
        "size": asdict(size),
        "timezone": timezone,
        "seeded_at": datetime.now(UTC).isoformat(),
        "seconds": round(time.monotonic() - started, 1),
        "intercom": intercom_counts,
        "salesforce": salesforce_counts,
    }
    state.seed_file.write_text(json.dumps(info, indent=2))
    return info


@dataclass
class RunningSandbox:
    intercom: RunningServer | None
    salesforce: RunningServer | None
    intercom_url: str
    salesforce_url: str

    def stop(self) -> None:
        for server in (self.intercom, self.salesforce):
            if server is not None:
                server.stop()


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def start(
    state: SandboxState,
    *,
    host: str = "127.0.0.1",
    intercom_port: int = 0,
    salesforce_port: int = 0,
    reuse_running: bool = False,
    intercom_config: IntercomEmulatorConfig | None = None,
    salesforce_config: SalesforceEmulatorConfig | None = None,
) -> RunningSandbox:
    """Serve both emulators in background threads (Intercom over HTTP, Salesforce over TLS).

    With ``reuse_running``, a port that already answers (a ``sandbox serve`` started elsewhere,
    say by ``make dev``) is used as it is rather than started twice.
    """
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    tls = ensure_tls(state.root)
    ic_server = sf_server = None
    if reuse_running and intercom_port and _port_open(host, intercom_port):
        ic_url = f"http://{host}:{intercom_port}"
    else:
        ic_app = create_intercom_app(
            IntercomStore(state.intercom_db), intercom_config or IntercomEmulatorConfig()
        )
        ic_server = start_in_thread(ic_app, host, intercom_port)
        ic_url = ic_server.url
    if reuse_running and salesforce_port and _port_open(host, salesforce_port):
        sf_url = f"https://{host}:{salesforce_port}"
    else:
        sf_app = create_salesforce_app(
            SalesforceStore(state.salesforce_db), salesforce_config or SalesforceEmulatorConfig()
        )
        sf_server = start_in_thread(sf_app, host, salesforce_port, ssl_context=tls.ssl_context)
        sf_url = sf_server.url
    return RunningSandbox(ic_server, sf_server, ic_url, sf_url)
