"""The "hold" fault both emulators share: withhold a response until a test releases it.

Crash tests need to stop a client at an exact point of its protocol (the Bulk job exists but the
client never learned its id; the upload was sent but not applied; the job was closed; a poll or a
result download is in flight) and kill its process there. A :class:`HoldRule` names such a point by
HTTP method and path regex. A matching request is read completely, then:

* ``after: false`` (hold before processing): the request waits unapplied; once released it is
  processed and answered as usual;
* ``after: true`` (hold after processing): the request is applied at once and only its response
  waits.

A held request ends when the control API releases it, when the rule's ``timeout_s`` passes (it is
then answered normally, so a forgotten hold cannot wedge a client forever), or when the server
stops (it is then dropped). A request whose client hung up while it was held (a killed process
closes its sockets) is dropped whatever ended the hold: a request held before processing is then
never applied, exactly as if the connection had been cut before the server acted on it.

Each emulator keeps one :class:`HoldRegistry`, configured from its fault settings (``holds``) and
driven by the control endpoints ``GET /_sandbox/holds`` and ``POST /_sandbox/holds/release``.
The servers are threaded, so a held request blocks only its own connection.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import select
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Literal

DEFAULT_HOLD_TIMEOUT_S = 60.0
#: Longest a ``GET /_sandbox/holds?wait=`` call blocks, so a status poll cannot hang a test.
MAX_STATUS_WAIT_S = 30.0

#: How long a release waits for the requests it let go to leave the registry.
RELEASE_SETTLE_S = 5.0

Outcome = Literal["answer", "drop"]


@dataclass(frozen=True)
class RequestRule:
    """Requests named by HTTP ``method`` (``*`` for any) and a ``path`` regular expression that
    must match the whole request path (``re.fullmatch``, query string excluded): what hold rules
    and the Intercom emulator's permission faults both select requests by."""

    KIND: ClassVar[str] = "request rule"

    method: str
    path: str

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not self.method:
            raise ValueError(f"a {self.KIND} needs a method (or '*')")
        if not isinstance(self.path, str) or not self.path:
            raise ValueError(f"a {self.KIND} needs a path regex")
        try:
            re.compile(self.path)
        except re.error as exc:
            raise ValueError(f"{self.KIND} path {self.path!r} is not a regex: {exc}") from exc
        object.__setattr__(self, "method", self.method.upper())

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and re.fullmatch(self.path, path) is not None


@dataclass(frozen=True)
class HoldRule(RequestRule):
    """One point to stop clients at.

    ``method`` is an HTTP method (``*`` for any); ``path`` a regular expression that must match the
    whole request path (``re.fullmatch``, query string excluded); the first ``nth - 1`` matching
    requests pass and the ``nth`` and every later match is held while the rule is armed;
    ``timeout_s`` answers a held request normally once it has waited that long. ``name`` is how the
    control API refers to the rule (default ``"METHOD path"``).
    """

    KIND: ClassVar[str] = "hold rule"

    after: bool = False
    nth: int = 1
    timeout_s: float = DEFAULT_HOLD_TIMEOUT_S
    name: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.nth, bool) or not isinstance(self.nth, int) or self.nth < 1:
            raise ValueError(f"hold rule nth must be an integer >= 1, not {self.nth!r}")
        if isinstance(self.timeout_s, bool) or not isinstance(self.timeout_s, int | float):
            raise ValueError(f"hold rule timeout_s must be a number, not {self.timeout_s!r}")
        if self.timeout_s <= 0:
            raise ValueError("hold rule timeout_s must be positive")
        object.__setattr__(self, "after", bool(self.after))
        object.__setattr__(self, "timeout_s", float(self.timeout_s))
        if not self.name:
            object.__setattr__(self, "name", f"{self.method} {self.path}")

    @classmethod
    def from_dict(cls, data: Any) -> HoldRule:
        if isinstance(data, HoldRule):
            return data
        if not isinstance(data, dict):
            raise ValueError(f"a hold rule is a JSON object, not {data!r}")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown hold rule settings: {sorted(unknown)}")
        return cls(**data)


def parse_holds(data: Any) -> list[HoldRule]:
    """Hold rules from their JSON form (a list of objects); names must be unique."""
    if data is None:
        return []
    if not isinstance(data, list | tuple):
        raise ValueError("holds must be a list of rules")
    rules = [HoldRule.from_dict(item) for item in data]
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"hold rule names must be unique: {duplicates}")
    return rules


