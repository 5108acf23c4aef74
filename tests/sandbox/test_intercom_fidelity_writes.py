"""Writes into Intercom answer as Intercom does, over HTTP: custom attributes, data attributes,
tags and companies.

Each test writes to a freshly seeded small workspace and checks the status, the error body
(``error.list`` with Intercom's code and message) and what a later read shows, so a client built
against Intercom's documentation meets here the answers it will meet there. Bodies validate
against the 2.14 description (``tests/sandbox/openapi/``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from intercom_salesforce.sandbox.intercom import IntercomEmulatorConfig, IntercomStore, create_app
from intercom_salesforce.sandbox.serving import RunningServer, start_in_thread
from intercom_salesforce.sandbox.world import World, WorldSize
from tests.helpers import openapi_validator

TOKEN = "sandbox-intercom-token"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LATER = int(NOW.timestamp()) + 3600
"""The emulator's clock during the tests: after every seeded record's ``updated_at``."""
validate = openapi_validator("2.14")


class Clock:
    """The emulator's clock, moved by the tests."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Workspace:
    url: str
    store: IntercomStore
    clock: Clock
    world: World
    http: requests.Session

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": "2.14"}
        return self.http.request(method, self.url + path, headers=headers, json=body, timeout=30)

    def get(self, path: str) -> Any:
        resp = self.call("GET", path)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def faults(self, **settings: Any) -> None:
        resp = self.http.put(f"{self.url}/_sandbox/faults", json=settings, timeout=10)
        assert resp.status_code == 200, resp.text

    def contact_id(self, i: int = 0) -> str:
        return self.world.intercom_id("contact", i)

    def company_id(self, c: int = 0) -> str:
        return self.world.intercom_id("company", c)


@pytest.fixture()
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A seeded workspace of 40 contacts (its data attributes as the sandbox seeds them: contact
    ``plan``, ``region``, ``mrr``, ``signup_source``, ``requested_demo_at``, ``seats``,
    ``beta_tester``; company ``tier``, ``region``), served on loopback with a test clock."""
    world = World(size=WorldSize(contacts=40), now=NOW)
    store = IntercomStore(tmp_path / "intercom.sqlite")
    store.load_world(world.intercom())
    clock = Clock(LATER)
    server: RunningServer = start_in_thread(create_app(store, IntercomEmulatorConfig(), clock))
    http = requests.Session()
    try:
        yield Workspace(server.url, store, clock, world, http)
    finally:
        http.close()
        threading.Thread(target=server.stop, daemon=True).start()


def error_of(resp: requests.Response, status: int) -> dict[str, Any]:
    """The one error of an ``error.list`` answer with ``status``."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    validate(body, "error")
    assert body["type"] == "error.list" and body["request_id"]
    assert len(body["errors"]) == 1
    return body["errors"][0]


# -- contact custom attributes -----------------------------------------------------------------


def test_unknown_custom_attribute_is_refused_and_nothing_changes(ws: Workspace) -> None:
    cid = ws.contact_id()
    before = ws.get(f"/contacts/{cid}")
    resp = ws.call(
        "PUT", f"/contacts/{cid}", {"name": "Changed", "custom_attributes": {"lifecycle": "MQL"}}
    )
    assert error_of(resp, 400) == {
        "code": "parameter_invalid",
        "message": "Custom attribute 'lifecycle' does not exist",
    }
    assert ws.get(f"/contacts/{cid}") == before


@pytest.mark.parametrize(
    ("name", "value", "data_type"),
    [
        ("seats", "12", "integer"),
        ("seats", 1.5, "integer"),
        ("mrr", "49.0", "float"),
        ("beta_tester", "true", "boolean"),
        ("beta_tester", 1, "boolean"),
        ("requested_demo_at", "2026-03-01", "date"),
        ("plan", 3, "string"),
        ("region", ["EMEA"], "string"),
    ],
)
def test_value_of_the_wrong_type_is_refused(
    ws: Workspace, name: str, value: Any, data_type: str
) -> None:
    cid = ws.contact_id()
    before = ws.get(f"/contacts/{cid}")
    resp = ws.call("PUT", f"/contacts/{cid}", {"custom_attributes": {name: value}})
    assert error_of(resp, 400) == {
        "code": "parameter_invalid",
        "message": f"Custom attribute '{name}' must be of type {data_type}",
    }
    assert ws.get(f"/contacts/{cid}") == before


