"""The emulators' latency setting: API responses wait base ± jitter; control endpoints never do;
the default is none (what the tests run with)."""

from __future__ import annotations

import time

import requests

from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig
from intercom_salesforce.sandbox.latency import Latency
from intercom_salesforce.sandbox.runtime import SandboxState, seed, start
from intercom_salesforce.sandbox.salesforce.config import SalesforceEmulatorConfig
from intercom_salesforce.sandbox.world import WorldSize


def elapsed(call) -> float:
    started = time.monotonic()
    call()
    return time.monotonic() - started


def test_latency_delays_api_responses_only(tmp_path):
    state = SandboxState(tmp_path / "sandbox")
    seed(state, WorldSize(contacts=10))
    running = start(
        state,
        intercom_config=IntercomEmulatorConfig(latency_ms=150),
        salesforce_config=SalesforceEmulatorConfig(latency_ms=150),
    )
    ca = str(state.root / "tls" / "ca.pem")
    headers = {"Authorization": "Bearer sandbox-intercom-token", "Intercom-Version": "2.14"}
    try:
        ic = running.intercom_url
        assert elapsed(lambda: requests.get(f"{ic}/me", headers=headers, timeout=10)) >= 0.15
        assert elapsed(lambda: requests.get(f"{ic}/_sandbox/health", timeout=10)) < 0.15
        sf = running.salesforce_url
        assert elapsed(lambda: requests.get(f"{sf}/services/data", verify=ca, timeout=10)) >= 0.15
        control = f"{sf}/_sandbox/config/faults"
        assert elapsed(lambda: requests.get(control, verify=ca, timeout=10)) < 0.15
    finally:
        running.stop()


def test_jitter_stays_within_its_bounds_and_defaults_to_none():
    latency = Latency(100, 30, seed=1)
    delays = [latency.delay_seconds() for _ in range(2000)]
    assert min(delays) >= 0.07 and max(delays) <= 0.13
    assert max(delays) - min(delays) > 0.05  # it does vary
    assert Latency().delay_seconds() == 0.0
    assert IntercomEmulatorConfig().latency_ms == 0 and SalesforceEmulatorConfig().latency_ms == 0
