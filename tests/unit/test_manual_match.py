"""Choosing the survivor of an ambiguous match (manual.py, `review merge`), and matching after it,
on a real DuckDB file."""

from pathlib import Path

import duckdb
import pytest

from intercom_salesforce import cli
from intercom_salesforce.assets.match import people
from intercom_salesforce.assets.match.companies import load_free_mail
from intercom_salesforce.assets.match.manual import MergeRefused, choose_survivor
from intercom_salesforce.warehouse import ensure_warehouse, read_sql

DAY = "2026-11-20"

PEOPLE = [
    ("ic-shared", "shared@acme.com"),  # two Contacts: 003C3, 003C4
    ("ic-leads", "twice@acme.com"),  # two Leads, one converted into Contact 003C9
    ("ic-exact", "jane@acme.com"),  # one Contact: 003C1, no review
]
CONTACTS = [
    ("003C1", "jane@acme.com", None),
    ("003C3", "shared@acme.com", None),
    ("003C4", "shared@acme.com", None),
    ("003C9", "converted.elsewhere@acme.com", None),
]
LEADS = [
    ("00QL7", "twice@acme.com", True, "003C9"),
    ("00QL8", "twice@acme.com", False, None),
]


def run_match(conn) -> dict[str, dict]:
    """What the person_matches asset does for one day, then its rows by Intercom id."""
    conn.execute("DELETE FROM match.person_matches WHERE partition_date = ?", [DAY])
    conn.execute(
        "INSERT INTO match.person_matches BY NAME " + read_sql("match_people.sql", people.SQL),
        [DAY, DAY, "run", True],
    )
    people.AMBIGUOUS_PEOPLE.queue(conn, DAY, DAY, "run")
    cur = conn.execute(
        "SELECT intercom_contact_id, rule, sf_object, sf_id, candidates FROM match.person_matches"
    )
    names = [d[0] for d in cur.description]
    return {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}


def item(conn, record_id: str, rule: str = "ambiguous_match") -> tuple:
    return conn.execute(
        "SELECT item_id, status, note, candidates FROM quality.review_queue "
        "WHERE record_id = ? AND rule = ?",
        [record_id, rule],
    ).fetchone()


