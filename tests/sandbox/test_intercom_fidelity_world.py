"""The seeded Intercom world is coherent, as a real workspace's data is, over HTTP.

Tools run against the sandbox read the seeded world the way they read a real workspace: a closed
conversation ends with its ``close`` part, its statistics agree with its parts, every custom
attribute a company carries is described by ``/data_attributes``, and the truncated embedded lists
of a contact (more than 10 companies, more than 10 notes) point at endpoints that return the rest.
Each test reads the default seeded world (``tests/conftest.py``) and validates what it reads
against the 2.14 description.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from intercom_salesforce.sandbox.runtime import SandboxState
from intercom_salesforce.settings import SANDBOX_INTERCOM_TOKEN
from tests.helpers import Sandbox, intercom_description, openapi_validator, sandbox_from

HEADERS = {
    "Authorization": f"Bearer {SANDBOX_INTERCOM_TOKEN}",
    "Accept": "application/json",
    "Intercom-Version": "2.14",
}
#: Conversation parts that are a reply of their author (the statistics' ``*_reply_at``).
REPLY_TYPES = ("comment", "open")


class Workspace:
    """The seeded Intercom emulator, read over HTTP with a validating ``get``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.validate = openapi_validator("2.14")

    def get(self, path: str, schema: str | None = None, **params: Any) -> Any:
        resp = self.http.get(self.url + path, headers=HEADERS, params=params, timeout=30)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        if schema is not None:
            self.validate(body, schema)
        return body

    def conversations(self) -> list[dict[str, Any]]:
        """Every conversation with its parts (the world's conversations hold at most 500 but the
        long one, whose oldest parts the API no longer shows)."""
        out, cursor = [], None
        while True:
            params: dict[str, Any] = {"per_page": 150}
            if cursor:
                params["starting_after"] = cursor
            page = self.get("/conversations", "conversation_list", **params)
            out.extend(self.get(f"/conversations/{c['id']}") for c in page["conversations"])
            nxt = page["pages"].get("next")
            if not nxt:
                return out
            cursor = nxt["starting_after"]

    def contacts(self) -> list[dict[str, Any]]:
        out, cursor = [], None
        while True:
            params: dict[str, Any] = {"per_page": 150}
            if cursor:
                params["starting_after"] = cursor
            page = self.get("/contacts", "contact_list", **params)
            out.extend(page["data"])
            nxt = page["pages"].get("next")
            if not nxt:
                return out
            cursor = nxt["starting_after"]


