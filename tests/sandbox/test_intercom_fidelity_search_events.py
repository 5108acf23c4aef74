"""The Intercom emulator answers as Intercom does to what real clients send: search values as JSON
floats, ``>``/``<`` on string fields, and data events listed by any of a contact's identifiers.

Served over loopback HTTP from the seeded world, so the checks also cover what the seed holds.
"""

from __future__ import annotations

import pathlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from intercom_salesforce.sandbox.intercom import (
    IntercomEmulatorConfig,
    IntercomStore,
    IntercomWorldData,
    create_app,
)
from intercom_salesforce.sandbox.serving import RunningServer, start_in_thread
from intercom_salesforce.sandbox.world import World, WorldSize

TOKEN = "sandbox-intercom-token"
CONTACTS = 150


@dataclass
class Served:
    """One emulator over the seeded world, and a session that speaks to it."""

    world: World
    server: RunningServer
    store: IntercomStore
    http: requests.Session

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.server.url + path, params=params, timeout=10)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.http.post(self.server.url + path, json=body, timeout=10)

    def search(self, entity: str, query: Any) -> requests.Response:
        """Every match in one page (the seeded world is smaller than the page size)."""
        return self.post(f"/{entity}/search", {"query": query, "pagination": {"per_page": 150}})

    def ids(self, entity: str, query: Any) -> list[str]:
        resp = self.search(entity, query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert "next" not in body["pages"], "the world must fit one page"
        return sorted(r["id"] for r in body["data" if entity == "contacts" else "conversations"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    world = World(size=WorldSize(contacts=CONTACTS))
    path = pathlib.Path(tmp_path_factory.mktemp("intercom")) / "intercom.sqlite"
    store = IntercomStore(path)
    store.load_world(world.intercom())
    server = start_in_thread(create_app(store, IntercomEmulatorConfig()))
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})
    yield Served(world, server, store, http)
    http.close()
    server.stop()
    store.close()


def _error(resp: requests.Response) -> dict[str, Any]:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["type"] == "error.list"
    return body["errors"][0]


# --- search values as JSON floats ----------------------------------------------------------------


def test_integral_floats_are_integers_in_search(served: Served) -> None:
    """A float with an integral value filters exactly as the integer does, for dates, integers,
    IN lists and declared integer custom attributes, in contacts and conversations search."""
    pivot = served.world._epoch(served.world.now) - 7 * 86400
    same = [
        ("contacts", "updated_at", ">", pivot),
        ("contacts", "created_at", "<", pivot),
        ("contacts", "owner_id", "=", 900001),
        ("contacts", "owner_id", "IN", [900000, 900002]),
        ("contacts", "custom_attributes.seats", ">", 100),
        ("conversations", "updated_at", ">", pivot),
        ("conversations", "admin_assignee_id", "=", 900000),
        ("conversations", "statistics.count_conversation_parts", ">", 3),
    ]
    for entity, field, op, value in same:
        as_float = [float(v) for v in value] if isinstance(value, list) else float(value)
        expected = served.ids(entity, {"field": field, "operator": op, "value": value})
        got = served.ids(entity, {"field": field, "operator": op, "value": as_float})
        assert expected, (entity, field, op)
        assert got == expected, (entity, field, op)
    # The exact body a widely used client sends.
    resp = served.search(
        "contacts", {"field": "updated_at", "operator": ">", "value": 1796011587.0}
    )
    assert resp.status_code == 200, resp.text


@pytest.mark.parametrize(
    ("entity", "flt"),
    [
        ("contacts", {"field": "updated_at", "operator": ">", "value": 1796011587.5}),
        ("contacts", {"field": "owner_id", "operator": "=", "value": 900001.25}),
        ("contacts", {"field": "owner_id", "operator": "IN", "value": [900001.0, 0.5]}),
        ("contacts", {"field": "updated_at", "operator": ">", "value": True}),
        ("contacts", {"field": "owner_id", "operator": "=", "value": 1e30}),
        ("conversations", {"field": "created_at", "operator": "<", "value": 1796011587.5}),
    ],
)
def test_non_integral_numbers_still_fail_integer_fields(
    served: Served, entity: str, flt: dict[str, Any]
) -> None:
    """A fractional float (or a bool, or a number beyond 64 bits) is not an integer: Intercom's
    400 ``parameter_invalid``."""
    error = _error(served.search(entity, flt))
    assert error["code"] == "parameter_invalid"
    assert "does not match the type" in error["message"]


# --- > and < on string fields --------------------------------------------------------------------


def _all_ids(served: Served, entity: str) -> list[str]:
    key = "data" if entity == "contacts" else "conversations"
    body = served.get(f"/{entity}", per_page=150).json()
    assert "next" not in body["pages"]
    return sorted(r["id"] for r in body[key])


@pytest.mark.parametrize("entity", ["contacts", "conversations"])
def test_gt_lt_compare_strings_by_code_point(served: Served, entity: str) -> None:
    """``id > ""`` serves every record (the paging pattern clients use on conversations);
    ``>``/``<`` are strict and compare text in code-point order, alike on both entities."""
    every = _all_ids(served, entity)
    assert served.ids(entity, {"field": "id", "operator": ">", "value": ""}) == every
    assert served.ids(entity, {"field": "id", "operator": "<", "value": ""}) == []
    pivot = every[len(every) // 2]
    above = served.ids(entity, {"field": "id", "operator": ">", "value": pivot})
    below = served.ids(entity, {"field": "id", "operator": "<", "value": pivot})
    assert above == [i for i in every if i > pivot]
    assert below == [i for i in every if i < pivot]
    assert len(above) + len(below) == len(every) - 1  # strict: the pivot itself is in neither
    # Text, not numbers: "10" sorts before "9".
    assert served.ids(entity, {"field": "id", "operator": "<", "value": "9"}) == [
        i for i in every if i < "9"
    ]


def test_string_order_follows_the_fields_equality(served: Served) -> None:
    """Fields whose ``=`` ignores case (email) order without case too, so ``<``, ``=`` and ``>``
    split the values consistently; records without a value (null) match neither side."""
    contacts = served.get("/contacts", per_page=150).json()["data"]
    emails = {c["id"]: c["email"] for c in contacts}
    pivot = "m"
    below = served.ids("contacts", {"field": "email", "operator": "<", "value": pivot.upper()})
    above = served.ids("contacts", {"field": "email", "operator": ">", "value": pivot})
    assert below == sorted(i for i, e in emails.items() if e is not None and e.lower() < pivot)
    assert above == sorted(i for i, e in emails.items() if e is not None and e.lower() > pivot)
    assert any(e and e != e.lower() for e in emails.values()), "the seed has emails in capitals"
    names = {c["id"]: c["name"] for c in contacts}
    assert any(n is None for n in names.values()), "and contacts without a name"
    named = served.ids("contacts", {"field": "name", "operator": ">", "value": ""})
    assert named == sorted(i for i, n in names.items() if n)
    # Operators the reference lists for integers only stay errors on strings.
    assert _error(served.search("contacts", {"field": "id", "operator": ">=", "value": ""}))
    assert _error(served.search("contacts", {"field": "id", "operator": ">", "value": 5}))


def test_string_order_on_conversation_fields(served: Served) -> None:
    """Conversation string fields order as contacts' do; ``source.body`` is matched per word, as
    its ``=`` is, so ``>`` matches a body with any word after the value."""
    every = _all_ids(served, "conversations")
    assert served.ids("conversations", {"field": "state", "operator": ">", "value": ""}) == every
    closed = served.ids("conversations", {"field": "state", "operator": "=", "value": "closed"})
    before_open = served.ids("conversations", {"field": "state", "operator": "<", "value": "open"})
    assert closed and before_open == closed  # closed < open < snoozed
    assert served.ids("conversations", {"field": "source.body", "operator": ">", "value": ""})
    assert (
        served.ids("conversations", {"field": "source.body", "operator": ">", "value": "zzzzzz"})
        == []
    )


# --- data events by any identifier ---------------------------------------------------------------


def _events(served: Served, **ident: str) -> list[dict[str, Any]]:
    resp = served.get("/events", type="user", per_page=100, **ident)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["type"] == "event.list" and "next" not in body["pages"]
    return body["events"]


def _seeded_with_events(served: Served, role: str) -> list[dict[str, Any]]:
    """Seeded contacts of ``role`` that have events, as the API shows them."""
    world = served.world
    found = []
    for i in range(CONTACTS):
        if world.person(i)["role"] == role and world.intercom_events_of(i):
            contact_id = world.intercom_id("contact", i)
            found.append(served.get(f"/contacts/{contact_id}").json())
    return found


def _spellings(email: str) -> list[str]:
    return [email, email.strip().lower(), f" {email.strip().upper()}  "]


def test_user_events_are_the_same_by_every_identifier(served: Served) -> None:
    """``email`` (any case, padded or not), ``user_id`` and ``intercom_user_id`` name one user,
    so they list the same events, each carrying that user's identifiers."""
    users = _seeded_with_events(served, "user")
    odd = [u for u in users if u["email"] and u["email"] != u["email"].strip().lower()]
    assert odd, "the seed has users with events whose email is in capitals or padded"
    for user in odd + users[:3]:
        by_id = _events(served, intercom_user_id=user["id"])
        assert by_id, user["id"]
        assert _events(served, user_id=user["external_id"]) == by_id
        for spelling in _spellings(user["email"]) if user["email"] else []:
            assert _events(served, email=spelling) == by_id, spelling
        for event in by_id:
            assert event["intercom_user_id"] == user["id"]
            assert event["user_id"] == user["external_id"]
            assert event.get("email") == (user["email"] or None)
        idents = [{"intercom_user_id": user["id"]}, {"user_id": user["external_id"]}]
        if user["email"]:
            idents.append({"email": user["email"].strip().upper()})
        counts = [_summary_counts(served, ident) for ident in idents]
        assert counts[0] and all(c == counts[0] for c in counts), counts


def _summary_counts(served: Served, ident: dict[str, str]) -> dict[str, int]:
    body = served.get("/events", type="user", summary="true", **ident).json()
    assert body["type"] == "event.summary"
    return {e["name"]: e["count"] for e in body["events"]}


def test_events_follow_the_contacts_current_email(served: Served) -> None:
    """Events belong to the contact, not to a copy of its email: after the email changes, the new
    address lists them and the old one no longer does."""
    user = _seeded_with_events(served, "user")[-1]
    before = _events(served, intercom_user_id=user["id"])
    url = f"{served.server.url}/contacts/{user['id']}"
    resp = served.http.put(url, json={"email": "Renamed.Person@Example.org"}, timeout=10)
    assert resp.status_code == 200, resp.text
    try:
        after = _events(served, email="renamed.person@example.org")
        assert [e["id"] for e in after] == [e["id"] for e in before]
        assert all(e["email"] == "Renamed.Person@Example.org" for e in after)
        if user["email"]:
            assert _events(served, email=user["email"]) == []
    finally:
        served.http.put(url, json={"email": user["email"]}, timeout=10)


def test_lead_events_carry_only_the_leads_identifiers(served: Served) -> None:
    """Leads have no ``user_id``: their events (listed by ``intercom_user_id``, the form that
    lists leads) carry none, and the email they carry is the lead's own."""
    leads = _seeded_with_events(served, "lead")
    assert leads, "the seed has leads with events"
    for lead in leads:
        assert lead["external_id"] is None
        events = _events(served, intercom_user_id=lead["id"])
        assert events, lead["id"]
        for event in events:
            assert "user_id" not in event
            assert event["intercom_user_id"] == lead["id"]
            assert event.get("email") == (lead["email"] or None)
            assert all(isinstance(v, str) for k, v in event.items() if k.endswith("id"))
        if lead["email"]:
            # The email and user_id forms name users; a lead's email lists nothing.
            assert _events(served, email=lead["email"]) == []


def test_world_file_events_may_name_their_contact_by_any_identifier(
    tmp_path: pathlib.Path,
) -> None:
    """A world file's events that name their contact by ``user_id`` or ``email`` (any case or
    padding) load onto that contact, and list by its id with its identifiers."""
    contacts = [
        {"id": "c-user", "role": "user", "external_id": "u-1", "email": "  Ann@Example.COM "},
        {"id": "c-lead", "role": "lead", "email": "lead@example.com"},
    ]
    now = int(time.time())
    events = [
        {"id": "e1", "event_name": "a", "created_at": now - 30, "user_id": "u-1"},
        {"id": "e2", "event_name": "b", "created_at": now - 20, "email": "ann@example.com"},
        {"id": "e3", "event_name": "c", "created_at": now - 10, "intercom_user_id": "c-lead"},
        {"id": "e4", "event_name": "d", "created_at": now, "email": "lead@example.com"},
    ]
    store = IntercomStore(tmp_path / "intercom.sqlite")
    store.load_world(IntercomWorldData(contacts=contacts, events=events))
    server = start_in_thread(create_app(store, IntercomEmulatorConfig()))
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {TOKEN}"})
    try:

        def listed(contact_id: str) -> list[dict[str, Any]]:
            params = {"type": "user", "intercom_user_id": contact_id}
            return http.get(f"{server.url}/events", params=params, timeout=10).json()["events"]

        user_events = listed("c-user")
        assert [e["id"] for e in user_events] == ["e2", "e1"]
        assert all(
            e["user_id"] == "u-1" and e["email"] == "  Ann@Example.COM " for e in user_events
        )
        # A lead is no user: an event sent with its email names no one.
        assert [e["id"] for e in listed("c-lead")] == ["e3"]
    finally:
        http.close()
        threading.Thread(target=lambda: (server.stop(), store.close()), daemon=True).start()
