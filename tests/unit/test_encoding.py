"""What the mapping sends is exactly what Salesforce will hold, or the record waits in review.

The push diffs mapped values against what it last sent, so a value Salesforce stores differently
(control characters dropped, line breaks normalized) would be sent again on every run, and a value
the Bulk API reads as an instruction (``#N/A`` clears the field) would silently erase data. These
tests compile the mapping and run it on a real DuckDB warehouse.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from intercom_salesforce.mapping import (
    MappingError,
    check_against_describe,
    compile_select,
    load_mapping,
    parse_mapping,
)
from intercom_salesforce.mapping.functions import (
    Typed,
    clean_text,
    split_name_first,
    split_name_last,
)
from intercom_salesforce.mapping.guards import is_clear_marker, output_checks
from intercom_salesforce.sandbox.salesforce.describe import FieldDef, field_describe
from intercom_salesforce.settings import SANDBOX_MAPPING
from intercom_salesforce.warehouse import ensure_warehouse, read_sql
from tests.helpers import REFS, sandbox_describe

SEEN = "2026-11-20 10:11:12+00"


_DB = duckdb.connect()
_DB.execute(read_sql("create_warehouse.sql"))
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
CONTROL_HEAVY = st.text(
    st.one_of(st.sampled_from("\x00\x01\x08\x0b\x0c\x0e\x1b\x1f\r\n\t \x7f"), st.characters()),
    max_size=40,
).filter(lambda s: not any(unicodedata.category(c) == "Cs" for c in s))


def _eval(build, value: str | None) -> Any:
    x = Typed("c.v", "VARCHAR")
    return _DB.execute(
        f"SELECT {build(x).sql} FROM (SELECT ?::VARCHAR AS v) c", [value]
    ).fetchone()[0]


def _add_contact(
    conn: duckdb.DuckDBPyConnection,
    cid: str,
    name: str | None = "Ada Lovelace",
    email: str | None = None,
    attrs: dict[str, Any] | None = None,
    phone: str | None = None,
    last_seen: str | None = SEEN,
) -> None:
    conn.execute(
        "INSERT INTO staging.intercom_contacts (id, name, email, phone, role, custom_attributes, "
        "tags, last_seen_at, updated_at, partition_date, extracted_at) VALUES "
        "(?, ?, ?, ?, 'lead', ?, '[]', ?::TIMESTAMPTZ, now(), '2026-11-20', now())",
        [cid, name, email, phone, json.dumps(attrs or {}), last_seen],
    )


@pytest.fixture()
def warehouse(tmp_path: Path):
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(conn)
    yield conn
    conn.close()


def _rows(conn: duckdb.DuckDBPyConnection, sql: str) -> dict[str, dict[str, Any]]:
    rel = conn.sql(sql)
    return {r[0]: dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()}


def _lead_rows(conn: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    mapping = load_mapping(SANDBOX_MAPPING)
    return _rows(conn, compile_select(mapping, "Lead", sandbox_describe(), REFS))


def _assert_in_review(row: dict[str, Any], field: str, *words: str) -> None:
    """The record is held back, the field carries no value, and the reason names the field."""
    assert row[field] is None
    assert row[f"_unmapped_{field}"] is True and row["_needs_review"] is True
    reason = row["_review_reason"]
    assert field in reason, reason
    for word in words:
        assert word in reason, reason


# -- 1. the Bulk API's clear marker is never sent as data -----------------------------------------


def test_a_literal_clear_marker_sends_the_record_to_review(warehouse):
    _add_contact(warehouse, "c-name", name="#N/A", email="ok@example.com")
    _add_contact(warehouse, "c-region", attrs={"region": " #n/a "}, email="r@example.com")
    _add_contact(warehouse, "c-phone", phone="#N/A", email="p@example.com")
    _add_contact(warehouse, "c-fine", name="Grace Hopper", attrs={"region": "N/A"})
    rows = _lead_rows(warehouse)

    _assert_in_review(rows["c-name"], "LastName", "#N/A")
    _assert_in_review(rows["c-region"], "Intercom_Region__c", "#N/A")
    _assert_in_review(rows["c-phone"], "Phone", "#N/A")
    assert rows["c-name"]["Email"] == "ok@example.com"  # other fields are unaffected
    fine = rows["c-fine"]
    assert fine["Intercom_Region__c"] == "N/A" and fine["_needs_review"] is False
    assert fine["_review_reason"] is None


@pytest.mark.parametrize(
    ("snippet", "path"),
    [
        ('Company: {value: "#N/A"}', "objects.Lead.fields.Company.value"),
        (
            "Company: {from: name, transforms: [{map: {x: '#n/a'}}]}",
            "objects.Lead.fields.Company.transforms[0].map.x",
        ),
    ],
)
def test_a_constant_clear_marker_is_refused_at_load(snippet: str, path: str):
    text = (
        "version: 1\nobjects:\n  Lead:\n    source: contacts\n"
        "    external_id: Intercom_Contact_Id__c\n    fields:\n"
        f"      Intercom_Contact_Id__c: {{from: id}}\n      {snippet}\n"
    )
    with pytest.raises(MappingError, match=re.escape(path) + r": .*#N/A.*clear"):
        parse_mapping(text, "clear.yaml")


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.sampled_from(["#N/A", "#n/a", " #N/A\t", "\n#N/A ", "#N/A!", "N/A", "# N/A", ""]),
        ANY_TEXT,
    )
)
def test_every_clear_marker_test_agrees(value: str):
    """The load check, the per-record check and the warehouse macro see the same markers."""
    expected = value.strip(" \t\n").upper() == "#N/A"
    assert is_clear_marker(value) == (value.strip().upper() == "#N/A")
    per_record = output_checks("F", "c.v", "text")[0].condition
    row = _DB.execute(
        f"SELECT coalesce({per_record}, FALSE), sync.sf_is_clear_marker(c.v) "
        "FROM (SELECT ?::VARCHAR AS v) c",
        [value],
    ).fetchone()
    assert row == (expected, expected)


# -- 2. text is normalized to what Salesforce stores ---------------------------------------------

NOTES = """version: 1
objects:
  Lead:
    source: contacts
    external_id: Intercom_Contact_Id__c
    fields:
      Intercom_Contact_Id__c: {from: id}
      LastName: {from: name}
      Description: {from: custom_attributes.notes}
      Intercom_Region__c:
        from: custom_attributes.region
        transforms: [trim, upper]
