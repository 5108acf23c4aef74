"""Run a WSGI emulator on loopback in a background thread (tests, demo) or in the foreground."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server


@dataclass
class RunningServer:
    server: BaseWSGIServer
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_in_thread(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: tuple[str, str] | None = None,
) -> RunningServer:
    """Start ``app`` on ``host:port`` (port 0 picks a free one) and return its base URL.

    The server is threaded with HTTP/1.1 keep-alive, like the real services, so a
    ``requests.Session`` reuses connections.
    """
    server = make_server(host, port, app, threaded=True, ssl_context=ssl_context)
    scheme = "https" if ssl_context else "http"
    url = f"{scheme}://{host}:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name=f"emulator-{url}", daemon=True)
    thread.start()
    return RunningServer(server=server, thread=thread, url=url)
