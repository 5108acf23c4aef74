"""Salesforce emulator: OAuth, REST (describe, SOQL, sObjects, Collections), limits, faults and
the ``/_sandbox/`` control pages, over real TLS and through simple-salesforce 1.12.10 where it has a
call for it.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from intercom_salesforce.sandbox.salesforce import (
    SalesforceEmulatorConfig,
    SalesforceFaults,
    SalesforceStore,
    SalesforceWorldData,
    create_app,
)
from intercom_salesforce.sandbox.salesforce.app import SalesforceEmulator
from intercom_salesforce.sandbox.salesforce.describe import MASTER_RECORD_TYPE_ID
from intercom_salesforce.sandbox.salesforce.ids import make_id
from intercom_salesforce.sandbox.serving import start_in_thread
from intercom_salesforce.sandbox.tls import ensure_tls, trusting_session
from tests.helpers import client_credentials_token

CLIENT = ("sandbox-client-id", "sandbox-client-secret")


@dataclass
class Org:
    url: str
    app: SalesforceEmulator
    store: SalesforceStore
    session: requests.Session
    tmp: Path

    def token(self) -> str:
        return client_credentials_token(self.session, self.url)

    def sf(self) -> Salesforce:
        return Salesforce(
            instance_url=self.url, session_id=self.token(), session=self.session, version="59.0"
        )

    def api(
        self,
        method: str,
        path: str,
        token: str | None = None,
        headers_extra: dict[str, str] | None = None,
        **kw: object,
    ) -> requests.Response:
        headers = {
            "Authorization": f"Bearer {token or self.token()}",
            "Content-Type": "application/json",
            "X-PrettyPrint": "1",
            **(headers_extra or {}),
        }
        return self.session.request(
            method, f"{self.url}/services/data/v59.0/{path}", headers=headers, **kw
        )  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    tmp = tmp_path_factory.mktemp("sf-rest")
    tls = ensure_tls(tmp)
    store = SalesforceStore(tmp / "org.sqlite")
    app = create_app(store, SalesforceEmulatorConfig())
    srv = start_in_thread(app, ssl_context=tls.ssl_context)
    yield Org(srv.url, app, store, trusting_session(tls.ca_path), tmp)
    srv.stop()
    store.close()


@pytest.fixture
def org(server: Org) -> Org:
    server.store.reset()
    server.app.config = SalesforceEmulatorConfig()
    server.app.rng = random.Random(0)
    server.app.clock = time.time
    return server


def seed(org: Org, **records: list[dict]) -> None:
    org.store.load_world(SalesforceWorldData(records=records))


# -- OAuth --------------------------------------------------------------------------------------
def test_client_credentials_and_password_grants(org: Org) -> None:
    url = f"{org.url}/services/oauth2/token"
    r = org.session.post(url, data={"grant_type": "client_credentials"}, auth=CLIENT)
    body = r.json()
    assert r.status_code == 200
    assert body["instance_url"] == org.url  # the emulator's own base URL, no trailing slash
    assert body["token_type"] == "Bearer" and body["issued_at"].isdigit()
    assert body["id"].startswith("https://login.salesforce.com/id/00D")
    assert set(body) >= {"access_token", "signature"}

    r = org.session.post(url, data={"grant_type": "client_credentials"}, auth=(CLIENT[0], "wrong"))
    assert (r.status_code, r.json()) == (
        400,
        {"error": "invalid_client", "error_description": "invalid client credentials"},
    )

    form = {
        "grant_type": "password",
        "client_id": CLIENT[0],
        "client_secret": CLIENT[1],
        "username": "integration@sandbox.example.com",
        "password": "sandbox-password",
    }
    assert org.session.post(url, data=form).status_code == 200
    r = org.session.post(url, data={**form, "password": "nope"})
    assert (r.status_code, r.json()) == (
        400,
        {"error": "invalid_grant", "error_description": "authentication failure"},
    )
    r = org.session.post(url, data={"grant_type": "authorization_code"})
    assert r.json()["error"] == "unsupported_grant_type"


def test_jwt_bearer_grant(org: Org) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    url = f"{org.url}/services/oauth2/token"
    grant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

    def assertion(**overrides: object) -> str:
        claims = {
            "iss": CLIENT[0],
            "sub": "integration@sandbox.example.com",
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 170,
            **overrides,
        }
        return jwt.encode(claims, key, algorithm="RS256")

    r = org.session.post(url, data={"grant_type": grant, "assertion": assertion()})
    assert r.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}

    org.app.config.jwt_public_key_pem = pem
    r = org.session.post(url, data={"grant_type": grant, "assertion": assertion()})
    assert r.status_code == 200 and r.json()["instance_url"] == org.url
    token = r.json()["access_token"]
    assert org.api("GET", "limits/", token=token).status_code == 200
    r = org.session.post(url, data={"grant_type": grant, "assertion": assertion(aud=org.url)})
    assert r.status_code == 200

    bad = {
        "aud": ({"aud": "https://example.com"}, "audience is invalid"),
        "expired": ({"exp": int(time.time()) - 600}, "expired authorization code"),
        "too far": ({"exp": int(time.time()) + 3600}, "invalid assertion"),
        "user": ({"sub": "someone@else.com"}, "user hasn't approved this consumer"),
    }
    for overrides, description in bad.values():
        r = org.session.post(url, data={"grant_type": grant, "assertion": assertion(**overrides)})
        assert (r.status_code, r.json()["error_description"]) == (400, description)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {
            "iss": CLIENT[0],
            "sub": "integration@sandbox.example.com",
            "aud": "https://login.salesforce.com",
            "exp": int(time.time()) + 60,
        },
        other_key,
        algorithm="RS256",
    )
    r = org.session.post(url, data={"grant_type": grant, "assertion": forged})
    assert r.json()["error"] == "invalid_grant"


def test_expired_and_unknown_sessions_get_401_array(org: Org) -> None:
    sf = org.sf()
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    org.app.clock = lambda: time.time() + 7201
    with pytest.raises(SalesforceExpiredSession) as err:
        sf.query("SELECT Id FROM User")
    assert err.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    org.app.clock = time.time
    assert org.api("GET", "sobjects", token="00Dbogus!AQxyz").status_code == 401
    r = org.session.get(f"{org.url}/services/data/v59.0/sobjects")
    assert r.status_code == 401

    sf = org.sf()
    org.session.put(f"{org.url}/_sandbox/config/faults", json={"expire_sessions": True})
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM User")
    assert org.sf().query("SELECT Id FROM User")["totalSize"] == 1  # a new login works


# -- metadata -----------------------------------------------------------------------------------
def test_versions_and_describe(org: Org) -> None:
    versions = org.session.get(f"{org.url}/services/data/").json()
    assert {"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"} in versions
    sf = org.sf()
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {
        "User",
        "Group",
        "QueueSobject",
        "RecordType",
        "Account",
        "Contact",
        "Lead",
        "Opportunity",
        "Task",
        "Note",
        "Intercom_Conversation__c",
    } <= names

    lead = sf.Lead.describe()
    fields = {f["name"]: f for f in lead["fields"]}
    icid = fields["Intercom_Contact_Id__c"]
    assert (
        icid["type"],
        icid["length"],
        icid["externalId"],
        icid["unique"],
        icid["caseSensitive"],
    ) == ("string", 255, True, True, False)
    assert fields["Intercom_User_Id__c"]["unique"] is False
    plan = fields["Intercom_Plan__c"]
    assert plan["restrictedPicklist"] is True
    assert {
        "value": "Legacy",
        "label": "Legacy",
        "active": False,
        "defaultValue": False,
        "validFor": None,
    } in plan["picklistValues"]
    status = fields["Status"]
    assert status["defaultedOnCreate"] and not status["nillable"]
    assert [p["value"] for p in status["picklistValues"] if p["defaultValue"]] == [
        "Open - Not Contacted"
    ]
    assert fields["Email"]["idLookup"] and fields["Email"]["type"] == "email"
    assert fields["LastName"]["createable"] and not fields["LastName"]["nillable"]
    assert fields["IsConverted"]["createable"] is False
    assert fields["OwnerId"]["referenceTo"] == ["Group", "User"]
    rts = {r["developerName"]: r for r in lead["recordTypeInfos"]}
    assert set(rts) == {"Sales_Lead", "Support_Lead", "Master"}
    assert rts["Master"]["recordTypeId"] == MASTER_RECORD_TYPE_ID and rts["Master"]["master"]

    task = {f["name"]: f for f in sf.Task.describe()["fields"]}
    assert task["WhoId"]["polymorphicForeignKey"] and task["WhoId"]["relationshipName"] == "Who"
    assert task["WhoId"]["referenceTo"] == ["Contact", "Lead"]
    assert task["Description"]["length"] == 32000
    conv = {f["name"]: f for f in sf.Intercom_Conversation__c.describe()["fields"]}
    assert conv["Contact__c"]["relationshipName"] == "Contact__r"

    with pytest.raises(SalesforceResourceNotFound) as err:
        sf.Nope__c.describe()
    assert err.value.content[0]["errorCode"] == "NOT_FOUND"


# -- SOQL ---------------------------------------------------------------------------------------
def _people(org: Org) -> None:
    seed(
        org,
        Account=[{"Id": make_id("Account", 1), "Name": "Acme", "Intercom_Company_Id__c": "co-1"}],
        Contact=[
            {
                "Id": make_id("Contact", i),
                "LastName": f"Person {i:02d}",
                "Email": f"Person{i}@Example.com",
                "AccountId": make_id("Account", 1) if i < 4 else None,
                "Intercom_Last_Seen__c": f"2024-01-{i:02d}T12:00:00.000+0000",
                "Intercom_Role__c": "user" if i % 2 else "lead",
            }
            for i in range(1, 11)
        ],
    )


def test_soql_filters_and_parent_fields(org: Org) -> None:
    _people(org)
    sf = org.sf()

    number = {make_id("Contact", i): i for i in range(1, 11)}

    def ids(where: str) -> list[int]:
        res = sf.query_all(f"SELECT Id FROM Contact WHERE {where} ORDER BY LastName")
        return [number[r["Id"]] for r in res["records"]]

    assert ids("Email = 'PERSON3@example.COM'") == [3]
    assert ids("Email IN ('person1@example.com', 'PERSON2@EXAMPLE.COM')") == [1, 2]
    assert ids("LastName != 'Person 01' AND AccountId != null") == [2, 3]
    assert ids("AccountId = NULL AND (Intercom_Role__c = 'user' OR LastName LIKE '%10')") == [
        5,
        7,
        9,
        10,
    ]
    assert ids("Intercom_Last_Seen__c >= 2024-01-09T00:00:00Z") == [9, 10]
    assert ids("Intercom_Last_Seen__c < 2024-01-02T12:00:00.000+00:00") == [1]
    assert ids("NOT Intercom_Role__c IN ('user')") == [2, 4, 6, 8, 10]
    assert ids("Intercom_Role__c NOT IN ('lead') AND Account.Name = 'acme'") == [1, 3]
    assert ids("IsDeleted = FALSE AND CreatedDate > 2000-01-01T00:00:00Z") == list(range(1, 11))
    assert ids(f"Id = '{make_id('Contact', 4)[:15]}'") == [4]

    res = sf.query(
        "SELECT Name, Account.Name, Account.Intercom_Company_Id__c FROM Contact "
        "ORDER BY LastName DESC LIMIT 8"
    )
    first, last = res["records"][0], res["records"][-1]
    assert first["Account"] is None and first["Name"] == "Person 10"
    assert last["Account"]["Name"] == "Acme"
    assert last["Account"]["attributes"]["type"] == "Account"
    assert last["attributes"]["url"] == (
        f"/services/data/v59.0/sobjects/Contact/{make_id('Contact', 3)}"
    )
    assert sf.query("SELECT COUNT() FROM Contact WHERE AccountId != NULL")["totalSize"] == 3


def test_soql_paging_with_small_pages(org: Org) -> None:
    _people(org)
    org.app.config.query_page_size = 3
    sf = org.sf()
    first = sf.query("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert (first["totalSize"], first["done"], len(first["records"])) == (10, False, 3)
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-3")
    everything = sf.query_all("SELECT Id, LastName FROM Contact ORDER BY LastName")
    assert everything["totalSize"] == 10 and everything["done"] is True
    assert [r["LastName"] for r in everything["records"]] == [
        f"Person {i:02d}" for i in range(1, 11)
    ]
    limited = sf.query_all("SELECT Id FROM Contact LIMIT 7")
    assert len(limited["records"]) == 7 and limited["totalSize"] == 7
    org.app.config.query_page_size = 2000
    seed(
        org,
        Lead=[{"Id": make_id("Lead", i), "LastName": "L", "Company": "C"} for i in range(1, 251)],
    )
    r = org.api(
        "GET",
        "query/",
        params={"q": "SELECT Id FROM Lead"},
        headers_extra={"Sforce-Query-Options": "batchSize=200"},
    )
    assert len(r.json()["records"]) == 200 and r.json()["nextRecordsUrl"].endswith("-200")


def test_soql_errors(org: Org) -> None:
    sf = org.sf()
    cases = {
        "SELECT Foo__c FROM Contact": (
            "INVALID_FIELD",
            "No such column 'Foo__c' on entity 'Contact'",
        ),
        "SELECT Id FROM Nope": ("INVALID_TYPE", "sObject type 'Nope' is not supported."),
        "SELECT Id FORM Contact": ("MALFORMED_QUERY", "unexpected token: 'FORM'"),
        "SELECT Id FROM Contact WHERE": ("MALFORMED_QUERY", "unexpected token: '<EOF>'"),
        "SELECT Id FROM Contact WHERE Email = 3": ("INVALID_FIELD", "must be of type string"),
    }
    for soql, (code, fragment) in cases.items():
        with pytest.raises(SalesforceMalformedRequest) as err:
            sf.query(soql)
        assert err.value.content[0]["errorCode"] == code, soql
        assert fragment in err.value.content[0]["message"], soql
    r = org.api("GET", "query", params={"q": "SELECT Id FORM Contact"})
    assert r.status_code == 400 and r.headers["Sforce-Limit-Info"].startswith("api-usage=")
    assert r.json()[0]["message"] == (
        "\nSELECT Id FORM Contact\n          ^\nERROR at Row:1:Column:11\nunexpected token: 'FORM'"
    )


# -- limits and faults --------------------------------------------------------------------------
def test_api_usage_header_limits_and_exhaustion(org: Org) -> None:
    org.app.config.daily_api_requests = 5
    sf = org.sf()
    sf.query("SELECT Id FROM User")
    assert sf.api_usage["api-usage"].used == 1 and sf.api_usage["api-usage"].total == 5
    r = org.api("GET", "limits/")
    assert r.headers["sforce-limit-info"] == "api-usage=2/5"
    limits = r.json()
    assert limits["DailyApiRequests"] == {"Max": 5, "Remaining": 3}
    assert {"DailyBulkApiBatches", "DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB"} <= set(
        limits
    )
    sf.query("SELECT Id FROM User")
    sf.query("SELECT Id FROM User")
    sf.query("SELECT Id FROM User")
    with pytest.raises(SalesforceRefusedRequest) as err:
        sf.query("SELECT Id FROM User")
    assert err.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    refused = org.api("GET", "limits/")
    assert refused.status_code == 403 and refused.headers["Sforce-Limit-Info"] == "api-usage=5/5"
    assert org.session.post(f"{org.url}/_sandbox/reset-limits").status_code == 200
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1


def test_http_fault_injection(org: Org) -> None:
    sf = org.sf()
    org.app.config.faults = SalesforceFaults(http_503_rate=1.0)
    with pytest.raises(SalesforceGeneralError) as err:
        sf.query("SELECT Id FROM User")
    assert err.value.status == 503 and err.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    org.app.config.faults = SalesforceFaults(http_500_rate=1.0)
    with pytest.raises(SalesforceGeneralError) as err:
        sf.query("SELECT Id FROM User")
    assert err.value.status == 500 and err.value.content[0]["errorCode"] == "UNKNOWN_EXCEPTION"


# -- sObject REST and Collections ---------------------------------------------------------------
def test_sobject_rest_crud_and_upsert(org: Org) -> None:
    sf = org.sf()
    created = sf.Contact.create({"LastName": "Rest", "Email": "Rest@Example.com"})
    assert created["success"] is True and created["id"].startswith("003")
    record = sf.Contact.get(created["id"])
    assert record["Email"] == "rest@example.com" and record["Name"] == "Rest"
    assert sf.Contact.update(created["id"], {"Title": "CTO"}) == 204
    assert sf.Contact.get_by_custom_id("Email", "REST@example.com")["Title"] == "CTO"

    assert (
        sf.Contact.upsert(
            "Intercom_Contact_Id__c/abc", {"LastName": "Up", "Email": "up@example.com"}
        )
        == 201
    )
    assert sf.Contact.upsert("Intercom_Contact_Id__c/abc", {"Title": "Changed"}) == 200
    raw = sf.Contact.upsert("Intercom_Contact_Id__c/abc", {"Title": "Again"}, raw_response=True)
    assert raw.json()["created"] is False
    assert sf.Contact.get_by_custom_id("Intercom_Contact_Id__c", "ABC")["Title"] == "Again"

    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Contact.create({"LastName": "Twin", "Email": "up@example.com"})
    assert err.value.content[0]["errorCode"] == "DUPLICATES_DETECTED"
    allowed = sf.Contact.create(
        {"LastName": "Twin", "Email": "up@example.com"},
        headers={"Sforce-Duplicate-Rule-Header": "allowSave=true"},
    )
    assert allowed["success"]
    seed(
        org,
        Lead=[
            {
                "Id": make_id("Lead", i),
                "LastName": "L",
                "Company": "C",
                "Intercom_User_Id__c": "same",
            }
            for i in (1, 2)
        ],
    )
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Lead.get_by_custom_id("Intercom_User_Id__c", "same")
    with pytest.raises(SalesforceMoreThanOneRecord) as multi:
        sf.Lead.upsert("Intercom_User_Id__c/same", {"Title": "x"})
    assert multi.value.content == [
        f"/services/data/v59.0/sobjects/Lead/{make_id('Lead', i)}" for i in (1, 2)
    ]

    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Contact.create({"FirstName": "NoLast"})
    assert err.value.content == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]
    assert sf.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(created["id"])
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get_by_custom_id("Intercom_Contact_Id__c", "missing")


def test_sobject_collections(org: Org) -> None:
    sf = org.sf()
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "One", "Intercom_Company_Id__c": "co-1"},
            {"attributes": {"type": "Account"}, "Website": "x.test"},
        ],
    }
    results = sf.restful("composite/sobjects", method="POST", data=json.dumps(body))
    assert results[0]["success"] and results[0]["id"].startswith("001")
    assert results[1] == {
        "id": None,
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }

    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "Two"},
            {"attributes": {"type": "Account"}, "Website": "y.test"},
        ],
    }
    results = sf.restful("composite/sobjects", method="POST", data=json.dumps(body))
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 1

    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Intercom_Company_Id__c": "co-1", "Website": "a"},
            {"attributes": {"type": "Account"}, "Intercom_Company_Id__c": "co-2", "Name": "New"},
        ],
    }
    results = sf.restful(
        "composite/sobjects/Account/Intercom_Company_Id__c", method="PATCH", data=json.dumps(body)
    )
    assert [(r["success"], r["created"]) for r in results] == [(True, False), (True, True)]

    ids = [r["id"] for r in results]
    body = {
        "records": [
            {"attributes": {"type": "Account"}, "Id": ids[0], "Industry": "Retail"},
            {"attributes": {"type": "Account"}, "Id": ids[1], "Name": "#" * 256},
        ]
    }
    updated = sf.restful("composite/sobjects", method="PATCH", data=json.dumps(body))
    assert updated[0] == {"id": ids[0], "success": True, "errors": []}
    assert updated[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sf.Account.get(ids[0])["Industry"] == "Retail"
    deleted = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": ",".join([*ids, make_id("Account", 999)])},
    )
    assert [r["success"] for r in deleted] == [True, True, False]
    assert deleted[2]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0

    too_many = {
        "records": [{"attributes": {"type": "Account"}, "Name": str(i)} for i in range(201)]
    }
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.restful("composite/sobjects", method="POST", data=json.dumps(too_many))
    assert err.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


# -- control endpoints, pages, store -------------------------------------------------------------
def test_control_endpoints_and_pages(org: Org) -> None:
    base = f"{org.url}/_sandbox"
    faults = org.session.get(f"{base}/config/faults").json()
    assert faults == SalesforceFaults().to_dict()
    updated = org.session.put(f"{base}/config/faults", json={"lock_row_rate": 0.5}).json()
    assert updated["lock_row_rate"] == 0.5 and org.app.config.faults.lock_row_rate == 0.5
    assert org.session.put(f"{base}/config/faults", json={"bogus": 1}).status_code == 400

    sf = org.sf()
    sf.query("SELECT Id FROM User")
    log = org.session.get(f"{base}/requests").json()
    assert any(e["path"] == "/services/data/v59.0/query/" and e["status"] == 200 for e in log)

    seed(org, Lead=[{"Id": make_id("Lead", 1), "LastName": "<b>Page</b>", "Company": "C"}])
    page = org.session.get(f"{base}/")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "<a href='/_sandbox/Lead'>Lead</a></td><td>1</td>" in page.text
    leads = org.session.get(f"{base}/Lead").text
    assert "&lt;b&gt;Page&lt;/b&gt;" in leads and "1 records, page 1 of 1" in leads


def test_werkzeug_request_log_is_quiet(org: Org) -> None:
    import logging

    assert logging.getLogger("werkzeug").getEffectiveLevel() >= logging.WARNING


def test_config_round_trip() -> None:
    config = SalesforceEmulatorConfig(
        query_page_size=7, faults=SalesforceFaults(fail_next_jobs=2, seed=3)
    )
    data = json.loads(json.dumps(config.to_dict()))
    assert SalesforceEmulatorConfig.from_dict(data) == config
    assert config.org_id.startswith("00D") and len(config.org_id) == 18
    with pytest.raises(ValueError):
        SalesforceEmulatorConfig.from_dict({"nope": 1})


def test_load_world_streams_large_worlds(tmp_path: Path) -> None:
    store = SalesforceStore(tmp_path / "big.sqlite")
    n = 20000

    def contacts() -> Iterator[dict]:
        for i in range(n):
            yield {
                "Id": make_id("Contact", i + 1),
                "LastName": f"C{i}",
                "Email": f"Contact{i}@Example.com",
                "Intercom_Contact_Id__c": f"ic-{i}",
            }

    started = time.perf_counter()
    assert store.load_world(SalesforceWorldData(records={"Contact": contacts()})) == {"Contact": n}
    assert time.perf_counter() - started < 10
    assert store.count("Contact") == n
    assert store.find_ids("Contact", "Email", "CONTACT123@example.com") == [make_id("Contact", 124)]
    store.reset()
    assert store.count("Contact") == 0 and store.count("User") == 1
    store.close()


def test_soap_login_with_simple_salesforce_helper(org: Org) -> None:
    from simple_salesforce.exceptions import SalesforceAuthenticationFailed
    from simple_salesforce.login import soap_login

    def body(password: str) -> str:
        return (
            '<?xml version="1.0" encoding="utf-8" ?><env:Envelope '
            'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>'
            '<n1:login xmlns:n1="urn:partner.soap.sforce.com">'
            "<n1:username>integration@sandbox.example.com</n1:username>"
            f"<n1:password>{password}</n1:password></n1:login></env:Body></env:Envelope>"
        )

    url = f"{org.url}/services/Soap/u/59.0"
    headers = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}
    session_id, instance = soap_login(url, body("sandbox-password"), headers, None, org.session)
    assert instance == org.url.removeprefix("https://")
    sf = Salesforce(instance=instance, session_id=session_id, session=org.session)
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    with pytest.raises(SalesforceAuthenticationFailed, match="INVALID_LOGIN"):
        soap_login(url, body("wrong"), headers, None, org.session)


def test_task_and_custom_object_rules(org: Org) -> None:
    seed(
        org,
        Account=[{"Id": make_id("Account", 1), "Name": "Acme", "Intercom_Company_Id__c": "co-1"}],
        Contact=[
            {
                "Id": make_id("Contact", 1),
                "LastName": "C",
                "AccountId": make_id("Account", 1),
                "Intercom_Contact_Id__c": "ic-c",
            }
        ],
        Lead=[{"Id": make_id("Lead", 1), "LastName": "L", "Company": "Co"}],
    )
    sf = org.sf()
    task = sf.Task.create(
        {"Subject": "Chat", "WhoId": make_id("Contact", 1), "Status": "Completed"}
    )
    saved = sf.Task.get(task["id"])
    assert saved["AccountId"] == make_id("Account", 1) and saved["IsClosed"] is True
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Task.create(
            {"Subject": "Both", "WhoId": make_id("Lead", 1), "WhatId": make_id("Account", 1)}
        )
    assert err.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert err.value.content[0]["fields"] == ["WhatId"]
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Task.create({"Subject": "Queue", "OwnerId": make_id("Group", 1)})
    assert err.value.content[0]["message"] == (
        f"Assigned To: id value of incorrect type: {make_id('Group', 1)}"
    )
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.Lead.create({"LastName": "X", "Company": "Y", "IsConverted": True})
    assert err.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"

    conv = sf.Intercom_Conversation__c.create(
        {
            "Intercom_Conversation_Id__c": "conv-1",
            "Contact__r": {"Intercom_Contact_Id__c": "ic-c"},
            "Account__c": make_id("Account", 1),
            "Opened_At__c": "2024-03-01T10:00:00Z",
        }
    )
    row = sf.query(
        "SELECT Name, Contact__r.LastName, Account__r.Name, Opened_At__c "
        "FROM Intercom_Conversation__c"
    )["records"][0]
    assert row["Name"] == conv["id"]  # Name defaults to the record id
    assert row["Contact__r"]["LastName"] == "C" and row["Account__r"]["Name"] == "Acme"
    assert row["Opened_At__c"] == "2024-03-01T10:00:00.000+0000"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get("not-an-id")