@pytest.fixture()
def conn(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(con)
    load_free_mail(con)
    for cid, email in PEOPLE:
        con.execute(
            "INSERT INTO staging.intercom_contacts (id, email, role, updated_at, partition_date, "
            "extracted_at) VALUES (?, ?, 'user', now(), ?, now())",
            [cid, email, DAY],
        )
    for cid, email, ext in CONTACTS:
        con.execute(
            'INSERT INTO mirror.salesforce_contacts ("Id", "Email", "Intercom_Contact_Id__c") '
            "VALUES (?, ?, ?)",
            [cid, email, ext],
        )
    for lid, email, conv, to in LEADS:
        con.execute(
            'INSERT INTO mirror.salesforce_leads ("Id", "Email", "IsConverted", '
            '"ConvertedContactId") VALUES (?, ?, ?, ?)',
            [lid, email, conv, to],
        )
    run_match(con)  # queues the two ambiguous people, as a run would
    yield con
    con.close()


def test_the_fixture_queues_both_ambiguous_people(conn):
    assert sorted(item(conn, "ic-shared")[3]) == ["Contact:003C3", "Contact:003C4"]
    assert sorted(item(conn, "ic-leads")[3]) == ["Contact:003C9", "Lead:00QL8"]
    assert item(conn, "ic-exact") is None


def test_refuses_a_missing_item_and_one_that_is_not_an_ambiguous_match(conn):
    with pytest.raises(MergeRefused, match="no review item 999"):
        choose_survivor(conn, 999, "003C3")
    conn.execute(
        "INSERT INTO quality.review_queue (entity, record_id, rule, reason, first_seen_at, "
        "last_seen_at) VALUES ('intercom_contacts', 'ic-exact', 'email_format', 'bad', now(), "
        "now())"
    )
    other = item(conn, "ic-exact", "email_format")[0]
    with pytest.raises(MergeRefused, match="not an ambiguous_match item"):
        choose_survivor(conn, other, "003C1", force=True)
    assert conn.execute("SELECT count(*) FROM match.manual_matches").fetchone()[0] == 0


def test_refuses_a_survivor_that_is_not_a_candidate_unless_forced(conn):
    item_id = item(conn, "ic-shared")[0]
    with pytest.raises(MergeRefused, match="not one of the candidates.*--force"):
        choose_survivor(conn, item_id, "003C1")
    assert item(conn, "ic-shared")[1] == "open"
    assert conn.execute("SELECT count(*) FROM match.manual_matches").fetchone()[0] == 0
    chosen = choose_survivor(conn, item_id, "003C1", "ana", force=True)
    assert (chosen.target, chosen.forced) == ("Contact:003C1", True)


def test_refuses_a_survivor_missing_from_the_mirror_even_forced(conn):
    item_id = item(conn, "ic-shared")[0]
    for survivor in ("003NOPE", "Lead:003C3", "Account:003C3"):
        with pytest.raises(MergeRefused, match="not a Contact or Lead in the Salesforce mirror"):
            choose_survivor(conn, item_id, survivor, force=True)
    assert item(conn, "ic-shared")[1] == "open"


def test_refuses_a_survivor_kept_for_another_person_unless_forced(conn):
    item_id = item(conn, "ic-shared")[0]
    conn.execute(
        "UPDATE mirror.salesforce_contacts SET \"Intercom_Contact_Id__c\" = 'ic-someone-else' "
        "WHERE \"Id\" = '003C3'"
    )
    with pytest.raises(MergeRefused, match="already kept for Intercom person ic-someone-else"):
        choose_survivor(conn, item_id, "003C3")
    assert choose_survivor(conn, item_id, "003C3", force=True).sf_id == "003C3"
    # a choice made for someone else counts too
    conn.execute(
        "INSERT INTO match.manual_matches VALUES ('ic-other', 'Contact', '003C4', 'x', NULL, "
        "now(), NULL)"
    )
    with pytest.raises(MergeRefused, match="already kept for Intercom person ic-other"):
        choose_survivor(conn, item_id, "003C4")


def test_a_choice_is_kept_and_marks_the_item_fixed(conn):
    item_id = item(conn, "ic-shared")[0]
    chosen = choose_survivor(conn, item_id, "Contact:003C4", "ana", "same person, newer record")
    assert (chosen.intercom_contact_id, chosen.sf_object, chosen.sf_id) == (
        "ic-shared",
        "Contact",
        "003C4",
    )
    assert not chosen.forced and chosen.converted_from is None
    row = conn.execute(
        "SELECT sf_object, sf_id, chosen_by, note, review_item_id FROM match.manual_matches "
        "WHERE intercom_contact_id = 'ic-shared'"
    ).fetchone()
    assert row == ("Contact", "003C4", "ana", "same person, newer record", item_id)
    _, status, note, _ = item(conn, "ic-shared")
    assert status == "fixed" and "Contact:003C4" in note and "ana" in note

    # a later choice replaces the first
    choose_survivor(conn, item_id, "003C3", "bo")
    rows = conn.execute(
        "SELECT sf_id, chosen_by, note FROM match.manual_matches WHERE intercom_contact_id = ?",
        ["ic-shared"],
    ).fetchall()
    assert rows == [("003C3", "bo", None)]


def test_a_converted_lead_resolves_to_its_contact(conn):
    item_id = item(conn, "ic-leads")[0]
    chosen = choose_survivor(conn, item_id, "00QL7")
    assert (chosen.target, chosen.converted_from, chosen.forced) == (
        "Contact:003C9",
        "00QL7",
        False,
    )
    assert "converted Lead 00QL7" in item(conn, "ic-leads")[2]


def test_matching_follows_the_choice_and_never_reopens_the_item(conn):
    shared, leads = item(conn, "ic-shared")[0], item(conn, "ic-leads")[0]
    choose_survivor(conn, shared, "003C4", "ana")
    choose_survivor(conn, leads, "00QL8", "ana")
    got = run_match(conn)
    assert (got["ic-shared"]["rule"], got["ic-shared"]["sf_object"], got["ic-shared"]["sf_id"]) == (
        "manual",
        "Contact",
        "003C4",
    )
    assert got["ic-shared"]["candidates"] == ["Contact:003C4"]
    assert (got["ic-leads"]["rule"], got["ic-leads"]["sf_id"]) == ("manual", "00QL8")
    assert got["ic-exact"]["rule"] == "email"  # untouched
    assert item(conn, "ic-shared")[1] == "fixed" and item(conn, "ic-leads")[1] == "fixed"

    # reopened by hand while the choice stands: the next run resolves it, never leaves it open
    conn.execute("UPDATE quality.review_queue SET status = 'open' WHERE item_id = ?", [shared])
    run_match(conn)
    assert item(conn, "ic-shared")[1] == "resolved"


def test_manual_beats_every_rule_until_our_id_points_to_the_survivor_alone(conn):
    choose_survivor(conn, item(conn, "ic-shared")[0], "003C4")
    # our external id on the other candidate: the choice still wins
    conn.execute(
        "UPDATE mirror.salesforce_contacts SET \"Intercom_Contact_Id__c\" = 'ic-shared' "
        "WHERE \"Id\" = '003C3'"
    )
    assert run_match(conn)["ic-shared"]["sf_id"] == "003C4"
    assert run_match(conn)["ic-shared"]["rule"] == "manual"
    # the push stamped the survivor (and the stray id is gone): the rule is external_id again
    conn.execute(
        'UPDATE mirror.salesforce_contacts SET "Intercom_Contact_Id__c" = '
        "CASE \"Id\" WHEN '003C4' THEN 'ic-shared' END WHERE \"Id\" IN ('003C3', '003C4')"
    )
    got = run_match(conn)["ic-shared"]
    assert (got["rule"], got["sf_object"], got["sf_id"]) == ("external_id", "Contact", "003C4")


def test_a_choice_for_a_lead_converted_later_follows_the_conversion(conn):
    choose_survivor(conn, item(conn, "ic-leads")[0], "00QL8")
    conn.execute(
        'UPDATE mirror.salesforce_leads SET "IsConverted" = true, '
        "\"ConvertedContactId\" = '003C1' WHERE \"Id\" = '00QL8'"
    )
    got = run_match(conn)["ic-leads"]
    assert (got["rule"], got["sf_object"], got["sf_id"]) == ("manual", "Contact", "003C1")


def test_the_cli_command(conn, tmp_path, monkeypatch, capsys):
    item_id = item(conn, "ic-shared")[0]
    conn.close()
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.duckdb"))
    base = ["review", "merge", str(item_id)]

    assert cli.main([*base, "--survivor", "003C1"]) == 1
    out = capsys.readouterr()
    assert "not one of the candidates" in out.err and out.out == ""

    assert cli.main([*base, "--survivor", "003C4", "--by", "ana", "--note", "newer"]) == 0
    out = capsys.readouterr().out
    assert "Contact:003C4 survives" in out and "Contact:003C3" in out and "ana" in out

    leads = duckdb.connect(str(tmp_path / "w.duckdb"))
    leads_item = item(leads, "ic-leads")[0]
    leads.close()
    assert cli.main(["review", "merge", str(leads_item), "--survivor", "00QL7"]) == 0
    assert "Lead 00QL7 was converted: its Contact 003C9 survives" in capsys.readouterr().out
