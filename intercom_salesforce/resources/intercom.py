"""The Intercom REST client: pinned version, timeouts, retries, rate-limit waits, request counting.

It knows how to page (cursor, search, scroll) and how to stay within Intercom's limits; it holds no
business rules. The host comes from ``region`` (US, EU, AU) unless ``base_url`` overrides it (the
sandbox emulator, a gateway).

Rate limits (reference §6): Intercom splits the per-minute limit into 10-second windows and answers
``429`` once a window is spent; ``X-RateLimit-Reset`` says when the next window starts. The client
keeps the run under ``rate_limit_share`` of the app's allowance in two ways: it counts its own calls
per window (so it never bursts above its share), and it reads ``X-RateLimit-Remaining`` (so it also
backs off when other clients of the same app spend the window).
"""

from __future__ import annotations

import logging
import math
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import dagster as dg
import requests
from pydantic import Field

REGION_BASE_URLS = {
    "US": "https://api.intercom.io",
    "EU": "https://api.eu.intercom.io",
    "AU": "https://api.au.intercom.io",
}
RETRYABLE_STATUS = {500, 502, 503, 504}
SCROLL_RESTART_HINT = "restart the scroll"
_ID_SEGMENT = re.compile(r"/(?=[^/]*\d)[^/]+")


class IntercomAPIError(RuntimeError):
    """An Intercom call failed for good; names the call and keeps Intercom's error body."""

    def __init__(self, method: str, path: str, status: int | None, body: Any):
        self.method, self.path, self.status, self.body = method, path, status, body
        super().__init__(f"Intercom {method} {path} failed with {status}: {body}")


@dataclass
class RequestStats:
    """What a run cost, reported in materialization metadata."""

    calls: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    empty_bodies: int = 0
    scroll_restarts: int = 0
    seconds_waited: float = 0.0
    by_path: dict[str, int] = field(default_factory=dict)

    def count(self, method: str, path: str) -> None:
        self.calls += 1
        key = f"{method} {path_template(path)}"
        self.by_path[key] = self.by_path.get(key, 0) + 1

    def as_metadata(self) -> dict[str, Any]:
        return {
            "api_calls": self.calls,
            "retries": self.retries,
            "http_429s": self.rate_limited,
            "http_5xx": self.server_errors,
            "connection_errors": self.connection_errors,
            "seconds_waited": round(self.seconds_waited, 2),
        }


def path_template(path: str) -> str:
    """``/conversations/123`` → ``/conversations/{id}``: call counts per endpoint, not per record."""
    path = path.split("?")[0]
    if path.startswith("http"):
        path = "/" + path.split("/", 3)[-1]
    return _ID_SEGMENT.sub("/{id}", path)


class WindowLimiter:
    """At most ``allowance`` calls per fixed window of ``seconds``, windows aligned on the epoch
    like Intercom's (so a wait ends when Intercom's next window starts)."""

    def __init__(self, allowance: int, seconds: float, clock: Callable[[], float] = time.time):
        self.allowance, self.seconds, self.clock = max(1, allowance), seconds, clock
        self._window = -1
        self._used = 0

    def wait_seconds(self) -> float:
        """Seconds to wait before the next call may go (0 when it may go now)."""
        now = self.clock()
        window = math.floor(now / self.seconds)
        if window != self._window:
            self._window, self._used = window, 0
        if self._used < self.allowance:
            return 0.0
        return (window + 1) * self.seconds - now

    def take(self) -> None:
        window = math.floor(self.clock() / self.seconds)
        if window != self._window:
            self._window, self._used = window, 0
        self._used += 1


