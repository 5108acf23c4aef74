"""The write-back's pure pieces: which Intercom calls a set of decided cells becomes, the JSON a
typed attribute is sent as, and which Salesforce objects the sensor sees as changed."""

from __future__ import annotations

from intercom_salesforce.assets.writeback.calls import Cell, plan_calls, typed, untypable
from intercom_salesforce.automation.salesforce_sensor import changed


def cell(model: str, rid: str, attribute: str, value: str | None, action: str = "write", **kw):
    kind = "tag" if attribute.startswith("tag:") else "attribute"
    return Cell(
        model,
        rid,
        kw.get("write_id", rid),
        attribute,
        kind,
        kw.get("data_type", "string"),
        kw.get("tag"),
        value,
        action,
    )


def test_one_update_per_record_and_one_call_per_contact_tag():
    cells = [
        cell("contact", "c1", "sf_owner_name", "Ada"),
        cell("contact", "c1", "sf_amount", "4800.0", data_type="float"),
        cell("contact", "c1", "tag:won", "true", "attach", tag="Closed Won"),
        cell("contact", "c2", "tag:mql", "false", "detach", tag="MQL"),
        cell("contact", "c2", "sf_stage", None),
    ]
    calls = plan_calls(cells, {"Closed Won": "7", "MQL": "9"})
    shapes = [(c.method, c.path, c.payload) for c in calls]
    assert shapes == [
        (
            "PUT",
            "/contacts/c1",
            {"custom_attributes": {"sf_owner_name": "Ada", "sf_amount": 4800.0}},
        ),
        ("PUT", "/contacts/c2", {"custom_attributes": {"sf_stage": None}}),
        ("POST", "/contacts/c1/tags", {"id": "7"}),
        ("DELETE", "/contacts/c2/tags/9", None),
    ]


def test_companies_are_updated_by_company_id_and_tagged_in_one_call_per_tag():
    cells = [
        cell("company", "ic1", "sf_company_tier", "Tier 1", write_id="acme"),
        cell("company", "ic1", "tag:won", "true", "attach", tag="Closed Won"),
        cell("company", "ic2", "tag:won", "true", "attach", tag="Closed Won"),
        cell("company", "ic3", "tag:won", "false", "detach", tag="Closed Won"),
    ]
    calls = plan_calls(cells, {})
    assert [(c.method, c.path, c.payload) for c in calls] == [
        (
            "POST",
            "/companies",
            {"company_id": "acme", "custom_attributes": {"sf_company_tier": "Tier 1"}},
        ),
        ("POST", "/tags", {"name": "Closed Won", "companies": [{"id": "ic1"}, {"id": "ic2"}]}),
        ("POST", "/tags", {"name": "Closed Won", "companies": [{"id": "ic3", "untag": True}]}),
    ]
    assert [len(c.cells) for c in calls] == [1, 2, 1]


def test_values_are_sent_as_their_intercom_type():
    assert typed("42000.0", "integer") == 42000
    assert typed("42000.5", "float") == 42000.5
    assert typed("true", "boolean") is True
    assert typed("Tier 1", "string") == "Tier 1"
    assert typed(None, "float") is None


def test_sensor_sees_objects_stamped_after_what_it_saw():
    seen = {"Account": "2026-01-01T10:00:00+00:00", "Opportunity": "2026-01-01T10:00:00+00:00"}
    newest = {
        "Account": "2026-01-01T10:00:00.000+0000",
        "Opportunity": "2026-01-01T10:00:01.000+0000",
        "Lead": "2025-12-31T10:00:00.000+0000",
    }
    assert changed(newest, seen) == ["Lead", "Opportunity"]
    assert changed(newest, {**seen, **newest}) == []


def test_a_value_its_type_cannot_hold_is_refused_without_a_call_and_the_rest_go():
    cells = [
        cell("contact", "c1", "sf_amount", "a lot", data_type="integer"),
        cell("contact", "c1", "sf_owner_name", "Ada"),
        cell("contact", "c2", "sf_amount", "4800.0", data_type="integer"),
        cell("contact", "c2", "tag:won", "true", "attach", tag="Closed Won"),
    ]
    good, refused = untypable(cells)
    assert [(c.intercom_id, c.attribute) for c in good] == [
        ("c1", "sf_owner_name"),
        ("c2", "sf_amount"),
        ("c2", "tag:won"),
    ]
    assert [(o.status, o.call.path, [c.attribute for c in o.call.cells]) for o in refused] == [
        ("rejected", "/contacts/c1", ["sf_amount"])
    ]
    assert "'a lot' cannot be sent as integer" in (refused[0].error or "")
