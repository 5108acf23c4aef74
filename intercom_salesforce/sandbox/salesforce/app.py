"""The WSGI application: a werkzeug ``Map`` over one module per resource group.

* :mod:`.oauth_api` - OAuth token, SOAP ``login()``, version list (no session)
* :mod:`.org_api` - the version's resource index, ``/limits``, 404 for other paths
* :mod:`.sobjects_api` - describe, record CRUD, upsert by external id
* :mod:`.collections_api` - sObject Collections
* :mod:`.query_api` - SOQL ``/query``, ``/queryAll`` and queryMore
* :mod:`.ingest_api`, :mod:`.bulk_query_api` - Bulk API 2.0 (job life in :mod:`.bulk_jobs`)
* :mod:`.control_api` - the unauthenticated ``/_sandbox/`` endpoints and pages

Every authenticated call under ``/services/data/vXX.X/`` is counted against the daily allocation
and answered with ``Sforce-Limit-Info`` (reference 3); errors use the JSON array envelope of
:mod:`.errors`. Hold faults (``SalesforceFaults.holds``) wrap everything outside ``/_sandbox/``: a
request matching a hold rule is read whole and waits before :meth:`SalesforceEmulator.respond`
(not applied yet) or after it (applied, only the response withheld), until ``POST
/_sandbox/holds/release``, the rule's timeout, or the server stopping (see ``sandbox.hold``).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from intercom_salesforce.sandbox.faults import FaultDice
from intercom_salesforce.sandbox.hold import HoldRegistry
from intercom_salesforce.sandbox.latency import Latency

from . import (
    bulk_query_api,
    collections_api,
    control_api,
    ingest_api,
    oauth_api,
    org_api,
    query_api,
    sobjects_api,
)
from .config import SalesforceEmulatorConfig, SalesforceFaults
from .describe import OBJECTS
from .dml import Writer
from .errors import ApiError, Call, not_found
from .routing import Endpoint, build_map
from .store import SalesforceStore
from .values import format_datetime

_log = logging.getLogger(__name__)
_API_MODULES = (
    sobjects_api,
    collections_api,
    query_api,
    ingest_api,
    bulk_query_api,
    org_api,  # last: its catch-all answers any other path
)


def _is_control(path: str) -> bool:
    return path == "/_sandbox" or path.startswith("/_sandbox/")


def _internal_error(ref: str) -> ApiError:
    return ApiError(
        500,
        "UNKNOWN_EXCEPTION",
        f"An unexpected error occurred. Please include this ErrorId if you contact support: {ref}",
    )


class SalesforceEmulator:
    """WSGI callable; one instance serves one store with one (mutable at run time) config."""

    def __init__(
        self,
        store: SalesforceStore,
        config: SalesforceEmulatorConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        self.dice = FaultDice(config.faults.seed)
        self.lock = threading.RLock()
        self.request_log: deque[dict[str, Any]] = deque(maxlen=5000)
        self.cursors: OrderedDict[str, tuple[str, bool]] = OrderedDict()
        self.holds = HoldRegistry(config.faults.holds)
        self.latency = Latency(config.latency_ms, config.latency_jitter_ms)
        public = [*oauth_api.ROUTES, *control_api.ROUTES]
        api = [route for module in _API_MODULES for route in module.ROUTES]
        self.url_map, self.endpoints = build_map(public, api)

    @property
    def rng(self) -> random.Random:
        """The seeded random source of every fault (HTTP errors, locked rows, shuffles)."""
        return self.dice.rng

    @rng.setter
    def rng(self, value: random.Random) -> None:
        self.dice.rng = value

    def install_faults(self, faults: SalesforceFaults) -> None:
        """New fault settings, their dice reseeded (the hold rules are the caller's choice)."""
        with self.lock:
            self.config.faults = faults
            self.dice.reseed(faults.seed)

    # -- WSGI entry -------------------------------------------------------------------------------
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        ticket = None
        if not _is_control(request.path):
            self.holds.sync(self.config.faults.holds)
            ticket = self.holds.ticket(request.method, request.path)
        if ticket is not None and not ticket.rule.after:
            request.get_data(cache=True)  # the whole request is received before it waits
            self.holds.hold(ticket, environ)
        if not _is_control(request.path):
            self.latency.wait()
        response = self.respond(request)
        if ticket is not None and ticket.rule.after:
            self.holds.hold(ticket, environ)
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        """Dispatch one request, turning errors into Salesforce's envelope, and log it."""
        try:
            response = self.dispatch(request)
        except ApiError as exc:
            response = exc.response()
        except Exception:  # noqa: BLE001 - answer like Salesforce's platform error, keep the trace
            _log.exception("Salesforce emulator failed on %s %s", request.method, request.path)
            response = _internal_error("sandbox-internal (-1)").response()
        if request.path != "/_sandbox/requests":
            self.request_log.append(
                {
                    "time": format_datetime(self.clock()),
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode("latin-1"),
                    "status": response.status_code,
                }
            )
        return response

    def own_url(self, request: Request) -> str:
        """Scheme, host and port the request arrived on, no trailing slash (reference 7.1)."""
        return request.host_url.rstrip("/")

    def dispatch(self, request: Request) -> Response:
        """Route the request; authenticated resources first pass :meth:`api_call`'s checks."""
        path = re.sub("/{2,}", "/", request.path)
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            name, args = adapter.match(path, method=request.method)
        except (NotFound, MethodNotAllowed):
            raise not_found() from None
        endpoint = self.endpoints[name]
        version = args.pop("version", "")
        if not endpoint.authenticated:
            return endpoint.handler(self, Call(request, version), **args)
        return self.api_call(endpoint, request, version, args)

    # -- auth, limits, faults ------------------------------------------------------------------
    def api_call(
        self, endpoint: Endpoint, request: Request, version: str, args: dict[str, Any]
    ) -> Response:
        """Session, then the daily allocation, then injected faults, then the resource."""
        user_id = self.authorize(request)
        cap = self.config.daily_api_requests
        try:
            used = self.count_call()
        except ApiError as exc:
            response = exc.response()
            response.headers["Sforce-Limit-Info"] = f"api-usage={cap}/{cap}"
            return response
        try:
            call = Call(request, version, user_id)
            response = self.faulted() or endpoint.handler(self, call, **args)
        except ApiError as exc:
            response = exc.response()
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{cap}"
        return response

    def authorize(self, request: Request) -> str:
        with self.lock:
            if self.config.faults.expire_sessions:
                self.config.faults.expire_sessions = False
                self.store.revoke_tokens()
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        found = self.store.token(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        if found is None or found[1] + self.config.token_ttl_seconds < self.clock():
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return found[0]

    def count_call(self) -> int:
        with self.lock:
            used = int(self.store.get_meta("api_usage", "0") or 0)
            if used >= self.config.daily_api_requests:
                # Exhaustion is a 403, never a 429 or Retry-After (reference 3).
                raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.store.set_meta("api_usage", str(used + 1))
            return used + 1

    def faulted(self) -> Response | None:
        """One roll of the dice: a 503, a 500, or ``None`` to serve the request."""
        faults = self.config.faults
        roll = self.dice.random()
        if roll < faults.http_503_rate:
            self.dice.count("http_503_rate")
            return ApiError(
                503, "SERVER_UNAVAILABLE", "Server temporarily unavailable. Please try again later."
            ).response()
        if roll < faults.http_503_rate + faults.http_500_rate:
            self.dice.count("http_500_rate")
            ref = f"{self.dice.randrange(10**9)}-{self.dice.randrange(10**5)} (-1)"
            return _internal_error(ref).response()
        return None

    def writer(self, call: Call) -> Writer:
        """The REST writer: duplicate rules block a save unless the request allows it."""
        header = call.request.headers.get("Sforce-Duplicate-Rule-Header", "")
        allow_save = "allowsave=true" in header.replace(" ", "").lower()
        return Writer(
            self.store,
            call.user_id,
            self.clock,
            duplicate_rule=self.config.duplicate_rule_enabled and not allow_save,
        )


def create_app(
    store: SalesforceStore, config: SalesforceEmulatorConfig, clock: Callable[[], float] = time.time
) -> SalesforceEmulator:
    """Build the emulator's WSGI app; werkzeug's per-request access log is silenced."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return SalesforceEmulator(store, config, clock)


__all__ = ["OBJECTS", "SalesforceEmulator", "create_app"]
