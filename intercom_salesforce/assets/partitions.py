"""Daily partitions on ``updated_at``, counted in the Intercom workspace's timezone.

Intercom's contact search matches dates by calendar day in the workspace's timezone (API 2.7-2.16),
so a partition that is a workspace-local day maps exactly onto ``updated_at`` day filters.
``end_offset=1`` keeps today's partition available, so an incremental run in the middle of a day
picks up everything updated so far and a later run of the same partition the rest.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import dagster as dg

from intercom_salesforce.settings import partitions_start, workspace_timezone

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=partitions_start(), timezone=workspace_timezone(), end_offset=1
)


def window_days(window: dg.TimeWindow) -> tuple[str, str]:
    """First and last partition day (inclusive, ISO dates) of a time window."""
    last = window.end - timedelta(days=1)
    return window.start.date().isoformat(), last.date().isoformat()


def search_window_filter(window: dg.TimeWindow, field: str = "updated_at") -> dict:
    """One search filter covering whole workspace-local days ``[start, end)``.

    Under day-granular semantics ``field > t`` starts at the day after t's day and ``field < t``
    ends before t's day, so an instant in the day before ``start`` and an instant in ``end``'s day
    bound the window exactly. Noon-offsets keep the instants inside their days across DST changes.
    """
    return search_filter(window.start, window.end, "day", field)


def day_start(moment: datetime) -> datetime:
    """Midnight (in ``moment``'s timezone) of ``moment``'s day."""
    return datetime.combine(moment.date(), time.min, tzinfo=moment.tzinfo)


def search_filter(
    start: datetime, end: datetime, dates: str = "day", field: str = "updated_at"
) -> dict:
    """A search filter for ``start <= field < end`` (``end`` a midnight) as Intercom matches dates.

    ``day``: calendar days in the workspace timezone (``start``'s and ``end``'s tzinfo); the
    filter covers from ``start``'s whole day, so the caller drops what precedes ``start``.
    ``exact``: to the second, but operators that may or may not include their bound, so the
    filter is a day wider on each side and the caller applies the bounds exactly.
    """
    if dates == "exact":
        low = int(start.timestamp()) - 86_400
        high = int(end.timestamp()) + 86_400
    else:
        low = int((day_start(start) - timedelta(hours=12)).timestamp())
        high = int((end + timedelta(hours=12)).timestamp())
    return {
        "operator": "AND",
        "value": [
            {"field": field, "operator": ">", "value": low},
            {"field": field, "operator": "<", "value": high},
        ],
    }


def search_slices(start: datetime, end: datetime, dates: str, slices: int) -> list[dict]:
    """Filters for up to ``slices`` searches over consecutive runs of whole days of
    ``[start, end)`` (``end`` a midnight), which together read what one search would.

    Day filters meet exactly at the midnights between slices. Exact filters are widened by a day
    at the window's outer bounds only; inside, neighbouring slices meet to the second (a record
    at a boundary second may come twice, and the staging upsert keeps one).
    """
    first = day_start(start)
    days = (end.date() - first.date()).days
    count = max(1, min(slices, days))
    if count == 1:
        return [search_filter(start, end, dates)]
    cuts = [
        datetime.combine(
            first.date() + timedelta(days=round(i * days / count)), time.min, start.tzinfo
        )
        for i in range(count + 1)
    ]
    cuts[0], cuts[-1] = start, end
    filters = []
    for i in range(count):
        query = search_filter(cuts[i], cuts[i + 1], dates)
        if dates == "exact":
            low, high = query["value"]
            if i > 0:
                low["value"] = int(cuts[i].timestamp()) - 1
            if i < count - 1:
                high["value"] = int(cuts[i + 1].timestamp())
        filters.append(query)
    return filters


def local_day(ts: int, tz) -> str:
    return datetime.fromtimestamp(ts, tz).date().isoformat()