def test_values_of_each_type_are_accepted(ws: Workspace) -> None:
    cid = ws.contact_id()
    values = {
        "plan": "pro",
        "seats": 12,
        "mrr": 49,
        "beta_tester": False,
        "requested_demo_at": 1772400000,
    }
    resp = ws.call("PUT", f"/contacts/{cid}", {"custom_attributes": values})
    assert resp.status_code == 200, resp.text
    validate(resp.json(), "contact")
    stored = ws.get(f"/contacts/{cid}")["custom_attributes"]
    assert {k: stored[k] for k in values} == values


def test_update_merges_custom_attributes_and_null_clears_one(ws: Workspace) -> None:
    cid = ws.contact_id()
    before = ws.get(f"/contacts/{cid}")["custom_attributes"]
    resp = ws.call("PUT", f"/contacts/{cid}", {"custom_attributes": {"plan": None, "seats": 7}})
    assert resp.status_code == 200, resp.text
    after = ws.get(f"/contacts/{cid}")["custom_attributes"]
    assert after["plan"] is None and after["seats"] == 7
    untouched = {k: v for k, v in before.items() if k not in ("plan", "seats")}
    assert {k: after[k] for k in untouched} == untouched


def test_every_successful_update_moves_updated_at(ws: Workspace) -> None:
    """Even one that changes nothing: Intercom moves ``updated_at`` on a successful PUT."""
    cid = ws.contact_id()
    same = ws.get(f"/contacts/{cid}")["custom_attributes"]["region"]
    assert ws.get(f"/contacts/{cid}")["updated_at"] < LATER
    resp = ws.call("PUT", f"/contacts/{cid}", {"custom_attributes": {"region": same}})
    assert resp.json()["updated_at"] == LATER
    assert ws.get(f"/contacts/{cid}")["updated_at"] == LATER


def test_create_contact_checks_custom_attributes_too(ws: Workspace) -> None:
    body = {"email": "new@writes.example", "custom_attributes": {"nope": 1}}
    resp = ws.call("POST", "/contacts", body)
    assert error_of(resp, 400)["message"] == "Custom attribute 'nope' does not exist"
    assert ws.store.query("SELECT 1 FROM contacts WHERE email = ?", ("new@writes.example",)) == []


def test_company_attribute_is_not_a_contact_attribute(ws: Workspace) -> None:
    resp = ws.call("PUT", f"/contacts/{ws.contact_id()}", {"custom_attributes": {"tier": "gold"}})
    assert error_of(resp, 400)["message"] == "Custom attribute 'tier' does not exist"


# -- data attributes ---------------------------------------------------------------------------


