"""The warehouse resource: DuckDB connections that hand the memory a step freed back to the system.

A run executes its steps in one process (``definitions.py``), so what a step frees but its
allocator keeps is still resident when the next step's DuckDB buffer pool comes on top of it.
Two allocators keep freed memory:

* Arrow's pool (mimalloc), which every ``.df()`` and ``.arrow()`` of a query result and every
  extraction chunk goes through. A freed million-row frame of 24 text columns left about 460 MB
  resident in it until it was asked to give them back (``benchmarks/freed_memory.py``).
* glibc's malloc, whose per-thread arenas (the extraction's reader threads) keep free pages for
  reuse.

Memory held by reference cycles is freed only when the garbage collector runs: the quality gate,
whose validation results hold its frame in cycles, collects them before its connection closes
(``checks.py``).

DuckDB itself frees its buffer pool when the last connection to the file closes. Each step opens
one warehouse connection, so releasing when that connection closes releases once per step, at its
end.

A step does its work with a warehouse connection open, so while one is open the process also
collects garbage less often (``collector.py``). A context-managed resource (setup and teardown)
would do the same per run, but sensors would then need their context opened with ``with``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa
from dagster_duckdb import DuckDBResource

from intercom_salesforce.resources.collector import collect_less_often, restore_collection


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> bool:
    """Give Arrow's unused memory and the C heap's free pages back to the system; False where the
    C library cannot be asked to (Arrow's is released all the same)."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class WarehouseResource(DuckDBResource):
    """``DuckDBResource`` (its settings, its retries while another process holds the file) whose
    connections return the process's freed memory when they close, the step failed or not, and
    keep the garbage collector to fewer passes while they are open."""

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        collect_less_often()
        try:
            with super().get_connection() as conn:
                yield conn
        finally:
            restore_collection()
            release_freed_memory()
