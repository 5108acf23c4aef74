"""The staging writer types records in DuckDB: what it stages and what it counts as drift.

Records go in as pages of JSON and every column is SQL, so these tests check the SQL against the
rules in Python terms: a well-typed value is staged as sent, a value no conversion can read is NULL
(never a crash), a missing key and a wrong JSON type are counted per column, a record sent twice
keeps its newest copy, and the computed columns (embedded ids, impossible timestamps, a nested
path, the parent id) read what they should.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intercom_salesforce.assets.extract.staging import StagingWriter
from intercom_salesforce.extract.entities import (
    CONTACTS,
    CONVERSATION_PARTS,
    CONVERSATIONS,
    EPOCH_RANGE,
    Column,
)

DAY = 1_760_000_000  # records of one day, so each id has one row
INT64 = (-(2**63), 2**63 - 1)

OTHER = st.one_of(
    st.text(alphabet="xyz ", max_size=5),  # never a number: DuckDB reads "12" as 12
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.dictionaries(st.sampled_from("ab"), st.integers(0, 9), max_size=2),
    st.lists(st.integers(0, 9), max_size=2),
)
TEXT = st.one_of(st.none(), st.text(max_size=12), OTHER)
INT = st.one_of(st.none(), st.integers(*INT64), OTHER)
BOOL = st.one_of(st.none(), st.booleans(), OTHER)
SECONDS = st.one_of(
    st.none(),
    st.integers(EPOCH_RANGE[0], EPOCH_RANGE[1]),
    st.integers(EPOCH_RANGE[1] + 1, 10**17),  # milliseconds or microseconds sent as seconds
    OTHER,
)
OBJECT = st.one_of(
    st.none(), st.dictionaries(st.text(max_size=4), st.integers(), max_size=3), OTHER
)
TAG_IDS = st.lists(st.text(min_size=1, max_size=4), max_size=12)
TAGS = st.one_of(
    st.none(),
    TAG_IDS.map(
        lambda ids: {
            "type": "list",
            "data": [{"type": "tag", "id": i} for i in ids],
            "has_more": False,
        }
    ),
    TAG_IDS,
)

OPTIONAL = {
    "email": TEXT,
    "role": TEXT,
    "owner_id": INT,
    "unsubscribed_from_emails": BOOL,
    "created_at": SECONDS,
    "last_seen_at": SECONDS,
    "custom_attributes": OBJECT,
    "tags": TAGS,
}
CONTACT = st.fixed_dictionaries({"id": st.sampled_from("abcde")}, optional=OPTIONAL)

# the JSON types each staged type accepts, in Python terms
ACCEPTED: dict[str, Any] = {
    "VARCHAR": lambda v: isinstance(v, str),
    "BIGINT": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "TIMESTAMPTZ": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "BOOLEAN": lambda v: isinstance(v, bool),
    "JSON": lambda v: isinstance(v, dict | list),
}
TYPES = {c.name: c.type for c in CONTACTS.columns}


def stage(conn: duckdb.DuckDBPyConnection, spec: Any, pages: list[list[dict]], **kw: Any):
    conn.execute("CREATE SCHEMA IF NOT EXISTS staging")
    conn.execute(f"DROP TABLE IF EXISTS {spec.table}")
    conn.execute(spec.create_sql())
    # chunks of a few records, each parsed in slices of a page or two
    writer = StagingWriter(conn, spec, "run-1", tz="UTC", chunk_rows=6, parse_rows=2)
    for page in pages:
        writer.add_page(page, **kw)
    writer.finish_upsert()
    return writer


def rows(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, dict[str, Any]]:
    cur = conn.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


@pytest.fixture(scope="module")
def conn():
    # in memory: the property test stages hundreds of small chunks, and a file adds nothing here
    with duckdb.connect(":memory:") as c:
        yield c


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=st.lists(CONTACT, min_size=1, max_size=14), cuts=st.lists(st.integers(1, 5)))
def test_contacts_are_typed_counted_and_deduplicated_in_sql(conn, records, cuts):
    # updated_at grows with the position, so the last copy of an id is its newest
    records = [{**r, "updated_at": DAY + i} for i, r in enumerate(records)]
    pages, at = [], 0
    for size in [*cuts, len(records)]:
        if at < len(records):
            pages.append(records[at : at + size])
            at += size
    writer = stage(conn, CONTACTS, pages)
    staged = rows(conn, CONTACTS.table)

    newest = {r["id"]: r for r in records}
    assert set(staged) == set(newest)
    assert writer.appended == len(records)
    for rid, record in newest.items():
        row = staged[rid]
        assert row["run_id"] == "run-1"
        for key in ("email", "role", "owner_id", "unsubscribed_from_emails"):
            value = record.get(key)
            if value is None or ACCEPTED[TYPES[key]](value):
                assert row[key] == value, key
            elif isinstance(value, dict | list):
                assert row[key] is None or TYPES[key] == "VARCHAR", key
        bad = {}
        for key in ("created_at", "last_seen_at"):
            staged_value, impossible = expected_timestamp(record.get(key))
            assert row[key] == staged_value, key
            if impossible is not None:
                bad[key] = impossible
        assert (row["invalid_timestamps"] and json.loads(row["invalid_timestamps"])) == (
            bad or None
        )
        tags = record.get("tags")
        expected = (
            [t["id"] for t in tags["data"]] if isinstance(tags, dict) else tags
        )  # the ids of an addressable list, or a plain id list as sent
        assert (row["tags"] and json.loads(row["tags"])) == (expected if tags is not None else None)
        attributes = record.get("custom_attributes")
        if isinstance(attributes, dict):
            assert json.loads(row["custom_attributes"]) == attributes

    observer = writer.observer
    assert observer.records == len(records)
    for c in observer.columns:
        missing = sum(c.path not in r for r in records)
        wrong = sum(
            c.path in r and r[c.path] is not None and not ACCEPTED[c.type](r[c.path])
            for r in records
        )
        assert (observer.missing[c.name], observer.wrong[c.name]) == (missing, wrong), c.name
        assert (c.name in observer.samples) == (wrong > 0), c.name


def expected_timestamp(value: Any) -> tuple[datetime | None, Any]:
    """What a timestamp key stages as, and the value kept in ``invalid_timestamps`` if any."""
    if not isinstance(value, int | float):
        return None, None  # no number: NULL, and the drift count names it
    # a boolean reads as 0 or 1; the drift count names it and the quality gate stops the batch
    if not INT64[0] <= value <= INT64[1]:
        return None, None  # past 64 bits: NULL, and the drift count names the float
    seconds = round(value)  # a float is rounded to the second (and counted as drift)
    if EPOCH_RANGE[0] <= seconds <= EPOCH_RANGE[1]:
        return datetime.fromtimestamp(seconds, UTC), None
    return None, seconds


def test_parts_take_their_conversation_id_from_the_parent(conn):
    part = {
        "type": "conversation_part",
        "id": "p1",
        "part_type": "comment",
        "body": "<p>hi</p>",
        "created_at": DAY,
        "updated_at": DAY,
        "author": {"type": "admin", "id": "7"},
        "assigned_to": None,
        "redacted": False,
    }
    writer = stage(conn, CONVERSATION_PARTS, [[part, {**part, "id": "p2"}]], parent="c-9")
    staged = rows(conn, CONVERSATION_PARTS.table)
    assert {r["conversation_id"] for r in staged.values()} == {"c-9"}
    # the reader adds the parent id: its absence from Intercom's part is not drift
    assert "conversation_id" not in writer.observer.missing
    assert all(n == 0 for n in writer.observer.missing.values())


def test_nested_paths_and_embedded_lists_of_a_conversation(conn):
    conversation = {
        "id": "c1",
        "updated_at": DAY,
        "statistics": {"count_conversation_parts": 12},
        "tags": {
            "type": "tag.list",
            "tags": [{"id": "1", "name": "vip"}, {"id": "2", "name": "x"}],
        },
        "contacts": {"type": "contact.list", "contacts": [{"id": "u1"}, "not an object"]},
        "teammates": None,
        "admin_assignee_id": "42",  # a number sent as a string: read, and counted as drift
    }
    writer = stage(conn, CONVERSATIONS, [[conversation]])
    row = rows(conn, CONVERSATIONS.table)["c1"]
    assert row["parts_total"] == 12
    assert json.loads(row["tag_ids"]) == ["1", "2"]
    assert json.loads(row["tag_names"]) == ["vip", "x"]
    assert json.loads(row["contact_ids"]) == ["u1"]
    assert row["teammate_ids"] is None
    assert row["admin_assignee_id"] == 42
    assert writer.observer.wrong["admin_assignee_id"] == 1
    assert writer.observer.samples["admin_assignee_id"] == '"42"'


def test_a_key_read_as_two_types_is_refused():
    spec = replace(
        CONTACTS, columns=(*CONTACTS.columns, Column("created", "VARCHAR", "created_at"))
    )
    with pytest.raises(ValueError, match="created_at"):
        spec.structure()
