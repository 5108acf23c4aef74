"""The four ways an entity is read, each driven by its row in the entity table.

* ``search`` and ``scroll`` (:func:`read_window`): the records updated in the window, or since the
  last run's mark. A search asks Intercom for the window; a scroll reads everything and keeps the
  window. An incremental search goes newest first and stops at the mark.
* ``children`` (:func:`read_children`): one listing per parent that changed since its children
  were last read (the entity's coverage table), ``intercom.workers`` at a time within the one rate
  limiter, while this thread alone writes DuckDB.
* ``list`` (:func:`read_list`): the whole list, once per parameter set.

Every reader streams records into a :class:`StagingWriter` (bounded memory) and returns what it
did as a :class:`Staged`; the asset factory records the run and builds its metadata.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from intercom_salesforce.assets.extract.ledger import Plan
from intercom_salesforce.assets.extract.staging import StagingWriter
from intercom_salesforce.assets.partitions import search_filter, search_slices
from intercom_salesforce.extract.entities import Coverage, EntitySpec, SubList
from intercom_salesforce.resources.intercom import IntercomAPIError, IntercomClient
from intercom_salesforce.resources.intercom_paging import (
    SearchPages,
    dig,
    paginator,
    records,
)
from intercom_salesforce.warehouse import ident, read_sql

SQL = Path(__file__).parent / "sql"
#: Parents whose coverage rows wait for one statement (and for their children's flush). Each save
#: flushes the writer first, a dozen DuckDB statements whatever the rows, some of which scan the
#: staged table: every 500 parents, those were 2,000 flushes of a few hundred data events each at
#: a million contacts, and about 100 s. A crash loses the progress of the parents not saved yet
#: (the next run reads them again), so a save also comes every ``COVERAGE_SECONDS``: against the
#: real API (167 calls a second at most) that is about 5,000 parents, against a fast one the batch.
COVERAGE_BATCH = 20_000
COVERAGE_SECONDS = 30.0


class Progress:
    """Counts, rate and ETA for long extractions, logged at most every ``interval`` seconds.

    Each line is an event in the run's log storage (a write to it): at a million contacts the data
    events stream's line every 200 contacts was 5,000 lines and 48 s of its main thread. A line
    every 10 seconds still shows the rate and the ETA while they matter.
    """

    def __init__(
        self,
        log: Any,
        label: str,
        every: int = 50,
        total: int | None = None,
        unit: str = "records",
        interval: float = 10.0,
    ):
        self.log, self.label, self.every, self.unit = log, label, every, unit
        self.interval = interval
        self.started = self._logged = time.monotonic()
        self.pages = self.fetched = self.items = 0
        self.total = total

    def page(self, n_records: int, total: int | None = None) -> None:
        self.pages += 1
        self.fetched += n_records
        if total is not None and self.unit == "records":
            self.total = total
        if self.unit == "records" and self.pages % self.every == 0:
            self._log(self.fetched)

    def item(self) -> None:
        """One unit of a per-parent loop (a conversation, a contact) done."""
        self.items += 1
        if self.items % self.every == 0:
            self._log(self.items)

    def _log(self, done: int) -> None:
        now = time.monotonic()
        if now - self._logged < self.interval:
            return
        self._logged = now
        rate = done / max(self.elapsed, 1e-6)
        eta = f", ETA {max(0.0, (self.total - done) / rate):.0f} s" if self.total and rate else ""
        self.log.info(f"{self.label}: {done}/{self.total or '?'} {self.unit}, {rate:.0f}/s{eta}")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Staged:
    """What one read left in staging: rows in its scope, rows it wrote, and what else it saw."""

    plan: Plan
    rows: int
    written: int
    extra: dict[str, Any] = field(default_factory=dict)


# -- search and scroll -------------------------------------------------------------------------


def window_pages(
    client: IntercomClient, spec: EntitySpec, start: datetime, end: datetime, incremental: bool
):
    """The pages that can hold the window's records: a search for it, or the full scroll."""
    if spec.read != "search":
        return paginator(spec.paging, spec.path).pages(client)
    dates = spec.search_dates or "day"
    if incremental:
        # newest first, stopping at the mark: one search, usually a page or two
        return SearchPages(
            spec.search_entity,
            search_filter(start, end, dates),
            sort={"field": "updated_at", "order": "descending"},
        ).pages(client)
    # a full read goes oldest first, so a record updated while we page comes round again at the
    # end of its slice (or, past a slice already read, in the next run: the mark is this run's
    # start); the days of the window are read as a few searches side by side
    slices = search_slices(start, end, dates, client.r.search_slices)
    return client.interleave(
        [
            SearchPages(
                spec.search_entity, query, sort={"field": "updated_at", "order": "ascending"}
            ).pages(client)
            for query in slices
        ]
    )