@pytest.fixture(scope="module")
def workspace(
    seeded_state: SandboxState, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """One served copy of the default world for the module: these tests only read."""
    sandbox: Sandbox = sandbox_from(seeded_state, tmp_path_factory.mktemp("world") / "sandbox")
    try:
        yield Workspace(sandbox.running.intercom_url)
    finally:
        sandbox.running.stop()


@pytest.fixture(scope="module")
def conversations(workspace: Workspace) -> list[dict[str, Any]]:
    convs = workspace.conversations()
    for conv in convs:
        workspace.validate(conv, "conversation")
    return convs


def _complete(conv: dict[str, Any]) -> bool:
    """Whether every part of ``conv`` is shown (the API shows the 500 most recent)."""
    parts = conv["conversation_parts"]
    return parts["total_count"] == len(parts["conversation_parts"])


def _reply_times(conv: dict[str, Any], admin: bool) -> list[int]:
    return [
        p["created_at"]
        for p in conv["conversation_parts"]["conversation_parts"]
        if p["part_type"] in REPLY_TYPES and (p["author"]["type"] == "admin") == admin
    ]


# --- conversations ----------------------------------------------------------------------------


def test_closed_conversations_end_with_their_close_part(
    conversations: list[dict[str, Any]],
) -> None:
    closed = [c for c in conversations if c["state"] == "closed"]
    assert closed, "the world has closed conversations"
    for conv in closed:
        parts = conv["conversation_parts"]["conversation_parts"]
        last = parts[-1]
        assert last["part_type"] == "close", (conv["id"], [p["part_type"] for p in parts[-3:]])
        assert last["author"]["type"] == "admin"
        stats = conv["statistics"]
        assert stats["last_close_at"] == last["created_at"]
        assert stats["first_close_at"] <= stats["last_close_at"]
        assert stats["last_closed_by_id"] == last["author"]["id"]
        assert conv["updated_at"] >= last["created_at"]


def test_newest_part_is_never_older_than_the_statistics(
    conversations: list[dict[str, Any]],
) -> None:
    for conv in conversations:
        parts = conv["conversation_parts"]["conversation_parts"]
        newest = max(p["created_at"] for p in parts)
        stats = conv["statistics"]
        for key in ("last_contact_reply_at", "last_admin_reply_at", "last_close_at"):
            if key in stats:
                assert newest >= stats[key], (conv["id"], key)
        assert conv["updated_at"] >= newest
        assert [p["created_at"] for p in parts] == sorted(p["created_at"] for p in parts)


def test_statistics_carry_the_documented_timing_fields(
    conversations: list[dict[str, Any]],
) -> None:
    for conv in conversations:
        stats, created = conv["statistics"], conv["created_at"]
        for key in ("last_contact_reply_at", "last_assignment_at", "time_to_assignment"):
            assert key in stats, (conv["id"], key)
        assert stats["first_assignment_at"] <= stats["last_assignment_at"]
        assert stats["time_to_assignment"] == stats["first_assignment_at"] - created
        admin_replies = _reply_times(conv, admin=True)
        if admin_replies:
            assert stats["time_to_admin_reply"] == stats["first_admin_reply_at"] - created
            assert "median_time_to_reply" in stats
        if conv["state"] == "closed":
            assert stats["time_to_first_close"] == stats["first_close_at"] - created
            assert stats["time_to_last_close"] == stats["last_close_at"] - created
        if not _complete(conv):
            continue
        if admin_replies:
            assert stats["first_admin_reply_at"] == admin_replies[0]
            assert stats["last_admin_reply_at"] == admin_replies[-1]
        contact_replies = _reply_times(conv, admin=False)
        assert stats["last_contact_reply_at"] == max([created, *contact_replies])
        assignments = [
            p["created_at"]
            for p in conv["conversation_parts"]["conversation_parts"]
            if p["part_type"] == "assignment"
        ]
        assert stats["count_assignments"] == 1 + len(assignments)
        assert stats["last_assignment_at"] == max([stats["first_assignment_at"], *assignments])


def test_conversation_tags_carry_when_and_by_whom(
    workspace: Workspace, conversations: list[dict[str, Any]]
) -> None:
    admins = {a["id"] for a in workspace.get("/admins", "admin_list")["admins"]}
    tagged = [c for c in conversations if c["tags"]["tags"]]
    assert tagged
    for conv in tagged:
        for tag in conv["tags"]["tags"]:
            assert conv["created_at"] <= tag["applied_at"] <= conv["updated_at"]
            assert tag["applied_by"]["type"] == "admin"
            assert tag["applied_by"]["id"] in admins


# --- companies and contacts -------------------------------------------------------------------


def _all_companies(workspace: Workspace) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        body = workspace.get("/companies", "company_list", page=page, per_page=50)
        out.extend(body["data"])
        if page >= body["pages"]["total_pages"]:
            return out
        page += 1


def test_company_custom_attributes_are_described(workspace: Workspace) -> None:
    companies = _all_companies(workspace)
    carried = {name for c in companies for name in c["custom_attributes"]}
    assert carried, "the world's companies carry custom attributes"
    listed = workspace.get("/data_attributes", "data_attribute_list", model="company")["data"]
    described = {a["name"]: a for a in listed if a["custom"]}
    assert carried <= set(described), carried - set(described)
    for company in companies:
        for name, value in company["custom_attributes"].items():
            attr = described[name]
            assert attr["model"] == "company"
            assert attr["full_name"] == f"custom_attributes.{name}"
            if attr.get("options"):
                assert value in attr["options"], (name, value)


def _check_embedded(
    workspace: Workspace, contact: dict[str, Any], key: str, item: Callable[[Any], str]
) -> None:
    embedded = contact[key]
    assert embedded["has_more"] is True
    assert len(embedded["data"]) == 10
    assert embedded["url"] == f"/contacts/{contact['id']}/{key}"
    full = workspace.get(embedded["url"], per_page=50)
    assert full["total_count"] == embedded["total_count"] > 10
    ids = [item(x) for x in full["data"]]
    assert len(ids) == embedded["total_count"] == len(set(ids))
    assert [x["id"] for x in embedded["data"]] == ids[:10]


def test_truncated_embedded_lists_point_at_the_full_lists(workspace: Workspace) -> None:
    contacts = workspace.contacts()
    many_companies = [c for c in contacts if c["companies"]["total_count"] > 10]
    many_notes = [c for c in contacts if c["notes"]["total_count"] > 10]
    assert many_companies, "some contacts belong to more than 10 companies"
    assert many_notes, "some contacts carry more than 10 notes"
    for contact in many_companies:
        _check_embedded(workspace, contact, "companies", lambda x: x["id"])
    for contact in many_notes:
        _check_embedded(workspace, contact, "notes", lambda x: x["id"])
        notes = workspace.get(f"/contacts/{contact['id']}/notes", "note_list", per_page=50)
        for note in notes["data"]:
            assert note["contact"]["id"] == contact["id"]
            assert contact["created_at"] <= note["created_at"] <= contact["updated_at"]


def test_contact_tags_carry_when_and_by_whom(workspace: Workspace) -> None:
    admins = {a["id"] for a in workspace.get("/admins", "admin_list")["admins"]}
    tagged = [c for c in workspace.contacts() if c["tags"]["total_count"]][:20]
    assert tagged
    for contact in tagged:
        tags = workspace.get(f"/contacts/{contact['id']}/tags", "tag_list")["data"]
        assert len(tags) == contact["tags"]["total_count"]
        for tag in tags:
            assert contact["created_at"] <= tag["applied_at"] <= contact["updated_at"]
            assert tag["applied_by"] == {"type": "admin", "id": tag["applied_by"]["id"]}
            assert tag["applied_by"]["id"] in admins


# --- the workspace ----------------------------------------------------------------------------


def test_me_has_every_documented_field(workspace: Workspace) -> None:
    me = workspace.get("/me", "admin_with_app")
    schemas = intercom_description("2.14")["components"]["schemas"]
    assert set(me) == set(schemas["admin_with_app"]["properties"])
    assert set(me["app"]) >= set(schemas["app"]["properties"])
    admin = workspace.get(f"/admins/{me['id']}", "admin")
    for key in ("name", "email", "job_title", "away_mode_enabled", "away_mode_reassign"):
        assert me[key] == admin[key], key
    assert me["team_ids"] == admin["team_ids"]


def test_descriptions_are_the_ones_kept_with_the_tests() -> None:
    """The descriptions the tests validate against are Intercom's files, as published."""
    for version in ("2.14", "2.16"):
        path = Path(__file__).parent / "openapi" / f"intercom-openapi-{version}.yaml"
        assert intercom_description(version)["info"]["version"] == version, path
