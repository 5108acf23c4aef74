"""Each field's source of truth on updates, and the conflicts left alone: SQL over a real DuckDB
file with hand-made mirror rows, pushed state and mapped values."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from intercom_salesforce.assets.push.truth import (
    Decisions,
    forget_drifted,
    record_conflicts,
    stage_updates,
)
from intercom_salesforce.warehouse import ensure_warehouse

POLICIES = {
    "Email": ("intercom", False),
    "LeadSource": ("salesforce", False),
    "Phone": ("fill_blank", False),
    "Intercom_Last_Seen__c": ("newest", False),
}
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def conn(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(con)
    yield con
    con.close()


def setup(conn, mapped: list[tuple], mirror: list[tuple], pushed: list[tuple]) -> None:
    """mapped: (intercom id, sf id, updated_at, Email, LeadSource, Phone, Last_Seen, OwnerId);
    mirror: (Id, Email, OwnerId, LastModifiedDate, values JSON);
    pushed: (intercom id, field, value)."""
    conn.execute(
        """CREATE OR REPLACE TEMP TABLE _mapped (_intercom_id VARCHAR, _sf_id VARCHAR,
           _intercom_updated_at TIMESTAMPTZ, "Email" VARCHAR, "LeadSource" VARCHAR,
           "Phone" VARCHAR, "Intercom_Last_Seen__c" VARCHAR, "OwnerId" VARCHAR,
           _sf_object VARCHAR DEFAULT 'Lead', _rule VARCHAR DEFAULT 'external_id',
           _routing_rule VARCHAR DEFAULT 'Inbound queue', _needs_review BOOLEAN DEFAULT FALSE)"""
    )
    conn.executemany(
        """INSERT INTO _mapped (_intercom_id, _sf_id, _intercom_updated_at, "Email",
           "LeadSource", "Phone", "Intercom_Last_Seen__c", "OwnerId")
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
        mapped,
    )
    conn.executemany(
        """INSERT INTO mirror.salesforce_leads ("Id", "Email", "OwnerId", "LastModifiedDate",
           "_values") VALUES (?, ?, ?, ?, ?)""",
        mirror,
    )
    if pushed:
        conn.executemany(
            "INSERT INTO sync.field_state VALUES ('Lead', ?, ?, ?, ?)",
            [(*p, T0) for p in pushed],
        )


def decided(conn, decisions: Decisions) -> dict[str, dict]:
    cur = conn.execute(f'SELECT * FROM "{decisions.decided}"')
    names = [d[0] for d in cur.description]
    return {
        r[names.index("_intercom_id")]: dict(zip(names, r, strict=True)) for r in cur.fetchall()
    }


def run(conn, routed_owner: bool = False) -> tuple[Decisions, dict[str, dict], list[tuple]]:
    d = stage_updates(conn, "_mapped", "Lead", POLICIES, "_sf_object = ?", ["Lead"], routed_owner)
    conflicts = conn.execute(
        "SELECT ext, field, kind, rule, intercom_value, salesforce_value, last_synced_value "
        f'FROM "{d.conflicts}" ORDER BY 1, 2'
    ).fetchall()
    return d, decided(conn, d), conflicts


def values(**kw) -> str:
    import json

    return json.dumps(kw)


def test_each_policy_after_a_sync(conn):
    later = datetime(2026, 11, 20, tzinfo=UTC)
    setup(
        conn,
        mapped=[
            # Intercom changed phone and last seen; Salesforce did not touch them
            ("a", "00Q1", later, "a@x.io", "Web", "+1 2", "2026-11-20T00:00:00Z", None),
            # both sides changed phone and last seen, to different values
            ("b", "00Q2", later, "b@x.io", "Web", "+1 3", "2026-11-20T00:00:00Z", None),
        ],
        mirror=[
            (
                "00Q1",
                "a@x.io",
                "005A",
                T0,
                values(
                    Phone="+1 1",
                    Intercom_Last_Seen__c="2026-11-01T00:00:00.000Z",
                    LeadSource="Intercom",
                ),
            ),
            (
                "00Q2",
                "b@x.io",
                "005A",
                later,
                values(
                    Phone="+9 9",
                    Intercom_Last_Seen__c="2026-11-19T00:00:00.000Z",
                    LeadSource="Partner",
                ),
            ),
        ],
        pushed=[
            (x, f, v)
            for x in ("a", "b")
            for f, v in (
                ("Email", f"{x}@x.io"),
                ("LeadSource", "Intercom"),
                ("Phone", "+1 1"),
                ("Intercom_Last_Seen__c", "2026-11-01T00:00:00Z"),
            )
        ],
    )
    d, rows, conflicts = run(conn)
    assert d.columns == ["Email", "Phone", "Intercom_Last_Seen__c"]  # salesforce-owned: never sent
    # a: fill_blank leaves a non-blank phone alone (pinned to what we sent); newest is sent
    assert rows["a"]["Phone"] == "+1 1"
    assert rows["a"]["Intercom_Last_Seen__c"] == "2026-11-20T00:00:00Z"
    # b: both changed -> left alone, one conflict per field with both values and the rule
    assert (
        rows["b"]["Phone"] == "+1 1"
        and rows["b"]["Intercom_Last_Seen__c"] == "2026-11-01T00:00:00Z"
    )
    assert conflicts == [
        (
            "b",
            "Intercom_Last_Seen__c",
            "both_changed",
            "newest",
            "2026-11-20T00:00:00Z",
            "2026-11-19T00:00:00.000Z",
            "2026-11-01T00:00:00Z",
        ),
        ("b", "LeadSource", "both_changed", "salesforce", "Web", "Partner", "Intercom"),
        ("b", "Phone", "both_changed", "fill_blank", "+1 3", "+9 9", "+1 1"),
    ]
    assert record_conflicts(conn, d, "run-1") == (3, 3)
    assert record_conflicts(conn, d, "run-2") == (3, 0)  # seen again, not new
    assert conn.execute(
        "SELECT count(*) FROM sync.sync_conflicts WHERE resolved_at IS NULL"
    ).fetchall() == [(3,)]


