"""Run syncs as separate processes against a sandbox served by the test, stop them at exact
points of the Salesforce or Intercom protocol (the emulators' hold faults), and SIGKILL them there.

Shared by the crash test and the soak: the org a run leaves is compared with the org a fault-free
run over the same data leaves, by our external ids and the values of the fields we write.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import requests

from intercom_salesforce.sandbox.runtime import RunningSandbox, SandboxState, seed, start
from tests.helpers import Sandbox, full_range, world_size

from .sync_process import CliProcess

INGEST = r"/services/data/v[0-9.]+/jobs/ingest"
# the fields whose values a clean run and a crashed-then-resumed run must agree on
COMPARED = {
    "Lead": "Intercom_Contact_Id__c, Email, FirstName, LastName, Company, OwnerId, Status",
    "Contact": "Intercom_Contact_Id__c, Email, FirstName, LastName, AccountId",
    "Account": "Intercom_Company_Id__c, Name, Website",
}
KEYS = {"Lead": "Intercom_Contact_Id__c", "Contact": "Intercom_Contact_Id__c"}
KEYS["Account"] = "Intercom_Company_Id__c"
# name: (service, hold rule); "after" holds let the request take effect and withhold the answer
KILL_POINTS = {
    "extract_search": ("intercom", {"method": "POST", "path": "/contacts/search"}),
    "job_created": ("salesforce", {"method": "POST", "path": INGEST, "after": True}),
    "mid_upload": ("salesforce", {"method": "PUT", "path": INGEST + "/[^/]+/batches"}),
    "after_close": ("salesforce", {"method": "PATCH", "path": INGEST + "/[^/]+", "after": True}),
    "polling": ("salesforce", {"method": "GET", "path": INGEST + "/[^/]+", "after": True}),
    "reading_results": (
        "salesforce",
        {"method": "GET", "path": INGEST + "/[^/]+/successfulResults", "after": True},
    ),
}


@dataclass
class SyncHome:
    """One sandbox, one warehouse, one Dagster instance: what a deployment has."""

    root: Path
    running: RunningSandbox
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def ca(self) -> str:
        return str(self.root / "var" / "sandbox" / "tls" / "ca.pem")

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("INTERCOM_", "SALESFORCE_", "DAGSTER_", "SANDBOX_", "WAREHOUSE"))
        }
        env.update(
            INTERCOM_SALESFORCE_HOME=str(self.root),
            SANDBOX_INTERCOM_URL=self.running.intercom_url,
            SANDBOX_SALESFORCE_URL=self.running.salesforce_url,
            PYTHONWARNINGS="ignore",
        )
        env.update(self.extra_env)
        return env

    def start(self, *args: str) -> CliProcess:
        """``intercom-salesforce <args>`` in a process of its own, its output in a new log."""
        log = self.root / f"sync-{time.monotonic_ns()}.log"
        return CliProcess(args, env=self.env(), cwd=str(self.root), log_path=str(log))

    def start_sync(self, job: str = "people") -> CliProcess:
        """``intercom-salesforce sync`` of the seeded days."""
        first, last = full_range()
        return self.start("sync", "--job", job, "--from", first, "--to", last, "--quiet")

    def run(self, *args: str, timeout: float = 300) -> tuple[int, str]:
        """``intercom-salesforce <args>`` to its end: its exit code and output."""
        code = self.start(*args).wait(timeout=timeout)
        return code, self.last_log()

    def sync(self, job: str = "people", timeout: float = 300) -> tuple[int, str]:
        proc = self.start_sync(job)
        code = proc.wait(timeout=timeout)
        return code, self.last_log()

    def last_log(self) -> str:
        logs = sorted(self.root.glob("sync-*.log"))
        return logs[-1].read_text() if logs else ""

    # -- the emulators' faults ------------------------------------------------------------------
    def salesforce_faults(self, **faults) -> None:
        resp = requests.put(
            f"{self.running.salesforce_url}/_sandbox/config/faults",
            json=faults,
            verify=self.ca,
            timeout=10,
        )
        resp.raise_for_status()

    def intercom_faults(self, **faults) -> None:
        resp = requests.put(f"{self.running.intercom_url}/_sandbox/faults", json=faults, timeout=10)
        resp.raise_for_status()

    def wait_held(self, service: str, rule: str, timeout: float = 120) -> bool:
        """Whether a request reached the hold ``rule`` within ``timeout`` seconds."""
        base = self.running.salesforce_url if service == "salesforce" else self.running.intercom_url
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            resp = requests.get(
                f"{base}/_sandbox/holds",
                params={"rule": rule, "wait": 10},
                verify=self.ca,
                timeout=30,
            )
            resp.raise_for_status()
            if any(h["name"] == rule and h["held"] > 0 for h in resp.json()["holds"]):
                return True
        return False

    def clear_holds(self) -> None:
        self.salesforce_faults(holds=[])
        self.intercom_faults(holds=[])

    # -- the org ----------------------------------------------------------------------------------
    def salesforce_client(self):
        state = SandboxState(self.root / "var" / "sandbox")
        return Sandbox(state, self.running, {}).salesforce().client()

    def soql(self, query: str) -> list[dict]:
        return self.salesforce_client().call(lambda s: s.query_all(query))["records"]

    def org(self) -> dict[str, Counter]:
        """Per object, a multiset of our records' compared values (duplicates count twice).

        Lookups to Accounts are compared by the Account's company id or name: the Ids of
        Accounts created by a run depend on the order of the jobs that created them.
        """
        accounts = {
            r["Id"]: r.get("Intercom_Company_Id__c") or r["Name"]
            for r in self.soql("SELECT Id, Name, Intercom_Company_Id__c FROM Account")
        }
        out: dict[str, Counter] = {}
        for sobject, fields in COMPARED.items():
            names = [f.strip() for f in fields.split(",")]
            rows = self.soql(f"SELECT {fields} FROM {sobject} WHERE {KEYS[sobject]} != null")
            out[sobject] = Counter(
                tuple(
                    str(accounts.get(r.get(f), r.get(f)) if f == "AccountId" else r.get(f))
                    for f in names
                )
                for r in rows
            )
        return out

    def stop(self) -> None:
        self.running.stop()


def make_home(root: Path, contacts: int) -> SyncHome:
    state = SandboxState(root / "var" / "sandbox")
    seed(state, world_size(contacts), timezone="America/Los_Angeles")
    return SyncHome(root, start(state))


def kill(proc: CliProcess) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def duplicates(org: dict[str, Counter]) -> dict[str, int]:
    """Records of ours present more than once, per object (by their external id)."""
    out = {}
    for sobject, rows in org.items():
        ids = Counter(row[0] for row in rows.elements())
        out[sobject] = sum(n - 1 for n in ids.values() if n > 1)
    return out


def ledger(root: Path) -> dict[str, object]:
    """What the warehouse's ledger says of a home's syncs: finished and open Bulk jobs, each
    Lead's last outcome, and how many Leads kept their routing decision."""
    con = duckdb.connect(str(root / "var" / "warehouse.duckdb"), read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "jobs": one("SELECT count(*) FROM sync.bulk_jobs WHERE state = 'JobComplete'"),
            "open": one(
                "SELECT count(*) FROM sync.bulk_jobs WHERE state NOT IN "
                "('JobComplete', 'Failed', 'Aborted', 'Lost')"
            ),
            "outcomes": dict(
                con.execute(
                    """SELECT outcome, count(*) FROM (
                           SELECT external_id, arg_max(outcome, recorded_at) AS outcome
                           FROM sync.sync_results WHERE sobject = 'Lead' GROUP BY 1)
                       GROUP BY 1"""
                ).fetchall()
            ),
            "routed": one("SELECT count(*) FROM sync.routing_decisions WHERE sobject = 'Lead'"),
        }
    finally:
        con.close()


def kill_at(home: SyncHome, point: str, job: str = "people") -> None:
    """Start a sync, wait until it reaches ``point``, SIGKILL it, lift the hold."""
    service, rule = KILL_POINTS[point]
    set_faults = home.salesforce_faults if service == "salesforce" else home.intercom_faults
    set_faults(holds=[{**rule, "name": point}])
    proc = home.start_sync(job)
    reached = home.wait_held(service, point)
    kill(proc)
    home.clear_holds()
    assert reached, f"the sync never reached {point}:\n{home.last_log()}"
