"""Fault settings and fault dice both emulators share.

Each emulator keeps its own fault kinds (Intercom's 429 storms and dropped connections, Salesforce's
``UNABLE_TO_LOCK_ROW`` and failed jobs) in a dataclass that mixes in :class:`FaultSettings`, so
both parse, validate and print their settings the same way and both answer an unknown setting
alike. :class:`FaultDice` is the seeded random source the faults are drawn from: a seed replays the
same faults, and every fault served is counted by kind for soaks to report.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any, Self, TypeVar

from intercom_salesforce.sandbox.hold import parse_holds

T = TypeVar("T")


class FaultSettings:
    """Mixin for a fault-settings dataclass with a ``holds`` list of hold rules.

    Settings round-trip through plain JSON so a config file and the control endpoints can carry
    them; a name the dataclass does not know is refused rather than silently ignored.
    """

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Self:
        data = dict(data or {})
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        data["holds"] = parse_holds(data.get("holds"))
        return cls(**data)

    def updated(self, changes: dict[str, Any]) -> Self:
        """A copy with only the named settings changed (a partial ``PUT``)."""
        return type(self).from_dict({**self.to_dict(), **changes})


class FaultDice:
    """A seeded random source behind a lock (the servers are threaded), counting what it serves.

    ``rng`` stays reachable because record-level faults (a locked row in a Bulk job) draw from the
    same sequence, so one seed replays a whole run.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        # faults served since the emulator started, by kind
        self.injected: Counter[str] = Counter()

    def reseed(self, seed: int | None) -> None:
        with self.lock:
            self.rng = random.Random(seed)

    def random(self) -> float:
        with self.lock:
            return self.rng.random()

    def roll(self, rate: float, kind: str = "") -> bool:
        """True with probability ``rate``; a hit is counted under ``kind``."""
        if rate <= 0:
            return False
        with self.lock:
            hit = self.rng.random() < rate
        if hit and kind:
            self.count(kind)
        return hit

    def choice(self, options: Sequence[T]) -> T:
        with self.lock:
            return self.rng.choice(options)

    def randrange(self, stop: int) -> int:
        with self.lock:
            return self.rng.randrange(stop)

    def count(self, kind: str) -> None:
        with self.lock:
            self.injected[kind] += 1
