"""The sandbox world is deterministic and carries the seeded cases the tests rely on."""

from datetime import UTC, datetime

from intercom_salesforce.sandbox.world import World, WorldSize

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def world(n: int = 200) -> World:
    return World(seed=3, size=WorldSize(contacts=n), now=NOW)


def test_same_seed_same_world():
    a = [c for c in world().intercom_contacts()]
    b = [c for c in world().intercom_contacts()]
    assert a == b
    other = World(seed=4, size=WorldSize(contacts=200), now=NOW)
    assert [c["email"] for c in other.intercom_contacts()] != [c["email"] for c in a]


def test_messy_emails_and_missing_ones():
    contacts = list(world().intercom_contacts())
    emails = [c["email"] for c in contacts]
    assert any(e is None for e in emails)
    assert any(e and e != e.strip() for e in emails)
    assert any(e and e.strip() != e.strip().lower() for e in emails)
    assert any(c["name"] and not c["name"].isascii() for c in contacts)


def test_salesforce_overlap_cases():
    w = world()
    contacts, leads = w.salesforce_people()
    contacts, leads = list(contacts), list(leads)
    by_email: dict[str, list[str]] = {}
    for c in contacts:
        by_email.setdefault(c["Email"].lower(), []).append(c["Id"])
    assert any(len(ids) == 2 for ids in by_email.values()), "two Contacts sharing an email"
    converted = [lead for lead in leads if lead.get("IsConverted")]
    assert converted and all(lead["ConvertedContactId"] for lead in converted)
    assert any(lead["Email"] != lead["Email"].lower() for lead in leads), "case-different email"
    assert any(lead.get("Intercom_Contact_Id__c") for lead in leads), "external id already set"


def test_updated_at_spans_a_local_midnight():
    w = world(200)
    hours = {
        datetime.fromtimestamp(c["updated_at"], UTC)
        .astimezone(__import__("zoneinfo").ZoneInfo(w.timezone))
        .strftime("%H:%M")
        for c in w.intercom_contacts()
    }
    assert "23:30" in hours and "00:30" in hours
