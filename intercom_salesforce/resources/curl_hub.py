"""Per-record reads on one thread: many calls in flight on one libcurl multi handle, each call's
own code (the client's retries and rate-limit waits, a listing's pages) running as a greenlet.

Why not a pool of threads, as before: a first sync reads one listing per contact and one
conversation per changed conversation, a million and a half small GETs at a real workspace's
size, and what a call costs the reader's CPU is most of the pipeline's CPU. On a thread, every call
blocks its thread until its answer comes, so every answer costs a wake-up of a sleeping thread
(a context switch in and out) and a hand-over of the interpreter lock, and every finished task a
hand-over to the caller's thread.

Here every transfer in flight waits on the one multi handle, on the caller's thread. A call's code
does not know it: in a task, the transport's ``perform`` and the client's ``sleep`` hand the
transfer or the wait to the hub (``current_hub``) and switch back to the hub's loop, which
switches into the task again when its answer is in (greenlets: a switch is a function call, no
system call and no lock). While at least ``COALESCE_FROM`` transfers are in flight, the loop
lets ``coalesce_seconds`` pass before it looks for answers, so that it wakes once for several
answers instead of once for each. With that many calls in flight a wait of a few milliseconds
does not slow the read: the server is answering the others meanwhile. One wait still blocks the
loop: the rate limiter's before libcurl sends a request again on a fresh connection (a dropped
connection, ``Transport.request``), which runs inside the loop's own libcurl call, as it blocked
that call's thread before.

Measured with ``benchmarks/reader_cpu.py`` (the emulator in a process of its own, 4,000 listings,
24 in flight), CPU per call, user and system: the pool of 24 threads 0.13 ms; the hub waking for
every answer 0.19 ms; the hub letting answers gather for 5 ms 0.08 ms, at the same rate of calls.
With the emulator answering after 100 ms the answers come one by one whatever the wait, and the
hub costs more than the threads did (0.26 against 0.19 ms a call, at the same 230 calls a second):
at the real API's pace that is a few percent of one core, while at a first sync's pace against a
fast server it is most of the pipeline's CPU.

A multi handle keeps the connections of the transfers it ran, apart from those a handle keeps when
it performs alone. So a hub belongs to one thread and outlives each ``map``
(``IntercomClient._hub``), and keeps the idle handles its tasks used (``idle``) apart from the
transport's: the few truncated lists of a page, read on the hub, reuse the connections of the page
before, and the threads reading search pages keep theirs.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import pycurl
from greenlet import GreenletExit, getcurrent, greenlet

T = TypeVar("T")
R = TypeVar("R")

#: While this many transfers are in flight, the loop waits ``COALESCE_SECONDS`` before looking
#: for answers. Fewer (a page's one or two truncated lists) are answered as soon as they come.
COALESCE_FROM = 8
#: How long the loop lets answers gather (see the module's docstring).
COALESCE_SECONDS = 0.005
#: The longest the loop waits on sockets at once, so timers (retries, rate-limit waits) and
#: libcurl's own timeouts are looked at again at least this often.
MAX_WAIT_SECONDS = 0.5

_END = object()


class Task(greenlet):
    """A greenlet running one item's call on a hub."""

    def __init__(self, run: Callable[..., Any], hub: Hub):
        super().__init__(run)
        self.hub = hub


def current_hub() -> Hub | None:
    """The hub the current code runs on as a task, or None (plain code: block as usual)."""
    return getattr(getcurrent(), "hub", None)


