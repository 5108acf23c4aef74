"""How the Intercom client sends a call: libcurl (pycurl) handles, connections kept alive.

Why libcurl and not a ``requests.Session``: a first sync reads one listing per contact (data
events) and one conversation per changed conversation (parts), a million and a half small GETs
at a real workspace's size. What a call costs the reader's CPU is then most of the pipeline's
CPU. On loopback, against the emulator, a listing cost 0.70 ms of the reader's CPU through a
``requests.Session``, 0.43 ms through a bare urllib3 pool (requests' own engine), and 0.15 ms
through this client on libcurl, limiter and retries included: libcurl sends, reads and parses
the response in C with the GIL released (``benchmarks/reader_cpu.py --transport``, one
reader). Everything requests did for these calls is kept: the environment's proxy (as requests
reads it, ``NO_PROXY`` included) and CA bundle, gzip, keep-alive, JSON bodies; retries and
redirects stay off here, because the client's own retry loop owns them (429s, 5xx, dropped
connections).

A libcurl handle is one connection's worth of state and must not be used by two calls at once,
so idle handles wait in a pool (at most ``pool_size``) and each call takes one. A call made by a
task of a hub (per-record reads: ``curl_hub.py``) runs its transfer on the hub's multi handle
with the others in flight; any other call performs on its own thread.
"""

from __future__ import annotations

import functools
import json
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

import certifi
import orjson
import pycurl
from requests.utils import get_environ_proxies, select_proxy

from intercom_salesforce.resources.curl_hub import Hub, current_hub

#: libcurl errors that another attempt cannot mend: the server's certificate is not one the CA
#: bundle vouches for, the bundle or a certificate cannot be read, the URL is wrong.
FINAL_CURL_ERRORS = frozenset(
    {
        pycurl.E_UNSUPPORTED_PROTOCOL,
        pycurl.E_URL_MALFORMAT,
        pycurl.E_SSL_CERTPROBLEM,
        pycurl.E_PEER_FAILED_VERIFICATION,
        pycurl.E_SSL_CACERT_BADFILE,
    }
)


class TransportError(Exception):
    """A call failed on the network: refused, dropped or reset connections, timeouts, TLS and
    proxy errors, a truncated body (retried by the client unless ``final``: see
    ``FINAL_CURL_ERRORS``). Names the call and libcurl's error; never the headers, which carry
    the token. ``sent`` is how many times the request went out (see ``Transport.request``)."""

    def __init__(self, message: str, sent: int, final: bool = False):
        super().__init__(message)
        self.sent, self.final = sent, final


#: The rate-limit headers every Intercom response carries (reference §6), lower-cased.
RATE_LIMIT_HEADERS = (b"x-ratelimit-limit", b"x-ratelimit-remaining", b"x-ratelimit-reset")


class Response:
    """A finished call: its status, headers (case-insensitive) and whole body.

    The headers are kept as libcurl handed them over and parsed into ``headers`` only when asked
    (a 429's ``Retry-After``): a successful call needs just the three rate-limit values
    (``rate_limits``). Parsing every header cost about a tenth of the client's own CPU per call,
    a million times over in a first sync, for values nobody read.
    """

    __slots__ = ("status_code", "content", "header_lines", "_headers")

    def __init__(self, status_code: int, header_lines: list[bytes], content: bytes):
        self.status_code, self.header_lines, self.content = status_code, header_lines, content
        self._headers: Headers | None = None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = parse_headers(self.header_lines)
        return self._headers

    def rate_limits(self) -> tuple[str, str, str] | None:
        """The ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` values of the last response
        among the header lines, as ``headers`` would hold them; None when one is missing or
        repeated (a repeated header's values, joined, are no number either)."""
        found: dict[bytes, bytes] = {}
        for line in reversed(self.header_lines):
            if line.startswith(b"HTTP/"):
                break  # an earlier response's (a proxy's CONNECT answer): not these
            name, colon, value = line.partition(b":")
            key = name.lower()
            if colon and key in RATE_LIMIT_HEADERS:
                if key in found:
                    return None
                found[key] = value
        if len(found) < len(RATE_LIMIT_HEADERS):
            return None
        limit, remaining, reset = (
            found[k].decode("iso-8859-1").strip(" \t\r\n") for k in RATE_LIMIT_HEADERS
        )
        return limit, remaining, reset

    def json(self) -> Any:
        try:
            return orjson.loads(self.content)  # several times faster than the stdlib's
        except orjson.JSONDecodeError:
            # what orjson refuses and the stdlib reads (NaN, a lone surrogate); a body that is
            # not JSON at all raises the stdlib's JSONDecodeError, as it always did
            return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


