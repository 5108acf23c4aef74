"""Run a WSGI emulator on loopback in a background thread (tests, demo) or in the foreground.

The emulators stand in for third-party services with sandbox credentials and unauthenticated
control endpoints, so they listen on the loopback interface only: :func:`start_in_thread` refuses
any other host.
"""

from __future__ import annotations

import ipaddress
import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from intercom_salesforce.sandbox.hold import close_holds


@dataclass
class RunningServer:
    server: BaseWSGIServer
    thread: threading.Thread
    url: str
    app: Any = None

    def stop(self) -> None:
        """Stop serving. Requests a hold fault keeps waiting are dropped first, so no handler
        thread outlives the server waiting for a release that can no longer come."""
        close_holds(self.app)
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


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

    The server is threaded with HTTP/1.1 keep-alive, like the real services, so a
    ``requests.Session`` reuses connections, and a request held by a hold fault blocks only its
    own connection. ``host`` must be a loopback address: the emulators accept sandbox credentials
    and expose unauthenticated control endpoints, which must never be reachable from the network.
    """
    if not is_loopback(host):
        raise ValueError(f"the sandbox serves on loopback only, not on {host!r}")
    server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
    scheme = "https" if ssl_context else "http"
    netloc = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{netloc}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name=f"emulator-{url}", daemon=True)
    thread.start()
    return RunningServer(server=server, thread=thread, url=url, app=app)
