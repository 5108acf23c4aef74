"""Network latency for the emulators: a base delay per API response plus uniform jitter.

On loopback the emulators answer in a millisecond, which hides what a real API call costs
(about 100 ms to Intercom, 150 ms to Salesforce over the internet) and so what concurrency buys.
Benchmarks turn it on; tests keep it at zero. Control endpoints (``/_sandbox/``) are never delayed.
"""

from __future__ import annotations

import random
import threading
import time


class Latency:
    """Sleeps ``base_ms`` ± ``jitter_ms`` (uniform, never below zero) per call of :meth:`wait`."""

    def __init__(self, base_ms: float = 0.0, jitter_ms: float = 0.0, seed: int | None = None):
        self.base_ms, self.jitter_ms = max(0.0, base_ms), max(0.0, jitter_ms)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def delay_seconds(self) -> float:
        if self.base_ms <= 0 and self.jitter_ms <= 0:
            return 0.0
        with self._lock:
            jitter = self._rng.uniform(-self.jitter_ms, self.jitter_ms)
        return max(0.0, self.base_ms + jitter) / 1000

    def wait(self) -> None:
        delay = self.delay_seconds()
        if delay > 0:
            time.sleep(delay)
