"""Intercom's fault kinds on top of the shared dice (see ``FaultConfig`` for what each reproduces)."""

from __future__ import annotations

import threading
from collections import Counter

from intercom_salesforce.sandbox.faults import FaultDice
from intercom_salesforce.sandbox.hold import HoldRegistry
from intercom_salesforce.sandbox.intercom.config import FaultConfig


class FaultInjector:
    """Holds the live ``FaultConfig``, its dice, the countdown of a 429 storm and the hold rules."""

    def __init__(self, config: FaultConfig) -> None:
        self._lock = threading.Lock()
        self.holds = HoldRegistry()
        self.dice = FaultDice(config.seed)
        self.replace(config)

    @property
    def injected(self) -> Counter[str]:
        """Faults served since the emulator started, by kind (GET /_sandbox/faults/injected)."""
        return self.dice.injected

    def replace(self, config: FaultConfig) -> None:
        """Install a new configuration; its ``holds`` replace the rules (old holds answered)."""
        self.holds.configure(config.holds)
        self.dice.reseed(config.seed)
        with self._lock:
            self.config = config
            self._storm_left = config.rate_limit_storm
            self._scroll_500_left = 1
            self._mutations = 0

    def storm(self) -> bool:
        """True while the configured number of storm 429s has not been served."""
        with self._lock:
            if self._storm_left <= 0:
                return False
            self._storm_left -= 1
        self.dice.count("rate_limit_storm")
        return True

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
        return self.dice.roll(rate, kind)

    def pick_status(self) -> int:
        return self.dice.choice((500, 502, 503))

    def next_mutation_seed(self) -> int:
        with self._lock:
            self._mutations += 1
            return (self.config.seed or 0) * 1_000_003 + self._mutations
