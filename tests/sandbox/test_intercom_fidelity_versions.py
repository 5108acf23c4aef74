"""``Intercom-Version``: each version the emulator serves answers in its own shapes, over HTTP.

A client pinned to 2.16 reads 2.16's shapes (``owner_id`` a string, five conversation priority
levels, ``0`` for an unassigned conversation), one pinned to 2.14 reads 2.14's, and both validate
against their version's official description (``tests/sandbox/openapi/``). Versions the emulator
does not model are refused with Intercom's error rather than answered in another version's shapes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from intercom_salesforce.sandbox.intercom import IntercomEmulatorConfig, IntercomStore, create_app
from intercom_salesforce.sandbox.serving import RunningServer, start_in_thread
from intercom_salesforce.sandbox.world import World, WorldSize
from tests.helpers import INTERCOM_DESCRIBED_VERSIONS, openapi_validator

TOKEN = "sandbox-intercom-token"
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
UNASSIGNED = "4000003"
"""A conversation the fixture unassigns, so the versions' ways of saying so show."""


@dataclass
class Served:
    url: str
    store: IntercomStore
    http: requests.Session

    def call(self, method: str, path: str, version: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {TOKEN}", "Intercom-Version": version}
        return self.http.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def get(self, path: str, version: str, **params: Any) -> Any:
        resp = self.call("GET", path, version, params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A small seeded world (its owners, priorities and tags as the sandbox seeds them) with one
    conversation left unassigned, served on loopback."""
    store = IntercomStore(Path(tmp_path_factory.mktemp("versions")) / "intercom.sqlite")
    store.load_world(World(size=WorldSize(contacts=40), now=NOW).intercom())
    store.update_conversation(UNASSIGNED, admin_assignee_id=None, team_assignee_id=None)
    server: RunningServer = start_in_thread(create_app(store, IntercomEmulatorConfig()))
    http = requests.Session()
    try:
        yield Served(server.url, store, http)
    finally:
        http.close()
        threading.Thread(target=server.stop, daemon=True).start()


def _responses(served: Served, version: str) -> Iterator[tuple[Any, str]]:
    """(body, schema name) of every kind of read the emulator serves, asked in ``version``."""
    get = served.get
    contacts = get("/contacts", version, per_page=50)
    yield contacts, "contact_list"
    owned = next(c for c in contacts["data"] if c["owner_id"] is not None)
    cid = owned["id"]
    yield get(f"/contacts/{cid}", version), "contact"
    yield get(f"/contacts/{cid}/tags", version), "tag_list"
    yield get(f"/contacts/{cid}/notes", version), "note_list"
    yield get(f"/contacts/{cid}/companies", version), "contact_attached_companies"
    yield get(f"/contacts/{cid}/segments", version), "contact_segments"
    query = {"query": {"field": "role", "operator": "=", "value": "user"}}
    yield served.call("POST", "/contacts/search", version, json=query).json(), "contact_list"
    companies = get("/companies", version)
    yield companies, "company_list"
    company = companies["data"][0]["id"]
    yield get(f"/companies/{company}", version), "company"
    yield get(f"/companies/{company}/contacts", version), "company_attached_contacts"
    yield get(f"/companies/{company}/segments", version), "company_attached_segments"
    yield get("/conversations", version, per_page=50), "conversation_list"
    yield get(f"/conversations/{UNASSIGNED}", version), "conversation"
    yield get("/conversations/4000001", version), "conversation"
    query = {"query": {"field": "state", "operator": "=", "value": "closed"}}
    yield (
        served.call("POST", "/conversations/search", version, json=query).json(),
        ("conversation_list"),
    )
    me = get("/me", version)
    yield me, "admin_with_app"
    yield get("/admins", version), "admin_list"
    yield get(f"/admins/{me['id']}", version), "admin"
    yield get("/teams", version), "team_list"
    yield get("/tags", version), "tag_list"
    yield get("/segments", version), "segment_list"
    for model in ("contact", "company"):
        yield get("/data_attributes", version, model=model), "data_attribute_list"
    events = get("/events", version, type="user", intercom_user_id=served_event_owner(served))
    yield events, "data_event_list"


def served_event_owner(served: Served) -> str:
    """A contact with events (every third seeded contact may have some)."""
    rows = served.store.query("SELECT contact_id FROM events LIMIT 1")
    return rows[0][0]


@pytest.mark.parametrize("version", INTERCOM_DESCRIBED_VERSIONS)
def test_every_read_validates_against_its_versions_description(
    served: Served, version: str
) -> None:
    validate = openapi_validator(version)
    for body, schema in _responses(served, version):
        validate(body, schema)


def test_2_16_answers_in_its_own_shapes(served: Served) -> None:
    old = served.get("/contacts", "2.14", per_page=50)["data"]
    new = served.get("/contacts", "2.16", per_page=50)["data"]
    assert [c["id"] for c in old] == [c["id"] for c in new]
    owned = [(a, b) for a, b in zip(old, new, strict=True) if a["owner_id"] is not None]
    assert owned
    for a, b in owned:
        assert isinstance(a["owner_id"], int)
        assert b["owner_id"] == str(a["owner_id"])
    assert all(b["owner_id"] is None for a, b in zip(old, new, strict=True) if not a["owner_id"])

    convs14 = served.get("/conversations", "2.14", per_page=50)["conversations"]
    convs16 = served.get("/conversations", "2.16", per_page=50)["conversations"]
    levels = {"priority": "high", "not_priority": "none"}
    assert {c["priority"] for c in convs14} == {"priority", "not_priority"}
    assert [levels[c["priority"]] for c in convs14] == [c["priority"] for c in convs16]

    unassigned14 = served.get(f"/conversations/{UNASSIGNED}", "2.14")
    unassigned16 = served.get(f"/conversations/{UNASSIGNED}", "2.16")
    assert unassigned14["admin_assignee_id"] is None
    assert unassigned14["team_assignee_id"] is None
    assert unassigned16["admin_assignee_id"] == 0
    assert unassigned16["team_assignee_id"] == 0
    assert unassigned16["contacts"] == unassigned14["contacts"]


def test_contact_writes_take_each_versions_owner_id(served: Served) -> None:
    cid = served.get("/contacts", "2.14", per_page=1)["data"][0]["id"]
    resp = served.call("PUT", f"/contacts/{cid}", "2.16", json={"owner_id": "900001"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["owner_id"] == "900001"
    openapi_validator("2.16")(resp.json(), "contact")
    assert served.get(f"/contacts/{cid}", "2.14")["owner_id"] == 900001
    refused = served.call("PUT", f"/contacts/{cid}", "2.14", json={"owner_id": "900002"})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "owner_id"
    resp = served.call("PUT", f"/contacts/{cid}", "2.14", json={"owner_id": 900002})
    assert resp.json()["owner_id"] == 900002


@pytest.mark.parametrize("version", ["2.15", "1.4", "3.0", "2.17"])
def test_versions_not_modelled_are_refused(served: Served, version: str) -> None:
    resp = served.call("GET", "/me", version)
    assert resp.status_code == 400
    body = resp.json()
    assert body["type"] == "error.list"
    assert body["errors"] == [
        {
            "code": "intercom_version_invalid",
            "message": "Requested resource is not available in current API version.",
        }
    ]
    openapi_validator("2.16")(body, "error")


@pytest.mark.parametrize(("version", "owner_type"), [("2.11", int), ("Preview", str)])
def test_older_and_preview_versions_are_served(
    served: Served, version: str, owner_type: type
) -> None:
    """Older 2.x versions read 2.14's shapes, as before; Preview reads the newest described."""
    contacts = served.get("/contacts", version, per_page=50)["data"]
    owners = [c["owner_id"] for c in contacts if c["owner_id"] is not None]
    assert owners
    assert all(isinstance(o, owner_type) for o in owners)
