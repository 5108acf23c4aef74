"""Values with quotes and backslashes in SOQL, against the Salesforce emulator over TLS.

People are called O'Brien, and Salesforce stores whatever was typed, backslashes included. A value
pasted into SOQL between quotes either breaks the query or changes what it selects, so every query
carrying a value goes through ``intercom_salesforce.resources.soql``. These tests check the helper
finds exactly the intended records, show what the unescaped form does instead, and run the code
paths that build SOQL from stored values (Note adoption, the mirror) on such records.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from intercom_salesforce.assets.mirror.salesforce_objects import MIRROR_ASSETS
from intercom_salesforce.assets.push.conversations import adopt_existing_notes
from intercom_salesforce.resources.salesforce import SalesforceClient
from intercom_salesforce.resources.soql import (
    in_list,
    like_escape,
    quote,
    soql_datetime,
    starts_with,
)
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.resources.warehouse import WarehouseResource
from intercom_salesforce.sandbox.runtime import SandboxState, start
from intercom_salesforce.sandbox.salesforce.soql import parse_query
from intercom_salesforce.sandbox.tls import trusting_session
from intercom_salesforce.warehouse import MIRROR_LEADS, ensure_warehouse
from tests.helpers import Sandbox

# Last names as typed: a quote, a backslash, an escaped-looking quote, a trailing backslash, and
# one written to widen an unescaped query to every Lead.
NAMES = ["O'Brien", "back\\slash", "quote\\'d", "trail\\", "''", "x' OR LastName != 'x", 'dq"q']
# Email syntax allows apostrophes (not backslashes, which Salesforce refuses in emails)
EMAILS = ["o'brien@example.com", "o''neil@example.com", "d'arcy.o'hara@example.com"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The emulators with only the org's baseline records: each test adds what it needs."""
    state = SandboxState(tmp_path_factory.mktemp("soql") / "sandbox")
    running = start(state)
    yield Sandbox(state, running, {})
    running.stop()


@pytest.fixture(scope="module")
def client(sandbox: Sandbox) -> SalesforceClient:
    return sandbox.salesforce().client()


@pytest.fixture(scope="module")
def leads(client: SalesforceClient) -> dict[str, str]:
    """Lead Id by last name (the tricky names), each with one of the tricky emails or none."""
    ids = {}
    for i, name in enumerate(NAMES):
        record = {"LastName": name, "Company": f"Escaping {i}", "Status": "Open - Not Contacted"}
        if i < len(EMAILS):
            record["Email"] = EMAILS[i]
        ids[name] = client.call(lambda sf, r=record: sf.Lead.create(r))["id"]
    return ids


def soql(client: SalesforceClient, query: str) -> list[dict]:
    return client.call(lambda sf: sf.query_all(query))["records"]


# -- the helper, exactly --------------------------------------------------------------------------
def test_quote_escapes_as_salesforce_documents() -> None:
    assert quote("O'Brien") == r"'O\'Brien'"
    assert quote("back\\slash") == r"'back\\slash'"
    assert quote("quote\\'d") == r"'quote\\\'d'"
    assert quote("trail\\") == r"'trail\\'"
    assert quote("two\nlines\t") == r"'two\nlines\t'"
    assert quote(None) == "null" and quote(True) == "true" and quote(3) == "3"
    assert quote(["a'", "b"]) == r"('a\'','b')"
    assert in_list(["b", "a'", "b"]) == r"('b','a\'')"
    assert like_escape("50%_off\\") == r"50\%\_off\\"
    assert starts_with("[Intercom #") == "'[Intercom #%'"
    assert starts_with("O'B") == r"'O\'B%'"
    stamp = datetime(2025, 3, 4, 5, 6, 7, 891_234, tzinfo=UTC)
    assert quote(stamp) == soql_datetime(stamp) == "2025-03-04T05:06:07.891Z"
    with pytest.raises(ValueError):
        quote([])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_any_text_survives_quoting(value: str) -> None:
    """Whatever a person typed, the quoted literal is one string token holding exactly it
    (read back by the emulator's SOQL parser, which follows Salesforce's escape rules)."""
    query = parse_query(f"SELECT Id FROM Lead WHERE LastName = {quote(value)} AND Company != null")
    assert value in query.where_params


# -- against the emulator -------------------------------------------------------------------------
def test_quoted_names_find_exactly_their_lead(
    client: SalesforceClient, leads: dict[str, str]
) -> None:
    for name, lead_id in leads.items():
        found = soql(client, f"SELECT Id, LastName FROM Lead WHERE LastName = {quote(name)}")
        assert [(r["Id"], r["LastName"]) for r in found] == [(lead_id, name)], name
    both = soql(client, f"SELECT Id FROM Lead WHERE LastName IN {in_list(NAMES[:3])}")
    assert {r["Id"] for r in both} == {leads[n] for n in NAMES[:3]}


