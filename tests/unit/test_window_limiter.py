"""The window limiter shared by a run's workers: never more calls in a window than allowed."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from intercom_salesforce.resources.intercom import WindowLimiter


@settings(max_examples=30, deadline=None)
@given(allowance=st.integers(1, 50), threads=st.integers(1, 8), tries=st.integers(1, 40))
def test_threads_never_take_more_than_the_allowance_of_a_window(allowance, threads, tries):
    now = [1000.0]
    limiter = WindowLimiter(allowance, 10.0, clock=lambda: now[0])
    taken = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(tries):
            if limiter.try_take() == 0.0:
                with lock:
                    taken.append(1)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert len(taken) == min(allowance, threads * tries)
    # the wait ends when the next window starts
    if threads * tries >= allowance:
        assert limiter.try_take() == 10.0
    now[0] = 1010.0
    assert limiter.try_take() == 0.0
