"""The Intercom REST client: pinned version, timeouts, retries, rate-limit waits, request counting.

It knows how to send a call and stay within Intercom's limits (how lists page lives in
``intercom_paging``); it holds no business rules. The host comes from ``region`` (US, EU, AU)
unless ``base_url`` overrides it (the sandbox emulator, a gateway).

Rate limits (reference §6): Intercom splits the per-minute limit into 10-second windows and answers
``429`` once a window is spent; ``X-RateLimit-Reset`` says when the next window starts. The client
keeps the run under ``rate_limit_share`` of the app's allowance in two ways: it counts its own calls
per window (so it never bursts above its share), and it reads ``X-RateLimit-Remaining`` (so it also
backs off when other clients of the same app spend the window).
"""

from __future__ import annotations

import functools
import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import dagster as dg
from pydantic import Field

from intercom_salesforce.resources.curl_hub import Hub, current_hub
from intercom_salesforce.resources.intercom_transport import Response, Transport, TransportError
from intercom_salesforce.resources.interleave import Interleaved

REGION_BASE_URLS = {
    "US": "https://api.intercom.io",
    "EU": "https://api.eu.intercom.io",
    "AU": "https://api.au.intercom.io",
}
RETRYABLE_STATUS = {500, 502, 503, 504}
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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, method: str, path: str) -> None:
        key = f"{method} {path_template(path)}"
        with self._lock:
            self.calls += 1
            self.by_path[key] = self.by_path.get(key, 0) + 1

    def bump(self, name: str, amount: float = 1) -> None:
        """Add to a counter; per-record reads run on several threads at once."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def as_metadata(self) -> dict[str, Any]:
        return {
            "api_calls": self.calls,
            "retries": self.retries,
            "http_429s": self.rate_limited,
            "http_5xx": self.server_errors,
            "connection_errors": self.connection_errors,
            "seconds_waited": round(self.seconds_waited, 2),
        }


T = TypeVar("T")
R = TypeVar("R")


@functools.lru_cache(maxsize=1024)
def path_template(path: str) -> str:
    """``/conversations/123`` → ``/conversations/{id}``: call counts per endpoint, not per record."""
    path = path.split("?")[0]
    if path.startswith("http"):
        path = "/" + path.split("/", 3)[-1]
    return _ID_SEGMENT.sub("/{id}", path)


class WindowLimiter:
    """At most ``allowance`` calls per fixed window of ``seconds``, windows aligned on the epoch
    like Intercom's (so a wait ends when Intercom's next window starts). Thread-safe: the workers
    of one run share it, so together they never put more calls into a window than its allowance.
    """

    def __init__(self, allowance: int, seconds: float, clock: Callable[[], float] = time.time):
        self.allowance, self.seconds, self.clock = max(1, allowance), seconds, clock
        self._window = -1
        self._used = 0
        self._lock = threading.Lock()

    def wait_seconds(self) -> float:
        """Seconds to wait before the next call may go (0 when it may go now)."""
        with self._lock:
            return self._wait(self.clock())

    def _wait(self, now: float) -> float:
        window = math.floor(now / self.seconds)
        if window != self._window:
            self._window, self._used = window, 0
        if self._used < self.allowance:
            return 0.0
        return (window + 1) * self.seconds - now

    def take(self) -> None:
        with self._lock:
            self._wait(self.clock())
            self._used += 1

    def try_take(self) -> float:
        """Take a call of the current window and return 0, or return how long to wait."""
        with self._lock:
            wait = self._wait(self.clock())
            if wait == 0.0:
                self._used += 1
            return wait


class IntercomClient:
    """One client of one workspace, for one run.

    Calls may come from several threads (independent searches: :meth:`interleave`) and many
    tasks of a hub (per-record reads: :meth:`map_concurrent`) at once: they share the
    transport's connection pool, one rate limiter and one set of counters. A scroll stays one
    call at a time: Intercom allows one open scroll per app.
    """

    def __init__(self, resource: IntercomResource, log: logging.Logger | None = None):
        self.r = resource
        self.base_url = resource.api_base.rstrip("/")
        self.log = log or logging.getLogger(__name__)
        self.stats = RequestStats()
        self.transport = Transport(
            self.base_url,
            {
                "Authorization": f"Bearer {resource.access_token}",
                "Intercom-Version": resource.api_version,
                "Accept": "application/json",
                "User-Agent": "intercom-salesforce/0.1",
            },
            pool_size=max(10, resource.workers),
            timeout=resource.timeout_seconds,
        )
        window = resource.rate_limit_window_seconds
        self.limiter = WindowLimiter(
            int(resource.rate_limit_per_minute * window / 60 * resource.rate_limit_share), window
        )
        self._window_remaining: int | None = None
        self._window_limit: int | None = None
        self._window_reset: float | None = None
        self._limits_lock = threading.Lock()
        self._hubs = threading.local()

    # -- transport -------------------------------------------------------------------------
    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.stats.bump("seconds_waited", seconds)
            if (hub := current_hub()) is None:
                time.sleep(seconds)
            else:  # a task of a hub: the other calls go on meanwhile
                hub.sleep(seconds)

    def _hub(self) -> Hub:
        """This thread's hub (its multi handle keeps its connections from one read to the
        next), or a hub of its own for a read started while that one is busy."""
        hub = getattr(self._hubs, "hub", None)
        if hub is None:
            hub = self._hubs.hub = self._new_hub()
        return self._new_hub() if hub.loop is not None else hub

    def _new_hub(self) -> Hub:
        return Hub(self.transport.pool_size, self.r.coalesce_ms / 1000)

    def _throttle(self) -> None:
        """Wait, if needed, so this call stays within the run's share of the app's allowance."""
        with self._limits_lock:
            limit, remaining, reset = (
                self._window_limit,
                self._window_remaining,
                self._window_reset,
            )
            self._window_remaining = None
        if limit and remaining is not None and reset:
            # other clients of the app count too: leave them (1 - share) of the window
            reserve = limit * (1 - self.r.rate_limit_share)
            if remaining <= reserve and reset > time.time():
                self._sleep(reset - time.time() + 0.05)
        while (wait := self.limiter.try_take()) > 0:
            self._sleep(wait)

    def _record_limits(self, resp: Response) -> None:
        raw = resp.rate_limits()
        if raw is None:
            return
        try:
            limits = (int(raw[0]), int(raw[1]), float(raw[2]))
        except ValueError:
            return
        with self._limits_lock:
            self._window_limit, self._window_remaining, self._window_reset = limits

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(30.0, self.r.backoff_base_seconds * 2**attempt))

    def _admit(self, method: str, path: str) -> None:
        """A call about to go out: it waits for the limiter, then it is counted."""
        self._throttle()
        self.stats.count(method, path)

    def _on_resend(self, method: str, path: str) -> Callable[[], None]:
        """What runs before the transport sends a request again after a dropped connection
        (see ``Transport.request``): that call is admitted like any other, and it is a
        connection error and a retry."""

        def on_resend() -> None:
            self._admit(method, path)
            self.stats.bump("connection_errors")
            self.stats.bump("retries")

        return on_resend

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
        on_resend = self._on_resend(method, path)
        while True:
            self._admit(method, path)
            status: int | None = None
            body: Any = None
            give_up = False
            try:
                resp = self.transport.request(
                    method, url, json=json, params=params, on_resend=on_resend
                )
                status = resp.status_code
                self._record_limits(resp)
                if status == 429:
                    self.stats.bump("rate_limited")
                    limited += 1
                    if limited > self.r.max_rate_limit_waits:
                        raise IntercomAPIError(method, path, status, _safe_json(resp))
                    self.stats.bump("retries")
                    self._sleep(self._rate_limit_wait(resp))
                    continue
                if status in RETRYABLE_STATUS:
                    self.stats.bump("server_errors")
                    body = _safe_json(resp)
                    if final is not None and final(status, body):
                        raise IntercomAPIError(method, path, status, body)
                elif 200 <= status < 300:
                    if resp.content and not resp.content.isspace():
                        return resp.json()
                    self.stats.bump("empty_bodies")
                    body = "empty body"  # seen in the wild; retried like a 5xx
                else:
                    raise IntercomAPIError(method, path, status, _safe_json(resp))
            except TransportError as exc:
                self.stats.bump("connection_errors")
                body = repr(exc)
                give_up = exc.final  # an untrusted certificate, say: no retry mends it
            except ValueError as exc:  # a truncated or non-JSON 2xx body
                body = repr(exc)
            if give_up or attempt >= self.r.max_retries:
                raise IntercomAPIError(method, path, status, body)
            attempt += 1
            self.stats.bump("retries")
            self._sleep(self._backoff(attempt))

    def _rate_limit_wait(self, resp: Response) -> float:
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
        from intercom_salesforce.resources.intercom_paging import SearchPages

        return SearchPages(entity, query, sort, per_page).pages(self)

    def map_concurrent(
        self, fetch: Callable[[T], R], items: Iterable[T], workers: int | None = None
    ) -> Iterator[tuple[T, R | BaseException]]:
        """``fetch(item)`` for every item, up to ``workers`` at once, yielding ``(item, result)``
        as calls finish (an exception in place of the result when one failed for good).

        For per-record reads (a conversation's parts, a contact's events) and writes: the calls
        share this client's rate limiter and retries, each in a task of this thread's hub
        (``curl_hub.py``), while the caller, between the items yielded, stays the only writer.
        At most ``workers`` calls are in flight, so memory stays bounded however many items
        there are. ``fetch`` running as a task already (a read within a read) calls one item at
        a time.
        """
        workers = max(1, workers or self.r.workers)
        if current_hub() is not None:
            for item in items:
                try:
                    got: R | BaseException = fetch(item)
                except Exception as exc:  # handed to the caller, who decides
                    got = exc
                yield item, got
            return
        yield from self._hub().map(fetch, items, workers)

    def interleave(self, sources: list[Iterator[T]], buffered: int = 2) -> Iterator[T]:
        """The items of several iterators (independent searches' pages) read side by side, one
        thread each, yielded on the caller's thread as they arrive (see ``interleave.py``). The
        calls share this client's rate limiter; the caller stays the only writer."""
        if len(sources) == 1:
            return iter(sources[0])
        return Interleaved(sources, buffered).items()

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def scroll_companies(self) -> Iterator[list[dict[str, Any]]]:
        """Yield the companies of each page of one full scroll (see ``ScrollPages``)."""
        from intercom_salesforce.resources.intercom_paging import ScrollPages

        for page in ScrollPages().pages(self):
            yield page["data"]


def _safe_json(resp: Response) -> Any:
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
    workers: int = Field(
        default=24,
        description="Per-record reads (conversation parts, data events, truncated embedded "
        "lists) in flight at once, all within the one rate limiter. At 100 ms a call, 24 keep "
        "up with the whole default allowance (10,000 calls a minute, 167 a second); raise it "
        "with the allowance or the latency.",
    )
    coalesce_ms: float = Field(
        default=5.0,
        ge=0,
        description="While 8 or more per-record calls are in flight, how long the reader lets "
        "answers gather before it looks, so that it wakes once for several (each wake-up costs "
        "CPU; a few milliseconds cost no time while the other calls are being answered). 0 "
        "looks as soon as any answer is in.",
    )
    search_slices: int = Field(
        default=4,
        description="A full read of a window of several days runs as up to this many searches "
        "side by side, each over consecutive whole days (within the one rate limiter).",
    )
    timeout_seconds: float = Field(
        default=30.0, description="Connect timeout, and the longest one call may take."
    )
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
