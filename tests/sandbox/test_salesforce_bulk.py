"""Bulk API 2.0 on the Salesforce emulator, driven through simple-salesforce 1.12.10 over real TLS.

Each test builds records that provoke one behaviour from reference section 1 / 4 and asserts the
exact CSV text or JobInfo the emulator returns.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import ColumnDelimiter, Operation
from simple_salesforce.exceptions import SalesforceOperationError

from intercom_salesforce.sandbox.salesforce import (
    SalesforceEmulatorConfig,
    SalesforceStore,
    SalesforceWorldData,
    bulk,
    create_app,
)
from intercom_salesforce.sandbox.salesforce.app import SalesforceEmulator
from intercom_salesforce.sandbox.salesforce.baseline import (
    CONVERSATION_QUEUE_ID,
    INTEGRATION_USER_ID,
    LEAD_QUEUE_ID,
    PUBLIC_GROUP_ID,
    RECORD_TYPE_IDS,
)
from intercom_salesforce.sandbox.salesforce.ids import make_id
from intercom_salesforce.sandbox.serving import start_in_thread
from intercom_salesforce.sandbox.tls import ensure_tls, trusting_session


@dataclass
class Org:
    url: str
    app: SalesforceEmulator
    store: SalesforceStore
    session: requests.Session
    tmp: Path

    def token(self) -> str:
        r = self.session.post(
            f"{self.url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("sandbox-client-id", "sandbox-client-secret"),
        )
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def sf(self) -> Salesforce:
        return Salesforce(
            instance_url=self.url, session_id=self.token(), session=self.session, version="59.0"
        )

    def csv_file(self, text: str, name: str = "data.csv") -> str:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return str(path)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    tmp = tmp_path_factory.mktemp("sf-bulk")
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
    return server


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def seed(org: Org, **records: list[dict]) -> None:
    org.store.load_world(SalesforceWorldData(records=records))


def test_insert_lifecycle_and_result_files(org: Org) -> None:
    sf = org.sf()
    path = org.csv_file(
        "LastName,Company,Email,Intercom_Contact_Id__c\n"
        "Smith,Acme,Jane.Smith@Example.COM,ic-1\n"
        ",Acme,nobody@example.com,ic-2\n"
    )
    result = sf.bulk2.Lead.insert(csv_file=path, wait=0)
    assert result[0]["numberRecordsProcessed"] == 2  # includes the failed row
    assert result[0]["numberRecordsFailed"] == 1
    job_id = result[0]["job_id"]
    assert job_id.startswith("750") and len(job_id) == 18

    ok = sf.bulk2.Lead.get_successful_records(job_id)
    header, first = ok.splitlines()
    assert header == '"sf__Id","sf__Created",LastName,Company,Email,Intercom_Contact_Id__c'
    assert first.startswith('"00Q') and ',"true",Smith,Acme,Jane.Smith@Example.COM,ic-1' in first
    failed = sf.bulk2.Lead.get_failed_records(job_id)
    assert failed.splitlines() == [
        '"sf__Id","sf__Error",LastName,Company,Email,Intercom_Contact_Id__c',
        '"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",'
        ",Acme,nobody@example.com,ic-2",
    ]
    assert sf.bulk2.Lead.get_unprocessed_records(job_id).splitlines() == [
        "LastName,Company,Email,Intercom_Contact_Id__c"
    ]
    parsed = sf.bulk2.Lead.get_all_ingest_records(job_id)
    assert [r["LastName"] for r in parsed["successfulRecords"]] == ["Smith"]
    assert parsed["failedRecords"][0]["sf__Id"] == "" and parsed["unprocessedRecords"] == []
    # Saved with the email lower-cased and Status defaulted (reference 6.8, 6.2).
    lead = sf.query("SELECT Email, Status, OwnerId FROM Lead")["records"][0]
    assert lead["Email"] == "jane.smith@example.com"
    assert lead["Status"] == "Open - Not Contacted"
    assert lead["OwnerId"] == INTEGRATION_USER_ID


def test_job_state_progression_and_jobinfo_shape(org: Org) -> None:
    client = org.sf().bulk2.Contact._client
    created = client.create_job(Operation.insert)
    assert created["state"] == "Open"
    assert created["contentUrl"] == f"services/data/v59.0/jobs/ingest/{created['id']}/batches"
    assert created["createdDate"].endswith("+0000") and created["apiVersion"] == 59.0
    assert created["concurrencyMode"] == "Parallel" and created["jobType"] == "V2Ingest"
    client.upload_job_data(created["id"], "LastName\nOne\nTwo\n")
    closed = client.close_job(created["id"])
    assert closed["state"] == "UploadComplete" and "contentUrl" not in closed
    first = client.get_job(created["id"], False)
    assert first["state"] == "InProgress"
    second = client.get_job(created["id"], False)
    assert second["state"] == "JobComplete"
    assert (second["numberRecordsProcessed"], second["numberRecordsFailed"]) == (2, 0)


def test_zero_polls_completes_at_once_and_slow_jobs_add_polls(org: Org) -> None:
    org.app.config.bulk_polls_to_complete = 0
    client = org.sf().bulk2.Contact._client
    job = client.create_job(Operation.insert)
    client.upload_job_data(job["id"], "LastName\nOne\n")
    client.close_job(job["id"])
    assert client.get_job(job["id"], False)["state"] == "JobComplete"

    org.app.config.bulk_polls_to_complete = 1
    org.app.config.faults.slow_job_polls = 2
    job = client.create_job(Operation.insert)
    client.upload_job_data(job["id"], "LastName\nOne\n")
    client.close_job(job["id"])
    states = [client.get_job(job["id"], False)["state"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "JobComplete"]


def test_every_validation_error_string(org: Org) -> None:
    seed(
        org,
        Contact=[
            {"Id": make_id("Contact", 1), "LastName": "Existing", "Email": "taken@example.com"}
        ],
        Lead=[
            {
                "Id": make_id("Lead", 1),
                "LastName": "Old",
                "Company": "C",
                "Intercom_Contact_Id__c": "IC-TAKEN",
            }
        ],
    )
    account_rt = RECORD_TYPE_IDS[("Account", "Customer_Account")]
    missing_user = make_id("User", 999)
    long_region = "R" * 41
    text = (
        "LastName,Company,Email,Intercom_Plan__c,Intercom_Region__c,Intercom_Last_Seen__c,"
        "OwnerId,RecordTypeId,Intercom_Contact_Id__c\n"
        ",,a1@example.com,,,,,,\n"
        f"L2,C,a2@example.com,,{long_region},,,,\n"
        "L3,C,not-an-email,,,,,,\n"
        "L4,C,a4@example.com,Platinum,,,,,\n"
        "L5,C,a5@example.com,Legacy,,,,,\n"
        "L6,C,a6@example.com,,,2024-01-02 03:04:05,,,\n"
        "L7,C,a7@example.com,,,,abc,,\n"
        f"L8,C,a8@example.com,,,,{PUBLIC_GROUP_ID},,\n"
        f"L9,C,a9@example.com,,,,{missing_user},,\n"
        f"L10,C,a10@example.com,,,,,{account_rt},\n"
        "L11,C,TAKEN@example.com,,,,,,\n"
        "L12,C,a12@example.com,,,,,,ic-taken\n"
        f"L13,C,a13@example.com,Pro,EMEA,2024-01-02T03:04:05.000+02:00,{LEAD_QUEUE_ID},"
        f"{RECORD_TYPE_IDS[('Lead', 'Sales_Lead')]},ic-new\n"
    )
    sf = org.sf()
    result = sf.bulk2.Lead.insert(csv_file=org.csv_file(text), wait=0)[0]
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (13, 12)
    errors = {
        r["LastName"] or "(blank)": r["sf__Error"]
        for r in rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))
    }
    assert errors == {
        "(blank)": "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName, Company]:"
        "LastName,Company --",
        "L2": f"STRING_TOO_LONG:Intercom Region: data value too large: {long_region} "
        "(max length=40):Intercom_Region__c --",
        "L3": "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email --",
        "L4": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Intercom Plan: bad value for restricted "
        "picklist field: Platinum:Intercom_Plan__c --",
        "L5": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Intercom Plan: bad value for restricted "
        "picklist field: Legacy:Intercom_Plan__c --",
        "L6": "INVALID_TYPE_ON_FIELD_IN_RECORD:Intercom Last Seen: value not of required type: "
        "2024-01-02 03:04:05:Intercom_Last_Seen__c --",
        "L7": "MALFORMED_ID:Owner ID: id value of incorrect type: abc:OwnerId --",
        "L8": f"FIELD_INTEGRITY_EXCEPTION:Owner ID: id value of incorrect type: "
        f"{PUBLIC_GROUP_ID}:OwnerId --",
        "L9": "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:OwnerId --",
        "L10": f"INVALID_CROSS_REFERENCE_KEY:Record Type ID: this ID value isn't valid for the "
        f"user: {account_rt}:RecordTypeId --",
        "L11": "DUPLICATES_DETECTED:Use one of these records?:--",
        "L12": "DUPLICATE_VALUE:duplicate value found: Intercom_Contact_Id__c duplicates value on "
        f"record with id: {make_id('Lead', 1)}:--",
    }
    saved = sf.query(
        "SELECT Intercom_Last_Seen__c, OwnerId, RecordType.DeveloperName FROM Lead "
        "WHERE Intercom_Contact_Id__c = 'IC-NEW'"
    )["records"][0]
    assert saved["Intercom_Last_Seen__c"] == "2024-01-02T01:04:05.000+0000"
    assert saved["OwnerId"] == LEAD_QUEUE_ID
    assert saved["RecordType"]["DeveloperName"] == "Sales_Lead"


def test_queue_owner_only_where_queue_may_own(org: Org) -> None:
    sf = org.sf()
    path = org.csv_file(f"LastName,OwnerId\nQ,{LEAD_QUEUE_ID}\n")
    result = sf.bulk2.Contact.insert(csv_file=path, wait=0)[0]
    failed = rows(sf.bulk2.Contact.get_failed_records(result["job_id"]))
    assert failed[0]["sf__Error"] == (
        f"FIELD_INTEGRITY_EXCEPTION:Owner ID: id value of incorrect type: {LEAD_QUEUE_ID}"
        ":OwnerId --"
    )
    # A queue whose QueueSobject lists another object cannot own Leads either (reference 6.6).
    path = org.csv_file(f"LastName,Company,OwnerId\nQ,C,{CONVERSATION_QUEUE_ID}\n")
    result = sf.bulk2.Lead.insert(csv_file=path, wait=0)[0]
    assert rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))[0]["sf__Error"].startswith(
        "FIELD_INTEGRITY_EXCEPTION:Owner ID: id value of incorrect type"
    )


def test_duplicate_rule_toggle_and_cross_object(org: Org) -> None:
    seed(
        org,
        Lead=[
            {"Id": make_id("Lead", 1), "LastName": "L", "Company": "C", "Email": "dup@example.com"}
        ],
    )
    sf = org.sf()
    path = org.csv_file("LastName,Email\nContactDup,Dup@Example.com\n")
    result = sf.bulk2.Contact.insert(csv_file=path, wait=0)[0]
    assert rows(sf.bulk2.Contact.get_failed_records(result["job_id"]))[0]["sf__Error"] == (
        "DUPLICATES_DETECTED:Use one of these records?:--"
    )
    org.app.config.duplicate_rule_enabled = False
    result = sf.bulk2.Contact.insert(csv_file=path, wait=0)[0]
    assert result["numberRecordsFailed"] == 0


def test_upsert_created_updated_and_duplicate_keys(org: Org) -> None:
    seed(
        org,
        Lead=[
            {
                "Id": make_id("Lead", 1),
                "LastName": "Before",
                "Company": "C",
                "Intercom_Contact_Id__c": "ic-1",
                "Intercom_User_Id__c": "shared",
                "Title": "Keep me",
                "Phone": "555",
            },
            {
                "Id": make_id("Lead", 2),
                "LastName": "Twin",
                "Company": "C",
                "Intercom_User_Id__c": "shared",
            },
        ],
    )
    sf = org.sf()
    path = org.csv_file(
        "Intercom_Contact_Id__c,LastName,Company,Title,Phone\n"
        "IC-1,After,,,#N/A\n"
        "ic-2,New,Co,,\n"
        "dup,A,Co,,\n"
        "DUP,B,Co,,\n"
    )
    result = sf.bulk2.Lead.upsert(
        csv_file=path, external_id_field="Intercom_Contact_Id__c", wait=0
    )[0]
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (4, 2)
    ok = {r["LastName"]: r for r in rows(sf.bulk2.Lead.get_successful_records(result["job_id"]))}
    assert ok["After"]["sf__Created"] == "false" and ok["After"]["sf__Id"] == make_id("Lead", 1)
    assert ok["New"]["sf__Created"] == "true"
    failed = rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))
    assert sorted(r["sf__Error"] for r in failed) == [
        "DUPLICATE_VALUE:Duplicate external id specified: DUP:Intercom_Contact_Id__c --",
        "DUPLICATE_VALUE:Duplicate external id specified: dup:Intercom_Contact_Id__c --",
    ]
    # Empty cell = unchanged, #N/A = null (reference 1.7).
    lead = sf.Lead.get(make_id("Lead", 1))
    assert (lead["LastName"], lead["Company"], lead["Title"], lead["Phone"]) == (
        "After",
        "C",
        "Keep me",
        None,
    )

    path = org.csv_file("Intercom_User_Id__c,LastName\nshared,X\n", "multi.csv")
    result = sf.bulk2.Lead.upsert(csv_file=path, external_id_field="Intercom_User_Id__c", wait=0)[0]
    error = rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))[0]["sf__Error"]
    assert error == (
        "DUPLICATE_EXTERNAL_ID:Intercom User Id: more than one record found for external id "
        f"field: [{make_id('Lead', 1)}, {make_id('Lead', 2)}]:Intercom_User_Id__c --"
    )


def test_converted_lead_is_read_only(org: Org) -> None:
    seed(
        org,
        Lead=[
            {
                "Id": make_id("Lead", 1),
                "LastName": "Conv",
                "Company": "Acme",
                "Intercom_Contact_Id__c": "ic-conv",
                "Email": "conv@example.com",
            }
        ],
    )
    r = org.session.post(f"{org.url}/_sandbox/leads/{make_id('Lead', 1)}/convert")
    assert r.status_code == 200
    converted = r.json()
    sf = org.sf()
    lead = sf.Lead.get(make_id("Lead", 1))
    assert lead["IsConverted"] is True and lead["Status"] == "Closed - Converted"
    assert lead["ConvertedContactId"] == converted["contactId"]
    contact = sf.Contact.get(converted["contactId"])
    assert contact["AccountId"] == converted["accountId"]
    assert contact["Intercom_Contact_Id__c"] == "ic-conv"

    path = org.csv_file("Intercom_Contact_Id__c,Title\nic-conv,CEO\n")
    result = sf.bulk2.Lead.upsert(
        csv_file=path, external_id_field="Intercom_Contact_Id__c", wait=0
    )[0]
    failed = rows(sf.bulk2.Lead.get_failed_records(result["job_id"]))[0]
    assert failed["sf__Error"] == "CANNOT_UPDATE_CONVERTED_LEAD:cannot reference converted lead:--"
    assert failed["sf__Id"] == make_id("Lead", 1)
    # Tasks pointing at a converted lead fail the same way (reference 6.7).
    path = org.csv_file(f"Subject,WhoId\nCall,{make_id('Lead', 1)}\n", "task.csv")
    result = sf.bulk2.Task.insert(csv_file=path, wait=0)[0]
    assert rows(sf.bulk2.Task.get_failed_records(result["job_id"]))[0]["sf__Error"] == (
        "CANNOT_UPDATE_CONVERTED_LEAD:cannot reference converted lead:WhoId --"
    )


def test_update_delete_and_type_parsing(org: Org) -> None:
    seed(org, Account=[{"Id": make_id("Account", 1), "Name": "Acme", "Website": "acme.test"}])
    sf = org.sf()
    acc = make_id("Account", 1)
    path = org.csv_file(
        f"Id,NumberOfEmployees,AnnualRevenue,Website\n"
        f"{acc},12,1.5e6,\n"
        f"{acc[:15]},lots,,\n"
        "001XXXXXXXXXXXXXXX,1,,\n"
        f"{make_id('Contact', 1)},1,,\n"
    )
    result = sf.bulk2.Account.update(csv_file=path, wait=0)[0]
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (4, 3)
    failed = [r["sf__Error"] for r in rows(sf.bulk2.Account.get_failed_records(result["job_id"]))]
    assert failed == [
        "INVALID_TYPE_ON_FIELD_IN_RECORD:Employees: value not of required type: lots:"
        "NumberOfEmployees --",
        "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
        f"MALFORMED_ID:Account ID: id value of incorrect type: {make_id('Contact', 1)}:Id --",
    ]
    account = sf.Account.get(acc)
    assert (account["NumberOfEmployees"], account["AnnualRevenue"], account["Website"]) == (
        12,
        1500000.0,
        "acme.test",
    )

    path = org.csv_file(f"Id\n{acc}\n", "del.csv")
    result = sf.bulk2.Account.delete(csv_file=path, wait=0)[0]
    assert result["numberRecordsFailed"] == 0
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    assert (
        sf.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)["records"][0][
            "IsDeleted"
        ]
        is True
    )
    result = sf.bulk2.Account.delete(csv_file=path, wait=0)[0]
    assert rows(sf.bulk2.Account.get_failed_records(result["job_id"]))[0]["sf__Error"] == (
        "ENTITY_IS_DELETED:entity is deleted:--"
    )


def test_relationship_columns(org: Org) -> None:
    seed(
        org,
        Account=[{"Id": make_id("Account", 1), "Name": "Acme", "Intercom_Company_Id__c": "co-1"}],
        Lead=[
            {
                "Id": make_id("Lead", 1),
                "LastName": "L",
                "Company": "C",
                "Intercom_Contact_Id__c": "ic-lead",
            }
        ],
    )
    sf = org.sf()
    path = org.csv_file("LastName,Account.Intercom_Company_Id__c\nWith,CO-1\nWithout,co-404\n")
    result = sf.bulk2.Contact.insert(csv_file=path, wait=0)[0]
    assert rows(sf.bulk2.Contact.get_failed_records(result["job_id"]))[0]["sf__Error"] == (
        "INVALID_FIELD:Foreign key external ID: co-404 not found for field "
        "Intercom_Company_Id__c in entity Account:--"
    )
    contact = sf.query("SELECT Account.Name, AccountId FROM Contact")["records"][0]
    assert contact["AccountId"] == make_id("Account", 1)
    assert contact["Account"]["Name"] == "Acme"

    path = org.csv_file(
        "Subject,Intercom_Conversation_Id__c,Lead:Who.Intercom_Contact_Id__c\n"
        "Chat,conv-1,ic-lead\n",
        "task.csv",
    )
    result = sf.bulk2.Task.insert(csv_file=path, wait=0)[0]
    assert result["numberRecordsFailed"] == 0
    task = sf.query("SELECT WhoId, Who.Name, Status, Priority FROM Task")["records"][0]
    assert task["WhoId"] == make_id("Lead", 1)
    assert task["Who"]["attributes"]["type"] == "Lead"
    assert (task["Status"], task["Priority"]) == ("Not Started", "Normal")

    # Prefix required iff polymorphic; header mistakes fail the whole job (reference 1.7).
    for header, fragment in (
        ("Subject,Who.Intercom_Contact_Id__c", "requires an object type prefix"),
        (
            "LastName,Account:Account.Intercom_Company_Id__c",
            "Type is not needed for non polymorphic foreign key references",
        ),
    ):
        target = sf.bulk2.Task if header.startswith("Subject") else sf.bulk2.Contact
        path = org.csv_file(f"{header}\nX,ic-lead\n", "bad.csv")
        with pytest.raises(SalesforceOperationError, match=fragment):
            target.insert(csv_file=path, wait=0)


def test_unknown_column_fails_job_with_unprocessed_rows(org: Org) -> None:
    sf = org.sf()
    path = org.csv_file("LastName,Company,Foo__c\nA,B,c\n")
    with pytest.raises(
        SalesforceOperationError, match="InvalidBatch : Field name not found : Foo__c"
    ):
        sf.bulk2.Lead.insert(csv_file=path, wait=0)
    job = org.session.get(
        f"{org.url}/services/data/v59.0/jobs/ingest",
        headers={"Authorization": f"Bearer {org.token()}"},
    ).json()["records"][-1]
    assert job["state"] == "Failed"
    assert job["errorMessage"] == "InvalidBatch : Field name not found : Foo__c"
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (0, 0)
    assert sf.bulk2.Lead.get_unprocessed_records(job["id"]).splitlines() == [
        "LastName,Company,Foo__c",
        "A,B,c",
    ]
    assert sf.query("SELECT COUNT() FROM Lead")["totalSize"] == 0


def test_line_ending_and_delimiter(org: Org) -> None:
    sf = org.sf()
    client = sf.bulk2.Contact._client
    job = client.create_job(Operation.insert)
    client.upload_job_data(job["id"], "LastName\r\nCrlf\r\n")
    client.close_job(job["id"])
    client.get_job(job["id"], False)
    info = client.get_job(job["id"], False)
    assert info["state"] == "Failed"
    assert info["errorMessage"].startswith("ClientInputError : LineEnding is invalid on user data")

    path = org.csv_file('LastName;Title\n"Semi;colon";Boss\n')
    result = sf.bulk2.Contact.insert(
        csv_file=path, column_delimiter=ColumnDelimiter.SEMICOLON, wait=0
    )[0]
    assert result["numberRecordsFailed"] == 0
    ok = sf.bulk2.Contact.get_successful_records(result["job_id"]).splitlines()
    assert ok[0] == '"sf__Id";"sf__Created";LastName;Title'
    assert ok[1].endswith(';"true";"Semi;colon";Boss')


def test_result_paths_with_and_without_slash(org: Org) -> None:
    sf = org.sf()
    job_id = sf.bulk2.Contact.insert(csv_file=org.csv_file("LastName\nA\n"), wait=0)[0]["job_id"]
    base = f"{org.url}/services/data/v59.0/jobs/ingest/{job_id}"
    headers = {"Authorization": f"Bearer {org.token()}", "Accept": "text/csv"}
    for suffix in (
        "successfulResults",
        "successfulResults/",
        "failedResults/",
        "unprocessedrecords/",
        "unprocessedRecords",
        "unprocessedrecords",
    ):
        r = org.session.get(f"{base}/{suffix}", headers=headers)
        assert r.status_code == 200, suffix
        assert r.headers["Content-Type"].startswith("text/csv")


def test_delete_job_returns_204_and_simple_salesforce_cannot_parse_it(org: Org) -> None:
    sf = org.sf()
    job_id = sf.bulk2.Contact.insert(csv_file=org.csv_file("LastName\nA\n"), wait=0)[0]["job_id"]
    r = org.session.delete(
        f"{org.url}/services/data/v59.0/jobs/ingest/{job_id}",
        headers={"Authorization": f"Bearer {org.token()}"},
    )
    assert r.status_code == 204 and r.content == b""
    assert (
        org.session.get(
            f"{org.url}/services/data/v59.0/jobs/ingest/{job_id}",
            headers={"Authorization": f"Bearer {org.token()}"},
        ).status_code
        == 404
    )
    # simple-salesforce 1.12.10's delete_job calls .json() on the documented empty 204 body
    # (reference 7.4), so it raises even though the job was deleted.
    job_id = sf.bulk2.Contact.insert(csv_file=org.csv_file("LastName\nB\n"), wait=0)[0]["job_id"]
    with pytest.raises(json.JSONDecodeError):
        sf.bulk2.Contact._client.delete_job(job_id, False)
    listed = [
        j["id"]
        for j in org.session.get(
            f"{org.url}/services/data/v59.0/jobs/ingest",
            headers={"Authorization": f"Bearer {org.token()}"},
        ).json()["records"]
    ]
    assert job_id not in listed


def test_open_job_cannot_be_deleted_and_abort_keeps_rows_unprocessed(org: Org) -> None:
    client = org.sf().bulk2.Contact._client
    job = client.create_job(Operation.insert)
    url = f"{org.url}/services/data/v59.0/jobs/ingest/{job['id']}"
    auth = {"Authorization": f"Bearer {org.token()}"}
    assert org.session.delete(url, headers=auth).status_code == 400
    client.upload_job_data(job["id"], "LastName\nA\n")
    assert client.abort_job(job["id"], False)["state"] == "Aborted"
    r = org.session.get(f"{url}/unprocessedrecords/", headers=auth)
    assert r.text.splitlines() == ["LastName", "A"]
    assert (
        org.session.put(
            f"{url}/batches", data=b"LastName\nB\n", headers={**auth, "Content-Type": "text/csv"}
        ).status_code
        == 409
    )


def test_injected_job_failure_and_lock_row(org: Org) -> None:
    sf = org.sf()
    org.app.config.faults.fail_next_jobs = 1
    with pytest.raises(SalesforceOperationError, match="maximum number of retries"):
        sf.bulk2.Contact.insert(csv_file=org.csv_file("LastName\nA\nB\n"), wait=0)
    job = org.session.get(
        f"{org.url}/services/data/v59.0/jobs/ingest",
        headers={"Authorization": f"Bearer {org.token()}"},
    ).json()["records"][-1]
    assert job["state"] == "Failed" and job["retries"] == 10
    assert sf.bulk2.Contact.get_unprocessed_records(job["id"]).splitlines() == [
        "LastName",
        "A",
        "B",
    ]
    # The next job is healthy again.
    assert (
        sf.bulk2.Contact.insert(csv_file=org.csv_file("LastName\nC\n"), wait=0)[0][
            "numberRecordsFailed"
        ]
        == 0
    )

    org.app.config.faults.lock_row_rate = 1.0
    result = sf.bulk2.Contact.insert(csv_file=org.csv_file("LastName\nD\n"), wait=0)[0]
    error = rows(sf.bulk2.Contact.get_failed_records(result["job_id"]))[0]["sf__Error"]
    assert error.startswith("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record")


def test_create_job_validation(org: Org) -> None:
    headers = {"Authorization": f"Bearer {org.token()}", "Content-Type": "application/json"}
    url = f"{org.url}/services/data/v59.0/jobs/ingest"
    r = org.session.post(url, headers=headers, json={"object": "Nope", "operation": "insert"})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALIDJOB"
    r = org.session.post(
        url,
        headers=headers,
        json={"object": "Lead", "operation": "upsert", "externalIdFieldName": "LastName"},
    )
    assert r.status_code == 400 and "not an External ID" in r.json()[0]["message"]


def test_bulk_query_paging_and_headers(org: Org) -> None:
    seed(
        org,
        Contact=[
            {
                "Id": make_id("Contact", i),
                "LastName": f"Name {i:02d}",
                "Email": f"c{i}@example.com",
                "Title": None if i % 2 else 'Say "hi"',
            }
            for i in range(1, 6)
        ],
    )
    sf = org.sf()
    pages = list(
        sf.bulk2.Contact.query(
            "SELECT Title, LastName, Id FROM Contact ORDER BY LastName", max_records=2, wait=0
        )
    )
    assert len(pages) == 3
    assert pages[0].splitlines() == [
        '"Title","LastName","Id"',
        f',"Name 01","{make_id("Contact", 1)}"',
        f'"Say ""hi""","Name 02","{make_id("Contact", 2)}"',
    ]
    assert [len(p.splitlines()) - 1 for p in pages] == [2, 2, 1]

    auth = {"Authorization": f"Bearer {org.token()}"}
    base = f"{org.url}/services/data/v59.0/jobs/query"
    created = org.session.post(
        base,
        headers={**auth, "Accept": "text/csv", "Content-Type": "application/json"},
        json={"operation": "query", "query": "SELECT Id FROM Contact"},
    )
    assert created.headers["Content-Type"].startswith("application/json")
    job = created.json()
    assert job["state"] == "UploadComplete" and job["object"] == "Contact"
    early = org.session.get(f"{base}/{job['id']}/results", headers=auth)
    assert early.status_code == 412
    assert early.json()[0]["errorCode"] == "JOB_NOT_COMPLETE"
    assert early.json()[0]["message"].endswith("Current status: UPLOAD_COMPLETE")
    assert org.session.get(f"{base}/{job['id']}", headers=auth).json()["state"] == "InProgress"
    assert org.session.get(f"{base}/{job['id']}", headers=auth).json()["state"] == "JobComplete"
    first = org.session.get(f"{base}/{job['id']}/results", params={"maxRecords": 3}, headers=auth)
    assert first.headers["Sforce-NumberOfRecords"] == "3"
    assert first.headers["Sforce-Locator"] == "Mw"  # base64("3") without padding
    last = org.session.get(
        f"{base}/{job['id']}/results",
        params={"maxRecords": 3, "locator": first.headers["Sforce-Locator"]},
        headers=auth,
    )
    assert last.headers["Sforce-NumberOfRecords"] == "2"
    assert last.headers["Sforce-Locator"] == "null"

    bad = org.session.post(
        base, headers=auth, json={"operation": "query", "query": "SELECT COUNT() FROM Contact"}
    )
    assert bad.status_code == 400


