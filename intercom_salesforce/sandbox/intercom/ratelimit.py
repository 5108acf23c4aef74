"""Fixed-window rate limiting as Intercom enforces it (reference §6).

The per-minute limit is split evenly into 10-second windows; a burst above the window allowance
gets 429 even if the minute total is fine. ``X-RateLimit-Reset`` is the Unix second at which the
next window starts. Rejected requests do not consume the allowance. The window's length is a
setting (10 s, as Intercom) so that a test can exercise 429 storms without waiting whole windows.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 10


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class FixedWindowLimiter:
    """Counts requests per app in the current window (10 s unless told) of the injected clock."""

    def __init__(self, clock: Callable[[], float], window_seconds: int = WINDOW_SECONDS) -> None:
        self.clock = clock
        self.window_seconds = window_seconds
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0

    def hit(self, allowance: int, force_reject: bool = False) -> RateDecision:
        now = self.clock()
        window = math.floor(now / self.window_seconds)
        reset = (window + 1) * self.window_seconds
        with self._lock:
            if window != self._window:
                self._window = window
                self._used = 0
            if force_reject or self._used >= allowance:
                return RateDecision(False, allowance, max(0, allowance - self._used), reset)
            self._used += 1
            return RateDecision(True, allowance, allowance - self._used, reset)
