"""Conversations as the custom object (queue-owned by routing) or as Notes, updated in place."""

from __future__ import annotations

from pathlib import Path

import duckdb

from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import CONVERSATION_ASSETS, SYNC_ASSETS
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.settings import SANDBOX_MAPPING
from tests.helpers import full_range, soql, sync, warehouse_rows

QUEUE_RULE = """    - name: The Support inbox's conversations wait in the support queue
      when: {inbox: Support}
      set:
        OwnerId: Support_Queue
"""


def mapping_for(tmp_path: Path, target: str, extra_rule: str = "") -> str:
    text = SANDBOX_MAPPING.read_text()
    text = text.replace("  target: Task ", f"  target: {target} ")
    marker = "    - name: Everything else stays with its assignee"
    text = text.replace(marker, extra_rule + marker)
    path = tmp_path / f"mapping-{target}.yaml"
    path.write_text(text)
    return str(path)


def full_sync(sandbox, tmp_path: Path, mapping_file: str) -> None:
    first, last = full_range()
    people = [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]
    sync(sandbox, tmp_path, mapping_file, people, first, last)
    sync(sandbox, tmp_path, mapping_file, [*REFERENCE_ASSETS, *CONVERSATION_ASSETS], first, last)


def people_and_conversations(tmp_path: Path) -> tuple[dict, dict, set]:
    people = dict(
        warehouse_rows(
            tmp_path,
            "SELECT intercom_contact_id, arg_max(sf_id, matched_at) FROM match.person_matches "
            "WHERE sf_id IS NOT NULL GROUP BY 1 UNION ALL "
            "SELECT external_id, sf_id FROM sync.sync_state WHERE sobject = 'Lead'",
        )
    )
    convs = {
        r[0]: r[1:]
        for r in warehouse_rows(
            tmp_path,
            "SELECT c.id, from_json(c.contact_ids, '[\"VARCHAR\"]')[1], t.name, "
            "coalesce(from_json(c.tag_names, '[\"VARCHAR\"]'), []) "
            "FROM staging.intercom_conversations_current c "
            "LEFT JOIN staging.intercom_teams t ON t.id = c.team_assignee_id::VARCHAR",
        )
    }
    pending = {
        r[0]
        for r in warehouse_rows(tmp_path, "SELECT conversation_id FROM sync.pending_conversations")
    }
    return people, convs, pending


def retag_first(sandbox, conv_id: str) -> None:
    store = IntercomStore(sandbox.state.intercom_db)
    store.update_conversation(conv_id, tags=["7100001", "7100003"])  # churn-risk, bug
    store.close()


def test_custom_object_with_lookups_and_queue_routing(sandbox, tmp_path):
    mapping_file = mapping_for(tmp_path, "Intercom_Conversation__c", QUEUE_RULE)
    full_sync(sandbox, tmp_path, mapping_file)
    people, convs, pending = people_and_conversations(tmp_path)
    queue_id = soql(sandbox, "SELECT Id FROM Group WHERE DeveloperName = 'Support_Queue'")[0]["Id"]
    records = {
        r["Intercom_Conversation_Id__c"]: r
        for r in soql(
            sandbox,
            "SELECT Id, Intercom_Conversation_Id__c, Contact__c, Lead__c, OwnerId, Link__c, "
            "Tags__c, State__c FROM Intercom_Conversation__c",
        )
    }
    assert records and set(records) | pending == set(convs)
    queued = 0
    for conv_id, rec in records.items():
        contact_id, team, tags = convs[conv_id]
        assert people[contact_id] in (rec["Contact__c"], rec["Lead__c"])
        assert rec["Link__c"].endswith(f"/inbox/conversation/{conv_id}")
        # the first matching rule wins: VIP, then billing in Support, then the Support queue
        if team == "Support" and not {"vip", "billing"} & set(tags):
            assert rec["OwnerId"] == queue_id
            queued += 1
        else:
            assert rec["OwnerId"] != queue_id
    assert queued > 0
    assert not soql(sandbox, "SELECT Id FROM Task WHERE Intercom_Conversation_Id__c != null")
    decisions = dict(
        warehouse_rows(
            tmp_path,
            "SELECT rule, count(*) FROM sync.routing_decisions "
            "WHERE sobject = 'Intercom_Conversation__c' GROUP BY 1",
        )
    )
    assert decisions["The Support inbox's conversations wait in the support queue"] == queued

    # a tag change updates the same record
    conv_id = sorted(records)[0]
    retag_first(sandbox, conv_id)
    last = full_range()[1]
    sync(sandbox, tmp_path, mapping_file, CONVERSATION_ASSETS, last, last)
    after = soql(
        sandbox,
        "SELECT Id, Tags__c FROM Intercom_Conversation__c "
        f"WHERE Intercom_Conversation_Id__c = '{conv_id}'",
    )
    assert len(after) == 1 and after[0]["Id"] == records[conv_id]["Id"]
    assert after[0]["Tags__c"] == "churn-risk, bug"


def test_notes_inserted_once_then_updated_by_id(sandbox, tmp_path):
    mapping_file = mapping_for(tmp_path, "Note")
    full_sync(sandbox, tmp_path, mapping_file)
    people, convs, pending = people_and_conversations(tmp_path)
    notes = soql(sandbox, "SELECT Id, ParentId, Title, Body FROM Note")
    by_conv = {}
    for note in notes:
        assert note["Title"].startswith("[Intercom #")
        by_conv.setdefault(note["Title"].split("]")[0].removeprefix("[Intercom #"), []).append(note)
    assert by_conv and set(by_conv) | pending == set(convs)
    assert all(len(v) == 1 for v in by_conv.values())  # one Note per conversation
    for conv_id, (note,) in by_conv.items():
        assert note["ParentId"] == people[convs[conv_id][0]]
    kept = dict(
        warehouse_rows(
            tmp_path, "SELECT external_id, sf_id FROM sync.sync_state WHERE sobject = 'Note'"
        )
    )
    assert kept == {c: n[0]["Id"] for c, n in by_conv.items()}

    conv_id, lost_id = sorted(by_conv)[:2]
    retag_first(sandbox, conv_id)
    retag_first(sandbox, lost_id)
    # a run that died after Salesforce inserted a Note, before its result was recorded
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("DELETE FROM sync.sync_state WHERE sobject = 'Note' AND external_id = ?", [lost_id])
    con.execute(
        "DELETE FROM sync.field_state WHERE sobject = 'Note' AND external_id = ?", [lost_id]
    )
    con.close()
    last = full_range()[1]
    sync(sandbox, tmp_path, mapping_file, CONVERSATION_ASSETS, last, last)
    after = soql(sandbox, "SELECT Id, Body FROM Note")
    assert len(after) == len(notes)  # no second Note, not even for the lost one
    bodies = {n["Id"]: n["Body"] for n in after}
    assert "Tags: churn-risk, bug" in bodies[by_conv[conv_id][0]["Id"]]
    assert "Tags: churn-risk, bug" in bodies[by_conv[lost_id][0]["Id"]]  # found, then updated

    # nothing changed: nothing is uploaded
    jobs = warehouse_rows(tmp_path, "SELECT count(*) FROM sync.bulk_jobs WHERE sobject = 'Note'")
    sync(sandbox, tmp_path, mapping_file, CONVERSATION_ASSETS, last, last)
    assert (
        warehouse_rows(tmp_path, "SELECT count(*) FROM sync.bulk_jobs WHERE sobject = 'Note'")
        == jobs
    )
