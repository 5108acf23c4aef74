"""Fixed-window rate limiting as Intercom enforces it (reference §6).

The per-minute limit is split evenly into 10-second windows; a burst above the window allowance
gets 429 even if the minute total is fine. ``X-RateLimit-Reset`` is the Unix second at which the
next window starts. Rejected requests do not consume the allowance.
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
    """Counts requests per app in the current 10-second window of the injected clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0

    def hit(self, allowance: int, force_reject: bool = False) -> RateDecision:
        now = self.clock()
        window = math.floor(now / WINDOW_SECONDS)
        reset = (window + 1) * WINDOW_SECONDS
        with self._lock:
            if window != self._window:
                self._window = window
                self._used = 0
            if force_reject or self._used >= allowance:
                return RateDecision(False, allowance, max(0, allowance - self._used), reset)
            self._used += 1
            return RateDecision(True, allowance, allowance - self._used, reset)
