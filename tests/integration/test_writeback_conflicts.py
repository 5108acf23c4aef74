"""A token that may not create data attributes stops the write-back with the permission named;
Intercom's refusals wait in the review queue; a field changed on both sides since the write-back last wrote it follows its policy, and the
conflict is recorded with both values (direction to_intercom)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from intercom_salesforce.assets.extract.records import intercom_contacts
from intercom_salesforce.definitions import WRITEBACK_JOB_ASSETS
from intercom_salesforce.resources.intercom import IntercomClient
from tests.helpers import (
    Sandbox,
    full_range,
    materialize_range,
    run_range,
    simple_salesforce,
    wait_past,
    warehouse_rows,
)


def _writeback(sandbox: Sandbox, tmp: Path) -> dict:
    run = dg.materialize(WRITEBACK_JOB_ASSETS, resources=sandbox.resources(tmp))
    metadata = run.asset_materializations_for_node("intercom_contacts_writeback")[-1].metadata
    return {k: v.value for k, v in metadata.items()}


def _attributes(client: IntercomClient, contact_id: str) -> dict:
    return client.request("GET", f"/contacts/{contact_id}")["custom_attributes"]


def test_both_sides_changed_follow_the_policy_and_are_recorded(sandbox, tmp_path):
    first, last = full_range()
    assert run_range(sandbox, tmp_path, first, last).success
    client = sandbox.intercom().client()

    # a token that may not create data attributes: the run fails naming the permission
    refused = [{"method": "POST", "path": "/data_attributes"}]
    client.request("PUT", "/_sandbox/faults", json={"unauthorized": refused})
    run = dg.materialize(
        WRITEBACK_JOB_ASSETS, resources=sandbox.resources(tmp_path), raise_on_error=False
    )
    assert not run.success
    failures = [e.step_failure_data.user_failure_data for e in run.get_step_failure_events()]
    assert any(
        f is not None and "permission to create data attributes" in (f.description or "")
        for f in failures
    ), failures
    client.request("PUT", "/_sandbox/faults", json={})

    # an attribute someone created with another type: Intercom refuses those people's writes,
    # and they wait in the review queue with its message
    amount = {"name": "sf_opportunity_amount", "model": "contact", "data_type": "integer"}
    client.request("POST", "/data_attributes", json=amount)
    first_run = _writeback(sandbox, tmp_path)
    assert first_run["people_failed"] >= 1 and first_run["writes_rejected"] >= 1
    queued = warehouse_rows(
        tmp_path,
        "SELECT count(*), min(value) FROM quality.review_queue "
        "WHERE entity = 'intercom_contacts_writeback' AND rule = 'intercom_rejected'",
    )[0]
    assert queued[0] == first_run["people_failed"] and "sf_opportunity_amount" in queued[1]
    person, lead, written, written_at = warehouse_rows(
        tmp_path,
        "SELECT f.intercom_id, m.sf_id, f.value, f.intercom_updated_at "
        "FROM sync.intercom_field_state f JOIN match.person_matches m "
        "ON m.intercom_contact_id = f.intercom_id AND m.sf_object = 'Lead' "
        "WHERE f.attribute = 'sf_lead_status' AND f.value IS NOT NULL ORDER BY 1 LIMIT 1",
    )[0]
    assert _attributes(client, person)["sf_lead_status"] == written

    # a person edits the Lead in Salesforce, another the attribute in Intercom
    wait_past(int(written_at.timestamp()))
    simple_salesforce(sandbox).Lead.update(lead, {"Status": "Working - Contacted"})
    client.request(
        "PUT", f"/contacts/{person}", json={"custom_attributes": {"sf_lead_status": "Edited"}}
    )
    # the next extraction reads Intercom's edit
    materialize_range([intercom_contacts], sandbox.resources(tmp_path), first, last)
    metadata = _writeback(sandbox, tmp_path)
    assert metadata["conflicts"] >= 1

    # sf_lead_status belongs to Salesforce: its value wins, and the conflict keeps both
    assert _attributes(client, person)["sf_lead_status"] == "Working - Contacted"
    conflict = warehouse_rows(
        tmp_path,
        "SELECT kind, rule, intercom_value, salesforce_value, last_synced_value, direction, "
        "resolved_at FROM sync.sync_conflicts WHERE sobject = 'intercom_contact' "
        "AND external_id = ? AND field = 'sf_lead_status'",
        [person],
    )
    assert conflict == [
        (
            "both_changed",
            "salesforce",
            "Edited",
            "Working - Contacted",
            written,
            "to_intercom",
            None,
        )
    ]