#: A query key or value needing no percent-encoding: sent as it is (ids, ``user``, cursors).
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")


@functools.lru_cache(maxsize=256)
def _plain_key(key: str) -> bool:
    """Whether a query key needs no percent-encoding; the same few keys come with every call."""
    return _UNRESERVED.fullmatch(key) is not None


def query_url(url: str, params: Mapping[str, Any] | None) -> str:
    """``url`` with ``params`` as its query string, as requests encodes them: a ``None`` value is
    left out, a list repeats the key. A plain string (an id) or integer (``per_page``) skips
    ``urlencode``: a per-record read encodes a million of them."""
    parts = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if type(value) is int:  # not a bool, which requests sends as True/False
            value = str(value)
        if isinstance(value, str) and _UNRESERVED.fullmatch(value) and _plain_key(key):
            parts.append(f"{key}={value}")
        elif encoded := urlencode({key: value}, doseq=True):
            parts.append(encoded)
    if not parts:
        return url
    return f"{url}{'&' if '?' in url else '?'}{'&'.join(parts)}"


def environment_ca_bundle() -> str:
    """The CA bundle requests would verify with: the environment's, else certifi's."""
    return (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    )


class Headers(Mapping[str, str]):
    """Response headers, looked up in any case as requests' ``CaseInsensitiveDict`` (names
    iterate lower-cased). Built from a dict in one step: no per-header object."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str]):
        self._values = values  # lower-cased name -> value

    def __getitem__(self, name: str) -> str:
        return self._values[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Headers({self._values!r})"


def parse_headers(lines: list[bytes]) -> Headers:
    """The headers of the last response among ``lines``, one header line each as libcurl hands
    them over (a proxy's ``CONNECT`` answer or a ``100 Continue`` comes first), as requests would
    hold them: names in any case, values without the spaces around them, a repeated header's
    values joined with commas. A line without a colon (a status line, the blank line) is no
    header. This runs once per call: a partition per line costs half what one regex over the
    joined block did."""
    values: dict[str, str] = {}
    for line in lines:
        if line.startswith(b"HTTP/"):
            values = {}  # a later response: only its headers count
            continue
        name, colon, value = line.decode("iso-8859-1").partition(":")
        if not colon or not name or "\r" in name or "\n" in name:
            continue
        key = name.lower()
        value = value.strip(" \t\r\n")
        values[key] = f"{values[key]}, {value}" if key in values else value
    return Headers(values)


class _Handle:
    """A libcurl handle, what its call under way has received, and whether its options are those
    of a plain GET (then the next plain GET sets only its URL). Its callbacks are its own bound
    methods and lists, set once: a call only empties them, no closure or option per call."""

    __slots__ = ("curl", "plain_get", "chunks", "header_lines", "sends", "on_resend")

    def __init__(self) -> None:
        self.curl = pycurl.Curl()
        self.plain_get = False
        self.chunks: list[bytes] = []  # the body as libcurl hands it over
        self.header_lines: list[bytes] = []
        self.sends = 0  # times the call under way went out (a resend: 2)
        self.on_resend: Callable[[], None] | None = None

    def set_callbacks(self) -> None:
        """Point libcurl's callbacks at this handle (again after a ``reset``)."""
        self.curl.setopt(pycurl.WRITEFUNCTION, self.chunks.append)
        self.curl.setopt(pycurl.HEADERFUNCTION, self.header_lines.append)
        self.curl.setopt(pycurl.PREREQFUNCTION, self.prerequest)

    def start(self, on_resend: Callable[[], None] | None) -> None:
        self.chunks.clear()
        self.header_lines.clear()
        self.sends = 0
        self.on_resend = on_resend

    def prerequest(self, *_connection: object) -> int:
        """On a connection, before the request goes out: the first time and any resend."""
        if self.sends and self.on_resend is not None:
            self.on_resend()
        self.sends += 1
        return pycurl.PREREQFUNC_OK


class Transport:
    """Calls to one API host, with fixed headers, from any number of threads at once.

    Up to ``pool_size`` idle handles (connections) are kept; the environment's proxy settings
    (``HTTPS_PROXY``, ``NO_PROXY``) and CA bundle are read once, here. ``timeout`` bounds the
    connection and the whole call: a response that trickles in cannot hold a reader for longer
    (requests' read timeout bounds each read of the socket, not the call).
    """

    def __init__(
        self, base_url: str, headers: Mapping[str, str], *, pool_size: int, timeout: float
    ):
        self.header_lines = [f"{k}: {v}" for k, v in headers.items()]
        self.json_header_lines = [*self.header_lines, "Content-Type: application/json"]
        self.proxy = select_proxy(base_url, get_environ_proxies(base_url))
        self.ca_bundle = environment_ca_bundle()
        self.timeout = timeout
        self.pool_size = pool_size
        self._idle: deque[_Handle] = deque()  # append and pop are atomic: no lock needed
        self.connections_opened = 0  # over the transport's life: keep-alive shows here
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # the headers carry the token: never shown
        return f"Transport(proxy={self.proxy!r})"

    def _handle(self, hub: Hub | None) -> _Handle:
        try:
            return (self._idle if hub is None else hub.idle).pop()
        except IndexError:
            return _Handle()

    def _release(self, handle: _Handle, hub: Hub | None) -> None:
        idle = self._idle if hub is None else hub.idle  # a hub keeps its own: see curl_hub.py
        if len(idle) < self.pool_size:
            idle.append(handle)
        else:
            handle.curl.close()

    def _prepare(self, handle: _Handle, method: str, url: str, body: bytes | None) -> None:
        curl, plain_get = handle.curl, method == "GET" and body is None
        if plain_get and handle.plain_get:
            # the last call was a plain GET too: its options stand, only the URL changes (a
            # reset and a dozen options are a tenth of what a per-record read costs the CPU)
            curl.setopt(pycurl.URL, url)
            return
        curl.reset()  # options only: the live connection and TLS session stay
        handle.set_callbacks()
        curl.setopt(pycurl.URL, url)
        curl.setopt(pycurl.NOSIGNAL, 1)  # timeouts without signals: safe on any thread
        # HTTP/1.1, as requests spoke: one connection per reader, no multiplexing to reason about
        curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        curl.setopt(pycurl.ACCEPT_ENCODING, "gzip, deflate")
        curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(self.timeout * 1000))
        curl.setopt(pycurl.TIMEOUT_MS, int(self.timeout * 1000))
        curl.setopt(pycurl.CAINFO, self.ca_bundle)
        curl.setopt(pycurl.PROXY, self.proxy or "")  # "": no proxy, whatever libcurl would read
        if body is None:
            curl.setopt(pycurl.HTTPHEADER, self.header_lines)
            if method != "GET":
                curl.setopt(pycurl.CUSTOMREQUEST, method)
        else:
            curl.setopt(pycurl.HTTPHEADER, self.json_header_lines)
            curl.setopt(pycurl.POSTFIELDS, body)
            if method != "POST":
                curl.setopt(pycurl.CUSTOMREQUEST, method)
        handle.plain_get = plain_get

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        on_resend: Callable[[], None] | None = None,
    ) -> Response:
        """Send one call and read its whole body; raises ``TransportError`` on network failures.

        ``on_resend()`` runs before libcurl sends the request again: it does so, once, on a
        fresh connection when a kept-alive one closes before any byte of the answer (a dropped
        connection). That is where the caller's rate limiter waits and counts that call too."""
        full_url = query_url(url, params)
        body = None if json is None else _dumps(json)
        hub = current_hub()
        handle = self._handle(hub)
        handle.start(on_resend)
        curl = handle.curl
        try:
            self._prepare(handle, method, full_url, body)
            try:
                if hub is None:
                    curl.perform()
                else:  # a task of a hub: the transfer runs with the hub's others
                    hub.perform(curl)
            finally:
                if opened := curl.getinfo(pycurl.NUM_CONNECTS):
                    with self._lock:
                        self.connections_opened += opened
            status = curl.getinfo(pycurl.RESPONSE_CODE)
        except pycurl.error as exc:
            code, message = exc.args if len(exc.args) == 2 else (None, str(exc))
            curl.close()  # its connection is in an unknown state
            raise TransportError(
                f"{method} {url}: curl error {code}: {message}",
                handle.sends,
                code in FINAL_CURL_ERRORS,
            ) from None
        response = Response(status, handle.header_lines.copy(), b"".join(handle.chunks))
        handle.start(None)  # an idle handle holds no body, and not the caller's client
        self._release(handle, hub)
        return response


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
