"""The org's keys land in DuckDB through Bulk API 2.0 query; later runs read only what changed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
from simple_salesforce import Salesforce

from intercom_salesforce.assets.mirror.salesforce_objects import MIRROR_ASSETS, MIRROR_SPECS
from intercom_salesforce.definitions import SYNC_ASSETS
from intercom_salesforce.sandbox.salesforce.store import SalesforceStore


def mirror(sandbox, tmp: Path, assets=MIRROR_ASSETS, run_config=None) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        assets,
        resources=sandbox.resources(tmp),
        instance=dg.DagsterInstance.ephemeral(),
        run_config=run_config,
    )
    assert result.success
    return result


def metadata(result: dg.ExecuteInProcessResult, name: str) -> dict:
    md = result.asset_materializations_for_node(name)[-1].metadata
    return {k: v.value for k, v in md.items()}


def org_count(store: SalesforceStore, sobject: str, where: str | None) -> int:
    if where is None:
        return store.count(sobject)
    assert where == "Type = 'Queue'"
    return len(store.records_of(sobject, "json_extract(doc, '$.Type') = ?", ("Queue",)))


def simple_salesforce(sandbox) -> Salesforce:
    client = sandbox.salesforce().client()
    return client.sf


def test_every_object_mirrored_then_only_changes_read(sandbox, tmp_path):
    store = SalesforceStore(sandbox.state.salesforce_db)
    # give the org an opportunity and a deleted account so every table and path has rows
    sf = simple_salesforce(sandbox)
    account = sf.Account.create({"Name": "Mirror Test Co"})["id"]
    opp = sf.Opportunity.create(
        {"Name": "Deal", "AccountId": account, "StageName": "Closed Won", "CloseDate": "2026-01-01"}
    )["id"]

    first = mirror(sandbox, tmp_path)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    for spec in MIRROR_SPECS:
        md = metadata(first, spec.asset)
        expected = org_count(store, spec.sobject, spec.where)
        assert expected > 0, spec.sobject
        assert con.execute(f"SELECT count(*) FROM {spec.table}").fetchone()[0] == expected
        assert md["dagster/row_count"] == md["records_read"] == expected
        assert md["incremental"] is False
        assert md["bulk_job_ids"].startswith("750")
        assert md["salesforce_api_remaining"] > 0
        assert md["salesforce_api_calls"] >= 3  # token, create, poll, results
    assert con.execute(
        'SELECT "IsWon", "AccountId" FROM mirror.salesforce_opportunities WHERE "Id" = ?', [opp]
    ).fetchone() == (True, account)
    assert (
        con.execute(
            'SELECT count(*) FROM mirror.salesforce_leads WHERE "IsConverted" AND '
            '"ConvertedContactId" IS NOT NULL'
        ).fetchone()[0]
        > 0
    )
    con.close()

    # change a few records through simple-salesforce: updates, a delete, a create
    contacts = store.records_of("Contact")[:3]
    leads = store.records_of("Lead", "NOT json_extract(doc, '$.IsConverted')")[:2]
    for i, c in enumerate(contacts):
        sf.Contact.update(c["Id"], {"Email": f"changed{i}@mirror.example.com"})
    for lead in leads:
        sf.Lead.update(lead["Id"], {"Status": "Working - Contacted"})
    gone = store.records_of("Contact")[10]["Id"]
    sf.Contact.delete(gone)
    new_lead = sf.Lead.create({"LastName": "Fresh", "Company": "Mirror Test Co"})["id"]

    second = mirror(sandbox, tmp_path, [a for a in MIRROR_ASSETS if a in SYNC_ASSETS])
    md_c = metadata(second, "salesforce_contacts_mirror")
    md_l = metadata(second, "salesforce_leads_mirror")
    assert md_c["incremental"] and md_l["incremental"]
    assert md_c["bulk_operation"] == "queryAll"
    assert md_c["records_read"] == 4 and md_c["records_deleted"] == 1
    assert md_l["records_read"] == 3 and md_l["records_deleted"] == 0
    assert "SystemModstamp >" in md_c["soql"]
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM mirror.salesforce_contacts").fetchone()[0] == (
        store.count("Contact")
    )
    assert con.execute("SELECT count(*) FROM mirror.salesforce_leads").fetchone()[0] == (
        store.count("Lead")
    )
    emails = dict(
        con.execute(
            'SELECT "Id", "Email" FROM mirror.salesforce_contacts WHERE "Id" IN (?, ?, ?)',
            [c["Id"] for c in contacts],
        ).fetchall()
    )
    assert emails == {c["Id"]: f"changed{i}@mirror.example.com" for i, c in enumerate(contacts)}
    statuses = {
        r[0]
        for r in con.execute(
            'SELECT "Status" FROM mirror.salesforce_leads WHERE "Id" IN (?, ?)',
            [lead["Id"] for lead in leads],
        ).fetchall()
    }
    assert statuses == {"Working - Contacted"}
    assert not con.execute(
        'SELECT 1 FROM mirror.salesforce_contacts WHERE "Id" = ?', [gone]
    ).fetchall()
    assert con.execute(
        'SELECT 1 FROM mirror.salesforce_leads WHERE "Id" = ?', [new_lead]
    ).fetchall()
    con.close()

    # nothing changed since: nothing read; a full refresh reads everything again
    third = mirror(
        sandbox,
        tmp_path,
        [a for a in MIRROR_ASSETS if a in SYNC_ASSETS],
        run_config={"ops": {"salesforce_leads_mirror": {"config": {"full_refresh": True}}}},
    )
    md_c = metadata(third, "salesforce_contacts_mirror")
    assert md_c["records_read"] == 0 and md_c["dagster/row_count"] == store.count("Contact")
    md_l = metadata(third, "salesforce_leads_mirror")
    assert md_l["incremental"] is False and md_l["records_read"] == store.count("Lead")


def test_each_spec_asks_for_what_it_needs():
    from datetime import UTC, datetime

    by_object = {s.sobject: s for s in MIRROR_SPECS}
    mark = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    assert by_object["Contact"].soql(None) == (
        "SELECT Id, Email, AccountId, OwnerId, Intercom_Contact_Id__c, Intercom_User_Id__c, "
        "LastModifiedDate, LastModifiedById, SystemModstamp FROM Contact",
        "query",
    )
    soql, operation = by_object["Lead"].soql(mark)
    assert operation == "queryAll"
    assert soql.endswith(", IsDeleted FROM Lead WHERE SystemModstamp > 2026-03-04T05:06:07.890Z")
    # no IsDeleted on these objects in Salesforce: never selected, never queryAll
    assert by_object["User"].soql(mark) == (
        "SELECT Id, Email, IsActive, Name, SystemModstamp FROM User "
        "WHERE SystemModstamp > 2026-03-04T05:06:07.890Z",
        "query",
    )
    assert by_object["Group"].soql(None)[0].endswith("FROM Group WHERE Type = 'Queue'")
    assert {s.deletes for s in MIRROR_SPECS if s.sobject in ("Group", "QueueSobject")} == {
        "snapshot"
    }