class IntercomClient:
    """One session against one workspace. Not thread-safe; create one per run."""

    def __init__(self, resource: IntercomResource, log: logging.Logger | None = None):
        self.r = resource
        self.base_url = resource.api_base.rstrip("/")
        self.log = log or logging.getLogger(__name__)
        self.stats = RequestStats()
        self.session = requests.Session()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {resource.access_token}",
                "Intercom-Version": resource.api_version,
                "Accept": "application/json",
                "User-Agent": "intercom-salesforce/0.1",
            }
        )
        window = resource.rate_limit_window_seconds
        self.limiter = WindowLimiter(
            int(resource.rate_limit_per_minute * window / 60 * resource.rate_limit_share), window
        )
        self._window_remaining: int | None = None
        self._window_limit: int | None = None
        self._window_reset: float | None = None

    # -- transport -------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.seconds_waited += seconds
            time.sleep(seconds)

    def _throttle(self) -> None:
        """Wait, if needed, so this call stays within the run's share of the app's allowance."""
        self._sleep(self.limiter.wait_seconds())
        if self._window_limit and self._window_remaining is not None and self._window_reset:
            # other clients of the app count too: leave them (1 - share) of the window
            reserve = self._window_limit * (1 - self.r.rate_limit_share)
            if self._window_remaining <= reserve and self._window_reset > time.time():
                self._sleep(self._window_reset - time.time() + 0.05)
            self._window_remaining = None
        self.limiter.take()

    def _record_limits(self, resp: requests.Response) -> None:
        try:
            self._window_limit = int(resp.headers["X-RateLimit-Limit"])
            self._window_remaining = int(resp.headers["X-RateLimit-Remaining"])
            self._window_reset = float(resp.headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            pass

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(30.0, self.r.backoff_base_seconds * 2**attempt))

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        final: Callable[[int, Any], bool] | None = None,
    ) -> dict[str, Any]:
        """Send one call, retrying 5xx, dropped connections, timeouts, empty bodies and 429s.

        429s wait until ``X-RateLimit-Reset`` (Intercom sends no Retry-After, but one is honoured
        if present); other transient failures back off exponentially with full jitter. A 4xx other
        than 429 is final, and so is a 5xx for which ``final(status, body)`` is true.
        """
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        attempt = 0
        limited = 0
        while True:
            self._throttle()
            self.stats.count(method, path)
            status: int | None = None
            body: Any = None
            try:
                resp = self.session.request(
                    method, url, json=json, params=params, timeout=self.r.timeout_seconds
                )
                status = resp.status_code
                self._record_limits(resp)
                if status == 429:
                    self.stats.rate_limited += 1
                    limited += 1
                    if limited > self.r.max_rate_limit_waits:
                        raise IntercomAPIError(method, path, status, _safe_json(resp))
                    self.stats.retries += 1
                    self._sleep(self._rate_limit_wait(resp))
                    continue
                if status in RETRYABLE_STATUS:
                    self.stats.server_errors += 1
                    body = _safe_json(resp)
                    if final is not None and final(status, body):
                        raise IntercomAPIError(method, path, status, body)
                elif 200 <= status < 300:
                    if resp.content.strip():
                        return resp.json()
                    self.stats.empty_bodies += 1
                    body = "empty body"  # seen in the wild; retried like a 5xx
                else:
                    raise IntercomAPIError(method, path, status, _safe_json(resp))
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
            ) as exc:
                self.stats.connection_errors += 1
                body = repr(exc)
            except ValueError as exc:  # a truncated or non-JSON 2xx body
                body = repr(exc)
            if attempt >= self.r.max_retries:
                raise IntercomAPIError(method, path, status, body)
            attempt += 1
            self.stats.retries += 1
            self._sleep(self._backoff(attempt))

    def _rate_limit_wait(self, resp: requests.Response) -> float:
        retry_after = resp.headers.get("Retry-After")
        if retry_after and retry_after.isdigit():
            return float(retry_after) + random.uniform(0.0, 0.2)
        try:
            reset = float(resp.headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            reset = time.time() + self.r.rate_limit_window_seconds
        # the reset is a whole second; a little jitter keeps parallel clients from a stampede
        return max(0.0, reset - time.time()) + random.uniform(0.05, 0.3)

    # -- endpoints -----------------------------------------------------------------------------
    def me(self) -> dict[str, Any]:
        return self.request("GET", "/me")

    def search_pages(
        self,
        entity: str,
        query: dict[str, Any],
        *,
        per_page: int | None = None,
        sort: dict[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the pages of ``POST /{entity}/search``; pagination lives in the body."""
        body: dict[str, Any] = {
            "query": query,
            "pagination": {"per_page": per_page or self.r.per_page},
        }
        if sort:
            body["sort"] = sort
        while True:
            page = self.request("POST", f"/{entity}/search", json=body)
            yield page
            cursor = _next_cursor(page)
            if not cursor:
                return
            body["pagination"] = {
                "per_page": body["pagination"]["per_page"],
                "starting_after": cursor,
            }

    def list_pages(
        self,
        path: str,
        *,
        per_page: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the pages of a list: cursor (``pages.next.starting_after``), page-numbered
        (``pages.next.page`` / ``pages.total_pages``) or a full next URL (``pages.next``)."""
        query: dict[str, Any] | None = {"per_page": per_page or self.r.per_page, **(params or {})}
        url = path
        while True:
            page = self.request("GET", url, params=query)
            yield page
            pages = page.get("pages") or {}
            nxt = pages.get("next")
            if isinstance(nxt, str) and nxt:
                url, query = nxt, None
            elif isinstance(nxt, dict) and nxt.get("starting_after"):
                query = {**(query or {}), "starting_after": nxt["starting_after"]}
            elif (
                isinstance(pages.get("page"), int)
                and isinstance(pages.get("total_pages"), int)
                and pages["page"] < pages["total_pages"]
            ):
                query = {**(query or {}), "page": pages["page"] + 1}
            else:
                return

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def scroll_companies(self) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of ``GET /companies/scroll`` until the empty final page.

        One scroll may be open per app: ``400 scroll_exists`` waits ``scroll_wait_seconds`` for
        the other to expire and tries again. A transient 5xx or dropped connection is retried in
        place; the documented ``500`` "please restart the scroll operation", or a ``404`` for a
        scroll that expired, restarts the scroll from the beginning, so callers must tolerate
        seeing a company twice (stage rows keyed by id).
        """
        restarts = waits = 0
        while True:
            param: str | None = None
            try:
                while True:
                    page = self.request(
                        "GET",
                        "/companies/scroll",
                        params={"scroll_param": param} if param else None,
                        final=_scroll_must_restart,
                    )
                    data = page.get("data") or []
                    if not data:
                        return
                    yield data
                    param = page.get("scroll_param")
                    if not param:
                        return
            except IntercomAPIError as exc:
                codes = _error_codes(exc.body)
                if exc.status == 400 and "scroll_exists" in codes:
                    if waits >= self.r.scroll_max_restarts:
                        raise
                    waits += 1
                    self.log.info(
                        f"another company scroll is open; waiting {self.r.scroll_wait_seconds} s "
                        "for it to expire"
                    )
                    self._sleep(self.r.scroll_wait_seconds)
                    continue
                if (exc.status in RETRYABLE_STATUS or exc.status == 404) and param:
                    if restarts >= self.r.scroll_max_restarts:
                        raise
                    restarts += 1
                    self.stats.scroll_restarts += 1
                    self.log.warning(f"company scroll failed with {exc.status}; restarting it")
                    continue
                raise


def _next_cursor(page: dict[str, Any]) -> str | None:
    nxt = (page.get("pages") or {}).get("next") or {}
    return nxt.get("starting_after") if isinstance(nxt, dict) else None


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


def _safe_json(resp: requests.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return resp.text[:500]


class IntercomResource(dg.ConfigurableResource):
    """Intercom API access. ``access_token`` comes from the environment (``EnvVar``) only."""

    access_token: str = Field(
        description="Bearer token; set from INTERCOM_ACCESS_TOKEN.", repr=False
    )
    region: Literal["US", "EU", "AU"] = Field(
        default="US", description="Where the workspace lives; picks the API host."
    )
    base_url: str | None = Field(
        default=None, description="API host overriding the region's (sandbox, gateway)."
    )
    api_version: str = Field(default="2.14", description="Pinned Intercom-Version header.")
    mode: str = Field(default="production", description="'production' or 'sandbox', for metadata.")
    per_page: int = Field(default=150, description="Page size; Intercom's maximum is 150.")
    timeout_seconds: float = Field(default=30.0, description="Connect and read timeout per call.")
    max_retries: int = Field(default=6, description="Retries of a 5xx, timeout or dropped call.")
    max_rate_limit_waits: int = Field(default=30, description="429s tolerated for one call.")
    backoff_base_seconds: float = Field(
        default=0.25, description="Backoff before retry n is uniform in [0, base * 2**n] s."
    )
    rate_limit_per_minute: int = Field(
        default=10_000, description="The app's Intercom rate limit (private apps: 10,000/min)."
    )
    rate_limit_share: float = Field(
        default=0.8, description="Share of the app's per-window allowance this run may use."
    )
    rate_limit_window_seconds: float = Field(
        default=10.0, description="Intercom enforces the limit in 10-second windows."
    )
    scroll_wait_seconds: float = Field(
        default=61.0, description="Wait for another open company scroll to expire (1 min idle)."
    )
    scroll_max_restarts: int = 5
    search_lag_seconds: float = Field(
        default=300.0,
        description="Search may miss records younger than this (Intercom's indexing delay, clock "
        "skew): an incremental run reads again what changed that long before the last run.",
    )

    @property
    def api_base(self) -> str:
        return self.base_url or REGION_BASE_URLS[self.region]

    def client(self, log: logging.Logger | None = None) -> IntercomClient:
        return IntercomClient(self, log)