def test_created_attribute_is_listed_then_accepted_on_writes(ws: Workspace) -> None:
    resp = ws.call(
        "POST",
        "/data_attributes",
        {
            "name": "lifecycle_stage",
            "model": "contact",
            "data_type": "options",
            "description": "Salesforce lifecycle stage",
            "options": [{"value": "Lead"}, {"value": "MQL"}, {"value": "Customer"}],
        },
    )
    assert resp.status_code == 200, resp.text
    created = resp.json()
    validate(created, "data_attribute")
    assert created["full_name"] == "custom_attributes.lifecycle_stage"
    assert created["data_type"] == "string" and created["options"] == ["Lead", "MQL", "Customer"]
    assert created["custom"] is True and created["api_writable"] is True
    assert created["created_at"] == LATER
    listed = ws.get("/data_attributes?model=contact")["data"]
    assert created in listed
    cid = ws.contact_id()
    resp = ws.call("PUT", f"/contacts/{cid}", {"custom_attributes": {"lifecycle_stage": "MQL"}})
    assert resp.status_code == 200, resp.text
    assert ws.get(f"/contacts/{cid}")["custom_attributes"]["lifecycle_stage"] == "MQL"


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"name": "x", "model": "ticket", "data_type": "string"},
            "parameter_invalid",
            "The Data Attribute model field must be either contact or company",
        ),
        (
            {"model": "contact", "data_type": "string"},
            "parameter_not_found",
            "Name is required",
        ),
        (
            {"name": "sf.stage", "model": "contact", "data_type": "string"},
            "parameter_invalid",
            "Your name for this attribute must only contain alphanumeric characters, currency "
            "symbols, and hyphens",
        ),
        (
            {"name": "Email", "model": "contact", "data_type": "string"},
            "parameter_invalid",
            "'Email' is one of our standard attributes for your people data. To save this as new "
            "people data, use a different name.",
        ),
        (
            {"name": "Plan", "model": "contact", "data_type": "string"},
            "parameter_invalid",
            "You already have 'Plan' in your people data. To save this as new people data, use a "
            "different name.",
        ),
        (
            {"name": "tier", "model": "contact", "data_type": "string"},
            "parameter_invalid",
            "You already have 'tier' in your company data. To save this as new people data, use "
            "a different name.",
        ),
        (
            {"name": "stage", "model": "contact", "data_type": "picklist"},
            "parameter_invalid",
            "Data Type isn't an option",
        ),
        (
            {
                "name": "stage",
                "model": "contact",
                "data_type": "options",
                "options": [{"value": "a"}],
            },
            "parameter_invalid",
            "You must have at least two options on a list type data attribute",
        ),
        (
            {
                "name": "stage",
                "model": "contact",
                "data_type": "options",
                "options": {"value": "a"},
            },
            "parameter_invalid",
            "Options isn't an array",
        ),
    ],
)
def test_data_attribute_creation_refusals(
    ws: Workspace, body: dict[str, Any], code: str, message: str
) -> None:
    before = ws.get("/data_attributes")["data"]
    error = error_of(ws.call("POST", "/data_attributes", body), 400)
    assert (error["code"], error["message"]) == (code, message)
    assert ws.get("/data_attributes")["data"] == before


@pytest.mark.parametrize("data_type", ["string", "integer", "float", "boolean", "date", "datetime"])
def test_each_documented_data_type_can_be_created(ws: Workspace, data_type: str) -> None:
    body = {"name": f"sf {data_type}", "model": "company", "data_type": data_type}
    resp = ws.call("POST", "/data_attributes", body)
    assert resp.status_code == 200, resp.text
    assert resp.json()["data_type"] == data_type and resp.json()["model"] == "company"


def test_token_without_the_permission_cannot_create_attributes(ws: Workspace) -> None:
    ws.faults(unauthorized=[{"method": "POST", "path": "/data_attributes"}])
    body = {"name": "lifecycle_stage", "model": "contact", "data_type": "string"}
    resp = ws.call("POST", "/data_attributes", body)
    assert error_of(resp, 401) == {
        "code": "token_unauthorized",
        "message": "Not authorized to access resource",
    }
    # the token is valid: the answer is rate limited like any other
    assert "X-RateLimit-Remaining" in resp.headers
    names = {a["name"] for a in ws.get("/data_attributes?model=contact")["data"]}
    assert "lifecycle_stage" not in names  # reading is still allowed; nothing was created
    ws.faults()
    assert ws.call("POST", "/data_attributes", body).status_code == 200


# -- tags --------------------------------------------------------------------------------------


def test_create_tag_then_the_same_name_finds_it(ws: Workspace) -> None:
    resp = ws.call("POST", "/tags", {"name": "Closed Won"})
    assert resp.status_code == 200, resp.text
    tag = resp.json()
    validate(tag, "tag_basic")
    assert tag["type"] == "tag" and tag["name"] == "Closed Won" and tag["id"].isdigit()
    again = ws.call("POST", "/tags", {"name": "closed won"}).json()
    assert again["id"] == tag["id"]  # names are case insensitive
    assert tag in ws.get("/tags")["data"]
    assert ws.get(f"/tags/{tag['id']}") == tag


