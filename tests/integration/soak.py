"""The soak: people and conversation syncs, round after round, under random faults on both
emulators while the Intercom data keeps changing; then the org is compared with a twin sandbox
that received the same changes and was synced without faults.

The short configuration runs in the tests (``test_soak.py``); the long one from the command line:

    uv run python -m tests.integration.soak --contacts 20000 --rounds 5

It prints a table: rounds, runs (and how many failed and were run again), faults injected by
kind, records, duplicates and lost records (both must be 0).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import requests

from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import CONVERSATION_ASSETS, SYNC_ASSETS
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, seed, start
from intercom_salesforce.sandbox.world import WorldSize
from tests.helpers import Sandbox, full_range, materialize_range, world_size

PEOPLE = [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]
CONVERSATIONS = [*REFERENCE_ASSETS, *CONVERSATION_ASSETS]
COMPARED = {
    "Account": ("Intercom_Company_Id__c", "Name, Website"),
    "Lead": ("Intercom_Contact_Id__c", "Email, FirstName, LastName, Company, Status, Phone"),
    "Contact": ("Intercom_Contact_Id__c", "Email, FirstName, LastName, AccountId, Phone"),
    "Task": ("Intercom_Conversation_Id__c", "Subject, Status, Priority, WhoId, OwnerId"),
}


@dataclass
class SoakReport:
    rounds: int = 0
    runs: int = 0
    failed_runs: int = 0
    faults: Counter = field(default_factory=Counter)
    changes: int = 0
    records: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)
    differences: dict[str, int] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    seconds: float = 0.0
    run_seconds: list[tuple[str, float]] = field(default_factory=list)

    def table(self) -> str:
        rows = [
            ("rounds", self.rounds),
            ("sync runs under faults (failed, run again)", f"{self.runs} ({self.failed_runs})"),
            ("Intercom records changed between rounds", self.changes),
            *[(f"faults injected: {k}", v) for k, v in sorted(self.faults.items())],
            *[(f"{k} records (ours)", v) for k, v in self.records.items()],
            ("duplicates", sum(self.duplicates.values())),
            ("records differing from the fault-free twin", sum(self.differences.values())),
            ("lost (neither in Salesforce nor in review)", len(self.lost)),
            ("wall seconds", round(self.seconds)),
            ("slowest run, seconds", round(max((t for _, t in self.run_seconds), default=0))),
        ]
        width = max(len(str(k)) for k, _ in rows)
        return "\n".join(f"| {k:<{width}} | {v} |" for k, v in rows)


def _sandbox(root: Path, size: WorldSize) -> Sandbox:
    """A seeded sandbox whose Intercom rate-limit windows last a second: a storm's 429s are
    waited out as a real client waits them (until ``X-RateLimit-Reset``), in a second each."""
    state = SandboxState(root / "sandbox")
    info = seed(state, size, timezone="America/Los_Angeles")
    config = IntercomEmulatorConfig(rate_limit_window_seconds=1)
    return Sandbox(state, start(state, intercom_config=config), info)


def _sync(sb: Sandbox, work: Path, assets: list, settings: dict, report: SoakReport) -> bool:
    started = time.monotonic()
    resources = sb.resources(work)
    resources["sync_settings"] = SyncSettings(work_dir=str(work / "work"), **settings)
    first, last = full_range()
    result = materialize_range(assets, resources, first, last, succeed=False)
    report.run_seconds.append((f"{work.name} {len(assets)} assets", time.monotonic() - started))
    return result.success


def _change(sb: Sandbox, rng: random.Random, round_no: int, share: float) -> int:
    """The same edits on either twin (the rng is seeded per round): names, phones, plans and
    regions of some contacts, titles and states of some conversations, and new leads."""
    store = IntercomStore(sb.state.intercom_db)
    try:
        contacts = sorted(r[0] for r in store.query("SELECT id FROM contacts"))
        conversations = sorted(r[0] for r in store.query("SELECT id FROM conversations"))
        picked = rng.sample(contacts, max(1, int(len(contacts) * share)))
        for i, cid in enumerate(picked):
            store.update_contact(
                cid,
                name=f"Soak{round_no} Person{i}",
                phone=f"+1 415 555 {rng.randrange(10000):04d}",
                custom_attributes={"region": rng.choice(["EMEA", "AMER", "APAC"])},
            )
        convs = rng.sample(conversations, max(1, int(len(conversations) * share)))
        for cid in convs:
            store.update_conversation(cid, title=f"Soak round {round_no} {cid[-4:]}")
        new = max(1, int(len(contacts) * share / 4))
        for i in range(new):
            store.create_contact(
                id=f"50a{round_no:03d}{i:018x}",
                role="lead",
                name=f"New{round_no} Lead{i}",
                email=f"soak{round_no}.{i}@newcorp{i % 7}.example",
            )
        return len(picked) + len(convs) + new
    finally:
        store.close()


def _faults(rng: random.Random, storms: tuple[int, ...]) -> tuple[dict, dict]:
    """Random faults for one run. Each 429 of a storm costs the client a wait until Intercom's
    next rate-limit window (up to a second here, ten against Intercom)."""
    intercom = {
        "error_rate": rng.choice([0.0, 0.03, 0.08]),
        "rate_limit_storm": rng.choice(storms),
        "drop_connection_rate": rng.choice([0.0, 0.02, 0.05]),
        "empty_body_rate": rng.choice([0.0, 0.02]),
        "seed": rng.randrange(1 << 30),
    }
    salesforce = {
        "lock_row_rate": rng.choice([0.0, 0.05, 0.15]),
        "http_503_rate": rng.choice([0.0, 0.05, 0.1]),
        "expire_sessions": rng.random() < 0.5,
        "fail_next_jobs": rng.choice([0, 0, 1]),
        "slow_job_polls": rng.choice([0, 3]),
        "seed": rng.randrange(1 << 30),
    }
    return intercom, salesforce


def _set_faults(sb: Sandbox, intercom: dict, salesforce: dict) -> None:
    ca = str(sb.state.root / "tls" / "ca.pem")
    requests.put(f"{sb.running.intercom_url}/_sandbox/faults", json=intercom, timeout=10)
    requests.put(
        f"{sb.running.salesforce_url}/_sandbox/config/faults",
        json=salesforce,
        verify=ca,
        timeout=10,
    ).raise_for_status()


def _count_faults(sb: Sandbox, report: SoakReport) -> None:
    ca = str(sb.state.root / "tls" / "ca.pem")
    injected = requests.get(f"{sb.running.intercom_url}/_sandbox/faults/injected", timeout=30)
    for kind, n in injected.json().items():
        report.faults[f"intercom {kind}"] = n  # totals since the emulator started
    sf = requests.get(f"{sb.running.salesforce_url}/_sandbox/requests", verify=ca, timeout=30)
    statuses = Counter(e["status"] for e in sf.json())
    report.faults["salesforce 5xx (log tail)"] = sum(n for s, n in statuses.items() if s >= 500)
    report.faults["salesforce 401 expired session (log tail)"] = statuses.get(401, 0)


def org(sb: Sandbox) -> dict[str, Counter]:
    """Our records per object as comparable tuples; lookups as the target's external id."""
    client = sb.salesforce().client()

    def q(soql: str) -> list[dict]:
        return client.call(lambda s: s.query_all(soql))["records"]

    ext = {
        r["Id"]: r["Intercom_Company_Id__c"] or r["Name"]
        for r in q("SELECT Id, Name, Intercom_Company_Id__c FROM Account")
    }
    for sobject in ("Lead", "Contact"):
        ext.update(
            {
                r["Id"]: r["Intercom_Contact_Id__c"] or r["Id"]
                for r in q(f"SELECT Id, Intercom_Contact_Id__c FROM {sobject}")
            }
        )
    out: dict[str, Counter] = {}
    for sobject, (key, fields) in COMPARED.items():
        names = [key, *(f.strip() for f in fields.split(","))]
        rows = q(f"SELECT {key}, {fields} FROM {sobject} WHERE {key} != null")
        out[sobject] = Counter(
            tuple(
                str(ext.get(r.get(n), r.get(n)) if n in ("AccountId", "WhoId") else r.get(n))
                for n in names
            )
            for r in rows
        )
    return out


