"""The warehouse resource: DuckDB connections that hand the memory a step freed back to the system.

A run executes its steps in one process (``definitions.py``). An extraction step parses pages on
several threads, and glibc gives each thread its own malloc arena. When the step ends, Python frees
those objects, but glibc may keep the pages for reuse, and the next step's DuckDB buffer pool then
comes on top of them. ``malloc_trim`` returns free pages from every arena. Each step opens one
warehouse connection, so trimming when that connection closes trims once per step, at its end, for
the cost of a walk over the free lists.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster_duckdb import DuckDBResource


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, musl)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> bool:
    """Give the C heap's free pages back to the system; False where that cannot be asked for."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class WarehouseResource(DuckDBResource):
    """``DuckDBResource`` (its settings, its retries while another process holds the file) whose
    connections return the process's freed memory when they close, the step failed or not."""

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            with super().get_connection() as conn:
                yield conn
        finally:
            release_freed_memory()
