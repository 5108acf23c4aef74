"""WSGI app of the Intercom emulator: auth, versions, rate limits, faults, routing, control API.

Order of checks per API request, following what clients observe (reference §1, §6):
hold fault (``FaultConfig.holds``: the request waits before or after the rest) → bearer token
(401 without rate-limit headers) → fixed-window rate limit (429 with headers) →
injected faults → ``Intercom-Version`` (a version not served → 400 ``intercom_version_invalid``) →
``Accept`` → route (unknown path or method → 404) → the token's permissions (401
``token_unauthorized``, ``permissions.py``) → JSON body (400 ``parameter_invalid``) →
handler → the answer in the version's shapes (``versions.py``). Every authenticated response carries
``X-RateLimit-*``. Control endpoints under ``/_sandbox/`` need no token and are not rate limited.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from intercom_salesforce.sandbox.hold import HoldRegistry, shut_socket
from intercom_salesforce.sandbox.intercom import (
    companies_api,
    contacts_api,
    control_api,
    conversations_api,
    tags_api,
    versions,
    workspace_api,
)
from intercom_salesforce.sandbox.intercom.companies_api import ScrollState
from intercom_salesforce.sandbox.intercom.config import IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.errors import (
    NOT_FOUND,
    SERVICE_UNAVAILABLE,
    UNAUTHORIZED,
    VERSION_INVALID,
    ApiError,
    error_response,
    json_response,
)
from intercom_salesforce.sandbox.intercom.faults import FaultInjector
from intercom_salesforce.sandbox.intercom.permissions import PERMISSION_CODE, PERMISSION_MESSAGE
from intercom_salesforce.sandbox.intercom.ratelimit import FixedWindowLimiter
from intercom_salesforce.sandbox.intercom.requestlog import LOGGED_HEADERS, RequestLog
from intercom_salesforce.sandbox.intercom.search import SearchError
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.intercom.versions import PREVIEW_VERSIONS
from intercom_salesforce.sandbox.latency import Latency

#: Versions the emulator serves, each in the shapes ``versions.py`` gives it (§1).
KNOWN_VERSIONS = frozenset(versions.SHAPES)


@dataclass
class ApiContext:
    """Everything a handler needs: the store, the live config and the per-app state."""

    store: IntercomStore
    config: IntercomEmulatorConfig
    clock: Callable[[], float]
    faults: FaultInjector
    scroll_lock: threading.Lock = field(default_factory=threading.Lock)
    scroll: ScrollState | None = None

    def now(self) -> int:
        return int(self.clock())

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)


@dataclass
class ApiRequest:
    """A parsed API request as handlers see it."""

    http: Request
    body: Any
    version: str

    @property
    def args(self) -> Any:
        return self.http.args

    @property
    def preview(self) -> bool:
        return self.version in PREVIEW_VERSIONS

    def base_url(self) -> str:
        return self.http.url_root.rstrip("/")


Handler = Callable[..., Response]


def _redact(name: str, value: str) -> str:
    """Keep the auth scheme in the log, never the token."""
    if name == "Authorization":
        return value.split(" ", 1)[0] + " <redacted>"
    return value


class _DropConnection(ConnectionResetError):
    """Raised after the socket is shut down; the server closes the connection without an answer."""


class IntercomEmulator:
    """The WSGI callable returned by ``create_app``."""

    def __init__(
        self, store: IntercomStore, config: IntercomEmulatorConfig, clock: Callable[[], float]
    ) -> None:
        self.ctx = ApiContext(store, config, clock, FaultInjector(config.faults))
        self.limiter = FixedWindowLimiter(clock, self.config.rate_limit_window_seconds)
        self.log = RequestLog(config.request_log_size)
        self.latency = Latency(config.latency_ms, config.latency_jitter_ms)
        self.handlers: dict[str, Handler] = {}
        rules: list[Rule] = []
        for module in (contacts_api, companies_api, conversations_api, workspace_api, tags_api):
            for path, methods, handler in module.ROUTES:
                endpoint = f"{module.__name__}.{handler.__name__}"
                rules.append(Rule(path, methods=methods, endpoint=endpoint))
                self.handlers[endpoint] = handler
        self.api_map = Map(rules, strict_slashes=False)
        self.control_map = Map(
            [Rule(p, methods=m, endpoint=h.__name__) for p, m, h in control_api.ROUTES],
            strict_slashes=False,
        )
        self.control_handlers = {h.__name__: h for _, _, h in control_api.ROUTES}

    @property
    def config(self) -> IntercomEmulatorConfig:
        return self.ctx.config

    @property
    def holds(self) -> HoldRegistry:
        """The hold fault's live rules and held requests (``FaultConfig.holds``)."""
        return self.ctx.faults.holds

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        prefix = self.config.path_prefix.rstrip("/")
        if prefix:
            path = environ.get("PATH_INFO", "")
            if path == prefix or path.startswith(prefix + "/"):
                environ["PATH_INFO"] = path[len(prefix) :] or "/"
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
            elif not path.startswith("/_sandbox"):
                # A client that drops the prefix must notice, as it would behind a gateway.
                return error_response(404, "not_found", NOT_FOUND)(environ, start_response)
        request = Request(environ)
        if request.path.startswith("/_sandbox/") or request.path == "/_sandbox":
            return self._control(request)(environ, start_response)
        holds = self.holds
        holds.sync(self.ctx.faults.config.holds)
        ticket = holds.ticket(request.method, request.path)
        if ticket is not None and not ticket.rule.after:
            request.get_data(cache=True)  # the whole request is received before it waits
            holds.hold(ticket, environ)
        response = self._api(request, environ)
        if ticket is not None and ticket.rule.after:
            holds.hold(ticket, environ)
        return response(environ, start_response)

    # --- control API ------------------------------------------------------------------------

    def _control(self, request: Request) -> Response:
        adapter = self.control_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed):
            return error_response(404, "not_found", NOT_FOUND)
        try:
            return self.control_handlers[endpoint](self, request, **args)
        except (ValueError, TypeError) as exc:
            return error_response(400, "parameter_invalid", str(exc))
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.field)

    # --- API ----------------------------------------------------------------------------------

    def _log(self, request: Request) -> None:
        raw = request.get_data(cache=True)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        self.log.add(
            {
                "at": self.ctx.clock(),
                "method": request.method,
                "path": request.path,
                "query": request.args.to_dict(flat=False),
                "body": body,
                "headers": {
                    h: _redact(h, request.headers[h])
                    for h in LOGGED_HEADERS
                    if h in request.headers
                },
            }
        )

    def _authorized(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        expected = self.config.access_token.encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)

    def _api(self, request: Request, environ: dict[str, Any]) -> Response:
        self._log(request)
        if not self._authorized(request):
            # Invalid credentials get no rate-limit headers (2.17 rate-limiting page, §6).
            return error_response(401, "unauthorized", UNAUTHORIZED)
        faults = self.ctx.faults
        decision = self.limiter.hit(self.config.window_allowance, force_reject=faults.storm())
        rl_headers = decision.headers()
        if not decision.allowed:
            response = error_response(
                429,
                "rate_limit_exceeded",
                f"Exceeded rate limit of {decision.limit} in 10_seconds",
            )
            if self.config.send_retry_after:
                response.headers["Retry-After"] = str(
                    max(0, decision.reset - int(self.ctx.clock()))
                )
        else:
            response = self._faulted_or_handled(request, environ)
        response.headers.update(rl_headers)
        return response

    def _faulted_or_handled(self, request: Request, environ: dict[str, Any]) -> Response:
        fc = self.ctx.faults.config
        faults = self.ctx.faults
        self.latency.wait()
        if fc.slow_ms > 0:
            time.sleep(fc.slow_ms / 1000)
        if faults.roll(fc.drop_connection_rate, "drop_connection_rate"):
            self._drop(environ)
        if faults.roll(fc.error_rate, "error_rate"):
            status = faults.pick_status()
            if status == 503:
                return error_response(503, "service_unavailable", SERVICE_UNAVAILABLE)
            if status == 502:
                return error_response(502, "server_error", "Bad Gateway")
            return error_response(500, "server_error", "Server Error")
        if faults.roll(fc.empty_body_rate, "empty_body_rate"):
            return Response(b"", status=200, content_type="application/json; charset=utf-8")
        try:
            response = self._dispatch(request)
            if fc.drift_rename or fc.drift_retype:
                response = self._drift(response, fc.drift_rename, fc.drift_retype)
            return response
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message, exc.field)
        except SearchError as exc:
            return error_response(400, exc.code, exc.message, exc.field)

    @staticmethod
    def _drift(response: Response, rename: dict[str, str], retype: dict[str, str]) -> Response:
        """Schema drift on contact objects, as an upstream release might ship it."""
        if response.mimetype != "application/json" or response.status_code != 200:
            return response
        body = json.loads(response.get_data())

        def change(obj: Any) -> None:
            if isinstance(obj, dict):
                if obj.get("type") == "contact" and "workspace_id" in obj:
                    for old, new in rename.items():
                        if old in obj:
                            obj[new] = obj.pop(old)
                    for key, kind in retype.items():
                        if key in obj and obj[key] is not None:
                            obj[key] = str(obj[key]) if kind == "string" else obj[key]
                for value in obj.values():
                    change(value)
            elif isinstance(obj, list):
                for value in obj:
                    change(value)

        change(body)
        response.set_data(json.dumps(body))
        return response

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        """Close the socket without a response, so the client sees a connection error."""
        shut_socket(environ)
        raise _DropConnection("connection dropped by fault injection")

    def _dispatch(self, request: Request) -> Response:
        version = request.headers.get("Intercom-Version") or self.config.default_version
        if version not in KNOWN_VERSIONS:
            raise ApiError(400, "intercom_version_invalid", VERSION_INVALID)
        accept = request.headers.get("Accept")
        if (accept is None and self.config.require_accept) or (
            accept is not None
            and not any(t in accept for t in ("application/json", "*/*", "application/*"))
        ):
            raise ApiError(406, "not_acceptable", "Accept header must allow application/json")
        adapter = self.api_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed):
            # The API answers 404 for unknown paths and for unsupported methods alike (§6).
            raise ApiError(404, "not_found", NOT_FOUND) from None
        if any(
            r.matches(request.method, request.path) for r in self.ctx.faults.config.unauthorized
        ):
            self.ctx.faults.dice.count("unauthorized")
            raise ApiError(401, PERMISSION_CODE, PERMISSION_MESSAGE)
        body: Any = None
        raw = request.get_data(cache=True)
        if request.method in ("POST", "PUT") and raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(
                    400, "parameter_invalid", "There was a problem in the JSON you submitted"
                ) from None
        api_request = ApiRequest(request, body, version)
        return versions.adapt(version, self.handlers[endpoint](self.ctx, api_request, **args))


def create_app(
    store: IntercomStore,
    config: IntercomEmulatorConfig,
    clock: Callable[[], float] = time.time,
) -> IntercomEmulator:
    """Build the emulator's WSGI app over ``store``; ``clock`` drives rate-limit windows, scroll
    expiry, the 90-day event window and ``updated_at`` of writes, so tests can control time."""
    # One line per request from werkzeug drowns test and demo output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    store.clock = clock
    return IntercomEmulator(store, config, clock)


__all__ = ["ApiContext", "ApiRequest", "IntercomEmulator", "create_app", "json_response"]
