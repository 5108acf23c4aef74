"""Shared fixtures: a seeded sandbox served on loopback, and resources aimed at it; the order in
which modules are handed to parallel workers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from intercom_salesforce.sandbox.runtime import SandboxState
from tests.helpers import Sandbox, sandbox_from, seed_template


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "long(seconds): a test that takes about this long (wall clock, on a quiet machine); "
        "its module is started first",
    )


def _cost(item: pytest.Item) -> float:
    marker = item.get_closest_marker("long")
    if marker is None:
        return 0.0
    return float(marker.kwargs.get("seconds", marker.args[0] if marker.args else 60))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first, the rest in their usual order.

    With ``-n 2 --dist loadscope --no-loadscope-reorder`` (``make test``) modules go to the
    workers in this order, so the minutes-long ones run beside the many short ones instead of
    being left for the end, when the other worker would have nothing to do.
    """
    cost: dict[str, float] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        cost[module] = cost.get(module, 0.0) + _cost(item)
    items.sort(key=lambda item: -cost[item.nodeid.split("::")[0]])


@pytest.fixture(scope="session")
def seeded_state(tmp_path_factory: pytest.TempPathFactory) -> SandboxState:
    """The default world, seeded once per test process (each xdist worker has its own)."""
    return seed_template(tmp_path_factory.mktemp("seeded") / "sandbox")


@pytest.fixture()
def sandbox(seeded_state: SandboxState, tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh sandbox per test: a copy of the seeded state in tmp_path, on ephemeral ports."""
    sb = sandbox_from(seeded_state, tmp_path / "sandbox")
    yield sb
    sb.running.stop()
