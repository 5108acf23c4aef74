"""Every seeded identity case ends as designed, read back from the org through SOQL; a 1% change
sends only those records with only that column; a re-run sends nothing."""

from __future__ import annotations

import csv
import random

import duckdb
import requests

from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.world import World
from tests.helpers import full_range, run_range, soql, world_size


def read_csv(path: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def person_index(world: World, intercom_id: str, n: int) -> int:
    return next(i for i in range(n) if world.intercom_id("contact", i) == intercom_id)


def test_seeded_cases_end_as_designed(sandbox, tmp_path):
    first, last = full_range()
    result = run_range(sandbox, tmp_path, first, last)
    assert result.success
    n = sandbox.seeded["intercom"]["contacts"]
    world = World(seed=7, size=world_size(n))  # the fixture's world, regenerated
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    matches = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT intercom_contact_id, rule, sf_object, sf_id, account_id, account_rule "
            "FROM match.person_matches"
        ).fetchall()
    }
    companies = {
        r[0]: r[1:]
        for r in con.execute(
            "SELECT intercom_company_id, rule, sf_account_id FROM match.company_matches"
        ).fetchall()
    }
    review = {
        (r[0], r[1])
        for r in con.execute(
            "SELECT record_id, rule FROM quality.review_queue WHERE status = 'open'"
        ).fetchall()
    }
    con.close()
    contacts = {
        r["Id"]: r for r in soql(sandbox, "SELECT Id, Email, Intercom_Contact_Id__c FROM Contact")
    }
    leads = {
        r["Id"]: r
        for r in soql(sandbox, "SELECT Id, Email, IsConverted, Intercom_Contact_Id__c FROM Lead")
    }

    def case(k: int, modulo: int = 20) -> str:
        return next(
            world.intercom_id("contact", i)
            for i in range(n)
            if i % modulo == k and i % 25 != 24 and i % 97 != 41
        )

    exact, case_diff, converted, ext = case(0), case(1), case(2), case(4)
    shared = case(3, 100)
    # exact email -> the Contact, now carrying our external id
    assert matches[exact][:2] == ("email", "Contact")
    assert contacts[matches[exact][2]]["Intercom_Contact_Id__c"] == exact
    # case-different email -> the Lead
    assert matches[case_diff][:2] == ("email", "Lead")
    assert leads[matches[case_diff][2]]["Intercom_Contact_Id__c"] == case_diff
    # converted Lead -> its Contact; the converted Lead itself is never written
    assert matches[converted][:2] == ("email", "Contact")
    assert all(
        not (lead["IsConverted"] and lead["Intercom_Contact_Id__c"] == converted)
        for lead in leads.values()
    )
    # our external id already on a Lead -> that Lead, email taken from Intercom
    assert matches[ext][:2] == ("external_id", "Lead")
    assert leads[matches[ext][2]]["Email"] == world.person(person_index(world, ext, n))["email"]
    # two Contacts sharing an email -> review, nothing written on either
    assert matches[shared][0] == "ambiguous" and (shared, "ambiguous_match") in review
    assert all(c["Intercom_Contact_Id__c"] != shared for c in contacts.values())
    # companies: external id, domain, and a free-mail website that never matches
    by_company = {world.intercom_id("company", c): c for c in range(world.size.n_companies)}
    rules = {by_company[k]: v[0] for k, v in companies.items() if k in by_company}
    assert any(r == "external_id" for c, r in rules.items() if c % 4 == 0)
    assert any(r == "domain" for c, r in rules.items() if c % 4 == 1 and c % 13 != 7)
    free = {c: r for c, r in rules.items() if c % 13 == 7}  # websites on a free-mail domain
    assert "free_mail" in free.values() and "domain" not in free.values()
    # invalid picklist value (plan legacy-gold) -> review, never sent
    legacy = next(world.intercom_id("contact", i) for i in range(n) if i % 97 == 41)
    assert (legacy, "mapping_unmapped_value") in review
    assert all(r["Intercom_Contact_Id__c"] != legacy for r in leads.values())
    # data events: only Lead fields follow events, so a person matched for certain to a Contact
    # is never listed, nor one with no email to match or create on; every other person (a Lead,
    # unmatched, in review) is
    listed = {
        e["query"]["intercom_user_id"][0]
        for e in requests.get(
            f"{sandbox.running.intercom_url}/_sandbox/requests", timeout=10
        ).json()["requests"]
        if e["path"] == "/events"
    }
    to_contacts = {k for k, m in matches.items() if m[1] == "Contact" and m[0] != "ambiguous"}
    no_email = {k for k, m in matches.items() if m[0] == "no_email"}
    spared = to_contacts | no_email
    assert to_contacts and no_email and not (listed & spared)
    assert set(matches) - spared <= listed
    events = result.asset_materializations_for_node("intercom_data_events")[-1].metadata
    assert events["contacts_not_needed"].value == len(spared)
    assert events["contacts_fetched"].value == len(listed)