SOCKET_KEY = "sandbox.socket"
"""The environ key under which the server (``serving.py``) passes the request's socket: a dropped
or held request is ended by shutting it down."""


class HoldDropped(ConnectionResetError):
    """Raised from the WSGI app to drop a held request's connection (its socket is already shut
    down); the server closes the connection without an answer."""


@dataclass
class HoldTicket:
    """A request the registry decided to hold (returned by :meth:`HoldRegistry.ticket`)."""

    rule: HoldRule
    method: str
    path: str


@dataclass
class _Held:
    seq: int
    method: str
    path: str
    since: float
    outcome: Outcome | None = None


@dataclass
class _RuleState:
    rule: HoldRule
    armed: bool = True
    matched: int = 0
    released: int = 0
    timed_out: int = 0
    dropped: int = 0
    held: list[_Held] = field(default_factory=list)

    def status(self, now: float) -> dict[str, Any]:
        return {
            **asdict(self.rule),
            "armed": self.armed,
            "matched": self.matched,
            "held": len(self.held),
            "held_paths": [h.path for h in self.held],
            "held_requests": [
                {"method": h.method, "path": h.path, "held_s": round(now - h.since, 3)}
                for h in self.held
            ],
            "released": self.released,
            "timed_out": self.timed_out,
            "dropped": self.dropped,
        }


class HoldRegistry:
    """The live hold rules of one emulator, the requests they hold, and their release."""

    def __init__(self, rules: Iterable[HoldRule] = ()) -> None:
        self._cond = threading.Condition()
        self._seq = itertools.count(1)
        self._closed = False
        self._rules: list[_RuleState] = [_RuleState(r) for r in rules]

    # -- configuration -----------------------------------------------------------------------
    def configure(self, rules: Sequence[HoldRule]) -> None:
        """Install ``rules`` with fresh counters; requests the old rules held are answered."""
        with self._cond:
            self._install(list(rules))

    def sync(self, rules: Sequence[HoldRule]) -> None:
        """Follow the config object when code changed its ``holds`` in place (tests in-process);
        the control endpoints call :meth:`configure`, which always starts afresh."""
        wanted = list(rules)
        with self._cond:
            if [s.rule for s in self._rules] != wanted:
                self._install(wanted)

    def _install(self, rules: list[HoldRule]) -> None:
        self._finish_all("answer")
        self._rules = [_RuleState(r) for r in rules]
        self._cond.notify_all()

    def close(self) -> None:
        """Drop every held request and hold nothing more: the server is stopping."""
        with self._cond:
            self._closed = True
            self._finish_all("drop")
            self._cond.notify_all()

    def _finish_all(self, outcome: Outcome) -> None:
        for state in self._rules:
            for held in state.held:
                held.outcome = held.outcome or outcome

    # -- the request path ----------------------------------------------------------------------
    def ticket(self, method: str, path: str) -> HoldTicket | None:
        """Count the request against every armed rule it matches; a ticket if one holds it."""
        if not self._rules:
            return None
        chosen: HoldRule | None = None
        with self._cond:
            if self._closed:
                return None
            for state in self._rules:
                if not state.armed or not state.rule.matches(method, path):
                    continue
                state.matched += 1
                if chosen is None and state.matched >= state.rule.nth:
                    chosen = state.rule
        return HoldTicket(chosen, method, path) if chosen else None

    def hold(self, ticket: HoldTicket, environ: dict[str, Any]) -> None:
        """Block until the request is released, times out or the server stops; raise
        :class:`HoldDropped` (after shutting the socket) when it must not be answered."""
        held = _Held(next(self._seq), ticket.method, ticket.path, time.monotonic())
        with self._cond:
            state = self._state(ticket.rule.name)
            if state is None or self._closed:
                return
            state.held.append(held)
            self._cond.notify_all()
            finished = self._cond.wait_for(lambda: held.outcome is not None, ticket.rule.timeout_s)
            if not finished:
                held.outcome = "answer"
                state.timed_out += 1
            if held.outcome == "answer" and client_gone(environ):
                held.outcome = "drop"
            if held.outcome == "drop":
                state.dropped += 1
            elif finished:
                state.released += 1
            state.held.remove(held)
            self._cond.notify_all()
        if held.outcome == "drop":
            shut_socket(environ)
            raise HoldDropped(f"held {ticket.method} {ticket.path} dropped")

    def _state(self, name: str) -> _RuleState | None:
        return next((s for s in self._rules if s.rule.name == name), None)

    # -- control -------------------------------------------------------------------------------
    def release(self, name: str | None = None, *, drop: bool = False, disarm: bool = True) -> int:
        """End the holds of rule ``name`` (every rule when ``None``); returns how many requests
        were let go, once they have left the registry (their answers may still be on the way).

        ``disarm`` stops the rule holding later requests; ``drop`` closes their connections
        instead of answering them (a request held before processing is then never applied).
        """
        with self._cond:
            states = (
                self._rules if name is None else [s for s in self._rules if s.rule.name == name]
            )
            if name is not None and not states:
                raise KeyError(name)
            let_go: list[tuple[_RuleState, _Held]] = []
            for state in states:
                state.armed = state.armed and not disarm
                for held in state.held:
                    if held.outcome is None:
                        held.outcome = "drop" if drop else "answer"
                        let_go.append((state, held))
            self._cond.notify_all()
            # the caller's next status read then shows them as released or dropped, not held
            self._cond.wait_for(
                lambda: all(held not in state.held for state, held in let_go), RELEASE_SETTLE_S
            )
            return len(let_go)

    def status(self) -> list[dict[str, Any]]:
        with self._cond:
            now = time.monotonic()
            return [s.status(now) for s in self._rules]

    def wait_held(self, name: str | None, at_least: int, timeout: float) -> list[dict[str, Any]]:
        """The status once rule ``name`` (any rule when ``None``) holds ``at_least`` requests,
        or after ``timeout`` seconds (at most :data:`MAX_STATUS_WAIT_S`), whichever comes first."""

        def reached() -> bool:
            states = [s for s in self._rules if name is None or s.rule.name == name]
            return any(len(s.held) >= at_least for s in states)

        with self._cond:
            if name is not None and self._state(name) is None:
                raise KeyError(name)
            self._cond.wait_for(reached, max(0.0, min(timeout, MAX_STATUS_WAIT_S)))
            now = time.monotonic()
            return [s.status(now) for s in self._rules]


