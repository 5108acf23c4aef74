"""Conversations land as Tasks on the right person, with owner and link; a later change updates
the same Task."""

from __future__ import annotations

import duckdb

from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.cli.trace import stories
from intercom_salesforce.definitions import CONVERSATION_ASSETS, SYNC_ASSETS
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from tests.helpers import full_range, materialize_range, soql


def run(sandbox, tmp_path, assets, first, last):
    return materialize_range(assets, sandbox.resources(tmp_path), first, last)


def test_tasks_on_the_matched_person_then_updated_in_place(sandbox, tmp_path):
    first, last = full_range()
    run(sandbox, tmp_path, [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]], first, last)
    run(sandbox, tmp_path, [*REFERENCE_ASSETS, *CONVERSATION_ASSETS], first, last)

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    people = dict(
        con.execute(
            "SELECT intercom_contact_id, arg_max(sf_id, matched_at) FROM match.person_matches "
            "WHERE sf_id IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    people.update(
        dict(
            con.execute(
                "SELECT external_id, sf_id FROM sync.sync_state WHERE sobject = 'Lead'"
            ).fetchall()
        )
    )
    convs = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT c.id, from_json(c.contact_ids, '[\"VARCHAR\"]')[1], lower(a.email), "
            "coalesce(from_json(c.tag_names, '[\"VARCHAR\"]'), []), t.name "
            "FROM staging.intercom_conversations_current c "
            "LEFT JOIN staging.intercom_admins a ON a.id = c.admin_assignee_id::VARCHAR "
            "LEFT JOIN staging.intercom_teams t ON t.id = c.team_assignee_id::VARCHAR"
        ).fetchall()
    }
    decisions = dict(
        con.execute(
            "SELECT external_id, rule FROM sync.routing_decisions WHERE sobject = 'Task'"
        ).fetchall()
    )
    pending = {
        r[0]
        for r in con.execute("SELECT conversation_id FROM sync.pending_conversations").fetchall()
    }
    con.close()
    users = {
        r["Id"]: r["Email"].lower()
        for r in soql(sandbox, "SELECT Id, Email FROM User WHERE IsActive = true")
    }
    tasks = {
        r["Intercom_Conversation_Id__c"]: r
        for r in soql(
            sandbox,
            "SELECT Id, WhoId, OwnerId, Intercom_Link__c, Intercom_Conversation_Id__c, "
            "Description FROM Task WHERE Intercom_Conversation_Id__c != null",
        )
    }
    assert tasks and set(tasks) | pending == set(convs)
    rules_seen = set()
    for conv_id, task in tasks.items():
        contact_id, admin_email, tags, team = convs[conv_id]
        assert task["WhoId"] == people[contact_id]
        assert task["Intercom_Link__c"].endswith(f"/inbox/conversation/{conv_id}")
        # the sandbox mapping's conversation rules, first match wins, and each Task keeps its rule
        if "vip" in tags:
            rule, owner = "VIP conversations belong to Alice", "alice@sandbox-corp.example.com"
        elif "billing" in tags and team == "Support":
            rule = "Billing questions in the Support inbox go to Carla in Sales"
            owner = "carla@sandbox-corp.example.com"
        else:
            rule, owner = "Everything else stays with its assignee", admin_email
        assert decisions[conv_id] == rule
        rules_seen.add(rule)
        if owner in users.values():  # an active user owns the Task
            assert users[task["OwnerId"]] == owner
    assert len(rules_seen) == 3  # the seeded world exercises every rule

    # new tags on one conversation: the same Task is updated, no second Task appears
    conv_id = sorted(tasks)[0]
    store = IntercomStore(sandbox.state.intercom_db)
    store.update_conversation(conv_id, tags=["7100000", "7100001"])
    store.close()
    run(sandbox, tmp_path, CONVERSATION_ASSETS, full_range()[1], full_range()[1])
    after = soql(
        sandbox, f"SELECT Id, Description FROM Task WHERE Intercom_Conversation_Id__c = '{conv_id}'"
    )
    assert len(after) == 1 and after[0]["Id"] == tasks[conv_id]["Id"]
    assert "vip, churn-risk" in after[0]["Description"]

    # the conversation's trace: its Task, the routing rule (now the VIP one: the new tags carry
    # vip) and the owner it set, each Bulk result
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        (story,) = stories(con, conv_id)
    assert story["kind"] == "conversation"
    (routed,) = [s for s in story["steps"] if s["step"] == "routed"]
    owner = soql(sandbox, f"SELECT OwnerId FROM Task WHERE Id = '{after[0]['Id']}'")[0]["OwnerId"]
    assert routed["summary"] == f'Task by rule "VIP conversations belong to Alice", owner {owner}'
    pushed = [s["summary"] for s in story["steps"] if s["step"] == "pushed"]
    assert pushed and all(f"Task {tasks[conv_id]['Id']}" in p for p in pushed)
    assert any("created" in p for p in pushed) and any("updated" in p for p in pushed)


def test_transcript_plain_text_redacted_and_cut(sandbox, tmp_path):
    first, last = full_range()
    resources = sandbox.resources(tmp_path)
    resources["sync_settings"] = SyncSettings(
        work_dir=str(tmp_path / "work"), include_transcript=True
    )
    for assets in (
        [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]],
        [*REFERENCE_ASSETS, *CONVERSATION_ASSETS],
    ):
        materialize_range(assets, resources, first, last)
    tasks = soql(
        sandbox,
        "SELECT Intercom_Conversation_Id__c, Description FROM Task "
        "WHERE Intercom_Conversation_Id__c != null",
    )
    texts = [t["Description"] for t in tasks]
    assert all(len(t) <= 32_000 for t in texts)
    assert any("Transcript:" in t for t in texts)
    assert not any("<p>" in t or "<b>" in t for t in texts)  # HTML stripped
    assert not any("@" in t.split("Transcript:")[-1] for t in texts if "Transcript:" in t)
    # the 520-part conversation is cut with a marker, never silently
    assert any(t.endswith("[transcript truncated]") for t in texts)