def test_rename_tag_by_id(ws: Workspace) -> None:
    tag = ws.call("POST", "/tags", {"name": "MQL"}).json()
    resp = ws.call("POST", "/tags", {"id": tag["id"], "name": "Marketing Qualified"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"type": "tag", "id": tag["id"], "name": "Marketing Qualified"}
    assert ws.get(f"/tags/{tag['id']}")["name"] == "Marketing Qualified"
    missing = ws.call("POST", "/tags", {"id": "987654321", "name": "Nope"})
    assert error_of(missing, 404) == {"code": "not_found", "message": "Resource Not Found"}


def test_tag_request_without_a_name_is_invalid(ws: Workspace) -> None:
    before = ws.get("/tags")
    error = error_of(ws.call("POST", "/tags", {"test": "invalid"}), 400)
    assert error == {"code": "parameter_invalid", "message": "invalid tag parameters"}
    assert ws.get("/tags") == before


def test_tag_and_untag_companies(ws: Workspace) -> None:
    first, second = ws.company_id(0), ws.company_id(1)
    key = ws.get(f"/companies/{second}")["company_id"]
    body = {"name": "Customer", "companies": [{"id": first}, {"company_id": key}]}
    resp = ws.call("POST", "/tags", body)
    assert resp.status_code == 200, resp.text
    tag = resp.json()
    for company_id in (first, second):
        company = ws.get(f"/companies/{company_id}")
        validate(company, "company")
        assert tag in company["tags"]["tags"]
        assert company["updated_at"] == LATER
    ws.clock.now = LATER + 60
    untag = {"name": "customer", "companies": [{"id": first, "untag": True}]}
    assert ws.call("POST", "/tags", untag).json() == tag
    company = ws.get(f"/companies/{first}")
    assert tag not in company["tags"]["tags"] and company["updated_at"] == LATER + 60
    assert tag in ws.get(f"/companies/{second}")["tags"]["tags"]
    tagged = ws.call("GET", f"/companies?tag_id={tag['id']}").json()["data"]
    assert [c["id"] for c in tagged] == [second]


def test_tag_unknown_company_is_404_and_tags_nothing(ws: Workspace) -> None:
    first = ws.company_id(0)
    before = ws.get(f"/companies/{first}")
    body = {"name": "Customer", "companies": [{"id": first}, {"company_id": "no-such-company"}]}
    error = error_of(ws.call("POST", "/tags", body), 404)
    assert error == {"code": "company_not_found", "message": "Company Not Found"}
    assert ws.get(f"/companies/{first}") == before
    assert "Customer" not in {t["name"] for t in ws.get("/tags")["data"]}


def test_untag_with_an_unknown_tag_name_is_404(ws: Workspace) -> None:
    body = {"name": "Never Made", "companies": [{"id": ws.company_id(0), "untag": True}]}
    assert error_of(ws.call("POST", "/tags", body), 404)["message"] == "Resource Not Found"


def test_tag_users(ws: Workspace) -> None:
    cid = ws.contact_id(1)
    resp = ws.call("POST", "/tags", {"name": "Opportunity", "users": [{"id": cid}]})
    assert resp.status_code == 200, resp.text
    tag = resp.json()
    contact = ws.get(f"/contacts/{cid}")
    assert tag["id"] in [t["id"] for t in contact["tags"]["data"]]
    assert contact["updated_at"] == LATER
    applied = ws.get(f"/contacts/{cid}/tags")["data"]
    assert {"type": "admin", "id": "900000"} in [t["applied_by"] for t in applied]
    missing = ws.call("POST", "/tags", {"name": "Opportunity", "users": [{"id": "nobody"}]})
    assert error_of(missing, 404) == {"code": "not_found", "message": "User Not Found"}


def test_tag_contact_returns_the_tag_and_404s(ws: Workspace) -> None:
    cid = ws.contact_id(2)
    tag = ws.call("POST", "/tags", {"name": "MQL"}).json()
    resp = ws.call("POST", f"/contacts/{cid}/tags", {"id": tag["id"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    validate(body, "tag")
    assert body["id"] == tag["id"] and body["name"] == "MQL" and body["applied_at"] == LATER
    contact = ws.get(f"/contacts/{cid}")
    assert {"type": "tag", "id": tag["id"], "url": f"/tags/{tag['id']}"} in contact["tags"]["data"]
    assert contact["updated_at"] == LATER
    unknown_tag = ws.call("POST", f"/contacts/{cid}/tags", {"id": "987654321"})
    assert error_of(unknown_tag, 404) == {"code": "not_found", "message": "Resource Not Found"}
    unknown_contact = ws.call("POST", "/contacts/nobody/tags", {"id": tag["id"]})
    assert error_of(unknown_contact, 404) == {"code": "not_found", "message": "User Not Found"}


def test_detach_tag_from_contact(ws: Workspace) -> None:
    cid = ws.contact_id(3)
    tag = ws.call("POST", "/tags", {"name": "Customer"}).json()
    ws.call("POST", f"/contacts/{cid}/tags", {"id": tag["id"]})
    ws.clock.now = LATER + 60
    resp = ws.call("DELETE", f"/contacts/{cid}/tags/{tag['id']}")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    validate(body, "tag")
    assert body["id"] == tag["id"] and body["name"] == "Customer"
    assert body["applied_at"] == LATER  # when the removed tag had been applied
    contact = ws.get(f"/contacts/{cid}")
    assert tag["id"] not in [t["id"] for t in contact["tags"]["data"]]
    assert contact["updated_at"] == LATER + 60
    assert tag["id"] not in [t["id"] for t in ws.get(f"/contacts/{cid}/tags")["data"]]
    again = ws.call("DELETE", f"/contacts/{cid}/tags/{tag['id']}")
    assert error_of(again, 404) == {"code": "not_found", "message": "Resource Not Found"}
    unknown = ws.call("DELETE", f"/contacts/nobody/tags/{tag['id']}")
    assert error_of(unknown, 404) == {"code": "not_found", "message": "User Not Found"}


# -- companies ---------------------------------------------------------------------------------


def test_create_company_then_update_it_by_company_id(ws: Workspace) -> None:
    body = {
        "company_id": "sf-001",
        "name": "Acme",
        "plan": "Enterprise",
        "size": 120,
        "monthly_spend": 155.98,
        "custom_attributes": {"tier": "gold"},
    }
    resp = ws.call("POST", "/companies", body)
    assert resp.status_code == 200, resp.text
    created = resp.json()
    validate(created, "company")
    assert created["company_id"] == "sf-001" and created["name"] == "Acme"
    assert created["monthly_spend"] == 155  # "this will truncate floats"
    assert created["plan"]["name"] == "Enterprise" and created["plan"]["type"] == "plan"
    assert created["created_at"] == created["updated_at"] == LATER
    assert created["user_count"] == 0 and created["tags"] == {"type": "tag.list", "tags": []}
    ws.clock.now = LATER + 60
    update = {"company_id": "sf-001", "custom_attributes": {"region": "EMEA"}}
    updated = ws.call("POST", "/companies", update).json()
    assert updated["id"] == created["id"] and updated["name"] == "Acme"
    assert updated["custom_attributes"] == {"tier": "gold", "region": "EMEA"}
    assert updated["updated_at"] == LATER + 60 and updated["created_at"] == LATER
    assert ws.get("/companies?company_id=sf-001")["id"] == created["id"]


def test_user_count_follows_the_users_attached(ws: Workspace) -> None:
    """The count is read through a cache (a large company's costs a join over thousands of
    contacts): every attach must still show at once, and only users count."""
    company = ws.call("POST", "/companies", {"company_id": "sf-count", "name": "Counted"}).json()
    assert ws.get(f"/companies/{company['id']}")["user_count"] == 0
    people = [ws.get(f"/contacts/{ws.contact_id(i)}") for i in range(10)]
    users = [p["id"] for p in people if p["role"] == "user"][:2]
    lead = next(p["id"] for p in people if p["role"] == "lead")
    for n, contact_id in enumerate(users, start=1):
        resp = ws.call("POST", f"/contacts/{contact_id}/companies", {"id": company["id"]})
        assert resp.status_code == 200, resp.text
        assert ws.get(f"/companies/{company['id']}")["user_count"] == n
    assert ws.call("POST", f"/contacts/{lead}/companies", {"id": company["id"]}).ok
    listed = ws.get(f"/contacts/{users[0]}/companies")["data"]
    assert [c["user_count"] for c in listed if c["id"] == company["id"]] == [len(users)]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"company_id": "sf-002", "custom_attributes": {"lifecycle": "x"}},
            400,
            {"code": "parameter_invalid", "message": "Custom attribute 'lifecycle' does not exist"},
        ),
        (
            {"company_id": "sf-002", "custom_attributes": {"tier": 3}},
            400,
            {
                "code": "parameter_invalid",
                "message": "Custom attribute 'tier' must be of type string",
            },
        ),
        ({"test": "invalid"}, 400, {"code": "bad_request", "message": "bad 'test' parameter"}),
        (
            {"name": "No Key"},
            400,
            {
                "code": "parameter_not_found",
                "message": "company_id not specified",
                "field": "company_id",
            },
        ),
    ],
)
def test_company_create_refusals(
    ws: Workspace, body: dict[str, Any], status: int, error: dict[str, Any]
) -> None:
    count = ws.store.count("companies")
    assert error_of(ws.call("POST", "/companies", body), status) == error
    assert ws.store.count("companies") == count


