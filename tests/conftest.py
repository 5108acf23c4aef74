"""Shared fixtures: a seeded sandbox served on loopback, and resources aimed at it; the order in
which modules are handed to parallel workers."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported by the fixtures: xdist's controller process runs no test
    from intercom_salesforce.sandbox.runtime import SandboxState
    from tests.helpers import Sandbox


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "long(seconds): a test that takes about this long (wall clock, on a quiet machine); "
        "its module is started first",
    )


# The modules that start syncs from the fork server (``integration/sync_process.py``): one worker
# runs them all, so one fork server imports the libraries instead of one on each worker.
FORKED_SYNCS = "tests/integration/forked-syncs"
FORKED_SYNC_MODULES = frozenset(
    f"tests/integration/{name}.py"
    for name in ("test_crash_safety", "test_concurrent_runs", "test_plan")
)


def scope_of(nodeid: str) -> str:
    """The work unit a test belongs to: its module, or ``FORKED_SYNCS``."""
    module = nodeid.split("::")[0]
    return FORKED_SYNCS if module in FORKED_SYNC_MODULES else module


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadscope`` with ``scope_of``'s units instead of modules."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ByScope(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return scope_of(nodeid)

    return ByScope(config, log)


def _cost(item: pytest.Item) -> float:
    marker = item.get_closest_marker("long")
    if marker is None:
        return 0.0
    return float(marker.kwargs.get("seconds", marker.args[0] if marker.args else 60))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest work units (``scope_of``) first, the rest in their usual order.

    With ``-n 4 --dist loadscope --no-loadscope-reorder`` (``make test``) units go to the
    workers in this order, so the minutes-long ones run beside the many short ones instead of
    being left for the end, when the other workers would have nothing to do.
    """
    cost: dict[str, float] = {}
    for item in items:
        scope = scope_of(item.nodeid)
        cost[scope] = cost.get(scope, 0.0) + _cost(item)
    items.sort(key=lambda item: -cost[scope_of(item.nodeid)])


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what exists once the tests are collected: the imported libraries (Dagster, GX,
    pandas, DuckDB) are hundreds of thousands of objects that live as long as the process, and
    every full garbage collection during the run would scan them all again."""
    gc.freeze()


@pytest.fixture(scope="session")
def seeded_state(tmp_path_factory: pytest.TempPathFactory) -> SandboxState:
    """The default world, seeded once per test process (each xdist worker has its own)."""
    from tests.helpers import seed_template

    return seed_template(tmp_path_factory.mktemp("seeded") / "sandbox")


@pytest.fixture()
def sandbox(seeded_state: SandboxState, tmp_path: Path) -> Iterator[Sandbox]:
    """A fresh sandbox per test: a copy of the seeded state in tmp_path, on ephemeral ports."""
    from tests.helpers import sandbox_from

    sb = sandbox_from(seeded_state, tmp_path / "sandbox")
    yield sb
    sb.running.stop()
