"""A dry run (run tag ``intercom_salesforce/dry_run=true``) runs every step up to the push, creates
no Bulk job and moves no sync state; its plan in ``sync.plans`` is exactly what the next real run
then does: the records it creates, the records and fields it updates (with the values sent), the
records review holds back, and the conflicts it leaves alone."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict

import duckdb
import pytest
import requests

from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.push.batch import CLEAR
from intercom_salesforce.assets.push.plan import DRY_RUN_TAG
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import CONVERSATION_ASSETS, SYNC_ASSETS
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, start
from tests.helpers import Sandbox, full_range, materialize_range, simple_salesforce, warehouse_rows
from tests.integration.crash_harness import SyncHome

DRY = {DRY_RUN_TAG: "true"}
PEOPLE = [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]
CONVERSATIONS = [*REFERENCE_ASSETS, *CONVERSATION_ASSETS]
PUSH_NODES = {
    "Account": "salesforce_account_upserts",
    "Lead": "salesforce_lead_upserts",
    "Contact": "salesforce_contact_upserts",
}
# what a push moves; a dry run must leave each exactly as it was
STATE = {
    "field_state": "SELECT * FROM sync.field_state ORDER BY ALL",
    "sync_state": "SELECT * FROM sync.sync_state ORDER BY ALL",
    "sync_results": "SELECT * FROM sync.sync_results ORDER BY ALL",
    "sync_conflicts": "SELECT * FROM sync.sync_conflicts ORDER BY ALL",
    "routing_decisions": "SELECT * FROM sync.routing_decisions ORDER BY ALL",
    "bulk_jobs": "SELECT * FROM sync.bulk_jobs ORDER BY ALL",
    "pending_conversations": "SELECT * FROM sync.pending_conversations ORDER BY ALL",
    "push_review_items": "SELECT * EXCLUDE (item_id) FROM quality.review_queue WHERE rule IN "
    "('mapping_unmapped_value', 'salesforce_rejected', 'salesforce_retry_exhausted') ORDER BY ALL",
}


def run(sandbox, tmp_path, assets, dry: bool = False):
    first, last = full_range()
    return materialize_range(
        assets, sandbox.resources(tmp_path), first, last, tags=DRY if dry else None
    )


def state(tmp_path) -> dict[str, list[tuple]]:
    return {name: warehouse_rows(tmp_path, sql) for name, sql in STATE.items()}


def ingest_jobs_created(sandbox: Sandbox | SyncHome) -> int:
    """Bulk ingest jobs the emulated org was asked to create, from its request log."""
    ca = sandbox.ca if isinstance(sandbox, SyncHome) else sandbox.state.root / "tls" / "ca.pem"
    resp = requests.get(
        f"{sandbox.running.salesforce_url}/_sandbox/requests", verify=str(ca), timeout=10
    )
    resp.raise_for_status()
    log = resp.json()
    assert len(log) < 5000, "the log holds every request of the test (it keeps the last 5000)"
    return sum(e["method"] == "POST" and e["path"].endswith("/jobs/ingest") for e in log)


def planned(tmp_path, run_id: str, sobject: str) -> dict[str, dict[str, dict]]:
    """action -> Intercom id -> {field: value sent} (a conflict: Intercom's value not sent)."""
    plan: dict[str, dict[str, dict]] = defaultdict(dict)
    for action, ext, changes in warehouse_rows(
        tmp_path,
        "SELECT action, external_id, changes FROM sync.plans WHERE run_id = ? AND sobject = ?",
        [run_id, sobject],
    ):
        cells = {c["field"]: c["new_value"] for c in changes or []}
        plan[action][ext] = {
            f: (CLEAR if v is None and action != "conflict" else v) for f, v in cells.items()
        }
    return plan


def outcomes(tmp_path, run_id: str, sobject: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for outcome, ext in warehouse_rows(
        tmp_path,
        "SELECT outcome, external_id FROM sync.sync_results WHERE run_id = ? AND sobject = ?",
        [run_id, sobject],
    ):
        found[outcome].add(ext)
    return found


def sent_cells(tmp_path, run_id: str, sobject: str) -> dict[str, dict[str, str]]:
    """Intercom id -> {field: cell} of every CSV the run uploaded for ``sobject`` (the key
    column and empty cells, which leave a field alone, left out)."""
    jobs = warehouse_rows(
        tmp_path,
        "SELECT csv_path, external_id_field FROM sync.bulk_jobs WHERE run_id = ? AND sobject = ?",
        [run_id, sobject],
    )
    sent: dict[str, dict[str, str]] = {}
    for path, key in jobs:
        key = key or "Id"
        con = duckdb.connect()
        ext_of = dict(
            con.execute(
                "SELECT key, ext FROM read_parquet(?)", [path.rsplit("/", 1)[0] + "/keys.parquet"]
            ).fetchall()
        )
        con.close()
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                sent[ext_of[row[key]]] = {f: v for f, v in row.items() if v and f != key}
    return sent


def open_conflicts(tmp_path, run_id: str, sobject: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for ext, field in warehouse_rows(
        tmp_path,
        "SELECT external_id, field FROM sync.sync_conflicts "
        "WHERE run_id = ? AND sobject = ? AND resolved_at IS NULL",
        [run_id, sobject],
    ):
        found[ext].add(field)
    return dict(found)


def assert_plan_is_what_ran(tmp_path, plan_run: str, real_run: str, sobject: str) -> dict:
    """Every planned create and update happened with the same fields and values, nothing else
    was written, review held back the planned records and the planned conflicts were left."""
    plan = planned(tmp_path, plan_run, sobject)
    done = outcomes(tmp_path, real_run, sobject)
    assert set(done) <= {"created", "updated"}, dict(done)
    assert set(plan["create"]) == done["created"]
    assert set(plan["update"]) == done["updated"]
    sent = sent_cells(tmp_path, real_run, sobject)
    assert {**plan["create"], **plan["update"]} == sent
    held = {
        r[0]
        for r in warehouse_rows(
            tmp_path,
            "SELECT record_id FROM quality.review_queue WHERE status IN ('open', 'dismissed')",
        )
    }
    assert set(plan["review"]) <= held
    assert not set(plan["review"]) & (done["created"] | done["updated"])
    assert {ext: set(cells) for ext, cells in plan["conflict"].items()} == open_conflicts(
        tmp_path, real_run, sobject
    )
    assert not set(plan["unchanged"]) & (done["created"] | done["updated"])
    return plan


def change_both_sides(sandbox, tmp_path) -> tuple[str, str]:
    """A Lead's phone edited in Salesforce and in Intercom (a conflict), its Intercom-owned
    region edited in Salesforce only (sent back), another person's region changed in Intercom."""
    (both_id, both_lead), (other_id, _other_lead) = warehouse_rows(
        tmp_path,
        "SELECT s.external_id, s.sf_id FROM sync.sync_state s "
        "JOIN sync.field_state f ON f.sobject = 'Lead' AND f.external_id = s.external_id "
        "AND f.field = 'Phone' WHERE s.sobject = 'Lead' AND f.value IS NOT NULL ORDER BY 1 LIMIT 2",
    )
    simple_salesforce(sandbox).Lead.update(
        both_lead, {"Phone": "+1 555 0100", "Intercom_Region__c": "EDITED"}
    )
    store = IntercomStore(sandbox.state.intercom_db)
    store.update_contact(both_id, phone="+44 20 7946 0000")
    store.update_contact(other_id, custom_attributes={"region": "APAC-PLAN"})
    store.close()
    return both_id, other_id


@pytest.mark.long(seconds=150)
def test_dry_run_writes_nothing_and_its_plan_is_what_the_next_run_does(sandbox, tmp_path):
    # a fresh warehouse: the plan is the first sync
    dry = run(sandbox, tmp_path, PEOPLE, dry=True)
    assert ingest_jobs_created(sandbox) == 0
    assert all(not rows for name, rows in state(tmp_path).items() if name != "push_review_items")
    md = dry.asset_materializations_for_node("salesforce_lead_upserts")[-1].metadata
    assert md["dry_run"].value is True and md["plan_create"].value > 0
    assert md["plan_csv"].value.endswith("plan-Lead.csv")
    assert "| action |" in md["sample"].value
    real = run(sandbox, tmp_path, PEOPLE)
    first_plan = {
        s: assert_plan_is_what_ran(tmp_path, dry.run_id, real.run_id, s) for s in PUSH_NODES
    }
    assert first_plan["Lead"]["create"] and first_plan["Lead"]["review"]
    assert first_plan["Contact"]["update"]

    # both sides change; the dry run sees it all and leaves everything as it was
    both_id, other_id = change_both_sides(sandbox, tmp_path)
    before, jobs_before = state(tmp_path), ingest_jobs_created(sandbox)
    dry = run(sandbox, tmp_path, PEOPLE, dry=True)
    assert ingest_jobs_created(sandbox) == jobs_before
    assert state(tmp_path) == before
    plan = planned(tmp_path, dry.run_id, "Lead")
    assert plan["update"][other_id] == {"Intercom_Region__c": "APAC-PLAN"}
    # the region edited in Salesforce only is Intercom's: sent back; the phone is a conflict
    assert set(plan["update"][both_id]) == {"Intercom_Region__c"}
    assert plan["conflict"][both_id] == {"Phone": "+44 20 7946 0000"}
    old = warehouse_rows(
        tmp_path,
        "SELECT c.old_value FROM sync.plans, unnest(changes) t(c) "
        "WHERE run_id = ? AND external_id = ? AND action = 'conflict'",
        [dry.run_id, both_id],
    )
    assert old == [("+1 555 0100",)]  # Salesforce's value, as the mirror read it

    real = run(sandbox, tmp_path, PEOPLE)
    for sobject in PUSH_NODES:
        assert_plan_is_what_ran(tmp_path, dry.run_id, real.run_id, sobject)


@pytest.mark.long(seconds=90)
def test_conversation_plan_is_what_the_next_run_does(sandbox, tmp_path):
    run(sandbox, tmp_path, PEOPLE)
    jobs_before = ingest_jobs_created(sandbox)
    before = state(tmp_path)
    dry = run(sandbox, tmp_path, CONVERSATIONS, dry=True)
    assert ingest_jobs_created(sandbox) == jobs_before
    assert state(tmp_path) == before
    real = run(sandbox, tmp_path, CONVERSATIONS)
    plan = assert_plan_is_what_ran(tmp_path, dry.run_id, real.run_id, "Task")
    assert plan["create"]
    waiting = {
        r[0]
        for r in warehouse_rows(tmp_path, "SELECT conversation_id FROM sync.pending_conversations")
    }
    assert set(plan["waiting"]) == waiting


@pytest.mark.long(seconds=90)
def test_plan_command_prints_each_object_and_writes_nothing(seeded_state, tmp_path):
    shutil.copytree(seeded_state.root, tmp_path / "var" / "sandbox")
    home = SyncHome(tmp_path, start(SandboxState(tmp_path / "var" / "sandbox")))
    try:
        first, last = full_range()
        code, out = home.run("plan", "--from", first, "--to", last, "--object", "Lead")
        assert code == 0, out
        assert ingest_jobs_created(home) == 0
    finally:
        home.stop()
    lines = out.splitlines()
    assert any(line.startswith("Plan of run ") for line in lines), out
    (lead,) = [line for line in lines if line.strip().startswith("Lead:")]
    assert "create " in lead and "Account:" not in out  # only the object asked for
    created = int(lead.split("create ")[1].split(",")[0])
    csv_path = lines[lines.index(lead) + 1].strip()
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert created > 0 and sum(r["action"] == "create" for r in rows) == created
    warehouse = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"), read_only=True)
    try:
        assert warehouse.execute("SELECT count(*) FROM sync.sync_state").fetchone() == (0,)
        assert warehouse.execute(
            "SELECT count(*) FROM sync.plans WHERE sobject = 'Lead' AND action = 'create'"
        ).fetchone() == (created,)
    finally:
        warehouse.close()
