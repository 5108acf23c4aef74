"""Run a WSGI emulator on loopback in a background thread (tests, demo) or in the foreground.

The emulators stand in for third-party services with sandbox credentials and unauthenticated
control endpoints, so they listen on the loopback interface only: :func:`start_in_thread` refuses
any other host.

They are served by cheroot, not by werkzeug's development server: werkzeug answers every request
with ``Connection: close``, so each call paid a new TCP connection, a new thread and, for the
Salesforce emulator, a TLS handshake (about 7 ms of CPU and 15 ms of wall clock against 1.3 ms on
a kept-alive connection). Intercom and Salesforce keep HTTP/1.1 connections alive, and a client
that reuses its connections must see that here too.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import threading
from dataclasses import dataclass
from typing import Any

from cheroot import makefile, server, wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter

from intercom_salesforce.sandbox.hold import SOCKET_KEY, close_holds

log = logging.getLogger(__name__)

# Requests served at once. A held request (hold faults) or a delayed one (latency) keeps its
# thread, so the pool is sized well above the clients' concurrency (24 readers by default).
THREADS = 64
# An idle kept-alive connection is closed after this many seconds, as real services close theirs.
KEEP_ALIVE_SECONDS = 60
# Idle kept-alive connections the server keeps open at once. cheroot keeps 10 and answers the
# 11th with ``Connection: close``, so 24 readers busy on the client's side would reconnect on
# almost every call; Intercom and Salesforce keep every client connection alive.
KEEP_ALIVE_CONNECTIONS = 256
# How long ``stop`` waits for the threads once the held requests have been released.
STOP_TIMEOUT_SECONDS = 2


# What a response may hold back before writing: its headers and any body up to this size go out
# in one send.
HELD_WRITE_BYTES = 64 * 1024


class _HeldWriter(makefile.StreamWriter):
    """A connection's writer that, while a response is being written (``holding``), holds what
    it writes until the response ends or :data:`HELD_WRITE_BYTES` are waiting, so a response's
    status line, headers and body leave in one send.

    cheroot sends the header block and each body chunk on their own. On loopback the client then
    wakes for the headers and again for the body: a poll, a receive and a context switch more per
    call than a real service's small answer costs, which arrives in one segment. Over a million
    small listings that was a cost of the emulator charged to the client.

    Outside a response (a ``100 Continue`` the client waits for, an error answered while the
    request is parsed) every write is sent at once, as cheroot sends it."""

    holding = False

    def write(self, b: bytes) -> int:  # type: ignore[override]
        if not self.holding:
            return super().write(b)
        self._checkClosed()
        with self._write_lock:
            self._write_buf.extend(b)
            if len(self._write_buf) >= HELD_WRITE_BYTES:
                self._flush_unlocked()
        self.bytes_written += len(b)
        return len(b)


class _Request(server.HTTPRequest):
    """A request whose response is written whole (see :class:`_HeldWriter`)."""

    def respond(self) -> None:
        wfile = self.conn.wfile
        if not isinstance(wfile, _HeldWriter):
            super().respond()
            return
        wfile.holding = True
        try:
            super().respond()
        finally:
            wfile.holding = False
            # sent however the response ended; a connection the client or a fault has closed
            # has nobody left to send it to, which cheroot's own handling then meets
            with contextlib.suppress(OSError, ValueError):
                wfile.flush()


class _Connection(server.HTTPConnection):
    """An HTTP connection with a :class:`_HeldWriter` and :class:`_Request` handling."""

    RequestHandlerClass = _Request

    def __init__(self, owner: Any, sock: Any, make_file: Any = makefile.MakeFile) -> None:
        super().__init__(owner, sock, make_file)
        self.wfile = _HeldWriter(sock, "wb", self.wbufsize)


class _Gateway(wsgi.Gateway_10):
    """WSGI 1.0, with the connection's socket in the environ under :data:`SOCKET_KEY`."""

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ[SOCKET_KEY] = self.req.conn.socket
        return environ


class _Server(wsgi.Server):
    """cheroot's WSGI server, its error lines sent to logging instead of stderr: a connection
    the fault injection drops on purpose is not an error worth a traceback."""

    # how often the serving loop wakes to expire idle connections, and so how long ``stop``
    # waits for it (cheroot's default is half a second; tests start and stop hundreds of servers)
    expiration_interval = 0.05
    keep_alive_conn_limit = KEEP_ALIVE_CONNECTIONS

    def error_log(self, msg: str = "", level: int = 20, traceback: bool = False) -> None:
        log.debug("%s", msg, exc_info=traceback)


@dataclass
class RunningServer:
    server: wsgi.Server
    thread: threading.Thread
    url: str
    app: Any = None

    def stop(self) -> None:
        """Stop serving. Requests a hold fault keeps waiting are dropped first, so no handler
        thread outlives the server waiting for a release that can no longer come."""
        close_holds(self.app)
        self.server.stop()
        self.thread.join(timeout=10)


def _prepare_as_daemon(server: wsgi.Server) -> None:
    """Bind and start the worker threads from a daemon thread, so they are daemons too (a thread
    inherits the flag of the thread that creates it): an emulator a process forgot to stop never
    keeps it from exiting. A taken port still fails here, in the caller's thread."""
    errors: list[BaseException] = []

    def prepare() -> None:
        try:
            server.prepare()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller as it is
            errors.append(exc)

    thread = threading.Thread(target=prepare, name="emulator-prepare", daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def start_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: tuple[str, str] | None = None,
) -> RunningServer:
    """Start ``app`` on ``host:port`` (port 0 picks a free one) and return its base URL.

    The server keeps HTTP/1.1 connections alive, like the real services, so a
    ``requests.Session`` reuses its connections, and a request held by a hold fault blocks only
    its own connection. ``ssl_context`` is a (certificate, key) pair of PEM files. ``host`` must
    be a loopback address: the emulators accept sandbox credentials and expose unauthenticated
    control endpoints, which must never be reachable from the network.
    """
    if not is_loopback(host):
        raise ValueError(f"the sandbox serves on loopback only, not on {host!r}")
    server = _Server(
        (host, port),
        app,
        numthreads=THREADS,
        timeout=KEEP_ALIVE_SECONDS,
        shutdown_timeout=STOP_TIMEOUT_SECONDS,
        request_queue_size=128,
    )
    server.gateway = _Gateway
    server.ConnectionClass = _Connection
    if ssl_context is not None:
        server.ssl_adapter = BuiltinSSLAdapter(*ssl_context)
    _prepare_as_daemon(server)
    scheme = "https" if ssl_context else "http"
    netloc = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{netloc}:{server.bind_addr[1]}"
    thread = threading.Thread(target=server.serve, name=f"emulator-{url}", daemon=True)
    thread.start()
    return RunningServer(server=server, thread=thread, url=url, app=app)