def test_one_percent_change_sends_only_that_column(sandbox, tmp_path):
    first, last = full_range()
    assert run_range(sandbox, tmp_path, first, last).success
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    ours = [
        r[0]
        for r in con.execute(
            "SELECT external_id FROM sync.sync_state WHERE sobject = 'Lead' ORDER BY 1"
        ).fetchall()
    ]
    con.close()
    changed = random.Random(1).sample(ours, max(2, len(ours) // 100))
    store = IntercomStore(sandbox.state.intercom_db)
    for i, contact_id in enumerate(changed):
        store.update_contact(contact_id, custom_attributes={"region": f"APAC{i}"})
    store.close()

    result = run_range(sandbox, tmp_path, first, last)
    assert result.success
    md = result.asset_materializations_for_node("salesforce_lead_upserts")[-1].metadata
    assert md["sent"].value == len(changed) and md["fields_sent"].value == len(changed)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    paths = [
        r[0]
        for r in con.execute(
            "SELECT csv_path FROM sync.bulk_jobs WHERE run_id = ?", [result.run_id]
        ).fetchall()
    ]
    sf_ids = dict(
        con.execute(
            "SELECT sf_id, external_id FROM sync.sync_state WHERE sobject = 'Lead'"
        ).fetchall()
    )
    con.close()
    rows = [row for path in paths for row in read_csv(path)]
    assert sorted(sf_ids[r["Id"]] for r in rows) == sorted(changed)
    for row in rows:  # the key and the one changed column; every other cell empty (unchanged)
        assert {k for k, v in row.items() if v} == {"Id", "Intercom_Region__c"}
    regions = {
        r["Intercom_Contact_Id__c"]: r["Intercom_Region__c"]
        for r in soql(
            sandbox,
            "SELECT Intercom_Contact_Id__c, Intercom_Region__c FROM Lead "
            "WHERE Intercom_Contact_Id__c != null",
        )
    }
    assert {regions[c] for c in changed} == {f"APAC{i}" for i in range(len(changed))}
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    repeated = con.execute(
        "SELECT count(*) FROM (SELECT sobject, external_id, field FROM sync.field_state "
        "GROUP BY ALL HAVING count(*) > 1)"
    ).fetchall()[0][0]
    held = dict(
        con.execute(
            "SELECT external_id, value FROM sync.field_state WHERE sobject = 'Lead' "
            "AND field = 'Intercom_Region__c' AND list_contains(?::VARCHAR[], external_id)",
            [changed],
        ).fetchall()
    )
    con.close()
    assert repeated == 0  # a record pushed again has its fields' earlier values replaced
    assert held == {c: f"APAC{i}" for i, c in enumerate(changed)}

    again = run_range(sandbox, tmp_path, first, last)
    for node in ("salesforce_lead_upserts", "salesforce_contact_upserts"):
        assert again.asset_materializations_for_node(node)[-1].metadata["sent"].value == 0
