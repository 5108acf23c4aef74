"""How the Intercom client sends a call: one urllib3 pool manager, connections kept alive.

Why urllib3 and not a ``requests.Session``: a first sync reads one listing per contact (data
events) and one conversation per changed conversation (parts), a million and a half small GETs
at a real workspace's size. requests sends through urllib3 too, but first prepares every call
through its hooks, cookie jar, settings merges and adapter: against the emulator on loopback,
on 24 reader threads, a listing cost 0.65 ms of the reader's CPU through a ``requests.Session``
and 0.43 ms through this client, limiter and retries included
(``benchmarks/reader_cpu.py --transport``). Everything requests did for these calls is kept: the
environment's proxy and CA bundle, gzip, keep-alive, JSON bodies; retries and redirects stay off
here, because the client's own retry loop owns them (429s, 5xx, dropped connections).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import certifi
import orjson
import urllib3
from requests.utils import get_environ_proxies, select_proxy

# what a call can fail with on the network: refused, dropped or reset connections, timeouts,
# TLS and proxy errors, a truncated body (all retried by the client)
TransportError = urllib3.exceptions.HTTPError


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


class Transport:
    """Calls to one API host, with fixed headers, from any number of threads at once.

    ``pool_size`` connections are kept per host (one per reader thread); the environment's proxy
    settings (``HTTPS_PROXY``, ``NO_PROXY``) and CA bundle are read once, here.
    """

    def __init__(
        self, base_url: str, headers: Mapping[str, str], *, pool_size: int, timeout: float
    ):
        self.headers = {"Accept-Encoding": "gzip, deflate", **headers}
        self.proxy = select_proxy(base_url, get_environ_proxies(base_url))
        self.ca_bundle = environment_ca_bundle()
        options: dict[str, Any] = {
            "maxsize": pool_size,
            "block": False,
            "retries": False,
            "timeout": urllib3.Timeout(connect=timeout, read=timeout),
            "ca_certs": self.ca_bundle,
        }
        self.pool: urllib3.PoolManager = (
            urllib3.ProxyManager(self.proxy, **options)
            if self.proxy
            else urllib3.PoolManager(**options)
        )

    def __repr__(self) -> str:  # the headers carry the token: never shown
        return f"Transport(proxy={self.proxy!r})"

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Response:
        """Send one call and read its whole body; raises ``TransportError`` on network failures."""
        headers = self.headers
        body = None
        if json is not None:
            body = _dumps(json)
            headers = {**headers, "Content-Type": "application/json"}
        resp = self.pool.request(
            method,
            query_url(url, params),
            body=body,
            headers=headers,
            redirect=False,
            preload_content=True,
        )
        return Response(resp.status, resp.headers, resp.data)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
