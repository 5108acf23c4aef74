"""``intercom-salesforce trace`` tells a person's story from the warehouse, newest first: the
extraction, the match rule and candidates, the routing rule, each Bulk result with its job, and
the run that did each."""

from __future__ import annotations

import json

import pytest

from intercom_salesforce.cli import main
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from tests.helpers import full_range, run_range, warehouse_rows


def trace(capsys, identifier: str) -> list[dict]:
    capsys.readouterr()
    assert main(["trace", identifier, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def steps(story: dict, step: str) -> list[dict]:
    return [s for s in story["steps"] if s["step"] == step]


@pytest.mark.long(seconds=60)
def test_trace_of_a_person_matched_by_email_then_updated(sandbox, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    first, last = full_range()
    one = run_range(sandbox, tmp_path, first, last)
    assert one.success
    (person, email, sf_object, sf_id), (created, _) = [
        *warehouse_rows(
            tmp_path,
            "SELECT m.intercom_contact_id, c.email, m.sf_object, m.sf_id FROM match.person_matches m "
            "JOIN staging.intercom_contacts_current c ON c.id = m.intercom_contact_id "
            "JOIN sync.sync_results r ON r.external_id = m.intercom_contact_id "
            "AND r.outcome = 'updated' WHERE m.rule = 'email' ORDER BY 1 LIMIT 1",
        ),
        *warehouse_rows(
            tmp_path,
            "SELECT external_id, rule FROM sync.routing_decisions WHERE sobject = 'Lead' "
            "ORDER BY 1 LIMIT 1",
        ),
    ]
    (story,) = trace(capsys, email.upper())  # an email in any case names the person
    assert story["intercom_id"] == person and story["kind"] == "contact"
    (matched,) = steps(story, "matched")
    assert matched["run_id"] == one.run_id and matched["detail"]["rule"] == "email"
    assert sf_id in matched["summary"] and f"{sf_object}:{sf_id}" in matched["detail"]["candidates"]

    store = IntercomStore(sandbox.state.intercom_db)
    store.update_contact(person, custom_attributes={"region": "APAC-TRACE"})
    store.close()
    two = run_range(sandbox, tmp_path, first, last)
    assert two.success

    (story,) = trace(capsys, email)
    at = [s["at"] for s in story["steps"]]
    assert at == sorted(at, reverse=True)  # newest first
    (extracted,) = steps(story, "extracted")
    assert extracted["run_id"] == two.run_id  # the change was read again by the second run
    # the first update stamped our external id: the second run matched the person by it
    (matched,) = steps(story, "matched")
    assert (matched["run_id"], matched["detail"]["rule"]) == (two.run_id, "external_id")
    pushed = steps(story, "pushed")
    assert [(p["run_id"], p["detail"]["job_state"]) for p in pushed] == [
        (two.run_id, "JobComplete"),
        (one.run_id, "JobComplete"),
    ]
    assert all(f"{sf_object} {sf_id} updated by Bulk job" in p["summary"] for p in pushed)
    # the Salesforce Id names the same person
    assert [s["intercom_id"] for s in trace(capsys, sf_id)] == [person]

    # a person created as a Lead: routed by a rule, in the run that created it
    (lead,) = trace(capsys, created)
    (routed,) = steps(lead, "routed")
    rule = warehouse_rows(
        tmp_path, "SELECT rule FROM sync.routing_decisions WHERE external_id = ?", [created]
    )[0][0]
    assert routed["run_id"] == one.run_id and routed["detail"]["rule"] == rule
    assert [p["run_id"] for p in steps(lead, "pushed") if "created" in p["summary"]] == [one.run_id]

    # text for people: one line per step, with the run id
    assert main(["trace", person]) == 0
    out = capsys.readouterr().out
    assert f"contact {person}" in out and f"run {two.run_id}" in out
    assert main(["trace", "nobody@nowhere.example"]) == 1
