"""The Intercom emulator answers as Intercom does to what real clients send: search values as JSON
floats, ``>``/``<`` on string fields, and data events listed by any of a contact's identifiers.

Served over loopback HTTP from the seeded world, so the checks also cover what the seed holds.
"""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from intercom_salesforce.sandbox.intercom import IntercomEmulatorConfig, IntercomStore, create_app
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

    def stop() -> None:
        server.stop()
        store.close()

    # serve_forever notices shutdown only every 0.5 s; stop in the background.
    threading.Thread(target=stop, daemon=True).start()


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