def test_before_any_sync_blank_fills_and_newer_wins(conn):
    setup(
        conn,
        mapped=[
            (
                "c",
                "00Q3",
                datetime(2026, 11, 20, tzinfo=UTC),
                "c@x.io",
                "Web",
                "+1 5",
                "2026-11-20T00:00:00Z",
                None,
            ),
            (
                "d",
                "00Q4",
                datetime(2026, 10, 1, tzinfo=UTC),
                "d@x.io",
                "Web",
                "+1 6",
                "2026-10-01T00:00:00Z",
                None,
            ),
        ],
        mirror=[
            (
                "00Q3",
                "c@x.io",
                "005A",
                T0,
                values(Phone=None, Intercom_Last_Seen__c="2026-01-01T00:00:00.000Z"),
            ),
            (
                "00Q4",
                "d@x.io",
                "005A",
                T0,
                values(Phone="+1 0", Intercom_Last_Seen__c="2026-01-01T00:00:00.000Z"),
            ),
        ],
        pushed=[],
    )
    d, rows, conflicts = run(conn)
    assert rows["c"]["Phone"] == "+1 5"  # blank in Salesforce: filled
    assert rows["c"]["Intercom_Last_Seen__c"] == "2026-11-20T00:00:00Z"  # Intercom is newer
    assert rows["d"]["Phone"] is None  # Salesforce has one: left alone
    assert rows["d"]["Intercom_Last_Seen__c"] is None  # Salesforce's record is newer
    assert rows["c"]["Email"] == "c@x.io"  # intercom fields go to the usual diff
    assert conflicts == []  # no last sync, so nothing changed "on both sides"


def test_owner_conflicts_name_the_routing_rule_and_resolve(conn):
    setup(
        conn,
        mapped=[("e", "00Q5", T0, "e@x.io", "Web", None, None, "00GQUEUE")],
        mirror=[("00Q5", "e@x.io", "005ALICE", T0, values())],
        pushed=[],
    )
    d, _rows, conflicts = run(conn, routed_owner=True)
    assert conflicts == [("e", "OwnerId", "owner", "Inbound queue", "00GQUEUE", "005ALICE", None)]
    record_conflicts(conn, d, "run-1")
    conn.execute("UPDATE mirror.salesforce_leads SET \"OwnerId\" = '00GQUEUE'")
    d, _rows, conflicts = run(conn, routed_owner=True)
    assert conflicts == []
    record_conflicts(conn, d, "run-2")
    assert conn.execute(
        "SELECT resolved_at IS NOT NULL FROM sync.sync_conflicts WHERE field = 'OwnerId'"
    ).fetchall() == [(True,)]


def test_an_intercom_field_edited_in_salesforce_only_is_sent_again(conn):
    setup(
        conn,
        mapped=[("f", "00Q6", T0, "f@x.io", "Web", None, None, None)],
        mirror=[("00Q6", "someone@else.io", "005A", T0, values())],
        pushed=[("f", "Email", "f@x.io")],
    )
    d, rows, conflicts = run(conn)
    assert rows["f"]["Email"] == "f@x.io" and conflicts == []
    assert forget_drifted(conn, d) == 1
    # the pushed state is forgotten, so the diff sends Intercom's value again
    assert conn.execute(
        "SELECT count(*) FROM sync.field_state WHERE field = 'Email'"
    ).fetchall() == [(0,)]
