"""Bulk CSV cells are formatted by DuckDB macros; Salesforce (the emulator's parser) reads them back."""

import re
from datetime import UTC, date, datetime, timedelta, timezone

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intercom_salesforce.sandbox.salesforce.values import parse_datetime
from intercom_salesforce.warehouse import read_sql

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute(read_sql("create_warehouse.sql"))
    yield c
    c.close()


def cell(con, expr: str, value):
    return con.execute(f"SELECT {expr}", [value]).fetchone()[0]


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30), timezones=offsets
)


@settings(max_examples=150, deadline=None)
@given(moments)
def test_datetime_is_utc_iso_8601_with_zone(con, ts):
    text = cell(con, "sync.sf_datetime(?::TIMESTAMPTZ)", ts)
    assert ISO_UTC.match(text), text
    expected = ts.astimezone(UTC).replace(microsecond=ts.microsecond // 1000 * 1000)
    assert datetime.fromisoformat(text) == expected
    # the same instant Salesforce stores (its form: yyyy-MM-ddTHH:mm:ss.SSS+0000)
    assert parse_datetime(text) == f"{expected:%Y-%m-%dT%H:%M:%S}.{expected:%f}"[:23] + "+0000"
    assert text.endswith(".000Z") is False


@settings(max_examples=50, deadline=None)
@given(st.dates(min_value=date(1700, 1, 1), max_value=date(4000, 12, 31)))
def test_date(con, d):
    assert cell(con, "sync.sf_date(?::DATE)", d) == d.isoformat()


@given(st.one_of(st.none(), st.booleans()))
def test_boolean_is_lowercase_and_null_stays_empty(con, b):
    assert cell(con, "sync.sf_boolean(?::BOOLEAN)", b) == (None if b is None else str(b).lower())


picklist_value = st.text(alphabet=st.sampled_from("abcXYZ019 -_/&éü"), min_size=0, max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.none(), st.lists(st.one_of(st.none(), picklist_value), max_size=8)))
def test_multiselect_joins_distinct_values_with_semicolons(con, values):
    text = cell(con, "sync.sf_multiselect(?::VARCHAR[])", values)
    kept = sorted({v for v in values or [] if v is not None and v.strip(" ")})
    assert text == (";".join(kept) if kept else None)
    if text:
        assert text.split(";") == kept


@given(st.one_of(st.none(), st.text(min_size=1, max_size=20).filter(lambda t: "\x00" not in t)))
def test_clear_marks_a_deliberate_null(con, value):
    assert cell(con, "sync.sf_clear(?)", value) == ("#N/A" if value is None else value)
