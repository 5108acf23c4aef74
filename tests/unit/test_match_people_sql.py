"""Identity rules of match_people.sql, one seeded case per row, on a real DuckDB file."""

from pathlib import Path

import duckdb
import pytest

from intercom_salesforce.assets.match import people
from intercom_salesforce.assets.match.companies import load_free_mail
from intercom_salesforce.warehouse import ensure_warehouse, read_sql

DAY = "2026-11-20"

# (intercom id, intercom email, expected rule, expected object, expected sf id)
CASES = [
    ("ic-exact", "jane@acme.com", "email", "Contact", "003C1"),
    ("ic-case", "  MIXED.Case@Acme.COM ", "email", "Lead", "00QL1"),  # trimmed, lower-cased
    ("ic-converted", "conv@acme.com", "email", "Contact", "003C2"),  # lead resolves to contact
    ("ic-shared", "shared@acme.com", "ambiguous", None, None),  # two contacts: review
    ("ic-ext", "new.address@acme.com", "external_id", "Lead", "00QL3"),
    ("ic-both", "both@acme.com", "email", "Contact", "003C5"),  # contact preferred to lead
    ("ic-none", "nobody@acme.com", "none", None, None),
    ("ic-noemail", None, "no_email", None, None),
]


@pytest.fixture()
def conn(tmp_path: Path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(con)
    load_free_mail(con)
    for cid, email, *_ in CASES:
        con.execute(
            "INSERT INTO staging.intercom_contacts (id, email, role, updated_at, partition_date, "
            "extracted_at) VALUES (?, ?, 'user', now(), ?, now())",
            [cid, email, DAY],
        )
    contacts = [
        ("003C1", "jane@acme.com", None),
        ("003C2", "conv@acme.com", None),
        ("003C3", "shared@acme.com", None),
        ("003C4", "shared@acme.com", None),
        ("003C5", "both@acme.com", None),
    ]
    for cid, email, ext in contacts:
        con.execute(
            'INSERT INTO mirror.salesforce_contacts ("Id", "Email", '
            '"Intercom_Contact_Id__c") VALUES (?, ?, ?)',
            [cid, email, ext],
        )
    leads = [
        ("00QL1", "mixed.case@acme.com", None, False, None),
        ("00QL2", "conv@acme.com", None, True, "003C2"),
        ("00QL3", "old@elsewhere.net", "ic-ext", False, None),
        ("00QL4", "both@acme.com", None, False, None),
    ]
    for lid, email, ext, conv, to in leads:
        con.execute(
            'INSERT INTO mirror.salesforce_leads ("Id", "Email", "Intercom_Contact_Id__c", '
            '"IsConverted", "ConvertedContactId") VALUES (?, ?, ?, ?, ?)',
            [lid, email, ext, conv, to],
        )
    yield con
    con.close()


def test_each_case_matches_as_designed(conn):
    rows = conn.execute(
        read_sql("match_people.sql", people.SQL), [DAY, DAY, "run-1", True]
    ).fetchall()
    got = {r[0]: (r[5], r[3], r[4], r[6]) for r in rows}
    assert set(got) == {c[0] for c in CASES}
    for cid, _email, rule, obj, sf_id in CASES:
        assert got[cid][:3] == (rule, obj, sf_id), cid
    assert sorted(got["ic-shared"][3]) == ["Contact:003C3", "Contact:003C4"]


def test_converted_lead_only_match_resolves_to_its_contact(conn):
    conn.execute("DELETE FROM mirror.salesforce_contacts WHERE \"Id\" = '003C2'")
    rows = conn.execute(read_sql("match_people.sql", people.SQL), [DAY, DAY, "r", True]).fetchall()
    got = {r[0]: (r[5], r[3], r[4]) for r in rows}
    assert got["ic-converted"] == ("email", "Contact", "003C2")


def test_user_id_rule_and_account_resolution(conn):
    conn.execute(
        "INSERT INTO staging.intercom_contacts (id, external_id, email, role, companies, "
        "updated_at, partition_date, extracted_at) VALUES "
        "('ic-uid', 'usr-9', 'changed@acme.com', 'user', NULL, now(), ?, now()), "
        "('ic-co', NULL, 'x@nowhere.example', 'user', '[\"co1\"]', now(), ?, now()), "
        "('ic-dom', NULL, 'y@acme-d.example.com', 'user', NULL, now(), ?, now()), "
        "('ic-gmail', NULL, 'z@gmail.com', 'user', NULL, now(), ?, now())",
        [DAY] * 4,
    )
    conn.execute(
        'INSERT INTO mirror.salesforce_contacts ("Id", "Email", "Intercom_User_Id__c") '
        "VALUES ('003U', 'old@acme.com', 'usr-9')"
    )
    conn.execute(
        'INSERT INTO mirror.salesforce_accounts ("Id", "Website") VALUES '
        "('001D', 'https://www.acme-d.example.com'), ('001G', 'gmail.com')"
    )
    conn.execute(
        "INSERT INTO match.company_matches (intercom_company_id, partition_date, "
        "sf_account_id, rule, matched_at) VALUES ('co1', ?, '001X', 'external_id', now())",
        [DAY],
    )
    cur = conn.execute(read_sql("match_people.sql", people.SQL), [DAY, DAY, "r", True])
    names = [d[0] for d in cur.description]
    rows = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    assert (rows["ic-uid"]["rule"], rows["ic-uid"]["sf_id"]) == ("user_id", "003U")
    assert (rows["ic-co"]["account_id"], rows["ic-co"]["account_rule"]) == ("001X", "company")
    assert (rows["ic-dom"]["account_id"], rows["ic-dom"]["account_rule"]) == (
        "001D",
        "email_domain",
    )
    assert (rows["ic-gmail"]["account_id"], rows["ic-gmail"]["account_rule"]) == (None, "none")
    off = conn.execute(read_sql("match_people.sql", people.SQL), [DAY, DAY, "r", False]).fetchall()
    assert {r[0]: r[names.index("account_id")] for r in off}["ic-dom"] is None