def client_gone(environ: dict[str, Any]) -> bool:
    """True when the client closed its end while waiting for the answer.

    An HTTP client that sent a whole request sends nothing more until it has the response, so its
    socket turning readable means end-of-stream (a killed process's sockets are closed by the
    kernel) or a reset.
    """
    sock = environ.get(SOCKET_KEY)
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def shut_socket(environ: dict[str, Any]) -> None:
    """Shut the request's socket (``SOCKET_KEY``) both ways, so the client sees its connection
    dropped without an answer; the caller then raises to end the request."""
    sock = environ.get(SOCKET_KEY)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def hold_control(
    registry: HoldRegistry, method: str, action: str | None, args: Any, body: Any
) -> tuple[int, dict[str, Any]]:
    """The control endpoints, shared by both emulators; returns (status, JSON body).

    * ``GET /_sandbox/holds[?rule=NAME&held=N&wait=SECONDS]`` - ``{"holds": [status, ...]}``; with
      ``wait`` the answer comes once the rule (any rule without ``rule``) holds at least ``held``
      (default 1) requests, or when the wait is over;
    * ``POST /_sandbox/holds/release`` with ``{"rule": NAME, "drop": false, "disarm": true}``, all
      optional - ``{"released": n, "holds": [...]}``.
    """
    try:
        if action is None and method == "GET":
            wait = float(args.get("wait") or 0)
            rule = args.get("rule") or None
            if wait > 0 or rule is not None:
                holds = registry.wait_held(rule, int(args.get("held") or 1), wait)
            else:
                holds = registry.status()
            return 200, {"holds": holds}
        if action == "release" and method == "POST":
            body = body or {}
            if not isinstance(body, dict):
                raise ValueError("release takes a JSON object")
            released = registry.release(
                body.get("rule"), drop=bool(body.get("drop")), disarm=bool(body.get("disarm", True))
            )
            return 200, {"released": released, "holds": registry.status()}
    except KeyError as exc:
        return 404, {"error": f"no hold rule named {exc.args[0]!r}"}
    except ValueError as exc:
        return 400, {"error": str(exc)}
    return 404, {"error": "unknown hold endpoint"}


def close_holds(app: Any) -> None:
    """Release whatever a WSGI app holds, if it holds anything (used when a server stops)."""
    registry = getattr(app, "holds", None)
    if isinstance(registry, HoldRegistry):
        registry.close()


__all__ = [
    "DEFAULT_HOLD_TIMEOUT_S",
    "HoldDropped",
    "HoldRegistry",
    "HoldRule",
    "HoldTicket",
    "close_holds",
    "hold_control",
    "parse_holds",
    "shut_socket",
]
