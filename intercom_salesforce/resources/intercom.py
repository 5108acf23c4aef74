"""The Intercom REST client: pinned version, timeouts, retries, rate-limit waits, request counting.

It knows how to page (cursor, search, scroll) and how to stay within Intercom's limits; it holds no
business rules. Because ``base_url`` is a field, the same class talks to api.intercom.io, the EU/AU
hosts, or the sandbox emulator.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import requests
from pydantic import Field

REGION_BASE_URLS = {
    "US": "https://api.intercom.io",
    "EU": "https://api.eu.intercom.io",
    "AU": "https://api.au.intercom.io",
}
RETRYABLE_STATUS = {500, 502, 503, 504}


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
    seconds_waited: float = 0.0
    by_path: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "api_calls": self.calls,
            "retries": self.retries,
            "http_429s": self.rate_limited,
            "seconds_waited": round(self.seconds_waited, 2),
        }


class IntercomClient:
    """One session against one workspace. Not thread-safe; create one per run."""

    def __init__(self, resource: IntercomResource, log: logging.Logger | None = None):
        self.r = resource
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
        self._window_remaining: int | None = None
        self._window_limit: int | None = None
        self._window_reset: float | None = None

    # -- transport -------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.seconds_waited += seconds
            time.sleep(seconds)

    def _throttle(self) -> None:
        """Keep this run under ``rate_limit_share`` of the app's 10-second window allowance."""
        if self._window_limit is None or self._window_remaining is None or not self._window_reset:
            return
        reserve = self._window_limit * (1 - self.r.rate_limit_share)
        if self._window_remaining <= reserve:
            self._sleep(max(0.0, self._window_reset - time.time()) + 0.05)
            self._window_remaining = None

    def _record_limits(self, resp: requests.Response) -> None:
        try:
            self._window_limit = int(resp.headers["X-RateLimit-Limit"])
            self._window_remaining = int(resp.headers["X-RateLimit-Remaining"])
            self._window_reset = float(resp.headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            pass

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        retry_server_errors: bool = True,
    ) -> dict[str, Any]:
        """Send one call, retrying 5xx, dropped connections, empty bodies and 429s.

        429s wait until ``X-RateLimit-Reset`` (Intercom sends no Retry-After); other transient
        failures back off exponentially with full jitter. A 4xx other than 429 is final.
        """
        url = path if path.startswith("http") else f"{self.r.base_url.rstrip('/')}{path}"
        attempt = 0
        while True:
            self._throttle()
            self.stats.calls += 1
            key = path.split("?")[0]
            self.stats.by_path[key] = self.stats.by_path.get(key, 0) + 1
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
                    reset = float(resp.headers.get("X-RateLimit-Reset", time.time() + 10))
                    if attempt >= self.r.max_retries * 3:
                        raise IntercomAPIError(method, path, status, _safe_json(resp))
                    attempt += 1
                    self.stats.retries += 1
                    self._sleep(max(0.0, reset - time.time()) + random.uniform(0.05, 0.5))
                    continue
                if status in RETRYABLE_STATUS:
                    body = _safe_json(resp)
                    if not retry_server_errors:
                        raise IntercomAPIError(method, path, status, body)
                elif 200 <= status < 300:
                    if not resp.content.strip():
                        body = "empty body"  # seen in the wild; retry like a 5xx
                    else:
                        return resp.json()
                else:
                    raise IntercomAPIError(method, path, status, _safe_json(resp))
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                ValueError,
            ) as exc:
                body = repr(exc)
            if attempt >= self.r.max_retries:
                raise IntercomAPIError(method, path, status, body)
            attempt += 1
            self.stats.retries += 1
            self._sleep(random.uniform(0, min(30.0, self.r.backoff_base_seconds * 2**attempt)))

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
            nxt = (page.get("pages") or {}).get("next") or {}
            cursor = nxt.get("starting_after") if isinstance(nxt, dict) else None
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
        key: str = "data",
        per_page: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield the pages of a cursor-paginated list (``pages.next.starting_after``)."""
        query: dict[str, Any] = {"per_page": per_page or self.r.per_page, **(params or {})}
        while True:
            page = self.request("GET", path, params=query)
            yield page
            nxt = (page.get("pages") or {}).get("next")
            cursor = nxt.get("starting_after") if isinstance(nxt, dict) else None
            if not cursor:
                return
            query = {**query, "starting_after": cursor}

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def scroll_companies(
        self, *, max_restarts: int = 5, scroll_wait_seconds: float = 61.0
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield pages of ``GET /companies/scroll`` until the empty final page.

        One scroll may be open per app: ``400 scroll_exists`` waits for the other to expire (one
        minute idle) and tries again. A scroll cannot resume after a ``500``, so the scan restarts
        from the beginning; callers must tolerate seeing a page twice (stage rows keyed by id).
        """
        restarts = 0
        while True:
            param: str | None = None
            try:
                while True:
                    page = self.request(
                        "GET",
                        "/companies/scroll",
                        params={"scroll_param": param} if param else None,
                        retry_server_errors=False,
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
                if exc.status == 400 and "scroll_exists" in codes and restarts < max_restarts:
                    self.log.info("another company scroll is open; waiting for it to expire")
                    restarts += 1
                    self._sleep(scroll_wait_seconds)
                    continue
                if exc.status in RETRYABLE_STATUS | {404} and restarts < max_restarts:
                    # 5xx: "restart the scroll operation"; 404: it expired while we were slow
                    self.log.warning(f"company scroll failed with {exc.status}; restarting it")
                    restarts += 1
                    self.stats.retries += 1
                    continue
                raise


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

    access_token: str = Field(description="Bearer token; set from INTERCOM_ACCESS_TOKEN.")
    base_url: str = Field(
        default=REGION_BASE_URLS["US"], description="API host (US/EU/AU or sandbox)."
    )
    api_version: str = Field(default="2.14", description="Pinned Intercom-Version header.")
    mode: str = Field(default="production", description="'production' or 'sandbox', for metadata.")
    per_page: int = Field(default=150, description="Page size; Intercom's maximum is 150.")
    timeout_seconds: float = 30.0
    max_retries: int = 6
    backoff_base_seconds: float = 0.5
    rate_limit_share: float = Field(
        default=0.8, description="Share of the app's per-window allowance this run may use."
    )

    def client(self, log: logging.Logger | None = None) -> IntercomClient:
        return IntercomClient(self, log)