def test_update_company_by_intercom_id(ws: Workspace) -> None:
    cid = ws.company_id(0)
    before = ws.get(f"/companies/{cid}")
    resp = ws.call(
        "PUT",
        f"/companies/{cid}",
        {
            "name": "Renamed Co",
            "website": "https://renamed.example",
            "custom_attributes": {"tier": "Tier 1"},
        },
    )
    assert resp.status_code == 200, resp.text
    after = resp.json()
    validate(after, "company")
    assert after["name"] == "Renamed Co" and after["website"] == "https://renamed.example"
    assert after["custom_attributes"] == {**before["custom_attributes"], "tier": "Tier 1"}
    assert after["company_id"] == before["company_id"] and after["updated_at"] == LATER
    assert ws.get(f"/companies/{cid}") == after


def test_update_company_refusals(ws: Workspace) -> None:
    missing = ws.call("PUT", "/companies/nope", {"name": "x"})
    assert error_of(missing, 404) == {"code": "company_not_found", "message": "Company Not Found"}
    cid = ws.company_id(0)
    before = ws.get(f"/companies/{cid}")
    rekey = ws.call("PUT", f"/companies/{cid}", {"company_id": "changed"})
    assert error_of(rekey, 400) == {"code": "bad_request", "message": "bad 'company_id' parameter"}
    unknown = ws.call("PUT", f"/companies/{cid}", {"custom_attributes": {"seats": 3}})
    assert error_of(unknown, 400)["message"] == "Custom attribute 'seats' does not exist"
    assert ws.get(f"/companies/{cid}") == before


# -- rate limits and faults --------------------------------------------------------------------


def test_writes_are_rate_limited_and_faulted_like_reads(ws: Workspace) -> None:
    cid = ws.contact_id()
    ok = ws.call("PUT", f"/contacts/{cid}", {"custom_attributes": {"seats": 5}})
    assert ok.status_code == 200
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(ok.headers)
    ws.faults(rate_limit_storm=1)
    limited = ws.call("PUT", f"/contacts/{cid}", {"custom_attributes": {"seats": 6}})
    assert error_of(limited, 429)["code"] == "rate_limit_exceeded"
    assert "X-RateLimit-Reset" in limited.headers
    ws.faults(error_rate=1.0, seed=1)
    failed = ws.call("POST", "/tags", {"name": "Never"})
    assert failed.status_code in (500, 502, 503)
    ws.faults()
    assert ws.get(f"/contacts/{cid}")["custom_attributes"]["seats"] == 5
    assert "Never" not in {t["name"] for t in ws.get("/tags")["data"]}
