"""The command line in a process of its own, started from a fork server that has already imported
Dagster, Great Expectations and the other libraries a sync loads.

A sync started as ``python -m intercom_salesforce.cli`` spends five to seven seconds of CPU on
imports before it does anything, most of them Great Expectations'. The crash, overlap and soak
tests start about twenty syncs, so that was the largest single cost of the suite. A process forked
from a server holding those modules is still a process of its own, with its own pid, environment,
working directory, file locks and exit status, that SIGKILL and SIGTERM end as they end any
process; only the third-party imports are shared. Our own package is imported in the child, after
its environment is set, because some of its modules read the environment when imported.

This module imports nothing but the standard library at its top: the fork server imports it to
find ``_cli_main``, and it must not import our package there.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import subprocess
import sys
import warnings
from collections.abc import Sequence
from multiprocessing.context import BaseContext

# what every sync imports and never reads our environment variables while importing: the
# libraries, and the instance's SQLite storage that ``DagsterInstance.get()`` loads on first use
PRELOAD = (
    "dagster",
    "dagster._core.storage.base_storage",
    "dagster._core.storage.sqlite_storage",
    "dagster._core.storage.local_compute_log_manager",
    "dagster_duckdb",
    "duckdb",
    "great_expectations",
    "pandas",
    "pyarrow",
    "requests",
    "simple_salesforce",
    "tenacity",
    "upath",
)


@functools.cache
def _context() -> BaseContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    return ctx


def _cli_main(args: list[str], env: dict[str, str], cwd: str, log_path: str) -> None:
    """The child: the given environment and working directory, output to ``log_path``, then the
    command line as ``python -m intercom_salesforce.cli`` runs it."""
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    if env.get("PYTHONWARNINGS") == "ignore":  # read by the interpreter only at its start
        warnings.simplefilter("ignore")
    from intercom_salesforce.cli.app import main

    sys.argv = ["intercom-salesforce", *args]
    sys.exit(main(args))


class CliProcess:
    """A started command, with the part of ``subprocess.Popen``'s interface the harness uses."""

    def __init__(self, args: Sequence[str], env: dict[str, str], cwd: str, log_path: str):
        self.args = list(args)
        self._proc = _context().Process(
            target=_cli_main, args=(self.args, dict(env), str(cwd), str(log_path)), daemon=False
        )
        self._proc.start()

    @property
    def pid(self) -> int:
        assert self._proc.pid is not None
        return self._proc.pid

    def poll(self) -> int | None:
        return self._proc.exitcode

    def wait(self, timeout: float | None = None) -> int:
        """The exit status (negative: the signal that ended it), as ``Popen.wait`` returns it."""
        self._proc.join(timeout)
        if self._proc.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._proc.exitcode

    def send_signal(self, sig: int) -> None:
        os.kill(self.pid, sig)
