"""Several iterators read side by side on threads, their items yielded on one thread.

Independent searches (the days of a full window) each page with their own cursor, so they can run
at once; their pages still reach one writer. The queue between them is bounded, so memory holds a
few pages per search however long the searches are.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Interleaved(Generic[T]):
    """One thread per source; closing the generator from ``items`` (or an error in any source)
    stops every thread after its current item."""

    def __init__(self, sources: list[Iterator[T]], buffered: int = 2):
        self.sources = sources
        self.queue: Queue[tuple[str, Any]] = Queue(maxsize=max(1, buffered * len(sources)))
        self.stop = threading.Event()

    def _put(self, kind: str, value: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.queue.put((kind, value), timeout=0.1)
                return True
            except Full:
                continue
        return False

    def _drain(self, source: Iterator[T]) -> None:
        try:
            for item in source:
                if not self._put("item", item):
                    return
        except BaseException as exc:  # handed to the consuming thread
            self._put("error", exc)
        finally:
            self._put("done", None)

    def items(self) -> Iterator[T]:
        threads = [
            threading.Thread(target=self._drain, args=(s,), name=f"interleave-{i}", daemon=True)
            for i, s in enumerate(self.sources)
        ]
        for thread in threads:
            thread.start()
        try:
            running = len(threads)
            while running:
                kind, value = self.queue.get()
                if kind == "done":
                    running -= 1
                elif kind == "error":
                    raise value
                else:
                    yield value
        finally:
            self.stop.set()
            for thread in threads:
                thread.join()
