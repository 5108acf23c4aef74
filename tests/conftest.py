"""Shared fixtures: a seeded sandbox served on loopback, and resources aimed at it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.resources.salesforce import SalesforceResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.sandbox.runtime import RunningSandbox, SandboxState, seed, start
from intercom_salesforce.sandbox.world import WorldSize
from intercom_salesforce.settings import (
    SANDBOX_INTERCOM_TOKEN,
    SANDBOX_SF_CLIENT_ID,
    SANDBOX_SF_CLIENT_SECRET,
)


@dataclass
class Sandbox:
    state: SandboxState
    running: RunningSandbox
    seeded: dict

    def intercom(self) -> IntercomResource:
        return IntercomResource(
            access_token=SANDBOX_INTERCOM_TOKEN, base_url=self.running.intercom_url, mode="sandbox"
        )

    def salesforce(self) -> SalesforceResource:
        return SalesforceResource(
            mode="sandbox",
            login_url=self.running.salesforce_url,
            auth_flow="client_credentials",
            client_id=SANDBOX_SF_CLIENT_ID,
            client_secret=SANDBOX_SF_CLIENT_SECRET,
            ca_bundle=str(self.state.root / "tls" / "ca.pem"),
            poll_initial_seconds=0.05,
        )

    def resources(self, tmp: Path) -> dict:
        from dagster_duckdb import DuckDBResource

        return {
            "intercom": self.intercom(),
            "salesforce": self.salesforce(),
            "warehouse": DuckDBResource(database=str(tmp / "warehouse.duckdb")),
            "sync_settings": SyncSettings(work_dir=str(tmp / "work")),
        }


def make_sandbox(root: Path, contacts: int = 200) -> Sandbox:
    state = SandboxState(root)
    info = seed(state, WorldSize(contacts=contacts), timezone="America/Los_Angeles")
    return Sandbox(state, start(state), info)


@pytest.fixture()
def sandbox(tmp_path: Path):
    """A fresh, seeded sandbox per test (state in tmp_path), on ephemeral ports."""
    sb = make_sandbox(tmp_path / "sandbox")
    yield sb
    sb.running.stop()