def complete_sub_lists(
    client: IntercomClient, spec: EntitySpec, record: dict[str, Any], subs: tuple[SubList, ...]
) -> int:
    """Replace truncated embedded lists (``has_more``) with the full list; returns calls made."""
    calls = 0
    for sub in subs:
        value = record.get(sub.name)
        if not (isinstance(value, dict) and value.get("has_more")):
            continue
        url = value.get("url") or f"/{spec.search_entity}/{record['id']}/{sub.name}"
        items: list[dict[str, Any]] = []
        for page in paginator(sub.paging, url, per_page=sub.per_page).pages(client):
            items.extend(records(page, "data"))
            calls += 1
        record[sub.name] = {
            "type": "list",
            "data": items,
            "total_count": len(items),
            "has_more": False,
        }
    return calls


def in_window(
    found: list[dict[str, Any]], start_ts: int, end_ts: int, seen: dict[str, int]
) -> tuple[list[dict[str, Any]], bool]:
    """The records of a page updated in ``[start_ts, end_ts)``, and whether the page reached
    records older than the start (an incremental read, newest first, can stop there)."""
    kept: list[dict[str, Any]] = []
    reached_mark = False
    for record in found:
        updated = int(record.get("updated_at") or 0)
        if updated < start_ts:
            seen["older_than_mark_dropped"] += 1
            reached_mark = True
        elif updated >= end_ts:
            seen["outside_window_dropped"] += 1
        else:
            kept.append(record)
    return kept, reached_mark