"""


def test_control_characters_and_carriage_returns_become_what_salesforce_stores(warehouse):
    _add_contact(
        warehouse,
        "c-1",
        name="Love\x00lace\r",
        attrs={"notes": "line 1\r\nline 2\rline 3\x1b[0m\x07\tend\n", "region": "em\x00ea\r\n"},
    )
    mapping = parse_mapping(NOTES, "notes.yaml")
    row = _rows(warehouse, compile_select(mapping, "Lead", sandbox_describe()))["c-1"]
    assert row["LastName"] == "Lovelace\n"
    assert row["Description"] == "line 1\nline 2\nline 3[0m\tend\n"
    assert row["Intercom_Region__c"] == "EMEA"
    assert row["_needs_review"] is False


def _salesforce_text(value: str) -> str:
    """What Salesforce keeps of a text value: C0 controls other than tab and line feed dropped,
    CRLF and lone CR stored as LF."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in value if ch in "\t\n" or not (ord(ch) < 0x20))


@settings(max_examples=200, deadline=None)
@given(st.one_of(ANY_TEXT, CONTROL_HEAVY))
@example("a\r\r\nb\x00\r")
def test_clean_text_is_what_salesforce_stores_and_idempotent(value: str):
    out = _eval(clean_text, value)
    assert out == _salesforce_text(value)
    assert _eval(clean_text, out) == out
    # the warehouse macro (for SQL outside the mapping) agrees with the mapping's SQL
    assert _DB.execute("SELECT sync.sf_text(?)", [value]).fetchone()[0] == out


# -- 3. names split on any whitespace -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Ada\nLovelace", "Ada", "Lovelace"),
        ("Ada\r\nKing\tLovelace", "Ada King", "Lovelace"),
        ("  Ada   Lovelace \n", "Ada", "Lovelace"),
        ("\nAda\u00a0Byron\u2003Lovelace\t", "Ada Byron", "Lovelace"),
        ("Ada\n\nByron Lovelace", "Ada Byron", "Lovelace"),
        ("Plato\n", None, "Plato"),
    ],
)
def test_a_name_split_on_any_whitespace_keeps_its_first_name(warehouse, name, first, last):
    _add_contact(warehouse, "c-1", name=name)
    row = _lead_rows(warehouse)["c-1"]
    assert (row["FirstName"], row["LastName"]) == (first, last)


# Python's str.split() whitespace: what the name split treats as a separator
SPACE = st.sampled_from(
    list("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2007\u200a\u2028\u2029\u202f")
    + ["\u205f", "\u3000"]
)
WORD = st.text(
    st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc")), min_size=1, max_size=8
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(WORD, min_size=1, max_size=5),
    st.lists(st.text(SPACE, min_size=1, max_size=3), min_size=6, max_size=6),
    st.booleans(),
    st.booleans(),
)
def test_first_and_last_reassemble_the_normalized_name(
    words: list[str], gaps: list[str], lead: bool, trail: bool
):
    inner = words[0] + "".join(g + w for g, w in zip(gaps[1:], words[1:], strict=False))
    name = (gaps[0] if lead else "") + inner + (gaps[5] if trail else "")
    normalized = " ".join(name.split())
    assert normalized == " ".join(words)
    first, last = _eval(split_name_first, name), _eval(split_name_last, name)
    assert last == words[-1]
    if len(words) >= 2:
        assert first == " ".join(words[:-1])
        assert f"{first} {last}" == normalized
    else:
        assert first is None and last == normalized


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_name_split_never_loses_text(value: str):
    first, last = _eval(split_name_first, value), _eval(split_name_last, value)
    normalized = " ".join(value.split())
    assert " ".join(p for p in (first, last) if p) == normalized
    if len(normalized.split(" ")) >= 2:
        assert first


# -- 4. custom attributes of the wrong type ---------------------------------------------------------

