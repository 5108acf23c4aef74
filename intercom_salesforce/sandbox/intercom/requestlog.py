"""In-memory log of API requests so tests and demos can assert what a client sent."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

LOGGED_HEADERS = ("Intercom-Version", "Accept", "Content-Type", "User-Agent", "Authorization")


class RequestLog:
    def __init__(self, size: int) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = 0

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, **entry}
            self._entries.append(entry)
            return entry

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
