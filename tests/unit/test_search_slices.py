"""The days of a full window read as several searches: together they cover the window, each
record's day in exactly one slice."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intercom_salesforce.assets.partitions import search_filter, search_slices
from intercom_salesforce.resources.interleave import Interleaved

TZ = ZoneInfo("America/Los_Angeles")


def day_matches(query: dict, moment: datetime) -> bool:
    """Intercom's day-granular matching: ``> t`` from the day after t's day, ``< t`` before
    t's day (both in the workspace's timezone)."""
    low, high = (datetime.fromtimestamp(c["value"], TZ).date() for c in query["value"])
    return low < moment.date() < high


@given(
    start_day=st.dates(
        min_value=datetime(2025, 1, 1).date(), max_value=datetime(2027, 1, 1).date()
    ),
    days=st.integers(min_value=1, max_value=60),
    slices=st.integers(min_value=1, max_value=8),
    offsets=st.lists(st.integers(min_value=0, max_value=60 * 86_400 - 1), max_size=30),
)
def test_day_slices_hold_every_moment_of_the_window_once(start_day, days, slices, offsets):
    start = datetime.combine(start_day, datetime.min.time(), TZ)
    end = datetime.combine(start_day + timedelta(days=days), datetime.min.time(), TZ)
    queries = search_slices(start, end, "day", slices)
    assert len(queries) == min(slices, days)
    for offset in offsets:
        moment = start + timedelta(seconds=offset)
        if moment >= end:
            continue
        assert sum(day_matches(q, moment) for q in queries) == 1


def test_exact_slices_meet_to_the_second_and_keep_the_outer_margin():
    start = datetime(2026, 11, 1, tzinfo=TZ)
    end = datetime(2026, 11, 9, tzinfo=TZ)
    queries = search_slices(start, end, "exact", 4)
    whole = search_filter(start, end, "exact")
    assert queries[0]["value"][0] == whole["value"][0]
    assert queries[-1]["value"][1] == whole["value"][1]
    for left, right in zip(queries, queries[1:], strict=False):
        # > (b - 1) on the right, < b on the left: the second b is in the right-hand slice
        assert right["value"][0]["value"] + 1 == left["value"][1]["value"]


def test_one_day_is_one_search():
    start = datetime(2026, 11, 1, 6, tzinfo=TZ)
    end = datetime(2026, 11, 2, tzinfo=TZ)
    assert search_slices(start, end, "day", 4) == [search_filter(start, end, "day")]


def test_interleaved_yields_every_item_and_raises_a_sources_error():
    sources = [iter(range(i * 100, i * 100 + 50)) for i in range(4)]
    assert sorted(Interleaved(sources).items()) == sorted(
        x for i in range(4) for x in range(i * 100, i * 100 + 50)
    )

    def failing():
        yield 1
        raise RuntimeError("page 2 failed")

    with pytest.raises(RuntimeError, match="page 2 failed"):
        list(Interleaved([failing(), iter(range(10))]).items())


def test_closing_interleaved_stops_its_threads():
    produced = []

    def endless(tag: int):
        n = 0
        while True:
            produced.append(tag)
            yield n
            n += 1

    before = threading.active_count()
    items = Interleaved([endless(1), endless(2)], buffered=2).items()
    assert [next(items) for _ in range(5)]
    items.close()
    assert threading.active_count() == before
    # bounded: a source runs at most a few items ahead of the consumer
    assert len(produced) <= 5 + 2 * 2 + 2