def truncated_records(spec: EntitySpec, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of a page with an embedded list cut short (``has_more``).

    Every record of a read passes here once, on the writer's thread, so it is a plain loop."""
    names = tuple(sub.name for sub in spec.sub_lists)
    if not names:
        return []
    out: list[dict[str, Any]] = []
    for record in found:
        for name in names:
            embedded = record.get(name)
            if type(embedded) is dict and embedded.get("has_more"):
                out.append(record)
                break
    return out


def complete_all_sub_lists(
    client: IntercomClient, spec: EntitySpec, found: list[dict[str, Any]]
) -> int:
    """Complete the truncated embedded lists of a page's records on the worker pool; returns
    the calls made."""
    truncated = truncated_records(spec, found)
    if not truncated:
        return 0  # most pages: no worker pool to start and stop
    calls = 0
    for _record, got in client.map_concurrent(
        lambda record: complete_sub_lists(client, spec, record, spec.sub_lists), truncated
    ):
        if isinstance(got, BaseException):
            raise got
        calls += got
    return calls


def read_window(
    client: IntercomClient,
    spec: EntitySpec,
    writer: StagingWriter,
    progress: Progress,
    plan: Plan,
    window: tuple[datetime, datetime],
    days: tuple[str, str],
) -> Staged:
    """Stage the records updated in ``window`` (from the plan's mark when incremental)."""
    start = plan.since or window[0]
    start_ts, end_ts = int(start.timestamp()), int(window[1].timestamp())
    seen = {"outside_window_dropped": 0, "older_than_mark_dropped": 0, "sub_list_calls": 0}
    if start_ts < end_ts:
        pages = window_pages(client, spec, start, window[1], plan.incremental)
        for page in pages:
            found = records(page, spec.key)
            progress.page(len(found), page.get("total_count"))
            kept, reached_mark = in_window(found, start_ts, end_ts, seen)
            seen["sub_list_calls"] += complete_all_sub_lists(client, spec, kept)
            writer.add_page(kept)
            if spec.read == "search" and plan.incremental and reached_mark:
                pages.close()
                break
    rows = writer.finish_plan(plan.incremental, *days)
    seen["duplicates_collapsed"] = writer.appended - writer.written
    if not spec.sub_lists:
        del seen["sub_list_calls"]
    if spec.read == "scroll":
        seen["scroll_restarts"] = client.stats.scroll_restarts
    return Staged(plan, rows, writer.written, seen)


# -- children of changed parents ---------------------------------------------------------------


def changed_parents(
    conn: duckdb.DuckDBPyConnection,
    spec: EntitySpec,
    days: tuple[str, str],
    full: bool,
    wanted: frozenset[str] | None = None,
    needed: str | None = None,
) -> tuple[list[tuple[str, Any]], int, bool]:
    """(id, updated_at) of the window's parents whose children were not read at that version,
    or not for every value ``wanted`` now, and that ``needed`` (a condition on parent ``p``)
    holds for; how many it spared; and whether none of them has a coverage row yet (a first
    read: see ``upsert_coverage``). A spared parent gets no coverage row, so it is read as
    soon as it is needed."""
    assert spec.parent is not None and spec.coverage is not None
    column = spec.coverage.wanted_column
    check = f"coalesce(list_has_all(v.{ident(column)}, $4::VARCHAR[]), FALSE)" if column else "$4"
    sql = read_sql("changed_parents.sql", SQL).format(
        parent_view=spec.parent.current_view,
        coverage=spec.coverage.table,
        parent_column=ident(spec.coverage.parent_column),
        wanted_check=check,
        needed_check=needed or "TRUE",
    )
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _changed_parents AS {sql}",
        [*days, full, sorted(wanted or ()) if column else True],
    )
    try:
        todo = conn.execute(
            "SELECT id, updated_at FROM _changed_parents WHERE needed ORDER BY id"
        ).fetchall()
        spared, covered = conn.execute(
            "SELECT count(*) FILTER (WHERE NOT c.needed), "
            "count(*) FILTER (WHERE c.needed AND EXISTS (SELECT 1 FROM "
            f"{spec.coverage.table} v WHERE v.{ident(spec.coverage.parent_column)} = c.id)) "
            "FROM _changed_parents c"
        ).fetchall()[0]
    finally:
        conn.execute("DROP TABLE IF EXISTS _changed_parents")
    return todo, spared, covered == 0


def fetch_children(
    client: IntercomClient, spec: EntitySpec, parent_id: str
) -> tuple[list[dict[str, Any]], int] | None:
    """One parent's children and their true number (None: the parent is gone). Runs as a task
    of the client's hub, many at once (``map_concurrent``): it only reads."""
    children: list[dict[str, Any]] = []
    total = 0
    total_paths = spec.coverage.total_paths if spec.coverage else ()
    try:
        for params in spec.param_sets:
            query = {k: v.format(id=parent_id) for k, v in params.items()}
            for page in paginator(spec.paging, spec.path.format(id=parent_id), query).pages(client):
                children.extend(records(page, spec.key))
                total = max([total, *(int(dig(page, p) or 0) for p in total_paths)])
    except IntercomAPIError as exc:
        if exc.status != 404:
            raise
        return None  # deleted since it was staged
    return children, max(total, len(children))


def coverage_columns(coverage: Coverage) -> tuple[str, ...]:
    """The per-parent columns of a coverage row (the wanted values are one per read, apart)."""
    columns = (coverage.parent_column, "updated_at", coverage.count_column)
    return columns + (("parts_total", "truncated") if coverage.total_paths else ())


