"""Row rules take their value sets from the deployment's mapping, not from the sandbox's."""

from pathlib import Path

import duckdb
import pandas as pd

from intercom_salesforce.assets.quality.gate import with_derived_columns
from intercom_salesforce.assets.quality.mapped_values import mapped_values
from intercom_salesforce.assets.quality.suites import CONTACTS, PLAN_PATH
from intercom_salesforce.mapping import load_mapping, parse_mapping

ROOT = Path(__file__).resolve().parents[2]


def _mapping(lead_map: str, contact_map: str | None = None) -> str:
    contact = (
        f"""
  Contact:
    source: contacts
    external_id: Intercom_Contact_Id__c
    fields:
      Intercom_Contact_Id__c: {{from: id}}
      Intercom_Plan__c:
        from: custom_attributes.plan
        transforms: [{contact_map}]"""
        if contact_map
        else ""
    )
    return f"""
version: 1
objects:
  Lead:
    source: contacts
    external_id: Intercom_Contact_Id__c
    fields:
      Intercom_Contact_Id__c: {{from: id}}
      Intercom_Plan__c:
        from: custom_attributes.plan
        transforms: [{lead_map}]{contact}
"""


def keys(mapping_text: str) -> list[str] | None:
    found = mapped_values(parse_mapping(mapping_text), "contacts", PLAN_PATH, "plan")
    return None if found is None else found.keys


def test_the_sandbox_mapping_gives_its_plans_compared_as_the_map_compares():
    mapping = load_mapping(ROOT / "mappings" / "sandbox.yaml")
    found = mapped_values(mapping, "contacts", PLAN_PATH, "plan")
    assert found is not None and found.keys == ["enterprise", "free", "pro", "starter"]
    # the map looks values up trimmed and lower-cased: so does the rule
    frame = pd.DataFrame({"id": ["a", "b", "c"], "plan": [" Pro ", None, "legacy-gold"]})
    derived = with_derived_columns(duckdb.connect(), frame, CONTACTS, mapping)
    assert list(derived["plan_key"].fillna("-")) == ["pro", "-", "legacy-gold"]


def test_a_value_every_object_maps_is_accepted():
    text = _mapping("{map: {gold: Gold, silver: Silver}}", "{map: {gold: Gold, bronze: Bronze}}")
    assert keys(text) == ["gold"]


def test_a_map_with_a_default_or_no_map_leaves_nothing_to_check():
    with_default = _mapping("{map: {gold: Gold}, default: Other}")
    assert keys(with_default) is None
    plan_rule = next(r for r in CONTACTS.row_rules if r.name == "plan_unmapped")
    assert plan_rule.needs_mapping and plan_rule.build(parse_mapping(with_default)) is None
    assert plan_rule.derive is not None and plan_rule.derive(parse_mapping(with_default)) == {}
    ignoring_case = _mapping("{map: {Gold: Gold}, ignore_case: true}")
    assert keys(ignoring_case) == ["gold"]
    assert plan_rule.build(parse_mapping(ignoring_case)).value_set == ["gold"]
