"""Cursor pagination shared by contact/conversation list and search endpoints (reference §2.1).

``pages = {type: pages, page, per_page, total_pages, next: {page, starting_after}}``; ``next`` is
omitted on the last page and ``total_count`` is present on every page. The cursor encodes the last
row's sort value and id, so the next page continues after it (keyset paging): records whose sort
value changes while a client pages move, exactly the hazard real extractors meet.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from intercom_salesforce.sandbox.intercom.errors import ApiError
from intercom_salesforce.sandbox.intercom.search import (
    decode_cursor,
    encode_cursor,
    parse_per_page,
    parse_sort,
)
from intercom_salesforce.sandbox.intercom.store import IntercomStore


@dataclass
class Page:
    ids: list[str]
    total: int
    pages: dict[str, Any]


def cursor_page(
    store: IntercomStore,
    table: str,
    where: str,
    params: list[Any],
    sort_sql: str,
    ascending: bool,
    per_page: int,
    starting_after: str | None,
) -> Page:
    """One page of ids plus the ``pages`` object; raises ``SearchError`` for a bad cursor."""
    page_no = 1
    after = None
    if starting_after is not None:
        sort_value, last_id, page_no = decode_cursor(starting_after)
        after = (sort_value, last_id)
    rows = store.keyset_page(table, where, params, sort_sql, ascending, after, per_page + 1)
    total = store.count_where(table, where, params)
    has_more = len(rows) > per_page
    rows = rows[:per_page]
    pages: dict[str, Any] = {
        "type": "pages",
        "page": page_no,
        "per_page": per_page,
        "total_pages": max(math.ceil(total / per_page), page_no if rows else 0),
    }
    if has_more and rows:
        last_id, last_value = rows[-1]
        pages["next"] = {
            "page": page_no + 1,
            "starting_after": encode_cursor(last_value, last_id, page_no + 1),
        }
    return Page([r[0] for r in rows], total, pages)


def offset_pages(
    page: int, per_page: int, total: int, next_url: Callable[[int], Any] | None = None
) -> dict[str, Any]:
    """``pages`` for page-numbered endpoints (companies): ``next`` is null on the last page, as in
    the recorded ``GET /companies`` example."""
    total_pages = math.ceil(total / per_page) if per_page else 0
    nxt = None
    if page < total_pages and next_url is not None:
        nxt = next_url(page + 1)
    return {
        "type": "pages",
        "next": nxt,
        "page": page,
        "per_page": per_page,
        "total_pages": total_pages,
    }


def search_page(
    store: IntercomStore,
    table: str,
    body: dict[str, Any],
    resolver: Callable[[str, Any], Any],
    where: str,
    params: list[Any],
    default_per_page: int,
) -> Page:
    """The page a search body asks for: its ``sort``, and pagination read from the body only (a
    ``starting_after`` in the query string is ignored, reference §2.3)."""
    sort_field, ascending = parse_sort(body.get("sort"), resolver)
    pagination = body.get("pagination") or {}
    if not isinstance(pagination, dict):
        raise ApiError(400, "parameter_invalid", "pagination must be an object", "pagination")
    per_page = parse_per_page(pagination.get("per_page"), default_per_page)
    return cursor_page(
        store,
        table,
        where,
        params,
        sort_field.sql if sort_field else "NULL",
        ascending,
        per_page,
        pagination.get("starting_after") or None,
    )
