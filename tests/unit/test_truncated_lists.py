"""Which records of a page have an embedded list cut short: only those get their lists read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from intercom_salesforce.assets.extract.streams import truncated_records
from intercom_salesforce.extract.entities import CONTACTS, DATA_EVENTS

# what a contact's ``tags`` or ``companies`` key can hold: a list object with or without more
# pages, a bare list, null, text, or nothing at all
embedded = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("list"), "data": st.just([])},
        optional={"has_more": st.one_of(st.booleans(), st.none(), st.integers(0, 2))},
    ),
    st.lists(st.integers(), max_size=2),
    st.none(),
    st.text(max_size=3),
)
record = st.dictionaries(st.sampled_from(["tags", "companies", "notes"]), embedded)


@given(st.lists(record, max_size=20))
def test_a_record_is_truncated_when_one_of_its_sub_lists_has_more(page):
    names = [sub.name for sub in CONTACTS.sub_lists]
    expected = [
        r
        for r in page
        if any(isinstance(r.get(n), dict) and bool(r[n].get("has_more")) for n in names)
    ]
    got = truncated_records(CONTACTS, page)
    assert [id(r) for r in got] == [id(r) for r in expected]  # the same records, in page order


def test_an_entity_without_sub_lists_has_nothing_truncated():
    page = [{"tags": {"type": "list", "data": [], "has_more": True}}]
    assert truncated_records(DATA_EVENTS, page) == []
    assert truncated_records(CONTACTS, page) == page