def test_quoted_emails_find_exactly_their_lead(
    client: SalesforceClient, leads: dict[str, str]
) -> None:
    for name, email in zip(NAMES, EMAILS, strict=False):
        found = soql(client, f"SELECT Id, Email FROM Lead WHERE Email = {quote(email)}")
        assert [(r["Id"], r["Email"]) for r in found] == [(leads[name], email)]


def test_pasted_values_break_or_widen_the_query(
    client: SalesforceClient, leads: dict[str, str]
) -> None:
    """Why the helper exists: the same queries with the value pasted between quotes."""
    with pytest.raises(SalesforceMalformedRequest):
        soql(client, "SELECT Id FROM Lead WHERE LastName = 'O'Brien'")
    with pytest.raises(SalesforceMalformedRequest):
        soql(client, "SELECT Id FROM Lead WHERE LastName = 'trail\\'")
    widened = soql(client, "SELECT Id FROM Lead WHERE LastName = 'x' OR LastName != 'x'")
    assert len(widened) == len(leads)  # every Lead, not the one named so


def test_like_prefix_takes_wildcards_and_quotes_literally(
    client: SalesforceClient, leads: dict[str, str]
) -> None:
    made = {
        name: client.call(
            lambda sf, n=name: sf.Lead.create(
                {"LastName": n, "Company": "Like", "Status": "Open - Not Contacted"}
            )
        )["id"]
        for name in ("50%_off O'Neil", "50xyoff O'Neil")
    }
    literal = soql(client, f"SELECT Id FROM Lead WHERE LastName LIKE {starts_with('50%_off O')}")
    assert [r["Id"] for r in literal] == [made["50%_off O'Neil"]]
    quoted = soql(client, f"SELECT Id FROM Lead WHERE LastName LIKE {starts_with('O' + chr(39))}")
    assert [r["Id"] for r in quoted] == [leads["O'Brien"]]


def test_like_prefix_with_a_backslash(client: SalesforceClient, leads: dict[str, str]) -> None:
    found = soql(client, f"SELECT Id FROM Lead WHERE LastName LIKE {starts_with('back' + chr(92))}")
    assert [r["Id"] for r in found] == [leads["back\\slash"]]


# -- code paths that build SOQL from stored values ------------------------------------------------
def test_note_adoption_with_quotes_and_backslashes(
    client: SalesforceClient, leads: dict[str, str], tmp_path: Path
) -> None:
    """Notes found by the conversation id in their title, on Leads whose names and Note titles
    hold quotes and backslashes; a parent id that is not an Id is never put in the query."""
    titles = {
        "c-1": "[Intercom #c-1] O'Brien asked \\'why\\'",
        "c-2": "[Intercom #c-2] path C:\\temp\\",
    }
    parents = {"c-1": leads["O'Brien"], "c-2": leads["trail\\"]}
    notes = {
        conv: client.call(
            lambda sf, c=conv: sf.Note.create(
                {"ParentId": parents[c], "Title": titles[c], "Body": "\\' and '"}
            )
        )["id"]
        for conv in titles
    }
    conn = duckdb.connect(str(tmp_path / "adopt.duckdb"))
    ensure_warehouse(conn)
    conn.execute(
        "CREATE TEMP TABLE _conversations (conversation_id VARCHAR, sf_id VARCHAR, _pending BOOL)"
    )
    conn.executemany(
        "INSERT INTO _conversations VALUES (?, ?, false)",
        [("c-1", parents["c-1"]), ("c-2", parents["c-2"]), ("c-3", "x' OR Title != 'x")],
    )
    assert adopt_existing_notes(conn, client) == 2
    adopted = dict(
        conn.execute(
            "SELECT external_id, sf_id FROM sync.sync_state WHERE sobject = 'Note'"
        ).fetchall()
    )
    conn.close()
    assert adopted == notes


def test_mirror_keeps_quotes_and_backslashes(
    sandbox: Sandbox, leads: dict[str, str], tmp_path: Path
) -> None:
    """The Bulk query CSV round trip: the mirror holds each Lead's name-bearing values exactly,
    so matching in DuckDB compares the real strings."""
    mirror = next(a for a in MIRROR_ASSETS if dg.AssetKey("salesforce_leads_mirror") in a.keys)
    result = dg.materialize(
        [mirror],
        resources={
            "salesforce": sandbox.salesforce(),
            "warehouse": WarehouseResource(database=str(tmp_path / "warehouse.duckdb")),
            "sync_settings": SyncSettings(work_dir=str(tmp_path / "work")),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    emails = dict(con.execute(f'SELECT "Id", "Email" FROM {MIRROR_LEADS}').fetchall())
    con.close()
    for name, email in zip(NAMES, EMAILS, strict=False):
        assert emails[leads[name]] == email
    sf = Salesforce(
        instance_url=sandbox.running.salesforce_url,
        session_id=sandbox.salesforce().client().sf.session_id,
        session=trusting_session(sandbox.state.root / "tls" / "ca.pem"),
    )
    by_email = sf.query_all(f"SELECT Id FROM Lead WHERE Email IN {in_list(EMAILS)}")["records"]
    assert {r["Id"] for r in by_email} == {leads[n] for n in NAMES[: len(EMAILS)]}
