"""SOQL over REST: ``/query`` and ``/queryAll`` with ``nextRecordsUrl`` paging (reference 5.3).

A cursor is ``{locator}-{offset}``; the locator remembers the statement (the last 1,000 are kept,
as an org forgets idle cursors), so queryMore re-runs it from the offset.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Response

from .errors import ApiError, Call, json_response
from .routing import Route
from .soql import Query, SoqlError, parse_query

if TYPE_CHECKING:
    from .app import SalesforceEmulator

_MAX_CURSORS = 1000


def _page_size(app: SalesforceEmulator, call: Call) -> int:
    """``Sforce-Query-Options: batchSize=n`` (200..2000) overrides the page size (ref. 3)."""
    m = re.search(r"batchSize=(\d+)", call.request.headers.get("Sforce-Query-Options", ""))
    if m:
        return max(200, min(2000, int(m.group(1))))
    return app.config.query_page_size


def _resume(app: SalesforceEmulator, cursor: str) -> tuple[str, bool, int]:
    """(statement, include deleted, offset) a queryMore cursor stands for."""
    locator, _, offset = cursor.rpartition("-")
    entry = app.cursors.get(locator)
    if entry is None or not offset.isdigit():
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return entry[0], entry[1], int(offset)


def _parse(soql: str) -> Query:
    try:
        return parse_query(soql)
    except SoqlError as exc:
        raise ApiError(400, exc.code, exc.message) from exc


def _next_url(
    app: SalesforceEmulator, call: Call, cursor: str | None, soql: str, deleted: bool, at: int
) -> str:
    with app.lock:
        locator = cursor.rpartition("-")[0] if cursor else app.store.new_id("QueryLocator")
        app.cursors[locator] = (soql, deleted)
        while len(app.cursors) > _MAX_CURSORS:
            app.cursors.popitem(last=False)
    endpoint = "queryAll" if deleted else "query"
    return f"/services/data/v{call.version}/{endpoint}/{locator}-{at}"


def _run(app: SalesforceEmulator, call: Call, deleted: bool, cursor: str | None = None) -> Response:
    start = 0
    soql = call.args.get("q", "")
    if cursor is not None:
        soql, deleted, start = _resume(app, cursor)
    query = _parse(soql)
    sql, params = query.count_sql(deleted)
    total = app.store.execute(sql, params)[0][0]
    if query.count_only:
        return json_response({"totalSize": total, "done": True, "records": []})
    sql, params = query.page_sql(start, _page_size(app, call), deleted)
    rows = app.store.execute(sql, params)
    body: dict[str, Any] = {"totalSize": total, "done": start + len(rows) >= total}
    if not body["done"]:
        body["nextRecordsUrl"] = _next_url(app, call, cursor, soql, deleted, start + len(rows))
    body["records"] = query.render_json(rows, call.version)
    return json_response(body)


def query(app: SalesforceEmulator, call: Call) -> Response:
    return _run(app, call, False)


def query_all(app: SalesforceEmulator, call: Call) -> Response:
    return _run(app, call, True)


def query_more(app: SalesforceEmulator, call: Call, cursor: str) -> Response:
    return _run(app, call, False, cursor)


def query_all_more(app: SalesforceEmulator, call: Call, cursor: str) -> Response:
    return _run(app, call, True, cursor)


ROUTES = [
    Route("/query", query),
    Route("/queryAll", query_all),
    Route("/query/<cursor>", query_more),
    Route("/queryAll/<cursor>", query_all_more),
]
