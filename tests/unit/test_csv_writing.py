"""Bulk CSVs come from DuckDB COPY: exact round trip, fixed column order, split under a size."""

import csv
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intercom_salesforce.assets.push.bulk_upsert import write_csv_files

COLUMNS = ["Ext__c", "LastName", "Description"]
# Salesforce reads UTF-8 CSV with RFC-4180 quoting; any text must survive, including delimiters,
# quotes, newlines and non-ASCII. (NUL is not valid in Salesforce text and is excluded.)
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
    min_size=1,
    max_size=40,
)


def make_pending(con, rows):
    con.execute(
        'CREATE OR REPLACE TEMP TABLE _p0 ("Ext__c" VARCHAR, "LastName" VARCHAR, '
        '"Description" VARCHAR)'
    )
    con.executemany("INSERT INTO _p0 VALUES (?, ?, ?)", rows)
    con.execute('CREATE OR REPLACE TEMP TABLE _pending AS SELECT p.*, p."Ext__c" AS ext FROM _p0 p')


def read_all(files: list[Path]) -> list[dict]:
    out = []
    for f in files:
        with open(f, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == COLUMNS
            out.extend(reader)
    return out


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(text, st.one_of(st.none(), text)),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t[0],
    )
)
def test_round_trip_any_text(tmp_path_factory, rows):
    out = tmp_path_factory.mktemp("csv")
    con = duckdb.connect()
    make_pending(con, [(ext, name, "x") for ext, name in rows])
    files = write_csv_files(con, "_pending", COLUMNS, out, max_bytes=10_000_000)
    got = {r["Ext__c"]: r["LastName"] for r in read_all(files)}
    # a null is an empty cell: "leave the field alone" in Bulk API 2.0
    assert got == {ext: (name or "") for ext, name in rows}


def test_split_under_max_bytes(tmp_path):
    con = duckdb.connect()
    # non-ASCII text: several bytes a character, and the limit is on bytes
    make_pending(con, [(f"id-{i:05d}", "Smith", "é€" * 100) for i in range(2000)])
    files = write_csv_files(con, "_pending", COLUMNS, tmp_path, max_bytes=50_000)
    assert len(files) > 5
    assert all(f.stat().st_size <= 50_000 for f in files)
    assert len(read_all(files)) == 2000
