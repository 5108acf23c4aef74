"""Company -> Account rules of match_companies.sql on a real DuckDB file."""

import duckdb
import pytest

from intercom_salesforce.assets.match import companies
from intercom_salesforce.warehouse import ensure_warehouse, read_sql

DAY = "2026-11-20"
# (intercom id, company_id, website, expected rule, expected account)
CASES = [
    ("c-ext", "cmp-1", "https://elsewhere.example", "external_id", "001A"),
    ("c-dom", "cmp-2", "https://www.Acme.example.com:443/about", "domain", "001B"),
    ("c-free", "cmp-3", "http://gmail.com", "free_mail", None),
    ("c-two", "cmp-4", "twins.example.com", "ambiguous", None),
    ("c-none", "cmp-5", "https://nobody.example.org", "none", None),
    ("c-noweb", "cmp-6", None, "no_domain", None),
]
ACCOUNTS = [
    ("001A", "cmp-1", "https://not-the-same.example"),
    ("001B", None, "acme.example.com"),
    ("001G", None, "https://gmail.com"),  # an Account on a free-mail domain matches no one
    ("001T1", None, "https://twins.example.com"),
    ("001T2", None, "http://www.twins.example.com/"),
]


@pytest.fixture()
def conn(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_warehouse(con)
    companies.load_free_mail(con)
    for cid, company_id, website, *_ in CASES:
        con.execute(
            "INSERT INTO staging.intercom_companies (id, company_id, website, updated_at, "
            "partition_date, extracted_at) VALUES (?, ?, ?, now(), ?, now())",
            [cid, company_id, website, DAY],
        )
    for aid, ext, website in ACCOUNTS:
        con.execute(
            'INSERT INTO mirror.salesforce_accounts ("Id", "Intercom_Company_Id__c", '
            '"Website") VALUES (?, ?, ?)',
            [aid, ext, website],
        )
    return con


def test_company_rules(conn):
    rows = conn.execute(read_sql("match_companies.sql", companies.SQL), [DAY, DAY, "r"]).fetchall()
    got = {r[0]: (r[5], r[4]) for r in rows}
    assert got == {cid: (rule, acct) for cid, _c, _w, rule, acct in CASES}