def upsert_coverage(
    conn: duckdb.DuckDBPyConnection,
    coverage: Coverage,
    rows: list[tuple[Any, ...]],
    wanted: frozenset[str] | None = None,
    replace: bool = True,
) -> None:
    """Record which parents' children were read, in one statement (through Arrow). ``wanted``
    is the same for every parent of a read, so it is one parameter, not a column per row.

    ``replace=False`` when none of the parents has a row yet (a first read): a plain insert.
    Replacing checks each row against the key: in a first read of 100,000 contacts' data
    events it cost twice the insert."""
    if not rows:
        return
    columns = coverage_columns(coverage)
    batch = pa.table(dict(zip(columns, map(list, zip(*rows, strict=True)), strict=True)))
    names = values = ", ".join(ident(c) for c in columns)
    params: list[Any] = []
    if coverage.wanted_column:
        names += f", {ident(coverage.wanted_column)}"
        values += ", ?::VARCHAR[]"
        params.append(sorted(wanted or ()))
    conn.register("_coverage", batch)
    try:
        conn.execute(
            f"INSERT {'OR REPLACE ' if replace else ''}INTO {coverage.table} ({names}, fetched_at) "
            f"SELECT {values}, now() FROM _coverage",
            params,
        ).fetchall()
    finally:
        conn.unregister("_coverage")
    rows.clear()


@dataclass
class ChildTally:
    """Per-parent outcomes of a children read, for metadata."""

    parents: int = 0
    missing: int = 0
    truncated: list[tuple[Any, ...]] = field(default_factory=list)


def read_children(
    conn: duckdb.DuckDBPyConnection,
    client: IntercomClient,
    spec: EntitySpec,
    writer: StagingWriter,
    progress: Progress,
    todo: list[tuple[str, Any]],
    wanted: frozenset[str] | None,
    fresh: bool = False,
) -> ChildTally:
    """Read the children of every parent in ``todo`` side by side; stage the ones ``wanted``
    (all when None) and mark each parent version read, never before its children are staged.
    ``fresh``: no parent in ``todo`` has a coverage row yet (``changed_parents``)."""
    assert spec.coverage is not None
    coverage: list[tuple[Any, ...]] = []
    tally = ChildTally(parents=len(todo))

    due = time.monotonic() + COVERAGE_SECONDS

    def save_coverage() -> None:
        nonlocal due
        writer.flush()  # children first: coverage must never claim children not yet staged
        upsert_coverage(conn, spec.coverage, coverage, wanted, replace=not fresh)
        due = time.monotonic() + COVERAGE_SECONDS

    def fetch(item: tuple[str, Any]) -> tuple[list[dict[str, Any]], int] | None:
        return fetch_children(client, spec, item[0])

    for (parent_id, updated_at), got in client.map_concurrent(fetch, todo):
        if isinstance(got, BaseException):
            raise got
        progress.item()
        if got is None:
            tally.missing += 1
            continue
        children, total = got
        progress.page(len(children))
        if wanted is not None:
            children = [c for c in children if c.get(spec.wanted_field or "") in wanted]
        writer.add_page(children, parent_id if spec.parent_field else None)
        kept = len(children)
        row: tuple[Any, ...] = (parent_id, updated_at, kept)
        if spec.coverage.total_paths:
            row += (total, kept < total)
            if kept < total:
                tally.truncated.append(row)
        coverage.append(row)
        waiting = len(coverage)
        if (
            waiting >= COVERAGE_BATCH
            or (kept and not writer.pages)
            or (waiting % 500 == 0 and time.monotonic() >= due)
        ):
            save_coverage()  # at the batch's size or age, or free: the writer has just flushed
    save_coverage()
    return tally


# -- whole lists -------------------------------------------------------------------------------


def read_list(
    client: IntercomClient, spec: EntitySpec, writer: StagingWriter, progress: Progress
) -> Staged:
    """Reference data: the table becomes exactly the list as read now."""
    for params in spec.param_sets:
        for page in paginator(spec.paging, spec.path, params).pages(client):
            found = records(page, spec.key)
            progress.page(len(found))
            writer.add_page(found)
    rows = writer.finish_all()
    return Staged(Plan("full_refresh"), rows, writer.written)
