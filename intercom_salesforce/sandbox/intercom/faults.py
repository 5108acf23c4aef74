"""Seeded fault dice for the emulator (see ``FaultConfig`` for what each fault reproduces)."""

from __future__ import annotations

import random
import threading
from collections import Counter

from intercom_salesforce.sandbox.hold import HoldRegistry
from intercom_salesforce.sandbox.intercom.config import FaultConfig


class FaultInjector:
    """Holds the live ``FaultConfig``, its RNG, the countdown of a 429 storm and the hold rules."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.holds = HoldRegistry()
        # faults served since the emulator started, by kind (GET /_sandbox/faults/injected)
        self.injected: Counter[str] = Counter()
        self.replace(config)

    def replace(self, config: FaultConfig) -> None:
        """Install a new configuration; its ``holds`` replace the rules (old holds answered)."""
        self.holds.configure(config.holds)
        with self._lock:
            self.config = config
            self._rng = random.Random(config.seed)
            self._storm_left = config.rate_limit_storm
            self._scroll_500_left = 1
            self._mutations = 0

    def storm(self) -> bool:
        """True while the configured number of storm 429s has not been served."""
        with self._lock:
            if self._storm_left > 0:
                self._storm_left -= 1
                self.injected["rate_limit_storm"] += 1
                return True
            return False

    def scroll_500(self, pages_served: int) -> bool:
        """True once per fault configuration, when a scroll has served the configured number
        of pages: the restarted scroll must be able to finish, as it does against Intercom."""
        after = self.config.scroll_500_after_pages
        with self._lock:
            if after is None or pages_served < after or self._scroll_500_left <= 0:
                return False
            self._scroll_500_left -= 1
            return True

    def roll(self, rate: float, kind: str = "") -> bool:
        if rate <= 0:
            return False
        with self._lock:
            hit = self._rng.random() < rate
            if hit and kind:
                self.injected[kind] += 1
            return hit

    def pick_status(self) -> int:
        with self._lock:
            return self._rng.choice((500, 502, 503))

    def next_mutation_seed(self) -> int:
        with self._lock:
            self._mutations += 1
            return (self.config.seed or 0) * 1_000_003 + self._mutations