class Hub:
    """One thread's libcurl multi handle, the transfers in flight on it and the tasks waiting."""

    def __init__(self, max_connections: int, coalesce_seconds: float = COALESCE_SECONDS):
        self.multi = pycurl.CurlMulti()
        # the connections kept alive between transfers: one per handle that may be in flight
        self.multi.setopt(pycurl.M_MAXCONNECTS, max_connections)
        self.coalesce_seconds = coalesce_seconds
        self.loop: greenlet | None = None  # the greenlet running ``map``'s loop
        self.transfers: dict[pycurl.Curl, Task] = {}
        self.timers: list[tuple[float, int, Task]] = []  # (when, order, task), a heap
        self.ready: deque[tuple[Task, tuple[int, str] | None]] = deque()
        self.idle: deque[Any] = deque()  # the transport's handles its tasks used, kept for them
        self._order = itertools.count()

    # -- what a task calls ---------------------------------------------------------------------
    def perform(self, curl: pycurl.Curl) -> None:
        """Run ``curl``'s transfer to its end, as ``Curl.perform`` does (raising
        ``pycurl.error(code, message)`` when it fails), while the other tasks run."""
        assert self.loop is not None
        self.multi.add_handle(curl)
        self.transfers[curl] = getcurrent()  # type: ignore[assignment]
        error = self.loop.switch()
        if error is not None:
            raise pycurl.error(*error)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` while the other tasks run."""
        assert self.loop is not None
        when = time.monotonic() + max(0.0, seconds)
        heapq.heappush(self.timers, (when, next(self._order), getcurrent()))  # type: ignore[arg-type]
        self.loop.switch()

    # -- the loop ------------------------------------------------------------------------------
    def map(
        self, fn: Callable[[T], R], items: Iterable[T], concurrency: int
    ) -> Iterator[tuple[T, R | BaseException]]:
        """``fn(item)`` for every item, up to ``concurrency`` at once, yielding ``(item, result)``
        as they finish (the exception in place of the result when one raised). The caller runs
        between the items yielded, with every task waiting; closing the iterator early stops the
        tasks and drops their transfers."""
        if self.loop is not None:
            raise RuntimeError("a hub runs one map at a time")
        self.loop = getcurrent()
        tasks = _Tasks(self, fn, iter(items), concurrency)
        try:
            tasks.start()
            while tasks.live or tasks.finished:
                if tasks.finished:
                    batch = tasks.finished[:]
                    tasks.finished.clear()
                    yield from batch
                    continue
                self._wait()
                while self.ready:
                    tasks.resume(*self.ready.popleft())
                tasks.start()
        finally:
            self._stop(tasks.live)
            self.loop = None

    def _wait(self) -> None:
        """Until a transfer has ended or a timer is due: both go to ``ready``."""
        napped = False
        while True:
            self._drive()
            now = time.monotonic()
            while self.timers and self.timers[0][0] <= now:
                self.ready.append((heapq.heappop(self.timers)[2], None))
            if self.ready:
                return
            timeout = MAX_WAIT_SECONDS
            if self.timers:
                timeout = min(timeout, self.timers[0][0] - now)
            curl_ms = self.multi.timeout()
            if curl_ms >= 0:
                timeout = min(timeout, curl_ms / 1000)
            if not self.transfers:
                time.sleep(timeout)
            elif not napped and len(self.transfers) >= COALESCE_FROM:
                time.sleep(min(self.coalesce_seconds, timeout))
                napped = True
            else:
                self.multi.select(timeout)

    def _drive(self) -> None:
        """Let libcurl send and read what it can; ended transfers go to ``ready``."""
        while self.multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
            pass
        while True:
            queued, ok, failed = self.multi.info_read()
            for curl in ok:
                self._end(curl, None)
            for curl, code, message in failed:
                self._end(curl, (code, message))
            if not queued:
                return

    def _end(self, curl: pycurl.Curl, error: tuple[int, str] | None) -> None:
        self.multi.remove_handle(curl)
        self.ready.append((self.transfers.pop(curl), error))

    def _stop(self, live: set[Task]) -> None:
        """Stop the tasks still running (the caller closed the iterator, or raised): each
        unwinds from where it waits, then its transfer, in an unknown state, is dropped."""
        for task in list(live):
            if not task.dead:
                task.throw(GreenletExit)
        for curl in list(self.transfers):
            self.multi.remove_handle(curl)
            curl.close()
        self.transfers.clear()
        self.timers.clear()
        self.ready.clear()


class _Tasks:
    """The tasks of one ``Hub.map``: those running, and the results not yet handed over."""

    def __init__(self, hub: Hub, fn: Callable[[Any], Any], source: Iterator[Any], most: int):
        self.hub, self.fn, self.source, self.most = hub, fn, source, most
        self.live: set[Task] = set()
        self.finished: list[tuple[Any, Any]] = []

    def run(self, item: Any) -> None:
        try:
            self.finished.append((item, self.fn(item)))
        except GreenletExit:
            raise
        except BaseException as exc:  # handed to the caller, who decides
            self.finished.append((item, exc))

    def resume(self, task: Task, value: Any) -> None:
        """Switch into ``task`` with ``value`` until it waits again or ends."""
        task.switch(value)
        if task.dead:
            self.live.discard(task)

    def start(self) -> None:
        """Start items until ``most`` run (each runs until its first transfer or wait)."""
        while len(self.live) < self.most:
            item = next(self.source, _END)
            if item is _END:
                return
            task = Task(self.run, self.hub)
            self.live.add(task)
            self.resume(task, item)
