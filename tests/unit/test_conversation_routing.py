"""Conversation routing from the mapping file: checks against the target's describe, and the
compiled SQL choosing the first matching rule over hand-made payload rows in DuckDB."""

from __future__ import annotations

import duckdb
import pytest

from intercom_salesforce.mapping import MappingError, parse_mapping
from intercom_salesforce.mapping.conversations import check_conversation_target, compile_routing
from intercom_salesforce.sandbox.salesforce.describe import OBJECTS, object_describe
from intercom_salesforce.warehouse import ensure_warehouse

HEAD = """version: 1
objects:
  Lead:
    source: contacts
    external_id: Intercom_Contact_Id__c
    fields:
      Intercom_Contact_Id__c: {from: id}
conversations:
  target: %s
  routing:
"""
RULES = """    - name: vip
      when: {tag: vip}
      set: {OwnerId: alice@sandbox-corp.example.com}
    - name: support queue
      when: {inbox: Support}
      set: {OwnerId: Support_Queue}
    - name: billing in EMEA
      when: {tag: billing, region: EMEA}
      set: {OwnerId: carla@sandbox-corp.example.com}
    - name: assignee
      default: true
      set: {OwnerId: assignee}
"""


def mapping(target: str, rules: str = RULES):
    return parse_mapping(HEAD % target + rules, "conv.yaml")


@pytest.mark.parametrize("target", ["Task", "Note"])
def test_a_queue_owner_the_target_cannot_have_names_the_rule(target):
    with pytest.raises(MappingError) as err:
        check_conversation_target(mapping(target), object_describe(OBJECTS[target], "60.0", []))
    assert f"{target} records cannot be owned by a queue ('Support_Queue')" in str(err.value)
    assert "conv.yaml:" in str(err.value) and "conversations.routing[1].set.OwnerId" in str(
        err.value
    )


def test_the_custom_object_accepts_queues_and_checks_its_fields():
    describe = object_describe(OBJECTS["Intercom_Conversation__c"], "60.0", [])
    check_conversation_target(mapping("Intercom_Conversation__c"), describe, ["Name", "Lead__c"])
    with pytest.raises(MappingError, match="Intercom_Conversation__c.Nope__c is not a createable"):
        check_conversation_target(mapping("Intercom_Conversation__c"), describe, ["Nope__c"])


def test_a_second_default_and_an_unknown_dimension_fail_at_load():
    with pytest.raises(MappingError, match=r"routing\[4\].default: a second default rule"):
        mapping("Task", RULES + "    - default: true\n      set: {OwnerId: assignee}\n")
    with pytest.raises(MappingError, match="inbox"):
        parse_mapping(
            (HEAD % "Task").replace(
                "conversations:",
                "routing:\n  - when: {inbox: Support}\n    set: {LeadSource: Web}\nconversations:",
            )
            + RULES,
            "conv.yaml",
        )


def test_first_matching_rule_wins_and_is_named(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(con)
    con.execute(
        "INSERT INTO staging.intercom_teams (id, name, extracted_at) VALUES ('t-sup', 'Support', now())"
    )
    con.execute(
        "INSERT INTO staging.intercom_contacts (id, updated_at, custom_attributes, partition_date, "
        "extracted_at) VALUES ('p-emea', now(), '{\"region\": \"EMEA\"}', current_date, now())"
    )
    payload = """SELECT * FROM (VALUES
        ('c1', ['vip', 'billing'], 't-sup', 'p-emea', 'U-asg'),
        ('c2', ['billing'], 't-sup', 'p-emea', 'U-asg'),
        ('c3', ['billing'], NULL, 'p-emea', 'U-asg'),
        ('c4', [], NULL, 'p-other', 'U-asg'),
        ('c5', [], NULL, 'p-other', NULL))
        t(conversation_id, _tag_names, _team_id, _contact_id, _assignee_user_id)"""
    payload = (
        f"SELECT *, []::VARCHAR[] AS _tag_ids, []::VARCHAR[] AS _assignee_team_ids FROM ({payload})"
    )
    refs = {
        "OwnerId": {
            "alice@sandbox-corp.example.com": "U-alice",
            "carla@sandbox-corp.example.com": "U-carla",
            "Support_Queue": "Q-support",
        }
    }
    rows = con.execute(
        "SELECT conversation_id, _route_rule, _route_owner FROM ("
        + compile_routing(mapping("Intercom_Conversation__c"), payload, refs)
        + ") ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("c1", "vip", "U-alice"),  # vip comes first, though the Support rule matches too
        ("c2", "support queue", "Q-support"),
        ("c3", "billing in EMEA", "U-carla"),  # region read from the contact
        ("c4", "assignee", "U-asg"),
        ("c5", "assignee", None),  # no active user: Salesforce's default owner applies
    ]
