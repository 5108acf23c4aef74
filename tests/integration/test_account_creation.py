"""With the mapping's create options on: unmatched companies become Accounts (by our external
id), unmatched users become Contacts under their company's Account, leads stay Leads; a re-run
creates nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb

from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import SYNC_ASSETS
from intercom_salesforce.settings import SANDBOX_MAPPING
from tests.helpers import full_range, soql, sync


def creating_mapping(tmp_path: Path) -> str:
    text = SANDBOX_MAPPING.read_text()
    for name, source, policy in (
        ("Account", "companies", "true"),
        ("Contact", "contacts", "users_with_account"),
    ):
        head = f"  {name}:\n    source: {source}\n"
        assert head in text
        text = text.replace(head, head + f"    create: {policy}\n")
    path = tmp_path / "mapping-create.yaml"
    path.write_text(text)
    return str(path)


def test_accounts_then_contacts_under_them(sandbox, tmp_path):
    mapping_file = creating_mapping(tmp_path)
    first, last = full_range()
    assets = [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]
    sync(sandbox, tmp_path, mapping_file, assets, first, last)

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    unmatched_companies = dict(
        con.execute(
            "SELECT c.company_id, m.intercom_company_id FROM match.company_matches m "
            "JOIN staging.intercom_companies_current c ON c.id = m.intercom_company_id "
            "WHERE m.rule IN ('none', 'no_domain', 'free_mail')"
        ).fetchall()
    )
    new_people = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT p.intercom_contact_id, c.role, p.account_id FROM match.person_matches p "
            "JOIN staging.intercom_contacts_current c ON c.id = p.intercom_contact_id "
            "WHERE p.rule = 'none' AND p.intercom_contact_id NOT IN (SELECT record_id "
            "FROM quality.review_queue WHERE status IN ('open', 'dismissed'))"
        ).fetchall()
    }
    created_accounts = dict(
        con.execute(
            "SELECT external_id, sf_id FROM sync.sync_state WHERE sobject = 'Account'"
        ).fetchall()
    )
    con.close()
    assert unmatched_companies, "the seeded world has companies with no Account"
    accounts = {
        r["Intercom_Company_Id__c"]: r["Id"]
        for r in soql(
            sandbox,
            "SELECT Id, Intercom_Company_Id__c FROM Account WHERE Intercom_Company_Id__c != null",
        )
    }
    # every unmatched company is now an Account carrying its company_id, exactly once
    for company_id, intercom_id in unmatched_companies.items():
        assert accounts[company_id] == created_accounts[intercom_id]

    contacts = {
        r["Intercom_Contact_Id__c"]: r
        for r in soql(
            sandbox,
            "SELECT Id, AccountId, Intercom_Contact_Id__c FROM Contact "
            "WHERE Intercom_Contact_Id__c != null",
        )
    }
    leads = {
        r["Intercom_Contact_Id__c"]
        for r in soql(
            sandbox, "SELECT Intercom_Contact_Id__c FROM Lead WHERE Intercom_Contact_Id__c != null"
        )
    }
    as_contact = [p for p, (role, account) in new_people.items() if role == "user" and account]
    assert as_contact, "the seeded world has new users whose company has an Account"
    for person, (role, account) in new_people.items():
        if role == "user" and account:
            assert contacts[person]["AccountId"] == account and person not in leads
        elif person in leads:
            assert person not in contacts
    # some of them went under an Account created in this very run
    assert set(created_accounts.values()) & {contacts[p]["AccountId"] for p in as_contact}

    # a second run creates nothing new
    before = (
        len(soql(sandbox, "SELECT Id FROM Account")),
        len(soql(sandbox, "SELECT Id FROM Contact")),
        len(soql(sandbox, "SELECT Id FROM Lead")),
    )
    sync(sandbox, tmp_path, mapping_file, assets, first, last)
    after = (
        len(soql(sandbox, "SELECT Id FROM Account")),
        len(soql(sandbox, "SELECT Id FROM Contact")),
        len(soql(sandbox, "SELECT Id FROM Lead")),
    )
    assert after == before
