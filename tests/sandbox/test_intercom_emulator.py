"""The Intercom emulator over real loopback HTTP, checked against the 2.14 OpenAPI description
(kept in ``tests/sandbox/openapi/``)."""

from __future__ import annotations

import base64
import json
import pathlib
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from intercom_salesforce.sandbox.intercom import (
    FaultConfig,
    IntercomEmulatorConfig,
    IntercomStore,
    IntercomWorldData,
    create_app,
)
from intercom_salesforce.sandbox.serving import RunningServer, start_in_thread
from tests.helpers import openapi_validator

TOKEN = "sandbox-intercom-token"
LA = ZoneInfo("America/Los_Angeles")
NOW = 1_763_000_000  # 2025-11-13 02:13:20 UTC


def la(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=LA).timestamp())


# --- OpenAPI validation -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def validate() -> Callable[[Any, str], None]:
    """Validate a body against a named component schema of the 2.14 description."""
    return openapi_validator("2.14")


# --- emulator fixtures --------------------------------------------------------------------------


class Clock:
    """Controllable clock injected into the app."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def small_world(n_contacts: int = 25) -> IntercomWorldData:
    admins = [
        {
            "id": "991267501",
            "name": "Ada Admin",
            "email": "ada@sandbox.example",
            "team_ids": [5017691],
        },
        {"id": "991267502", "name": "Bob Admin", "email": "bob@sandbox.example", "team_ids": []},
    ]
    teams = [{"id": "5017691", "name": "Support", "admin_ids": [991267501]}]
    tags = [{"id": str(100 + i), "name": f"tag-{i}"} for i in range(15)]
    segments = [
        {
            "id": "seg1",
            "name": "Active",
            "created_at": NOW - 5000,
            "updated_at": NOW - 5000,
            "person_type": "user",
        }
    ]
    attrs = [
        {
            "model": "contact",
            "name": "plan",
            "full_name": "custom_attributes.plan",
            "label": "Plan",
            "data_type": "string",
            "custom": True,
            "id": 1,
            "api_writable": True,
            "ui_writable": True,
            "messenger_writable": False,
            "archived": False,
            "created_at": NOW,
            "updated_at": NOW,
        },
        {
            "model": "contact",
            "name": "renewal_at",
            "full_name": "custom_attributes.renewal_at",
            "label": "Renewal",
            "data_type": "date",
            "custom": True,
            "id": 2,
            "api_writable": True,
            "ui_writable": True,
            "messenger_writable": False,
            "archived": False,
            "created_at": NOW,
            "updated_at": NOW,
        },
    ]
    companies = [
        {
            "id": f"c0mp{i:020d}",
            "company_id": f"acct-{i}",
            "name": f"Company {i}",
            "created_at": NOW - 90000 + i,
            "updated_at": NOW - 90000 + i,
            "last_request_at": NOW - 1000 * i,
            "tags": ["100"] if i == 0 else [],
            "segments": [],
            "custom_attributes": {"tier": "gold"},
        }
        for i in range(12)
    ]
    contacts = []
    for i in range(n_contacts):
        contacts.append(
            {
                "id": f"5f00000000000000000{i:05d}",
                "external_id": f"user-{i}",
                "role": "user" if i % 5 else "lead",
                "email": f"person{i}@example{i % 3}.com",
                "name": f"Person {i}",
                "created_at": NOW - 100000 + i * 10,
                "updated_at": NOW - 50000 + i * 100,
                "owner_id": 991267501 if i % 2 else None,
                "custom_attributes": {"plan": "pro" if i % 2 else "free"},
                "tags": [str(100 + k) for k in range(12)]
                if i == 0
                else (["101"] if i % 4 == 0 else []),
                "companies": [f"c0mp{k:020d}" for k in range(11)]
                if i == 0
                else [f"c0mp{i % 3:020d}"],
                "notes": ["n1", "n2"] if i == 0 else [],
                "segments": ["seg1"] if i < 3 else [],
                "location": {"country": "Ireland", "city": "Dublin"},
            }
        )
    conversations = [
        {
            "id": str(1000 + i),
            "created_at": NOW - 40000 + i,
            "updated_at": NOW - 30000 + i * 50,
            "contacts": [contacts[i]["id"]],
            "teammates": ["991267501"] if i % 2 else None,
            "tags": ["102"] if i == 0 else [],
            "admin_assignee_id": 991267501 if i % 2 else None,
            "source": {
                "type": "conversation",
                "body": "<p>I need support with billing</p>",
                "author": {
                    "type": "user",
                    "id": contacts[i]["id"],
                    "name": "P",
                    "email": "p@example.com",
                },
            },
            "statistics": {"type": "conversation_statistics", "count_reopens": 0},
            "conversation_parts": [
                {
                    "part_type": "comment",
                    "body": f"<p>part {k}</p>",
                    "created_at": NOW - 40000 + i + k,
                    "author": {
                        "type": "admin",
                        "id": "991267501",
                        "name": "Ada",
                        "email": "ada@sandbox.example",
                    },
                }
                for k in range(510 if i == 0 else 3)
            ],
        }
        for i in range(min(5, n_contacts))
    ]
    events = [
        {
            "event_name": "placed-order",
            "created_at": NOW - 86400 * d,
            "intercom_user_id": contacts[1]["id"],
            "user_id": "user-1",
            "email": contacts[1]["email"],
            "id": f"ev{d}",
            "metadata": {"order": str(d)},
        }
        for d in (1, 2, 3, 100)
        if n_contacts > 1
    ]
    return IntercomWorldData(
        app={
            "id_code": "sbx4pp1d",
            "name": "Sandbox Workspace",
            "timezone": "America/Los_Angeles",
            "region": "US",
        },
        admins=admins,
        teams=teams,
        tags=tags,
        segments=segments,
        data_attributes=attrs,
        companies=companies,
        contacts=contacts,
        conversations=conversations,
        events=events,
    )


class Emulator:
    def __init__(self, server: RunningServer, store: IntercomStore, clock: Clock, app: Any) -> None:
        self.server = server
        self.url = server.url
        self.store = store
        self.clock = clock
        self.app = app
        self.http = requests.Session()
        self.http.headers.update({"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"})

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=10, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.http.post(self.url + path, json=body, timeout=10, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.http.put(self.url + path, json=body, timeout=10, **kw)

    def search(self, query: Any, entity: str = "contacts", **extra: Any) -> requests.Response:
        return self.post(f"/{entity}/search", {"query": query, **extra})


@pytest.fixture
def make_emulator(tmp_path: pathlib.Path) -> Iterator[Callable[..., Emulator]]:
    started: list[Emulator] = []

    def make(world: IntercomWorldData | None = None, **config: Any) -> Emulator:
        clock = Clock(NOW)
        store = IntercomStore(tmp_path / f"intercom{len(started)}.sqlite")
        if world is not None:
            store.load_world(world)
        app = create_app(store, IntercomEmulatorConfig(**config), clock=clock)
        emu = Emulator(start_in_thread(app), store, clock, app)
        started.append(emu)
        return emu

    yield make

    for emu in started:
        emu.http.close()
        emu.server.stop()
        emu.store.close()


@pytest.fixture
def emu(make_emulator: Callable[..., Emulator]) -> Emulator:
    return make_emulator(small_world())


def all_pages(
    fetch: Callable[[str | None], dict[str, Any]], key: str = "data"
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        body = fetch(cursor)
        records.extend(body[key])
        nxt = body["pages"].get("next")
        if not nxt:
            return records
        cursor = nxt["starting_after"]
    raise AssertionError("pagination did not end")


# --- transport, auth, versions, rate limits -----------------------------------------------------


@pytest.mark.parametrize(
    "auth", [None, "Bearer wrong", "Basic " + base64.b64encode(b"x:y").decode()]
)
def test_bad_token_is_401_without_rate_limit_headers(
    emu: Emulator, validate: Any, auth: str | None
) -> None:
    headers = {} if auth is None else {"Authorization": auth}
    resp = requests.get(emu.url + "/contacts", headers=headers, timeout=10)
    assert resp.status_code == 401
    body = resp.json()
    assert body["type"] == "error.list"
    assert body["errors"] == [{"code": "unauthorized", "message": "Access Token Invalid"}]
    assert len(body["request_id"]) == 36
    assert not any(h.lower().startswith("x-ratelimit") for h in resp.headers)
    validate(body, "error")


def test_rate_limit_windows_headers_and_429(
    make_emulator: Callable[..., Emulator], validate: Any
) -> None:
    emu = make_emulator(small_world(3), rate_limit_per_minute=60)  # 10 per 10-second window
    emu.clock.now = 1_763_000_003.5
    remaining = []
    for _ in range(10):
        resp = emu.get("/tags")
        assert resp.status_code == 200
        assert resp.headers["X-RateLimit-Limit"] == "10"
        assert resp.headers["X-RateLimit-Reset"] == "1763000010"
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(9, -1, -1))
    resp = emu.get("/tags")
    assert resp.status_code == 429
    assert resp.json()["errors"] == [
        {"code": "rate_limit_exceeded", "message": "Exceeded rate limit of 10 in 10_seconds"}
    ]
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in resp.headers
    validate(resp.json(), "error")
    emu.clock.now = 1_763_000_010.0  # next fixed window
    resp = emu.get("/tags")
    assert resp.status_code == 200
    assert resp.headers["X-RateLimit-Remaining"] == "9"
    assert resp.headers["X-RateLimit-Reset"] == "1763000020"


def test_shorter_windows_shrink_the_allowance_and_the_reset(
    make_emulator: Callable[..., Emulator],
) -> None:
    emu = make_emulator(small_world(3), rate_limit_per_minute=120, rate_limit_window_seconds=1)
    emu.clock.now = 1_763_000_003.5
    assert [emu.get("/tags").status_code for _ in range(3)] == [200, 200, 429]
    resp = emu.get("/tags")
    assert resp.headers["X-RateLimit-Limit"] == "2"
    assert resp.headers["X-RateLimit-Reset"] == "1763000004"
    emu.clock.now = 1_763_000_004.0
    assert emu.get("/tags").status_code == 200


def test_default_allowance_is_a_sixth_of_the_minute_limit(
    make_emulator: Callable[..., Emulator],
) -> None:
    emu = make_emulator(small_world(1), rate_limit_per_minute=1000)
    assert emu.get("/me").headers["X-RateLimit-Limit"] == "167"


@pytest.mark.parametrize(
    ("version", "status"),
    [(None, 200), ("2.14", 200), ("2.11", 200), ("Preview", 200), ("3.7", 400)],
)
def test_version_header(emu: Emulator, version: str | None, status: int) -> None:
    headers = {} if version is None else {"Intercom-Version": version}
    resp = emu.get("/me", headers=headers)
    assert resp.status_code == status
    if status == 400:
        assert resp.json()["errors"][0]["code"] == "intercom_version_invalid"
        assert "X-RateLimit-Limit" in resp.headers


def test_request_errors_use_error_list(emu: Emulator, validate: Any) -> None:
    bad_json = emu.http.post(
        emu.url + "/contacts/search",
        data=b"{not json",
        timeout=10,
        headers={"Content-Type": "application/json"},
    )
    assert bad_json.status_code == 400
    assert bad_json.json()["errors"][0]["code"] == "parameter_invalid"
    unknown = emu.get("/no/such/thing")
    assert unknown.status_code == 404
    wrong_method = emu.http.delete(emu.url + "/tags", timeout=10)
    assert wrong_method.status_code == 404
    html_only = emu.get("/me", headers={"Accept": "text/html"})
    assert html_only.status_code == 406
    star = emu.get("/me", headers={"Accept": "*/*"})
    assert star.status_code == 200
    for resp in (bad_json, unknown, wrong_method, html_only):
        validate(resp.json(), "error")
        assert resp.json()["type"] == "error.list"


def test_me_reports_workspace_and_timezone(emu: Emulator, validate: Any) -> None:
    body = emu.get("/me").json()
    validate(body, "admin_with_app")
    assert body["type"] == "admin"
    assert body["app"]["id_code"] == "sbx4pp1d"
    assert body["app"]["timezone"] == "America/Los_Angeles"
    assert body["app"]["region"] == "US"
    assert set(body["app"]) >= {"name", "created_at", "secure", "identity_verification"}


# --- contacts: list, get, write -------------------------------------------------------------------


def test_list_contacts_pages_every_record_once(emu: Emulator, validate: Any) -> None:
    bodies = []

    def fetch(cursor: str | None) -> dict[str, Any]:
        params = {} if cursor is None else {"starting_after": cursor}
        body = emu.get("/contacts", params=params).json()
        validate(body, "contact_list")
        bodies.append(body)
        return body

    records = all_pages(fetch)
    assert len(records) == 25
    assert len({r["id"] for r in records}) == 25
    assert [b["pages"]["per_page"] for b in bodies] == [10, 10, 10]  # default page size is 10
    assert [b["pages"]["page"] for b in bodies] == [1, 2, 3]
    assert all(b["total_count"] == 25 and b["pages"]["total_pages"] == 3 for b in bodies)
    assert "next" not in bodies[-1]["pages"]
    cursor = bodies[0]["pages"]["next"]["starting_after"]
    decoded = json.loads(base64.b64decode(cursor))
    assert decoded[1:] == [records[9]["id"], 2]
    big = emu.get("/contacts", params={"per_page": 500}).json()
    assert big["pages"]["per_page"] == 150 and len(big["data"]) == 25


def test_contact_shape_and_addressable_lists(emu: Emulator, validate: Any) -> None:
    cid = "5f0000000000000000000000"
    contact = emu.get(f"/contacts/{cid}").json()
    validate(contact, "contact")
    assert contact["workspace_id"] == "sbx4pp1d"
    assert contact["email_domain"] == "example0.com"
    assert contact["role"] == "lead" and contact["owner_id"] is None
    assert contact["phone"] is None and contact["last_seen_at"] is None
    assert contact["location"]["type"] == "location" and contact["location"]["country_code"] is None
    assert contact["social_profiles"] == {"type": "list", "data": []}
    assert contact["enabled_push_messaging"] is None
    tags = contact["tags"]
    assert len(tags["data"]) == 10 and tags["total_count"] == 12 and tags["has_more"] is True
    assert tags["url"] == f"/contacts/{cid}/tags"
    assert tags["data"][0] == {"type": "tag", "id": "100", "url": "/tags/100"}
    companies = contact["companies"]
    assert len(companies["data"]) == 10 and companies["total_count"] == 11 and companies["has_more"]
    assert companies["data"][0]["url"] == f"/companies/{companies['data'][0]['id']}"
    assert contact["notes"]["total_count"] == 2 and contact["notes"]["has_more"] is False
    full_tags = emu.get(f"/contacts/{cid}/tags").json()
    validate(full_tags, "tag_list")
    assert [t["name"] for t in full_tags["data"]] == [f"tag-{i}" for i in range(12)]
    full_companies = emu.get(f"/contacts/{cid}/companies").json()
    validate(full_companies, "contact_attached_companies")
    assert full_companies["total_count"] == 11 and len(full_companies["data"]) == 11
    notes = emu.get(f"/contacts/{cid}/notes").json()
    validate(notes, "note_list")
    assert [n["id"] for n in notes["data"]] == ["n1", "n2"]
    segs = emu.get(f"/contacts/{cid}/segments").json()
    validate(segs, "contact_segments")
    assert [s["id"] for s in segs["data"]] == ["seg1"]
    listed = emu.get("/contacts").json()["data"][0]
    assert "enabled_push_messaging" not in listed  # single-contact GET only


def test_missing_contact_is_404(emu: Emulator, validate: Any) -> None:
    for path in ("/contacts/nope", "/contacts/nope/tags", "/contacts/nope/companies"):
        resp = emu.get(path)
        assert resp.status_code == 404
        assert resp.json()["errors"][0] == {"code": "not_found", "message": "User Not Found"}
        validate(resp.json(), "error")


def test_create_and_update_contact(emu: Emulator, validate: Any) -> None:
    emu.clock.now = NOW + 100
    created = emu.post(
        "/contacts",
        {"email": "new@corp.example", "name": "New", "custom_attributes": {"plan": "pro"}},
    )
    assert created.status_code == 200
    body = created.json()
    validate(body, "contact")
    assert body["created_at"] == body["updated_at"] == NOW + 100
    assert body["email_domain"] == "corp.example" and body["role"] == "user"
    dup = emu.post("/contacts", {"email": "NEW@corp.example"})
    assert dup.status_code == 409 and body["id"] in dup.json()["errors"][0]["message"]
    assert emu.post("/contacts", {"name": "nobody"}).status_code == 400
    emu.clock.now = NOW + 500
    # a custom attribute must be described before a contact can carry it
    assert emu.post(
        "/data_attributes", {"name": "seats", "model": "contact", "data_type": "integer"}
    ).ok
    updated = emu.put(
        f"/contacts/{body['id']}", {"name": "Renamed", "custom_attributes": {"seats": 3}}
    )
    assert updated.status_code == 200
    up = updated.json()
    validate(up, "contact")
    assert up["name"] == "Renamed" and up["updated_at"] == NOW + 500
    assert up["custom_attributes"] == {"plan": "pro", "seats": 3}
    assert emu.put("/contacts/nope", {"name": "x"}).status_code == 404
    assert emu.put(f"/contacts/{body['id']}", {"role": "visitor"}).status_code == 400
    found = emu.get("/contacts/find_by_external_id/user-1").json()
    assert found["id"] == "5f0000000000000000000001"


def test_tag_contact(emu: Emulator, validate: Any) -> None:
    cid = "5f0000000000000000000003"
    emu.clock.now = NOW + 42
    resp = emu.post(f"/contacts/{cid}/tags", {"id": "107"})
    assert resp.status_code == 200
    validate(resp.json(), "tag")
    assert resp.json()["applied_at"] == NOW + 42 and resp.json()["name"] == "tag-7"
    contact = emu.get(f"/contacts/{cid}").json()
    assert [t["id"] for t in contact["tags"]["data"]] == ["107"]
    assert contact["updated_at"] == NOW + 42
    assert emu.post(f"/contacts/{cid}/tags", {"id": "999"}).status_code == 404


# --- contact search -------------------------------------------------------------------------------


def test_search_pages_from_body_only(emu: Emulator, validate: Any) -> None:
    query = {"field": "role", "operator": "=", "value": "user"}
    first = emu.search(
        query, pagination={"per_page": 7}, sort={"field": "updated_at", "order": "ascending"}
    )
    body = first.json()
    validate(body, "contact_list")
    assert body["total_count"] == 20 and body["pages"]["total_pages"] == 3
    cursor = body["pages"]["next"]["starting_after"]
    # starting_after in the query string is ignored: page 1 again.
    again = emu.http.post(
        emu.url + "/contacts/search",
        params={"starting_after": cursor},
        timeout=10,
        json={
            "query": query,
            "pagination": {"per_page": 7},
            "sort": {"field": "updated_at", "order": "ascending"},
        },
    ).json()
    assert again["pages"]["page"] == 1 and again["data"] == body["data"]

    def fetch(cur: str | None) -> dict[str, Any]:
        pagination: dict[str, Any] = {"per_page": 7}
        if cur:
            pagination["starting_after"] = cur
        page = emu.search(
            query, pagination=pagination, sort={"field": "updated_at", "order": "ascending"}
        ).json()
        validate(page, "contact_list")
        return page

    records = all_pages(fetch)
    assert len(records) == 20 and len({r["id"] for r in records}) == 20
    assert [r["updated_at"] for r in records] == sorted(r["updated_at"] for r in records)
    default = emu.search(query).json()
    assert default["pages"]["per_page"] == 50


def test_search_sort_order(emu: Emulator) -> None:
    query = {"field": "role", "operator": "=", "value": "user"}
    desc = emu.search(query, sort={"field": "created_at"}).json()["data"]
    assert [c["created_at"] for c in desc] == sorted((c["created_at"] for c in desc), reverse=True)
    bad = emu.search(query, sort={"field": "updated_at", "order": "desc"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0] == {
        "code": "invalid_sort_order",
        "message": "Invalid sort order 'desc'. Must be one of: ascending, descending",
        "field": "order",
    }
    assert emu.search(query, sort={"field": "tag_id", "order": "ascending"}).status_code == 400


def test_search_invalid_cursor(emu: Emulator, validate: Any) -> None:
    for cursor in (
        "garbage!!",
        base64.b64encode(b"[1,2]").decode(),
        base64.b64encode(b'{"a":1}').decode(),
    ):
        resp = emu.search(
            {"field": "role", "operator": "=", "value": "user"},
            pagination={"starting_after": cursor},
        )
        assert resp.status_code == 400
        assert resp.json()["errors"][0]["message"].startswith("Invalid starting_after param.")
        validate(resp.json(), "error")


@pytest.fixture
def day_emu(make_emulator: Callable[..., Emulator]) -> Callable[..., Emulator]:
    """Two contacts either side of local midnight in Los Angeles (both on the same UTC day)."""

    def make(**config: Any) -> Emulator:
        late = la(2025, 11, 10, 23, 30)
        early = la(2025, 11, 11, 0, 30)
        assert datetime.fromtimestamp(late, UTC).date() == datetime.fromtimestamp(early, UTC).date()
        world = IntercomWorldData(
            contacts=[
                {
                    "id": "late",
                    "email": "late@x.com",
                    "created_at": late - 10,
                    "updated_at": late,
                    "custom_attributes": {"renewal_at": late},
                },
                {
                    "id": "early",
                    "email": "early@x.com",
                    "created_at": early - 10,
                    "updated_at": early,
                    "custom_attributes": {"renewal_at": early},
                },
            ],
            data_attributes=[
                {
                    "model": "contact",
                    "name": "renewal_at",
                    "data_type": "date",
                    "custom": True,
                    "full_name": "custom_attributes.renewal_at",
                    "id": 1,
                }
            ],
        )
        return make_emulator(world, **config)

    return make


def _ids(resp: requests.Response) -> set[str]:
    assert resp.status_code == 200, resp.text
    return {c["id"] for c in resp.json()["data"]}


def test_search_dates_match_by_local_calendar_day(day_emu: Callable[..., Emulator]) -> None:
    emu = day_emu()
    noon_10th = la(2025, 11, 10, 12)
    morning_11th = la(2025, 11, 11, 10)
    f = "updated_at"
    assert _ids(emu.search({"field": f, "operator": "=", "value": noon_10th})) == {"late"}
    assert _ids(emu.search({"field": f, "operator": "=", "value": morning_11th})) == {"early"}
    # > starts at the next local day, not at the instant given.
    assert _ids(emu.search({"field": f, "operator": ">", "value": noon_10th})) == {"early"}
    assert _ids(emu.search({"field": f, "operator": ">", "value": la(2025, 11, 10, 0, 1)})) == {
        "early"
    }
    assert _ids(emu.search({"field": f, "operator": "<", "value": morning_11th})) == {"late"}
    assert _ids(emu.search({"field": f, "operator": "<", "value": noon_10th})) == set()
    # The (> X OR = X) pattern extractors use covers the whole day of X and after.
    either = {
        "operator": "OR",
        "value": [
            {"field": f, "operator": ">", "value": noon_10th},
            {"field": f, "operator": "=", "value": noon_10th},
        ],
    }
    assert _ids(emu.search(either)) == {"late", "early"}
    # Date custom attributes follow the same rule.
    assert _ids(
        emu.search({"field": "custom_attributes.renewal_at", "operator": "=", "value": noon_10th})
    ) == {"late"}
    for op in (">=", "<=", "!=", "IN", "NIN"):
        value = [noon_10th] if op in ("IN", "NIN") else noon_10th
        resp = emu.search({"field": f, "operator": op, "value": value})
        assert resp.status_code == 400, op
        assert resp.json()["type"] == "error.list"


def test_search_dates_in_utc_workspace(day_emu: Callable[..., Emulator]) -> None:
    emu = day_emu(timezone="UTC")
    # Both instants fall on 2025-11-11 UTC, so a UTC workspace sees them on one day.
    assert _ids(
        emu.search({"field": "updated_at", "operator": "=", "value": la(2025, 11, 11, 10)})
    ) == {"late", "early"}


def test_search_exact_mode(day_emu: Callable[..., Emulator]) -> None:
    emu = day_emu(search_date_mode="exact")
    late = la(2025, 11, 10, 23, 30)
    assert _ids(emu.search({"field": "updated_at", "operator": ">", "value": late - 1})) == {
        "late",
        "early",
    }
    assert _ids(emu.search({"field": "updated_at", "operator": ">=", "value": late + 1})) == {
        "early"
    }
    assert _ids(emu.search({"field": "updated_at", "operator": "=", "value": late})) == {"late"}
    day = day_emu()
    preview = day.post(
        "/contacts/search",
        {"query": {"field": "updated_at", "operator": ">=", "value": late}},
        headers={"Intercom-Version": "Preview"},
    )
    assert _ids(preview) == {"late", "early"}


def _group(op: str, items: list[Any]) -> dict[str, Any]:
    return {"operator": op, "value": items}


F = {"field": "role", "operator": "=", "value": "user"}


@pytest.mark.parametrize(
    ("query", "ok"),
    [
        (_group("AND", [F] * 15), True),
        (_group("AND", [F] * 16), False),
        (_group("AND", [_group("OR", [F, F]), _group("OR", [F] * 15)]), True),
        (_group("AND", [_group("OR", [F] * 16)]), False),
        (_group("AND", [_group("OR", [_group("AND", [F])])]), False),  # 3 levels
        (_group("AND", []), False),
    ],
)
def test_search_nesting_and_group_limits(emu: Emulator, query: dict[str, Any], ok: bool) -> None:
    resp = emu.search(query)
    assert resp.status_code == (200 if ok else 400), resp.text


@pytest.mark.parametrize(
    "flt",
    [
        {"field": "owner_id", "operator": "~", "value": 1},
        {"field": "email", "operator": "IN", "value": "a@b.c"},
        {"field": "email", "operator": ">=", "value": "a"},
        {"field": "created_at", "operator": "=", "value": "yesterday"},
        {"field": "owner_id", "operator": "=", "value": "12"},
        {"field": "tag_id", "operator": "IN", "value": ["100"]},
        {"field": "unsubscribed_from_emails", "operator": "=", "value": "false"},
        {"field": "no_such_field", "operator": "=", "value": "x"},
        {"field": "email", "operator": "LIKE", "value": "x"},
    ],
)
def test_search_rejects_mismatched_operator_or_value(
    emu: Emulator, validate: Any, flt: dict[str, Any]
) -> None:
    resp = emu.search(flt)
    assert resp.status_code == 400
    validate(resp.json(), "error")


def test_search_operators(emu: Emulator) -> None:
    def ids(flt: dict[str, Any]) -> set[str]:
        return {
            c["external_id"] for c in emu.search(flt, pagination={"per_page": 150}).json()["data"]
        }

    assert ids({"field": "email", "operator": "=", "value": "PERSON4@example1.com"}) == {"user-4"}
    assert ids({"field": "email_domain", "operator": "=", "value": "example2.com"}) == {
        f"user-{i}" for i in range(2, 25, 3)
    }
    assert ids({"field": "email", "operator": "^", "value": "person2"}) == {"user-2"} | {
        f"user-{i}" for i in range(20, 25)
    }
    assert ids({"field": "email", "operator": "$", "value": "4@example1.com"}) == {"user-4"}
    assert ids({"field": "name", "operator": "~", "value": "son 1"}) == {"user-1"} | {
        f"user-{i}" for i in range(10, 20)
    }
    assert len(ids({"field": "name", "operator": "!~", "value": "son 1"})) == 14
    assert ids({"field": "external_id", "operator": "IN", "value": ["user-1", "user-2"]}) == {
        "user-1",
        "user-2",
    }
    assert (
        len(ids({"field": "external_id", "operator": "NIN", "value": ["user-1", "user-2"]})) == 23
    )
    assert ids({"field": "owner_id", "operator": "=", "value": None}) == {
        f"user-{i}" for i in range(0, 25, 2)
    }
    assert len(ids({"field": "owner_id", "operator": ">", "value": 0})) == 12
    assert ids({"field": "tag_id", "operator": "=", "value": "101"}) == {"user-0"} | {
        f"user-{i}" for i in range(4, 25, 4)
    }
    assert len(ids({"field": "tag_id", "operator": "!=", "value": "101"})) == 25 - 7
    assert ids({"field": "segment_id", "operator": "=", "value": "seg1"}) == {
        "user-0",
        "user-1",
        "user-2",
    }
    assert len(ids({"field": "custom_attributes.plan", "operator": "=", "value": "pro"})) == 12
    assert len(ids({"field": "location.city", "operator": "=", "value": "Dublin"})) == 25
    assert ids({"field": "id", "operator": "=", "value": "5f0000000000000000000007"}) == {"user-7"}
    combined = _group(
        "AND",
        [
            {"field": "role", "operator": "=", "value": "user"},
            _group(
                "OR",
                [
                    {"field": "email_domain", "operator": "=", "value": "example0.com"},
                    {"field": "custom_attributes.plan", "operator": "=", "value": "pro"},
                ],
            ),
        ],
    )
    expected = {f"user-{i}" for i in range(25) if i % 5 and (i % 3 == 0 or i % 2)}
    assert ids(combined) == expected


def test_search_index_delay_hides_new_contacts(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(small_world(2), search_index_delay_s=120)
    emu.clock.now = NOW + 1000
    new = emu.post("/contacts", {"email": "fresh@x.com"}).json()
    query = {"field": "email", "operator": "=", "value": "fresh@x.com"}
    assert emu.search(query).json()["total_count"] == 0
    emu.clock.now = NOW + 1200
    assert [c["id"] for c in emu.search(query).json()["data"]] == [new["id"]]


# --- control endpoints -------------------------------------------------------------------------


def test_request_log_and_fault_control(emu: Emulator) -> None:
    requests.delete(emu.url + "/_sandbox/requests", timeout=10)
    emu.post(
        "/contacts/search",
        {"query": {"field": "role", "operator": "=", "value": "lead"}},
        headers={"Intercom-Version": "2.14"},
    )
    log = requests.get(emu.url + "/_sandbox/requests", timeout=10).json()["requests"]
    assert len(log) == 1
    entry = log[0]
    assert entry["method"] == "POST" and entry["path"] == "/contacts/search"
    assert entry["body"]["query"]["value"] == "lead"
    assert entry["headers"]["Intercom-Version"] == "2.14"
    assert requests.get(emu.url + "/_sandbox/faults", timeout=10).json() == FaultConfig().to_dict()
    new = {**FaultConfig().to_dict(), "rate_limit_storm": 2}
    assert (
        requests.put(emu.url + "/_sandbox/faults", json=new, timeout=10).json()["rate_limit_storm"]
        == 2
    )
    assert [emu.get("/tags").status_code for _ in range(3)] == [429, 429, 200]
    assert (
        requests.put(emu.url + "/_sandbox/faults", json={"bogus": 1}, timeout=10).status_code == 400
    )
    touched = requests.post(
        emu.url + "/_sandbox/contacts/5f0000000000000000000001/touch",
        json={"updated_at": NOW + 7},
        timeout=10,
    )
    assert touched.status_code == 200
    assert emu.get("/contacts/5f0000000000000000000001").json()["updated_at"] == NOW + 7
    counts = requests.get(emu.url + "/_sandbox/counts", timeout=10).json()
    assert counts["contacts"] == 25 and counts["conversation_parts"] == 522


def test_config_round_trips_through_json() -> None:
    cfg = IntercomEmulatorConfig(
        timezone="UTC", faults=FaultConfig(error_rate=0.5, scroll_500_after_pages=2)
    )
    again = IntercomEmulatorConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


# --- companies ----------------------------------------------------------------------------------


def test_retrieve_company_by_company_id_name_and_id(emu: Emulator, validate: Any) -> None:
    by_key = emu.get("/companies", params={"company_id": "acct-3"}).json()
    validate(by_key, "company")
    assert by_key["type"] == "company" and by_key["name"] == "Company 3"
    assert by_key["id"] == "c0mp00000000000000000003" and by_key["app_id"] == "sbx4pp1d"
    by_name = emu.get("/companies", params={"name": "Company 0"}).json()
    assert by_name["tags"] == {
        "type": "tag.list",
        "tags": [{"type": "tag", "id": "100", "name": "tag-0"}],
    }
    # user_count follows attachments: users 1..24 are spread over companies 0..2 (i % 3).
    assert by_name["user_count"] == sum(1 for i in range(1, 25) if i % 5 and i % 3 == 0)
    missing = emu.get("/companies", params={"company_id": "nope"})
    assert missing.status_code == 404
    assert missing.json()["errors"][0] == {
        "code": "company_not_found",
        "message": "Company Not Found",
    }
    assert emu.get(f"/companies/{by_key['id']}").json() == by_key
    assert emu.get("/companies/nope").status_code == 404
    tagged = emu.get("/companies", params={"tag_id": "100"}).json()
    validate(tagged, "company_list")
    assert [c["company_id"] for c in tagged["data"]] == ["acct-0"]


def test_company_list_sorting_users_only_and_cap(
    make_emulator: Callable[..., Emulator], validate: Any
) -> None:
    emu = make_emulator(small_world(), companies_paging_cap=4)
    body = emu.post("/companies/list", params={"per_page": 2}).json()
    validate(body, "company_list")
    # Companies 0..10 hold contact 0 (a lead) only except 0..2, which have users.
    assert body["total_count"] == 3
    assert [c["company_id"] for c in body["data"]] == ["acct-0", "acct-1"]  # last_request_at desc
    assert body["pages"]["total_pages"] == 2 and body["pages"]["next"] == {
        "page": 2,
        "starting_after": None,
    }
    asc = emu.post("/companies/list", params={"order": "asc", "per_page": 15}).json()
    assert [c["company_id"] for c in asc["data"]] == ["acct-2", "acct-1", "acct-0"]
    assert asc["pages"]["next"] is None
    capped = emu.post("/companies/list", params={"page": 3, "per_page": 2})
    assert capped.status_code == 400
    assert capped.json()["errors"][0]["message"] == "page limit reached, please use scroll API"


def test_company_scroll_lifecycle(make_emulator: Callable[..., Emulator], validate: Any) -> None:
    emu = make_emulator(small_world(), scroll_page_size=5)
    first = emu.get("/companies/scroll").json()
    validate(first, "company_scroll")
    assert first["pages"] is None and first["total_count"] is None and len(first["data"]) == 5
    param = first["scroll_param"]
    second_scroll = emu.get("/companies/scroll")
    assert second_scroll.status_code == 400
    assert second_scroll.json()["errors"][0] == {
        "code": "scroll_exists",
        "message": "scroll already exists for this app",
    }
    seen = [c["id"] for c in first["data"]]
    while True:
        emu.clock.now += 30  # under the 60-s idle expiry
        page = emu.get("/companies/scroll", params={"scroll_param": param}).json()
        assert page["scroll_param"] == param
        if not page["data"]:
            break
        seen.extend(c["id"] for c in page["data"])
    assert len(seen) == 12 and len(set(seen)) == 12
    # After the empty page the param is dead and a new scroll may start.
    assert emu.get("/companies/scroll", params={"scroll_param": param}).status_code == 404
    fresh = emu.get("/companies/scroll").json()["scroll_param"]
    assert fresh != param
    # Idle for 60 s: the scroll expires (404), and the app can open another one.
    emu.clock.now += 60
    assert emu.get("/companies/scroll", params={"scroll_param": fresh}).status_code == 404
    assert emu.get("/companies/scroll", params={"scroll_param": "unknown"}).status_code == 404
    assert emu.get("/companies/scroll").status_code == 200


def test_company_scroll_injected_500(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(
        small_world(), scroll_page_size=5, faults=FaultConfig(scroll_500_after_pages=1)
    )
    param = emu.get("/companies/scroll").json()["scroll_param"]
    failed = emu.get("/companies/scroll", params={"scroll_param": param})
    assert failed.status_code == 500
    assert failed.json()["errors"][0]["message"] == (
        "Request failed due to an internal network error. Please restart the scroll operation."
    )
    assert emu.get("/companies/scroll", params={"scroll_param": param}).status_code == 404
    assert emu.get("/companies/scroll").status_code == 200  # restart from scratch


def test_company_contacts_and_segments(emu: Emulator, validate: Any) -> None:
    body = emu.get("/companies/c0mp00000000000000000001/contacts").json()
    validate(body, "company_attached_contacts")
    assert body["pages"]["per_page"] == 50
    assert (
        body["total_count"]
        == len(body["data"])
        == sum(1 for i in range(25) if i == 0 or i % 3 == 1)
    )
    assert emu.get("/companies/nope/contacts").status_code == 404
    segs = emu.get("/companies/c0mp00000000000000000001/segments").json()
    validate(segs, "company_attached_segments")


def test_attach_company_to_contact(emu: Emulator) -> None:
    cid = "5f0000000000000000000004"
    emu.clock.now = NOW + 9
    resp = emu.post(f"/contacts/{cid}/companies", {"id": "c0mp00000000000000000009"})
    assert resp.status_code == 200 and resp.json()["company_id"] == "acct-9"
    contact = emu.get(f"/contacts/{cid}").json()
    assert contact["companies"]["total_count"] == 2 and contact["updated_at"] == NOW + 9
    assert emu.post(f"/contacts/{cid}/companies", {}).status_code == 400
    assert emu.post(f"/contacts/{cid}/companies", {"id": "nope"}).status_code == 404


# --- conversations ------------------------------------------------------------------------------


def test_conversation_list_and_pages(emu: Emulator, validate: Any) -> None:
    def fetch(cursor: str | None) -> dict[str, Any]:
        params: dict[str, Any] = {"per_page": 2}
        if cursor:
            params["starting_after"] = cursor
        body = emu.get("/conversations", params=params).json()
        validate(body, "conversation_list")
        assert body["type"] == "conversation.list"
        return body

    convs = all_pages(fetch, key="conversations")
    assert [c["id"] for c in convs] == ["1004", "1003", "1002", "1001", "1000"]  # updated_at desc
    assert all("conversation_parts" not in c for c in convs)
    assert emu.get("/conversations").json()["pages"]["per_page"] == 20
    first = convs[-1]
    assert first["contacts"] == {
        "type": "contact.list",
        "contacts": [
            {"type": "contact", "id": "5f0000000000000000000000", "external_id": "user-0"}
        ],
    }
    assert first["teammates"] is None
    assert convs[-2]["teammates"] == {
        "type": "admin.list",
        "teammates": [{"type": "admin", "id": "991267501"}],
    }
    assert first["tags"]["tags"][0]["name"] == "tag-2"
    assert first["statistics"]["count_conversation_parts"] == 510


def test_conversation_with_more_than_500_parts(emu: Emulator, validate: Any) -> None:
    conv = emu.get("/conversations/1000").json()
    validate(conv, "conversation")
    parts = conv["conversation_parts"]
    assert parts["type"] == "conversation_part.list"
    assert parts["total_count"] == 510 and len(parts["conversation_parts"]) == 500
    assert parts["conversation_parts"][0]["body"] == "<p>part 10</p>"  # the 500 most recent
    assert parts["conversation_parts"][-1]["body"] == "<p>part 509</p>"
    assert conv["statistics"]["count_conversation_parts"] == 510
    assert all(isinstance(p["id"], str) for p in parts["conversation_parts"])
    plain = emu.get("/conversations/1001", params={"display_as": "plaintext"}).json()
    assert plain["conversation_parts"]["conversation_parts"][0]["body"] == "part 0"
    missing = emu.get("/conversations/999")
    assert missing.status_code == 404
    assert missing.json()["errors"][0] == {"code": "not_found", "message": "Resource Not Found"}


def test_conversation_search(emu: Emulator, validate: Any) -> None:
    def ids(query: Any, **extra: Any) -> list[str]:
        resp = emu.search(query, entity="conversations", **extra)
        assert resp.status_code == 200, resp.text
        validate(resp.json(), "conversation_list")
        return [c["id"] for c in resp.json()["conversations"]]

    pivot = NOW - 30000 + 100  # updated_at of 1002
    asc = {"sort": {"field": "updated_at", "order": "ascending"}}
    assert ids({"field": "updated_at", "operator": ">", "value": pivot}, **asc) == ["1003", "1004"]
    assert ids({"field": "contact_ids", "operator": "=", "value": "5f0000000000000000000003"}) == [
        "1003"
    ]
    assert ids({"field": "teammate_ids", "operator": "IN", "value": ["991267501"]}, **asc) == [
        "1001",
        "1003",
    ]
    assert ids({"field": "tag_ids", "operator": "=", "value": "102"}) == ["1000"]
    assert ids({"field": "admin_assignee_id", "operator": "=", "value": 991267501}, **asc) == [
        "1001",
        "1003",
    ]
    assert len(ids({"field": "source.body", "operator": "=", "value": "support"})) == 5
    assert ids({"field": "source.body", "operator": "=", "value": "need support"}) == []
    assert ids({"field": "statistics.count_conversation_parts", "operator": ">", "value": 100}) == [
        "1000"
    ]
    assert (
        emu.search(
            {"field": "open", "operator": "~", "value": "x"}, entity="conversations"
        ).status_code
        == 400
    )
    inclusive = {"field": "updated_at", "operator": ">", "value": pivot}
    assert emu.search(inclusive, entity="conversations").json()["total_count"] == 2


def test_conversation_search_inclusive_switch(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(small_world(), conversation_search_gt_inclusive=True)
    pivot = NOW - 30000 + 100
    body = emu.search(
        {"field": "updated_at", "operator": ">", "value": pivot}, entity="conversations"
    ).json()
    assert body["total_count"] == 3


def test_store_conversation_helpers(emu: Emulator) -> None:
    emu.clock.now = NOW + 77
    conv = emu.store.create_conversation(
        contacts=["5f0000000000000000000001"], conversation_parts=[{"body": "hi"}]
    )
    assert conv["updated_at"] == NOW + 77 and conv["conversation_parts"]["total_count"] == 1
    emu.clock.now = NOW + 88
    updated = emu.store.update_conversation(
        conv["id"], conversation_parts=[{"body": "again", "part_type": "note"}]
    )
    assert updated["updated_at"] == NOW + 88 and updated["conversation_parts"]["total_count"] == 2
    assert emu.store.count("conversations") == 6


# --- reference data and events -----------------------------------------------------------------


def test_reference_lists(emu: Emulator, validate: Any) -> None:
    admins = emu.get("/admins").json()
    validate(admins, "admin_list")
    assert [a["id"] for a in admins["admins"]] == ["991267501", "991267502"]
    validate(emu.get("/admins/991267501").json(), "admin")
    teams = emu.get("/teams").json()
    validate(teams, "team_list")
    assert teams["teams"][0]["admin_ids"] == [991267501]
    tags = emu.get("/tags").json()
    validate(tags, "tag_list")
    assert len(tags["data"]) == 15
    segments = emu.get("/segments", params={"include_count": "true"}).json()
    validate(segments, "segment_list")
    assert segments["segments"][0]["count"] == 3
    assert "count" not in emu.get("/segments").json()["segments"][0]


def test_data_attributes(emu: Emulator, validate: Any) -> None:
    contact_attrs = emu.get("/data_attributes", params={"model": "contact"}).json()
    validate(contact_attrs, "data_attribute_list")
    names = [a["full_name"] for a in contact_attrs["data"]]
    assert "email" in names and "custom_attributes.plan" in names
    assert all(a["model"] == "contact" for a in contact_attrs["data"])
    company_attrs = emu.get("/data_attributes", params={"model": "company"}).json()
    assert all(a["model"] == "company" for a in company_attrs["data"])
    created = emu.post(
        "/data_attributes", {"name": "Mithril Shirt", "model": "company", "data_type": "string"}
    )
    assert created.status_code == 200
    validate(created.json(), "data_attribute")
    assert (
        created.json()["full_name"] == "custom_attributes.Mithril Shirt"
        and created.json()["custom"] is True
    )
    dup = emu.post(
        "/data_attributes", {"name": "Mithril Shirt", "model": "contact", "data_type": "integer"}
    )
    assert dup.json()["errors"][0]["message"] == (
        "You already have 'Mithril Shirt' in your company data. To save this as new people data, "
        "use a different name."
    )
    bad_name = emu.post(
        "/data_attributes", {"name": "!nv@l!d n@me", "model": "company", "data_type": "string"}
    )
    assert bad_name.status_code == 400
    assert (
        emu.post(
            "/data_attributes", {"name": "x", "model": "company", "data_type": "mithril"}
        ).json()["errors"][0]["message"]
        == "Data Type isn't an option"
    )
    assert (
        emu.post(
            "/data_attributes", {"name": "x", "model": "ticket", "data_type": "string"}
        ).status_code
        == 400
    )
    listed = emu.post(
        "/data_attributes",
        {
            "name": "Size band",
            "model": "contact",
            "data_type": "options",
            "options": [{"value": "1-10"}, {"value": "11-50"}],
        },
    ).json()
    assert listed["data_type"] == "string" and listed["options"] == ["1-10", "11-50"]
    # The new attribute types custom-attribute search.
    emu.put("/contacts/5f0000000000000000000001", {"custom_attributes": {"Size band": "1-10"}})
    found = emu.search(
        {"field": "custom_attributes.Size band", "operator": "=", "value": "1-10"}
    ).json()
    assert [c["id"] for c in found["data"]] == ["5f0000000000000000000001"]


def test_events_listing_window_and_next_url(emu: Emulator, validate: Any) -> None:
    cid = "5f0000000000000000000001"
    body = emu.get(
        "/events", params={"type": "user", "intercom_user_id": cid, "per_page": 2}
    ).json()
    validate(body, "data_event_list")
    assert body["type"] == "event.list"
    assert [e["id"] for e in body["events"]] == ["ev1", "ev2"]
    nxt = body["pages"]["next"]
    assert nxt.startswith(emu.url + "/events?")
    rest = emu.http.get(nxt, timeout=10).json()
    assert [e["id"] for e in rest["events"]] == ["ev3"]  # ev100 is older than 90 days
    assert "next" not in rest["pages"]
    by_email = emu.get("/events", params={"type": "user", "email": "person1@example1.com"}).json()
    assert len(by_email["events"]) == 3
    summary = emu.get(
        "/events", params={"type": "user", "user_id": "user-1", "summary": "true"}
    ).json()
    validate(summary, "data_event_summary")
    assert summary["events"][0]["count"] == 4  # summaries include events older than 90 days
    assert summary["events"][0]["first"].endswith("+00:00")
    assert emu.get("/events", params={"type": "user"}).status_code == 400


# --- faults ---------------------------------------------------------------------------------------


def test_error_rate_answers_5xx_with_error_bodies(
    make_emulator: Callable[..., Emulator], validate: Any
) -> None:
    emu = make_emulator(small_world(2), faults=FaultConfig(error_rate=1.0, seed=7))
    statuses = set()
    for _ in range(30):
        resp = emu.get("/me")
        statuses.add(resp.status_code)
        validate(resp.json(), "error")
        assert "X-RateLimit-Remaining" in resp.headers
        if resp.status_code == 503:
            assert resp.json()["errors"][0] == {
                "code": "service_unavailable",
                "message": "Sorry, the API service is temporarily unavailable",
            }
    assert statuses == {500, 502, 503}


def test_storm_slow_empty_and_dropped(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(small_world(2), faults=FaultConfig(rate_limit_storm=2, slow_ms=150))
    assert [emu.get("/tags").status_code for _ in range(3)] == [429, 429, 200]
    start = datetime.now().timestamp()
    emu.get("/tags")
    assert datetime.now().timestamp() - start >= 0.15
    fault_url = emu.url + "/_sandbox/faults"
    requests.put(fault_url, json={"empty_body_rate": 1.0}, timeout=10)
    empty = emu.get("/tags")
    assert empty.status_code == 200 and empty.content == b""
    requests.put(fault_url, json={"drop_connection_rate": 1.0}, timeout=10)
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.url + "/tags", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    requests.put(fault_url, json={}, timeout=10)
    assert (
        requests.get(
            emu.url + "/tags", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        ).status_code
        == 200
    )


def test_mutate_while_paging_moves_records(make_emulator: Callable[..., Emulator]) -> None:
    """A naive window ``updated_at < end`` loses records touched mid-run; a keyed dedupe does not
    duplicate them when they reappear later in ascending order."""
    emu = make_emulator(
        small_world(), faults=FaultConfig(mutate_while_paging=True, mutate_per_page=3, seed=1)
    )
    emu.clock.now = NOW + 10_000
    query = {"field": "role", "operator": "=", "value": "user"}
    sort = {"field": "updated_at", "order": "ascending"}
    seen: list[str] = []
    cursor = None
    while True:
        pagination: dict[str, Any] = {"per_page": 5}
        if cursor:
            pagination["starting_after"] = cursor
        body = emu.search(query, pagination=pagination, sort=sort).json()
        seen.extend(c["id"] for c in body["data"])
        if "next" not in body["pages"]:
            break
        cursor = body["pages"]["next"]["starting_after"]
    touched = emu.store.query(
        "SELECT COUNT(*) FROM contacts WHERE updated_at = ?", (NOW + 10_000,)
    )[0][0]
    assert touched > 0
    assert len(seen) > len(set(seen))  # touched records moved behind the cursor and came back
    assert len(set(seen)) == 20


# --- bulk load and webhooks ---------------------------------------------------------------------


def test_load_world_streams_generators(tmp_path: pathlib.Path) -> None:
    store = IntercomStore(tmp_path / "big.sqlite")
    consumed = []

    def contacts() -> Iterator[dict[str, Any]]:
        for i in range(12_000):
            consumed.append(i)
            yield {
                "id": f"{i:024x}",
                "email": f"u{i}@x.com",
                "created_at": NOW - i,
                "updated_at": NOW - i,
                "tags": ["1"] if i % 2 else [],
            }

    counts = store.load_world(
        IntercomWorldData(contacts=contacts(), tags=[{"id": "1", "name": "t"}])
    )
    assert counts["contacts"] == 12_000 and counts["tags"] == 1
    assert store.count("contacts") == 12_000
    store.update_contact(f"{5:024x}", name="Five")
    assert store.get_contact(f"{5:024x}")["name"] == "Five"
    store.reset()
    assert store.count("contacts") == 0
    store.close()


def test_webhook_delivery_is_signed() -> None:
    from werkzeug.wrappers import Request, Response

    from intercom_salesforce.sandbox.intercom.webhooks import deliver, sign

    received: list[tuple[dict[str, str], bytes]] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> Any:
        req = Request(environ)
        received.append((dict(req.headers), req.get_data()))
        return Response("ok")(environ, start_response)

    server = start_in_thread(receiver)
    try:
        cfg = IntercomEmulatorConfig()
        resp = deliver(
            server.url + "/hook",
            "contact.user.created",
            {"type": "contact", "id": "c1"},
            cfg,
            now=NOW,
        )
        assert resp.status_code == 200
    finally:
        threading.Thread(target=server.stop, daemon=True).start()
    headers, body = received[0]
    assert headers["User-Agent"] == "intercom-parrot-service-client/1.0"
    assert headers["X-Hub-Signature"] == sign(body, cfg.client_secret)
    assert len(headers["X-Hub-Signature"]) == len("sha1=") + 40
    envelope = json.loads(body)
    assert envelope["type"] == "notification_event" and envelope["topic"] == "contact.user.created"
    assert envelope["id"].startswith("notif_") and envelope["data"]["item"]["id"] == "c1"
    assert envelope["app_id"] == "sbx4pp1d" and envelope["created_at"] == NOW


# --- properties of the search translation ---------------------------------------------------------


@pytest.fixture(scope="module")
def day_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IntercomStore]:
    """200 contacts spread over a DST change in Los Angeles (2025-11-02), one every ~97 minutes."""
    store = IntercomStore(tmp_path_factory.mktemp("prop") / "days.sqlite")
    start = la(2025, 10, 25)
    store.load_world(
        IntercomWorldData(
            contacts=[
                {
                    "id": f"{i:024x}",
                    "email": f"p{i}@x.com",
                    "created_at": start,
                    "updated_at": start + i * 5820,
                }
                for i in range(200)
            ]
        )
    )
    yield store
    store.close()


@settings(max_examples=60, deadline=None)
@given(
    offset=st.integers(min_value=-86400, max_value=200 * 5820 + 86400),
    op=st.sampled_from(["=", ">", "<"]),
    tz_name=st.sampled_from(["America/Los_Angeles", "UTC", "Asia/Kolkata"]),
)
def test_day_semantics_match_a_python_oracle(
    day_store: IntercomStore, offset: int, op: str, tz_name: str
) -> None:
    from intercom_salesforce.sandbox.intercom.search import DateRules, QueryCompiler
    from intercom_salesforce.sandbox.intercom.search_fields import contact_resolver

    tz = ZoneInfo(tz_name)
    value = la(2025, 10, 25) + offset
    where, params = QueryCompiler(contact_resolver({}), DateRules("day", tz)).compile(
        {"field": "updated_at", "operator": op, "value": value}
    )
    got = {r[0] for r in day_store.query(f"SELECT id FROM contacts WHERE {where}", params)}  # noqa: S608
    day = datetime.fromtimestamp(value, tz).date()
    expected = set()
    for rid, ts in day_store.query("SELECT id, updated_at FROM contacts"):
        local = datetime.fromtimestamp(ts, tz).date()
        if (
            (op == "=" and local == day)
            or (op == ">" and local >= day + timedelta(days=1))
            or (op == "<" and local < day)
        ):
            expected.add(rid)
    assert got == expected


def test_search_paging_sorted_on_a_string_field(emu: Emulator) -> None:
    def fetch(cursor: str | None) -> dict[str, Any]:
        pagination: dict[str, Any] = {"per_page": 4}
        if cursor:
            pagination["starting_after"] = cursor
        return emu.search(
            {"field": "email", "operator": "~", "value": "example"},
            pagination=pagination,
            sort={"field": "email", "order": "ascending"},
        ).json()

    records = all_pages(fetch)
    emails = [r["email"] for r in records]
    assert len(emails) == 25 and emails == sorted(emails) and len(set(emails)) == 25


def test_path_prefix(make_emulator: Callable[..., Emulator]) -> None:
    emu = make_emulator(small_world(3), path_prefix="/intercom")
    assert emu.get("/intercom/me").json()["app"]["id_code"] == "sbx4pp1d"
    body = emu.get(
        "/intercom/events",
        params={"type": "user", "intercom_user_id": "5f0000000000000000000001", "per_page": 1},
    ).json()
    assert body["pages"]["next"].startswith(emu.url + "/intercom/events?")
    assert emu.get("/me").status_code == 404