TYPED = """version: 1
objects:
  Lead:
    source: contacts
    external_id: Intercom_Contact_Id__c
    fields:
      Intercom_Contact_Id__c: {from: id}
      Intercom_Region__c: {from: custom_attributes.region}
      Description:
        expr: "join(' ', custom_attributes.signup_source, custom_attributes.region)"
      Seats__c: {from: custom_attributes.seats}
      Mrr__c: {from: custom_attributes.mrr}
      Beta__c: {from: custom_attributes.beta_tester}
      Demo_Date__c:
        from: custom_attributes.requested_demo_at
        transforms: [{date: iso}]
      Demo_At__c:
        from: custom_attributes.requested_demo_at
        transforms: [{datetime: iso}]
"""


def _typed_describe() -> dict[str, dict]:
    describe = sandbox_describe()
    lead = dict(describe["Lead"])
    extra = [
        FieldDef("Seats__c", "Seats", "int", digits=8, custom=True),
        FieldDef("Mrr__c", "MRR", "currency", precision=18, custom=True),
        FieldDef("Beta__c", "Beta", "boolean", custom=True),
        FieldDef("Demo_Date__c", "Demo Date", "date", custom=True),
        FieldDef("Demo_At__c", "Demo At", "datetime", custom=True),
    ]
    lead["fields"] = [*lead["fields"], *(field_describe(f) for f in extra)]
    return {**describe, "Lead": lead}


@pytest.fixture()
def typed_rows(warehouse) -> dict[str, dict[str, Any]]:
    people: dict[str, dict[str, Any]] = {
        "good": {
            "region": "EMEA",
            "seats": 12,
            "mrr": 49.5,
            "beta_tester": True,
            "requested_demo_at": 1700000000,
        },
        "castable": {
            "region": 42,
            "seats": " 42 ",
            "mrr": "1200.50",
            "beta_tester": "FALSE",
            "requested_demo_at": "2024-02-29T10:00:00Z",
        },
        "whole": {"seats": 42.0, "mrr": -3},
        "objects": {
            "region": {"name": "EMEA"},
            "seats": [1, 2],
            "mrr": {"amount": 1},
            "beta_tester": ["yes"],
            "requested_demo_at": {"at": 1},
        },
        "strings": {
            "seats": "forty",
            "mrr": "12,50",
            "beta_tester": "yes",
            "requested_demo_at": "next tuesday",
        },
        "mixed": {"seats": 4.5, "mrr": True, "beta_tester": 1, "requested_demo_at": True},
        "far": {"requested_demo_at": "9999-12-31"},
        "listed": {"signup_source": ["ads", "web"]},
    }
    for cid, attrs in people.items():
        _add_contact(warehouse, cid, attrs=attrs)
    mapping = parse_mapping(TYPED, "typed.yaml")
    describe = _typed_describe()
    check_against_describe(mapping, describe)
    return _rows(warehouse, compile_select(mapping, "Lead", describe))


def test_values_of_the_expected_type_and_lossless_casts_are_sent(typed_rows):
    good, castable, whole = typed_rows["good"], typed_rows["castable"], typed_rows["whole"]
    assert good["_needs_review"] is False and castable["_needs_review"] is False
    assert (good["Seats__c"], good["Mrr__c"], good["Beta__c"]) == ("12", "49.5", "true")
    assert (good["Demo_Date__c"], good["Demo_At__c"]) == ("2023-11-14", "2023-11-14T22:13:20Z")
    assert good["Intercom_Region__c"] == "EMEA"
    assert castable["Intercom_Region__c"] == "42"  # a number is text losslessly
    assert (castable["Seats__c"], castable["Mrr__c"], castable["Beta__c"]) == (
        "42",
        "1200.50",
        "false",
    )
    assert castable["Demo_Date__c"] == "2024-02-29"
    assert castable["Demo_At__c"] == "2024-02-29T10:00:00Z"
    assert (whole["Seats__c"], whole["Mrr__c"]) == ("42", "-3")
    assert whole["_needs_review"] is False


@pytest.mark.parametrize(
    ("cid", "field", "found"),
    [
        ("objects", "Intercom_Region__c", "an object"),
        ("objects", "Seats__c", "a list"),
        ("objects", "Mrr__c", "an object"),
        ("objects", "Beta__c", "a list"),
        ("objects", "Demo_Date__c", "an object"),
        ("strings", "Seats__c", "text"),
        ("strings", "Mrr__c", "text"),
        ("strings", "Beta__c", "text"),
        ("strings", "Demo_Date__c", "text"),
        ("strings", "Demo_At__c", "text"),
        ("mixed", "Seats__c", "a fractional number"),
        ("mixed", "Mrr__c", "a boolean"),
        ("mixed", "Beta__c", "a number"),
        ("mixed", "Demo_At__c", "a boolean"),
        ("far", "Demo_Date__c", "9999-12-31"),
        ("listed", "Description", "a list"),
    ],
)
def test_wrong_typed_values_go_to_review_naming_field_and_type(typed_rows, cid, field, found):
    _assert_in_review(typed_rows[cid], field, found)
