"""How the Intercom client sends a call: libcurl (pycurl) handles, connections kept alive.

Why libcurl and not a ``requests.Session``: a first sync reads one listing per contact (data
events) and one conversation per changed conversation (parts), a million and a half small GETs
at a real workspace's size. What a call costs the reader's CPU is then most of the pipeline's
CPU. On loopback, against the emulator, a listing cost 0.63 ms of the reader's CPU through a
``requests.Session``, 0.40 ms through a bare urllib3 pool (requests' own engine), and 0.21 ms
through this client on libcurl, limiter and retries included: libcurl sends, reads and parses
the response in C with the GIL released (``benchmarks/reader_cpu.py --transport``, one reader). Everything requests did for these calls
is kept: the environment's proxy (as requests reads it, ``NO_PROXY`` included) and CA bundle,
gzip, keep-alive, JSON bodies; retries and redirects stay off here, because the client's own
retry loop owns them (429s, 5xx, dropped connections).

A libcurl handle is one connection's worth of state and must not be used by two threads at
once, so idle handles wait in a pool (at most ``pool_size``) and each call takes one: threads
come and go with each per-record read, the connections stay.
"""

from __future__ import annotations

import io
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import certifi
import orjson
import pycurl
from requests.structures import CaseInsensitiveDict
from requests.utils import get_environ_proxies, select_proxy

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


@dataclass(frozen=True)
class Response:
    """A finished call: its status, headers (case-insensitive) and whole body."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

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


def query_url(url: str, params: Mapping[str, Any] | None) -> str:
    """``url`` with ``params`` as its query string, as requests encodes them: a ``None`` value is
    left out, a list repeats the key."""
    kept = {k: v for k, v in (params or {}).items() if v is not None}
    if not kept:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode(kept, doseq=True)}"


def environment_ca_bundle() -> str:
    """The CA bundle requests would verify with: the environment's, else certifi's."""
    return (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
    )


def parse_headers(lines: list[bytes]) -> CaseInsensitiveDict[str]:
    """The headers of the last response among ``lines`` (a proxy's ``CONNECT`` answer or a
    ``100 Continue`` comes first), as requests would hold them; a repeated header is joined
    with commas."""
    headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for raw in lines:
        line = raw.decode("iso-8859-1")
        if line.startswith("HTTP/"):
            headers = CaseInsensitiveDict()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


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
        self._idle: deque[pycurl.Curl] = deque()  # append and pop are atomic: no lock needed
        self.connections_opened = 0  # over the transport's life: keep-alive shows here
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # the headers carry the token: never shown
        return f"Transport(proxy={self.proxy!r})"

    def _handle(self) -> pycurl.Curl:
        try:
            return self._idle.pop()
        except IndexError:
            return pycurl.Curl()

    def _release(self, handle: pycurl.Curl) -> None:
        if len(self._idle) < self.pool_size:
            self._idle.append(handle)
        else:
            handle.close()

    def _prepare(self, handle: pycurl.Curl, method: str, url: str, body: bytes | None) -> None:
        handle.reset()  # options only: the live connection and TLS session stay
        handle.setopt(pycurl.URL, url)
        handle.setopt(pycurl.NOSIGNAL, 1)  # timeouts without signals: safe on any thread
        # HTTP/1.1, as requests spoke: one connection per reader, no multiplexing to reason about
        handle.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
        handle.setopt(pycurl.ACCEPT_ENCODING, "gzip, deflate")
        handle.setopt(pycurl.CONNECTTIMEOUT_MS, int(self.timeout * 1000))
        handle.setopt(pycurl.TIMEOUT_MS, int(self.timeout * 1000))
        handle.setopt(pycurl.CAINFO, self.ca_bundle)
        handle.setopt(pycurl.PROXY, self.proxy or "")  # "": no proxy, whatever libcurl would read
        if body is None:
            handle.setopt(pycurl.HTTPHEADER, self.header_lines)
            if method != "GET":
                handle.setopt(pycurl.CUSTOMREQUEST, method)
        else:
            handle.setopt(pycurl.HTTPHEADER, self.json_header_lines)
            handle.setopt(pycurl.POSTFIELDS, body)
            if method != "POST":
                handle.setopt(pycurl.CUSTOMREQUEST, method)

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
        handle = self._handle()
        content, header_lines = io.BytesIO(), []
        sends = 0

        def prerequest(*_connection: object) -> int:
            # on a connection, before the request goes out: the first time and any resend
            nonlocal sends
            if sends and on_resend is not None:
                on_resend()
            sends += 1
            return pycurl.PREREQFUNC_OK

        try:
            self._prepare(handle, method, full_url, body)
            handle.setopt(pycurl.WRITEDATA, content)
            handle.setopt(pycurl.HEADERFUNCTION, header_lines.append)
            handle.setopt(pycurl.PREREQFUNCTION, prerequest)
            try:
                handle.perform()
            finally:
                with self._lock:
                    self.connections_opened += handle.getinfo(pycurl.NUM_CONNECTS)
            status = handle.getinfo(pycurl.RESPONSE_CODE)
        except pycurl.error as exc:
            code, message = exc.args if len(exc.args) == 2 else (None, str(exc))
            handle.close()  # its connection is in an unknown state
            raise TransportError(
                f"{method} {url}: curl error {code}: {message}", sends, code in FINAL_CURL_ERRORS
            ) from None
        self._release(handle)
        return Response(status, parse_headers(header_lines), content.getvalue())


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
