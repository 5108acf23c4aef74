"""Salesforce emulator fidelity: behaviours a real org has, checked over HTTP (TLS) through
requests and simple-salesforce 1.12.10 against the running emulator.

Each test pins one way the emulator used to differ from a new Developer Edition org: External ID
fields are idLookup fields; a change to a deleted record is ``ENTITY_IS_DELETED``; field names are
case-insensitive in sObject Collections too; record types exist for every object that can have
them; objects carry their standard fields; Bulk jobs take time in proportion to their rows.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from intercom_salesforce.sandbox.salesforce import (
    SalesforceEmulatorConfig,
    SalesforceStore,
    create_app,
)
from intercom_salesforce.sandbox.salesforce.app import SalesforceEmulator
from intercom_salesforce.sandbox.salesforce.baseline import RECORD_TYPE_IDS
from intercom_salesforce.sandbox.serving import start_in_thread
from intercom_salesforce.sandbox.tls import ensure_tls, trusting_session
from tests.helpers import Clock, client_credentials_token


@dataclass
class Org:
    url: str
    app: SalesforceEmulator
    session: requests.Session

    def token(self) -> str:
        return client_credentials_token(self.session, self.url)

    def sf(self) -> Salesforce:
        return Salesforce(
            instance_url=self.url, session_id=self.token(), session=self.session, version="59.0"
        )

    def api(self, method: str, path: str, body: Any = None, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body) if not isinstance(body, str) else body
        return self.session.request(
            method,
            f"{self.url}/services/data/v59.0/{path}",
            headers=headers,
            data=data,
            timeout=10,
            **kw,
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    tmp: Path = tmp_path_factory.mktemp("sf-fidelity")
    tls = ensure_tls(tmp)
    store = SalesforceStore(tmp / "org.sqlite")
    app = create_app(store, SalesforceEmulatorConfig())
    srv = start_in_thread(app, ssl_context=tls.ssl_context)
    yield Org(srv.url, app, trusting_session(tls.ca_path))
    srv.stop()
    store.close()


@pytest.fixture
def org(server: Org) -> Org:
    server.app.store.reset()
    server.app.config = SalesforceEmulatorConfig()
    server.app.rng = random.Random(0)
    server.app.clock = Clock()
    return server


def fields_of(org: Org, sobject: str) -> dict[str, dict[str, Any]]:
    described = getattr(org.sf(), sobject).describe()
    return {f["name"]: f for f in described["fields"]}


# -- describe -------------------------------------------------------------------------------------
def test_external_id_fields_are_id_lookup_fields(org: Org) -> None:
    for sobject in ("Contact", "Lead", "Account", "Task", "Intercom_Conversation__c"):
        external = [f for f in fields_of(org, sobject).values() if f["externalId"]]
        assert external, sobject
        assert all(f["idLookup"] for f in external), [f["name"] for f in external]
    contact = fields_of(org, "Contact")
    assert contact["Intercom_Contact_Id__c"]["idLookup"] is True
    assert contact["Email"]["idLookup"] is True and contact["Email"]["externalId"] is False


@pytest.mark.parametrize(
    ("sobject", "name", "kind", "length"),
    [
        ("Account", "ParentId", "reference", 18),
        ("Account", "BillingCity", "string", 40),
        ("Account", "ShippingStreet", "textarea", 255),
        ("Account", "AccountNumber", "string", 40),
        ("Lead", "MobilePhone", "phone", 40),
        ("Lead", "Street", "textarea", 255),
        ("Lead", "PostalCode", "string", 20),
        ("Lead", "HasOptedOutOfEmail", "boolean", 0),
        ("Contact", "Department", "string", 80),
        ("Contact", "MobilePhone", "phone", 40),
        ("Contact", "MailingCountry", "string", 80),
        ("Contact", "Birthdate", "date", 0),
        ("Task", "CallDurationInSeconds", "int", 0),
        ("Task", "CallType", "picklist", 40),
        ("Task", "CallDisposition", "string", 255),
        ("Opportunity", "Probability", "percent", 0),
        ("User", "Department", "string", 80),
    ],
)
def test_standard_fields_of_a_developer_edition_org(
    org: Org, sobject: str, name: str, kind: str, length: int
) -> None:
    described = fields_of(org, sobject)[name]
    assert (described["type"], described["length"], described["custom"]) == (kind, length, False)


def test_standard_fields_are_readable_and_writable(org: Org) -> None:
    sf = org.sf()
    parent = sf.Account.create({"Name": "Parent Co"})["id"]
    child = sf.Account.create({"Name": "Child Co", "ParentId": parent, "BillingCity": "Lyon"})
    contact = sf.Contact.create(
        {"LastName": "Dept", "Department": "Finance", "MobilePhone": "+33 6 00 00 00 00"}
    )
    task = sf.Task.create({"Subject": "Call", "CallDurationInSeconds": 95, "CallType": "Outbound"})
    assert sf.Contact.get(contact["id"])["Department"] == "Finance"
    rows = sf.query(
        f"SELECT Name, Parent.Name, BillingCity FROM Account WHERE Id = '{child['id']}'"
    )
    assert rows["records"][0]["Parent"]["Name"] == "Parent Co"
    assert rows["records"][0]["BillingCity"] == "Lyon"
    saved = sf.Task.get(task["id"])
    assert (saved["CallDurationInSeconds"], saved["CallType"]) == (95, "Outbound")
    lead = sf.Lead.get(sf.Lead.create({"LastName": "Flags", "Company": "C"})["id"])
    assert lead["HasOptedOutOfEmail"] is False and lead["DoNotCall"] is False
    r = org.api("POST", "sobjects/Task", {"Subject": "Call", "CallType": "Sideways"})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


# -- deleted records ----------------------------------------------------------------------------
def test_change_of_a_deleted_record_is_entity_is_deleted(org: Org) -> None:
    sf = org.sf()
    lead_id = sf.Lead.create({"LastName": "Gone", "Company": "C"})["id"]
    assert sf.Lead.delete(lead_id) == 204
    for method, body in (("PATCH", {"Title": "x"}), ("DELETE", None)):
        r = org.api(method, f"sobjects/Lead/{lead_id}", body)
        assert r.status_code == 404, method
        assert r.json() == [
            {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
        ]
    r = org.api("GET", f"sobjects/Lead/{lead_id}")
    assert r.status_code == 404 and r.json()[0]["errorCode"] == "NOT_FOUND"


# -- field names are case-insensitive -------------------------------------------------------------
def test_collections_update_takes_the_id_key_in_any_case(org: Org) -> None:
    sf = org.sf()
    ids = [sf.Lead.create({"LastName": f"L{i}", "Company": "C"})["id"] for i in range(3)]
    records = [
        {"attributes": {"type": "Lead"}, key: lead_id, "title": f"T{n}"}
        for n, (key, lead_id) in enumerate(zip(("id", "ID", "Id"), ids, strict=True))
    ]
    r = org.api("PATCH", "composite/sobjects", {"allOrNone": True, "records": records})
    assert r.status_code == 200
    assert r.json() == [{"id": i, "success": True, "errors": []} for i in ids]
    assert [sf.Lead.get(i)["Title"] for i in ids] == ["T0", "T1", "T2"]


def test_collections_upsert_takes_the_key_field_in_any_case(org: Org) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "intercom_contact_id__c": "ic-9", "lastname": "Nine"}
    ]
    r = org.api("PATCH", "composite/sobjects/Contact/Intercom_Contact_Id__c", {"records": records})
    assert r.json()[0]["success"] is True and r.json()[0]["created"] is True


# -- record types ---------------------------------------------------------------------------------
def test_record_types_for_every_object_that_can_have_them(org: Org) -> None:
    sobject_type = fields_of(org, "RecordType")["SobjectType"]
    offered = {p["value"] for p in sobject_type["picklistValues"]}
    assert {"Account", "Contact", "Lead", "Opportunity", "Task"} <= offered
    assert "Note" not in offered and "User" not in offered

    contact = org.sf().Contact.describe()
    names = [rt["developerName"] for rt in contact["recordTypeInfos"]]
    assert names == ["Customer_Contact", "Partner_Contact", "Master"]
    assert "RecordTypeId" in {f["name"] for f in contact["fields"]}


def test_record_type_of_the_right_object_only(org: Org) -> None:
    sf = org.sf()
    contact_rt = RECORD_TYPE_IDS[("Contact", "Partner_Contact")]
    created = sf.Contact.create({"LastName": "Typed", "RecordTypeId": contact_rt})
    saved = sf.query(f"SELECT RecordType.DeveloperName FROM Contact WHERE Id = '{created['id']}'")
    assert saved["records"][0]["RecordType"]["DeveloperName"] == "Partner_Contact"

    lead_rt = RECORD_TYPE_IDS[("Lead", "Sales_Lead")]
    r = org.api("POST", "sobjects/Contact", {"LastName": "Wrong", "RecordTypeId": lead_rt})
    assert r.status_code == 400
    assert r.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert r.json()[0]["fields"] == ["RecordTypeId"]

    r = org.api(
        "POST",
        "sobjects/RecordType",
        {"Name": "Vendor", "DeveloperName": "Vendor", "SobjectType": "Contact"},
    )
    assert r.status_code == 201, r.text


# -- Bulk processing time ---------------------------------------------------------------------------
def _ingest(org: Org, rows: int) -> str:
    sf = org.sf()
    base = f"{org.url}/services/data/v59.0/jobs/ingest"
    headers = {"Authorization": f"Bearer {sf.session_id}", "Content-Type": "application/json"}
    job = org.session.post(
        base, headers=headers, json={"object": "Lead", "operation": "insert"}, timeout=10
    ).json()
    csv_text = "LastName,Company\n" + "".join(f"L{i},C\n" for i in range(rows))
    upload = org.session.put(
        f"{base}/{job['id']}/batches",
        headers={**headers, "Content-Type": "text/csv"},
        data=csv_text,
        timeout=10,
    )
    assert upload.status_code == 201
    closed = org.session.patch(
        f"{base}/{job['id']}", headers=headers, json={"state": "UploadComplete"}, timeout=10
    )
    assert closed.json()["state"] == "UploadComplete"
    return job["id"]


def _state(org: Org, kind: str, job_id: str) -> dict[str, Any]:
    return org.api("GET", f"jobs/{kind}/{job_id}").json()


def test_bulk_job_takes_time_in_proportion_to_its_rows(org: Org) -> None:
    clock: Clock = org.app.clock  # type: ignore[assignment]
    org.app.config.bulk_polls_to_complete = 0
    org.app.config.bulk_rows_per_second = 100.0
    job_id = _ingest(org, 500)  # 5 seconds of processing
    assert _state(org, "ingest", job_id)["state"] == "InProgress"
    clock.now += 4.0
    assert _state(org, "ingest", job_id)["state"] == "InProgress"
    clock.now += 1.5
    info = _state(org, "ingest", job_id)
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 500)

    query = org.api("POST", "jobs/query", {"operation": "query", "query": "SELECT Id FROM Lead"})
    assert _state(org, "query", query.json()["id"])["state"] == "InProgress"
    clock.now += 5.5
    assert _state(org, "query", query.json()["id"])["state"] == "JobComplete"


def test_bulk_jobs_are_instant_by_default(org: Org) -> None:
    org.app.config.bulk_polls_to_complete = 0
    assert SalesforceEmulatorConfig().bulk_rows_per_second == 0
    job_id = _ingest(org, 500)
    assert _state(org, "ingest", job_id)["state"] == "JobComplete"
