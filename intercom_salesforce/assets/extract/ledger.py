"""The extraction ledger (``staging.extract_runs``): how a run reads its window, and its record.

Every run records the instant up to which its window is complete (its start, less
``search_lag_seconds``). The next run over days that an earlier run covered reads only what changed
since that mark; a full refresh (asked for, or no earlier run covering the window) reads it all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from intercom_salesforce.warehouse import read_sql

SQL = Path(__file__).parent / "sql"


@dataclass(frozen=True)
class Plan:
    """How a run reads its window: all of it, or what changed since ``since``."""

    mode: str  # "incremental" | "full_refresh"
    since: datetime | None = None
    reason: str = ""

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"


def previous_mark(
    conn: duckdb.DuckDBPyConnection, entity: str, first_day: str, last_day: str, tz: str
) -> datetime | None:
    """The newest mark of an earlier run that makes ``[first_day, last_day]`` complete up to it."""
    rows = conn.execute(
        read_sql("previous_mark.sql", SQL), [entity, first_day, last_day, tz]
    ).fetchall()
    return rows[0][0] if rows else None


def plan_window(
    conn: duckdb.DuckDBPyConnection,
    entity: str,
    window_start: datetime,
    days: tuple[str, str],
    tz: str,
    full_refresh: str | None,
) -> Plan:
    """Incremental from the last safe mark, unless ``full_refresh`` names why not to be."""
    if full_refresh:
        return Plan("full_refresh", reason=full_refresh)
    mark = previous_mark(conn, entity, *days, tz)
    if mark is None:
        return Plan("full_refresh", reason="no earlier run covers the window")
    since = max(mark.astimezone(ZoneInfo(tz)), window_start)
    return Plan("incremental", since=since, reason="changed since the last run's mark")


def high_water_mark(started: datetime, search_lag_seconds: float) -> datetime:
    """Up to when a run that started at ``started`` has read everything: search lags behind."""
    return started - timedelta(seconds=search_lag_seconds)


def record_run(
    conn: duckdb.DuckDBPyConnection,
    entity: str,
    *,
    days: tuple[str, str] | None,
    started: datetime,
    mark: datetime,
    rows_staged: int,
    api_calls: int,
    run_id: str,
    mode: str,
) -> None:
    """Write the run into the ledger, after its rows are staged."""
    first_day, last_day = days or (None, None)
    conn.execute(
        read_sql("record_extract_run.sql", SQL),
        {
            "entity": entity,
            "first_day": first_day,
            "last_day": last_day,
            "started_at": started,
            "high_water_mark": mark,
            "rows_staged": rows_staged,
            "api_calls": api_calls,
            "run_id": run_id,
            "mode": mode,
        },
    )
