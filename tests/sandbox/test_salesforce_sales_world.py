"""The seeded org's sales side: tiers, account types, lifecycle stages, lead statuses and deals.

A write-back of Salesforce context into Intercom needs deals in every stage on the Accounts whose
people are in Intercom, and custom picklists to read; the org serves them as it describes them,
and an Opportunity closed through REST is won, closed and stamped, so an incremental read
(``SystemModstamp >`` a mark) sees it.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce

from intercom_salesforce.sandbox.salesforce import (
    SalesforceEmulatorConfig,
    SalesforceStore,
    create_app,
)
from intercom_salesforce.sandbox.salesforce.describe import OBJECTS
from intercom_salesforce.sandbox.serving import start_in_thread
from intercom_salesforce.sandbox.tls import ensure_tls, trusting_session
from intercom_salesforce.sandbox.world import World, WorldSize
from tests.helpers import Clock, client_credentials_token

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def picklist(sobject: str, name: str) -> list[str]:
    """The active values the object file gives a picklist."""
    return [p.value for p in OBJECTS[sobject].field(name).picklist if p.active]


def world(contacts: int) -> World:
    return World(size=WorldSize(contacts=contacts), now=NOW)


@dataclass
class Org:
    url: str
    clock: Clock
    session: requests.Session

    def sf(self) -> Salesforce:
        token = client_credentials_token(self.session, self.url)
        return Salesforce(
            instance_url=self.url, session_id=token, session=self.session, version="59.0"
        )


@pytest.fixture()
def org(tmp_path: Path) -> Iterator[Org]:
    """The org of a 200-contact world, seeded as ``sandbox seed`` seeds it, over TLS."""
    tls = ensure_tls(tmp_path)
    store = SalesforceStore(tmp_path / "org.sqlite")
    store.load_world(world(200).salesforce())
    # the org's clock, an hour after the seed was written (seeding stamps records with real time)
    clock = Clock(time.time() + 3600)
    app = create_app(store, SalesforceEmulatorConfig())
    app.clock = clock
    srv = start_in_thread(app, ssl_context=tls.ssl_context)
    try:
        yield Org(srv.url, clock, trusting_session(tls.ca_path))
    finally:
        srv.stop()
        store.close()


def _domain(url: str) -> str:
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host.removeprefix("www.")


def _matched_companies_with_people(w: World) -> dict[str, int]:
    """Account Id → index of the Intercom company it matches that has people."""
    companies = list(w.intercom_companies())
    with_people = {cid for c in w.intercom_contacts() for cid in c["companies"]}
    by_key = {c["company_id"]: n for n, c in enumerate(companies)}
    by_domain = {_domain(c["website"]): n for n, c in enumerate(companies)}
    out = {}
    for account in w.salesforce_accounts():
        n = by_key.get(account.get("Intercom_Company_Id__c") or "")
        if n is None:
            n = by_domain.get(_domain(account.get("Website") or ""))
        if n is not None and companies[n]["id"] in with_people:
            out[account["Id"]] = n
    return out


@pytest.mark.parametrize("contacts", [20, 40, 300])
def test_deals_in_every_stage_on_accounts_whose_people_are_in_intercom(contacts: int) -> None:
    w = world(contacts)
    deals = list(w.salesforce().records["Opportunity"])
    assert {d["StageName"] for d in deals} == set(picklist("Opportunity", "StageName"))
    reachable = _matched_companies_with_people(w)
    per_account = Counter(d["AccountId"] for d in deals)
    assert set(per_account) <= set(reachable)
    assert set(per_account.values()) <= {1, 2, 3}
    active_users = {u["Id"] for u in w.salesforce_users() if u["IsActive"]}
    for deal in deals:
        assert deal["Name"] and deal["Amount"] > 0 and deal["CloseDate"]
        assert deal["OwnerId"] in active_users
    assert deals == list(world(contacts).salesforce().records["Opportunity"])


def test_other_records_keep_their_counts() -> None:
    """The sales fields add values, not records: the seeded counts stay what they were."""
    w = world(300)
    contacts, leads = w.salesforce_people()
    assert (len(list(w.salesforce_accounts())), len(list(contacts)), len(list(leads))) == (
        29,
        36,
        42,
    )


def test_seeded_picklist_values_are_described_values(org: Org) -> None:
    sf = org.sf()
    described = {f["name"]: f for f in sf.Account.describe()["fields"]}
    tier = described["Tier__c"]
    assert (tier["type"], tier["custom"], tier["createable"], tier["updateable"]) == (
        "picklist",
        True,
        True,
        True,
    )
    assert [p["value"] for p in tier["picklistValues"]] == ["Tier 1", "Tier 2", "Tier 3"]
    stage = {f["name"]: f for f in sf.Contact.describe()["fields"]}["Lifecycle_Stage__c"]
    assert (stage["type"], stage["custom"], stage["createable"], stage["updateable"]) == (
        "picklist",
        True,
        True,
        True,
    )
    assert [p["value"] for p in stage["picklistValues"]] == [
        "Subscriber",
        "Lead",
        "MQL",
        "SQL",
        "Opportunity",
        "Customer",
    ]
    accounts = sf.query_all("SELECT Tier__c, Type FROM Account")["records"]
    assert {a["Tier__c"] for a in accounts} == {"Tier 1", "Tier 2", "Tier 3"}
    types = {a["Type"] for a in accounts}
    assert {"Prospect", "Customer - Direct"} <= types <= set(picklist("Account", "Type"))
    people = sf.query_all("SELECT Lifecycle_Stage__c FROM Contact")["records"]
    assert {p["Lifecycle_Stage__c"] for p in people} == {
        p["value"] for p in stage["picklistValues"]
    }
    statuses = {r["Status"] for r in sf.query_all("SELECT Status FROM Lead")["records"]}
    assert "Marketing Qualified" in statuses and statuses <= set(picklist("Lead", "Status"))


def test_customers_are_the_accounts_that_won(org: Org) -> None:
    sf = org.sf()
    won = {
        r["AccountId"]
        for r in sf.query_all("SELECT AccountId FROM Opportunity WHERE IsWon = true")["records"]
    }
    accounts = sf.query_all("SELECT Id, Type FROM Account")["records"]
    customers = {a["Id"] for a in accounts if a["Type"].startswith("Customer")}
    assert won and customers == won
    people = sf.query_all("SELECT AccountId, Lifecycle_Stage__c FROM Contact")["records"]
    assert all(p["Lifecycle_Stage__c"] == "Customer" for p in people if p["AccountId"] in won)


def test_deal_flags_are_derived_from_the_stage(org: Org) -> None:
    deals = org.sf().query_all("SELECT StageName, IsWon, IsClosed FROM Opportunity")["records"]
    assert deals
    for deal in deals:
        assert deal["IsWon"] == (deal["StageName"] == "Closed Won")
        assert deal["IsClosed"] == (deal["StageName"] in ("Closed Won", "Closed Lost"))


@pytest.mark.parametrize(("stage", "won"), [("Closed Won", True), ("Closed Lost", False)])
def test_closing_a_deal_through_rest_is_read_incrementally(org: Org, stage: str, won: bool) -> None:
    sf = org.sf()
    deals = sf.query_all(
        "SELECT Id, SystemModstamp, LastModifiedDate FROM Opportunity WHERE IsClosed = false"
    )["records"]
    deal = deals[0]
    mark = max(d["SystemModstamp"] for d in deals)
    org.clock.now += 600
    assert sf.Opportunity.update(deal["Id"], {"StageName": stage}) == 204
    after = sf.Opportunity.get(deal["Id"])
    assert (after["StageName"], after["IsWon"], after["IsClosed"]) == (stage, won, True)
    assert after["SystemModstamp"] > deal["SystemModstamp"]
    assert after["LastModifiedDate"] == after["SystemModstamp"]
    changed = sf.query_all(
        f"SELECT Id, IsWon FROM Opportunity WHERE SystemModstamp > {mark.replace('.000', '')}"
    )["records"]
    assert [(r["Id"], r["IsWon"]) for r in changed] == [(deal["Id"], won)]