def test_bulk_query_rows_read_in_chunks_keep_the_querys_order_and_parents(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A result read a few rows at a time (by row id, after one ordered read of the ids) holds
    the rows, order, LIMIT and parent fields that the REST query gives for the same SOQL (Bulk
    API 2.0 refuses OFFSET)."""
    monkeypatch.setattr(bulk, "QUERY_RENDER_ROWS", 2)
    seed(
        org,
        Account=[{"Id": make_id("Account", i), "Name": f"Account {i}"} for i in (1, 2)],
        Contact=[
            {
                "Id": make_id("Contact", i),
                "LastName": f"Name {i % 4}-{i:02d}",
                "AccountId": make_id("Account", 1 + i % 3) if i % 3 < 2 else None,
            }
            for i in range(1, 10)
        ],
    )
    sf = org.sf()
    soql = "SELECT Id, LastName, Account.Name FROM Contact ORDER BY LastName DESC LIMIT 6"
    rest = [
        [r["Id"], r["LastName"], (r["Account"] or {}).get("Name") or ""]
        for r in sf.query_all(soql)["records"]
    ]
    csv_rows = list(csv.reader(io.StringIO("".join(sf.bulk2.Contact.query(soql, wait=0)))))
    assert csv_rows[0] == ["Id", "LastName", "Account.Name"]
    assert csv_rows[1:] == rest
    assert len(rest) == 6 and rest[0][1] == "Name 3-07" and {r[2] for r in rest} > {""}
    everything = "".join(sf.bulk2.Contact.query("SELECT Id FROM Contact", wait=0))
    assert everything.splitlines()[1:] == [f'"{make_id("Contact", i)}"' for i in range(1, 10)]


def test_bulk_query_all_includes_deleted(org: Org) -> None:
    seed(
        org,
        Contact=[
            {"Id": make_id("Contact", 1), "LastName": "Gone", "IsDeleted": True},
            {"Id": make_id("Contact", 2), "LastName": "Here"},
        ],
    )
    sf = org.sf()
    live = "".join(sf.bulk2.Contact.query("SELECT LastName FROM Contact", wait=0))
    everything = "".join(sf.bulk2.Contact.query_all("SELECT LastName FROM Contact", wait=0))
    assert live.splitlines() == ['"LastName"', '"Here"']
    assert sorted(everything.splitlines()) == ['"Gone"', '"Here"', '"LastName"']


def test_parallel_chunked_insert_and_hard_delete(org: Org) -> None:
    sf = org.sf()
    path = org.csv_file("LastName,Email\n" + "".join(f"P{i},p{i}@example.com\n" for i in range(10)))
    results = sf.bulk2.Contact.insert(csv_file=path, batch_size=3, concurrency=3, wait=0)
    assert sorted(r["numberRecordsProcessed"] for r in results) == [1, 3, 3, 3]
    assert len({r["job_id"] for r in results}) == 4
    records = sf.query_all("SELECT Id FROM Contact")["records"]
    assert len({r["Id"] for r in records}) == 10

    path = org.csv_file("Id\n" + "".join(f"{r['Id']}\n" for r in records[:4]), "ids.csv")
    assert sf.bulk2.Contact.hard_delete(csv_file=path, wait=0)[0]["numberRecordsFailed"] == 0
    everything = sf.query_all("SELECT Id FROM Contact", include_deleted=True)
    assert everything["totalSize"] == 6


def test_shuffled_results_keep_every_row(org: Org) -> None:
    org.app.config.shuffle_results = True
    sf = org.sf()
    names = [f"S{i:02d}" for i in range(30)]
    path = org.csv_file("LastName\n" + "".join(f"{n}\n" for n in names))
    job_id = sf.bulk2.Contact.insert(csv_file=path, wait=0)[0]["job_id"]
    got = [r["LastName"] for r in rows(sf.bulk2.Contact.get_successful_records(job_id))]
    assert sorted(got) == names and got != names  # order is not guaranteed (reference 1.6)
