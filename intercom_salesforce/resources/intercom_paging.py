"""How Intercom's lists page: one small object per style, chosen by the caller, never guessed.

Intercom pages five ways (reference §2): search carries a ``starting_after`` cursor in the POST
body; ``GET /contacts`` carries it in the query; the company scroll hands back a ``scroll_param``;
a contact's companies are numbered pages; data events give the next page as a full URL; and the
small lists (admins, tags, one conversation) are a single response. Each paginator yields the
response bodies in order; :func:`records` digs the list out of one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from intercom_salesforce.resources.intercom import RETRYABLE_STATUS, IntercomAPIError

if TYPE_CHECKING:
    from intercom_salesforce.resources.intercom import IntercomClient

PagingStyle = Literal["search", "cursor", "scroll", "page_number", "next_url", "single"]
SCROLL_RESTART_HINT = "restart the scroll"


class Paginator(Protocol):
    def pages(self, client: IntercomClient) -> Iterator[dict[str, Any]]:
        """The response bodies, first to last."""
        ...


def dig(body: Any, path: str) -> Any:
    """The value at a dotted path (``conversation_parts.conversation_parts``), or None."""
    for part in path.split("."):
        body = body.get(part) if isinstance(body, dict) else None
    return body


def records(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The list of records a response holds under ``key`` (dotted for nested lists)."""
    return dig(body, key) or []


def _cursor(body: dict[str, Any]) -> str | None:
    nxt = (body.get("pages") or {}).get("next")
    return nxt.get("starting_after") if isinstance(nxt, dict) else None


@dataclass
class SearchPages:
    """``POST /{entity}/search``: the query, sort and cursor all travel in the body."""

    entity: str
    query: dict[str, Any]
    sort: dict[str, str] | None = None
    per_page: int | None = None

    def pages(self, client: IntercomClient) -> Iterator[dict[str, Any]]:
        pagination: dict[str, Any] = {"per_page": self.per_page or client.r.per_page}
        body: dict[str, Any] = {"query": self.query, "pagination": pagination}
        if self.sort:
            body["sort"] = self.sort
        while True:
            page = client.request("POST", f"/{self.entity}/search", json=body)
            yield page
            cursor = _cursor(page)
            if not cursor:
                return
            body["pagination"] = {"per_page": pagination["per_page"], "starting_after": cursor}


@dataclass
class QueryPages:
    """A GET list whose next page is asked for by a query parameter; subclasses say which."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    per_page: int | None = None

    def pages(self, client: IntercomClient) -> Iterator[dict[str, Any]]:
        query: dict[str, Any] | None = {
            "per_page": self.per_page or client.r.per_page,
            **self.params,
        }
        while query is not None:
            page = client.request("GET", self.path, params=query)
            yield page
            query = self.next_query(page, query)

    def next_query(self, page: dict[str, Any], query: dict[str, Any]) -> dict[str, Any] | None:
        """The query of the page after ``page``; None when it was the last."""
        raise NotImplementedError


class CursorPages(QueryPages):
    """A GET list paged by ``pages.next.starting_after`` in the query (``GET /contacts``)."""

    def next_query(self, page: dict[str, Any], query: dict[str, Any]) -> dict[str, Any] | None:
        cursor = _cursor(page)
        return {**query, "starting_after": cursor} if cursor else None


class PageNumberPages(QueryPages):
    """A GET list numbered ``pages.page`` of ``pages.total_pages`` (a contact's companies)."""

    def next_query(self, page: dict[str, Any], query: dict[str, Any]) -> dict[str, Any] | None:
        info = page.get("pages") or {}
        number, total = info.get("page"), info.get("total_pages")
        if isinstance(number, int) and isinstance(total, int) and number < total:
            return {**query, "page": number + 1}
        return None


@dataclass
class NextUrlPages:
    """A GET list whose ``pages.next`` is the next page's full URL (data events)."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    per_page: int | None = None

    def pages(self, client: IntercomClient) -> Iterator[dict[str, Any]]:
        url: str = self.path
        query: dict[str, Any] | None = {
            "per_page": self.per_page or client.r.per_page,
            **self.params,
        }
        while True:
            page = client.request("GET", url, params=query)
            yield page
            nxt = (page.get("pages") or {}).get("next")
            if not (isinstance(nxt, str) and nxt):
                return
            url, query = nxt, None  # the URL carries the whole query


@dataclass
class SinglePage:
    """One response holds the whole list (admins, tags, a conversation with its parts)."""

    path: str
    params: dict[str, Any] = field(default_factory=dict)

    def pages(self, client: IntercomClient) -> Iterator[dict[str, Any]]:
        yield client.request("GET", self.path, params=self.params or None)


@dataclass
class ScrollPages:
    """``GET /companies/scroll`` until the empty final page.

    One scroll may be open per app: ``400 scroll_exists`` waits ``scroll_wait_seconds`` for the
    other to expire and tries again. A transient 5xx or dropped connection is retried in place;
    the documented ``500`` "please restart the scroll operation", or a ``404`` for a scroll that
    expired, restarts the scroll from the beginning, so callers must tolerate seeing a record
    twice (stage rows keyed by id). Pages with no records are not yielded.
    """

    path: str = "/companies/scroll"

    def pages(self, client: IntercomClient) -> Iterator[dict[str, Any]]:
        restarts = waits = 0
        while True:
            param: str | None = None
            try:
                while True:
                    page = client.request(
                        "GET",
                        self.path,
                        params={"scroll_param": param} if param else None,
                        final=_scroll_must_restart,
                    )
                    if not page.get("data"):
                        return
                    yield page
                    param = page.get("scroll_param")
                    if not param:
                        return
            except IntercomAPIError as exc:
                if exc.status == 400 and "scroll_exists" in _error_codes(exc.body):
                    if waits >= client.r.scroll_max_restarts:
                        raise
                    waits += 1
                    client.log.info(
                        f"another company scroll is open; waiting {client.r.scroll_wait_seconds} "
                        "s for it to expire"
                    )
                    client._sleep(client.r.scroll_wait_seconds)
                    continue
                if (exc.status in RETRYABLE_STATUS or exc.status == 404) and param:
                    if restarts >= client.r.scroll_max_restarts:
                        raise
                    restarts += 1
                    client.stats.bump("scroll_restarts")
                    client.log.warning(f"company scroll failed with {exc.status}; restarting it")
                    continue
                raise


def paginator(
    style: PagingStyle, path: str, params: dict[str, Any] | None = None, per_page: int | None = None
) -> Paginator:
    """The paginator of a GET list by its style (search and scroll take their own arguments)."""
    params = params or {}
    if style == "cursor":
        return CursorPages(path, params, per_page)
    if style == "page_number":
        return PageNumberPages(path, params, per_page)
    if style == "next_url":
        return NextUrlPages(path, params, per_page)
    if style == "single":
        return SinglePage(path, params)
    if style == "scroll":
        return ScrollPages(path)
    raise ValueError(f"{style} pages are built with SearchPages")


def _scroll_must_restart(status: int, body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    return any(
        SCROLL_RESTART_HINT in str(e.get("message", "")).lower()
        for e in body.get("errors") or []
        if isinstance(e, dict)
    )


def _error_codes(body: Any) -> set[str]:
    if isinstance(body, dict):
        return {e.get("code") for e in body.get("errors") or [] if isinstance(e, dict)}
    return set()
