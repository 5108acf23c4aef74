"""Salesforce context back in Intercom, end to end against both emulators: a won Opportunity
reaches every contact of its Account within one sensor-started run; our own writes never come
back as changes in either direction; a field changed on both sides follows its policy and is
recorded as a conflict."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import dagster as dg

from intercom_salesforce.definitions import (
    WRITEBACK_JOB_ASSETS,
    defs,
    salesforce_changes_sensor,
)
from intercom_salesforce.resources.intercom import IntercomClient
from tests.helpers import (
    Sandbox,
    full_range,
    run_range,
    simple_salesforce,
    soql,
    wait_past,
    warehouse_rows,
)

WRITES = ("PUT", "POST", "DELETE")


def _sensor_run(
    sandbox: Sandbox, tmp: Path, cursor: str | None
) -> tuple[dg.MaterializeResult, str]:
    """One sensor tick; the write-back run it asks for, executed here. Returns the contacts
    write-back's metadata and the new cursor."""
    context = dg.build_sensor_context(
        cursor=cursor,
        resources={
            "salesforce": sandbox.salesforce(),
            "warehouse": sandbox.resources(tmp)["warehouse"],
        },
        definitions=defs,
    )
    result = salesforce_changes_sensor.evaluate_tick(context)
    assert len(result.run_requests) == 1, result.skip_message
    run = dg.materialize(
        WRITEBACK_JOB_ASSETS,
        resources=sandbox.resources(tmp),
        tags=result.run_requests[0].tags,
        raise_on_error=False,
    )
    assert run.success, [e.message for e in run.all_events if e.is_failure]
    metadata = run.asset_materializations_for_node("intercom_contacts_writeback")[-1].metadata
    return {k: v.value for k, v in metadata.items()}, context.cursor


def _writeback(sandbox: Sandbox, tmp: Path) -> dict:
    run = dg.materialize(WRITEBACK_JOB_ASSETS, resources=sandbox.resources(tmp))
    metadata = run.asset_materializations_for_node("intercom_contacts_writeback")[-1].metadata
    return {k: v.value for k, v in metadata.items()}


def _contact(client: IntercomClient, contact_id: str) -> tuple[dict, set[str]]:
    """A contact's custom attributes and tag names, read through the API."""
    contact = client.request("GET", f"/contacts/{contact_id}")
    tags = client.request("GET", f"/contacts/{contact_id}/tags")["data"]
    return contact["custom_attributes"], {t["name"] for t in tags}


def _intercom_writes(client: IntercomClient, since: float) -> list[str]:
    log = client.request("GET", "/_sandbox/requests")["requests"]
    return [
        f"{e['method']} {e['path']}"
        for e in log
        if e["at"] >= since
        and e["method"] in WRITES
        and not e["path"].startswith("/_sandbox")
        and not e["path"].endswith("/search")
    ]


def _account_people(tmp: Path) -> tuple[str, list[str]]:
    """The Account with the most Intercom contacts matched to its Contacts, and those contacts."""
    account, people = warehouse_rows(
        tmp,
        'SELECT k."AccountId", list(DISTINCT m.intercom_contact_id ORDER BY m.intercom_contact_id) '
        'FROM match.person_matches m JOIN mirror.salesforce_contacts k ON k."Id" = m.sf_id '
        "WHERE m.sf_object = 'Contact' AND k.\"AccountId\" IS NOT NULL "
        "GROUP BY 1 ORDER BY count(DISTINCT m.intercom_contact_id) DESC, 1 LIMIT 1",
    )[0]
    return account, people


def _won_opportunity(sandbox: Sandbox, account: str) -> str:
    """An open Opportunity of ``account`` (created when it has none) set to Closed Won."""
    sf = simple_salesforce(sandbox)
    open_ones = soql(
        sandbox, f"SELECT Id FROM Opportunity WHERE AccountId = '{account}' AND IsClosed = false"
    )
    if open_ones:
        opp = open_ones[0]["Id"]
    else:
        opp = sf.Opportunity.create(
            {
                "Name": "Expansion",
                "AccountId": account,
                "StageName": "Negotiation/Review",
                "CloseDate": date.today().isoformat(),
                "Amount": 42000,
            }
        )["id"]
    sf.Opportunity.update(opp, {"StageName": "Closed Won"})
    return opp


def test_closed_won_reaches_intercom_once_without_ping_pong(sandbox, tmp_path):
    first, last = full_range()
    assert run_range(sandbox, tmp_path, first, last).success
    client = sandbox.intercom().client()
    account, people = _account_people(tmp_path)
    owners = {
        r["Owner"]["Name"]
        for r in soql(sandbox, f"SELECT Owner.Name FROM Contact WHERE AccountId = '{account}'")
    }

    # the first tick starts from the mirror's marks: the won Opportunity is newer
    _won_opportunity(sandbox, account)
    started = time.time()
    metadata, cursor = _sensor_run(sandbox, tmp_path, None)
    assert metadata["people_written"] >= len(people) and metadata["people_failed"] == 0
    assert metadata["tags_added"] >= len(people) and metadata["attributes_created"] > 0
    for person in people:
        attributes, tags = _contact(client, person)
        assert attributes["sf_opportunity_stage"] == "Closed Won", person
        assert "Closed Won" in tags, person
        assert attributes["sf_owner_name"] in owners, person
    assert _intercom_writes(client, started)

    # no ping-pong: the extraction re-reads the contacts we wrote, the push sends nothing of them
    wait_past(int(time.time()))
    again = run_range(sandbox, tmp_path, first, last)
    assert again.success
    reread = warehouse_rows(
        tmp_path,
        "SELECT count(*) FROM staging.intercom_contacts_current c "
        "JOIN sync.intercom_field_state f ON f.model = 'contact' AND f.intercom_id = c.id "
        "AND f.attribute = 'sf_opportunity_stage' WHERE c.updated_at >= f.intercom_updated_at "
        "AND list_contains(?, c.id)",
        [people],
    )[0][0]
    assert reread == len(people)
    sent = warehouse_rows(
        tmp_path,
        "SELECT count(*) FROM sync.sync_results WHERE run_id = ? AND list_contains(?, external_id)",
        [again.run_id, people],
    )[0][0]
    assert sent == 0

    # an idle write-back writes nothing
    idle_start = time.time()
    idle = _writeback(sandbox, tmp_path)
    assert idle["attributes_written"] == 0 and idle["tags_added"] == 0
    assert idle["people_written"] == 0 and idle["conflicts"] == 0
    assert _intercom_writes(client, idle_start) == []
