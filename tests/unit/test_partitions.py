"""Partition windows map onto Intercom's day-granular search filters exactly."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
from hypothesis import given
from hypothesis import strategies as st

from intercom_salesforce.assets.partitions import search_window_filter, window_days

TZ = ZoneInfo("America/Los_Angeles")


def local_day(ts: int):
    return datetime.fromtimestamp(ts, TZ).date()


@given(
    start=st.dates(min_value=datetime(2024, 1, 1).date(), max_value=datetime(2027, 12, 1).date()),
    days=st.integers(min_value=1, max_value=400),
)
def test_filter_instants_sit_in_the_bounding_days(start, days):
    # DST transitions included: the noon offsets must keep each instant inside its day
    window = dg.TimeWindow(
        datetime(start.year, start.month, start.day, tzinfo=TZ),
        datetime(start.year, start.month, start.day, tzinfo=TZ) + timedelta(days=days),
    )
    gt, lt = search_window_filter(window)["value"]
    assert gt["operator"] == ">" and lt["operator"] == "<"
    assert local_day(gt["value"]) == start - timedelta(days=1)
    assert local_day(lt["value"]) == start + timedelta(days=days)


def test_window_days_are_inclusive():
    window = dg.TimeWindow(datetime(2026, 3, 7, tzinfo=TZ), datetime(2026, 3, 10, tzinfo=TZ))
    assert window_days(window) == ("2026-03-07", "2026-03-09")