def _lost(sb: Sandbox, work: Path, current: dict[str, Counter]) -> list[str]:
    """Intercom people that are neither ours in Salesforce nor waiting in review (people
    without an email are not created by design: they are not counted as lost)."""
    ours = {row[0] for s in ("Lead", "Contact") for row in current[s].elements()}
    store = IntercomStore(sb.state.intercom_db)
    try:
        people = {
            r[0]
            for r in store.query(
                "SELECT id FROM contacts WHERE json_extract(doc, '$.email') IS NOT NULL "
                "AND json_extract(doc, '$.email') <> ''"
            )
        }
    finally:
        store.close()
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    try:
        waiting = {
            r[0]
            for r in con.execute(
                "SELECT record_id FROM quality.review_queue WHERE status IN ('open', 'dismissed')"
            ).fetchall()
        }
        matched = {  # matched to a Salesforce record that is not ours (updated by Id)
            r[0]
            for r in con.execute(
                "SELECT external_id FROM sync.sync_state WHERE sobject IN ('Lead', 'Contact')"
            ).fetchall()
        }
    finally:
        con.close()
    return sorted(people - ours - waiting - matched)


def run_soak(
    root: Path,
    contacts: int,
    rounds: int,
    seed_value: int = 1,
    share: float = 0.03,
    retries: int = 3,
    storms: tuple[int, ...] = (0, 5, 20),
) -> SoakReport:
    started = time.monotonic()
    report = SoakReport()
    size = world_size(contacts, conversations=contacts)
    faulty, clean = _sandbox(root / "faulty", size), _sandbox(root / "clean", size)
    settings = {"push_retry_seconds": 0.05}
    try:
        for round_no in range(1, rounds + 1):
            if round_no > 1:
                report.changes += _change(faulty, random.Random(round_no), round_no, share)
                _change(clean, random.Random(round_no), round_no, share)
            rng = random.Random(seed_value * 1000 + round_no)
            for assets in (PEOPLE, CONVERSATIONS):
                assert _sync(clean, root / "clean", assets, settings, report), (
                    "the fault-free twin failed"
                )
                _set_faults(faulty, *_faults(rng, storms))
                for _attempt in range(retries):
                    report.runs += 1
                    if _sync(faulty, root / "faulty", assets, settings, report):
                        break
                    report.failed_runs += 1
                _count_faults(faulty, report)
            report.rounds += 1
        # the faults stop, as outages do: the next scheduled runs converge
        _set_faults(
            faulty,
            {},
            {"lock_row_rate": 0.0, "http_503_rate": 0.0, "fail_next_jobs": 0, "slow_job_polls": 0},
        )
        for assets in (PEOPLE, CONVERSATIONS):
            assert _sync(faulty, root / "faulty", assets, settings, report)
        con = duckdb.connect(str(root / "faulty" / "warehouse.duckdb"), read_only=True)
        try:
            report.faults["salesforce UNABLE_TO_LOCK_ROW rows"] = con.execute(
                "SELECT count(*) FROM sync.sync_results WHERE error_code = 'UNABLE_TO_LOCK_ROW'"
            ).fetchone()[0]
            report.faults["salesforce jobs ended Failed"] = con.execute(
                "SELECT count(*) FROM sync.bulk_jobs WHERE state = 'Failed'"
            ).fetchone()[0]
        finally:
            con.close()
        got, want = org(faulty), org(clean)
        report.records = {k: sum(v.values()) for k, v in got.items()}
        report.duplicates = {
            k: sum(n - 1 for n in Counter(row[0] for row in v.elements()).values() if n > 1)
            for k, v in got.items()
        }
        report.differences = {
            k: sum(((got[k] - want[k]) + (want[k] - got[k])).values()) for k in got
        }
        report.lost = _lost(faulty, root / "faulty", got)
    finally:
        faulty.running.stop()
        clean.running.stop()
    report.seconds = time.monotonic() - started
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run_soak(Path(tmp), args.contacts, args.rounds, args.seed)
    print(f"soak: {args.contacts} contacts, {args.contacts} conversations, seed {args.seed}")
    print(report.table())


if __name__ == "__main__":
    main()
