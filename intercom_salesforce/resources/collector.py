"""How often a run's process runs the cyclic garbage collector.

Python starts a young-generation collection every 700 container objects allocated (net), and a
full one every hundred of those (when the old generation has grown by a quarter). A run parses
millions of small objects: a search page of 150 contacts is about 20,000 dicts and lists, each
alive until the page is staged. At the default threshold every page is traversed several times
while it is parsed, promoted, traversed again in the middle generation, and the full
collections walk the whole heap of Dagster, Great Expectations and pandas, hundreds of thousands
of objects, to find nothing to free: the objects of a page die by reference counting, not by the
collector.

A step therefore raises the thresholds (``collect_less_often``) for as long as its warehouse
connection is open, and puts them back when it closes (``warehouse.py``). At 50,000 a young
collection comes after a few pages, so most of a page is freed before any collection sees it.
In the million-contact scale run (``benchmarks/RESULTS.md``; the thresholds were then raised
for the whole run, and every step's reads happen inside its connection), the contacts stream's
reader threads, which parse the search pages, went from 52.6 s of CPU to 17.3 s, and the people
sync's peak memory stayed where it was (1,335 MB before, 1,340 MB after).

Memory held in reference cycles waits longer for a collection: a few megabytes of young objects,
and the quality gate collects its validation results itself (``assets/quality/checks.py``).
"""

from __future__ import annotations

import gc
import threading

#: young collections after this many net container allocations; a middle-generation collection
#: every 20 of those; a full one every 100 of those (and only once the old generation has grown
#: by a quarter, as always)
RUN_THRESHOLDS = (50_000, 20, 100)

_lock = threading.Lock()
_holders = 0
_saved: tuple[int, ...] = ()


def collect_less_often() -> None:
    """Raise the collector's thresholds until the matching ``restore_collection``. Nested
    holders (two connections open in one process) keep them raised until the last one is
    done."""
    global _holders, _saved
    with _lock:
        if _holders == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*(max(a, b) for a, b in zip(RUN_THRESHOLDS, _saved, strict=True)))
        _holders += 1


def restore_collection() -> None:
    """Put back the thresholds ``collect_less_often`` found, once its last holder is done."""
    global _holders
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0:
            gc.set_threshold(*_saved)
