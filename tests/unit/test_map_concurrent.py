"""``IntercomClient.map_concurrent`` and the hub under it: every item comes back once, with its
result or its error, whatever the number of items and calls at once; no more than that many run;
a wait lets the others go on; closing the iterator early stops what still runs."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intercom_salesforce.resources.curl_hub import Hub, current_hub
from intercom_salesforce.resources.intercom import IntercomResource


def client():
    return IntercomResource(access_token="t", base_url="http://127.0.0.1:9").client()


def fetch(x: int) -> int:
    hub = current_hub()
    assert hub is not None  # each item runs as a task of the hub
    hub.sleep(abs(x) % 3 / 5000)  # a wait, as a retry or the rate limiter makes one
    if x % 7 == 0:
        raise ValueError(x)
    return 2 * x


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-50, 50), max_size=400), st.integers(1, 6), st.booleans())
def test_every_item_once_with_its_result_or_its_error(items: list[int], workers: int, lazy: bool):
    source = iter(items) if lazy else items
    got = list(client().map_concurrent(fetch, source, workers=workers))
    assert Counter(item for item, _ in got) == Counter(items)
    for item, result in got:
        if item % 7 == 0:
            assert isinstance(result, ValueError) and result.args == (item,)
        else:
            assert result == 2 * item


def test_no_more_than_the_workers_run_at_once_and_a_wait_lets_the_others_go_on():
    running, most, order = [0], [0], []

    def slow_first(x: int) -> int:
        running[0] += 1
        most[0] = max(most[0], running[0])
        current_hub().sleep(0.05 if x == 0 else 0.001)  # type: ignore[union-attr]
        running[0] -= 1
        order.append(x)
        return x

    got = [item for item, _ in client().map_concurrent(slow_first, range(20), workers=4)]
    assert most[0] == 4
    assert sorted(got) == list(range(20))
    assert order[-1] == 0  # the long wait did not hold up the items after it


def test_closing_early_stops_the_tasks_and_the_hub_runs_again():
    unwound: list[int] = []

    def waits(x: int) -> int:
        try:
            current_hub().sleep(0.001 if x == 0 else 10)  # type: ignore[union-attr]
            return x
        finally:
            unwound.append(x)

    c = client()
    items = c.map_concurrent(waits, range(5), workers=5)
    assert next(items) == (0, 0)
    items.close()  # the four others were waiting: they unwind now, not in ten seconds
    assert sorted(unwound) == [0, 1, 2, 3, 4]
    assert list(c.map_concurrent(lambda x: x + 1, [1, 2])) == [(1, 2), (2, 3)]


def test_a_read_within_a_read_runs_one_item_at_a_time():
    c = client()

    def outer(x: int) -> list[int]:
        inner = c.map_concurrent(lambda y: y * x, [1, 2, 3])
        return [r for _, r in inner]  # type: ignore[misc]

    got = dict(c.map_concurrent(outer, [1, 10]))
    assert got == {1: [1, 2, 3], 10: [10, 20, 30]}


def test_a_hub_runs_one_map_at_a_time():
    hub = Hub(max_connections=2)
    first = hub.map(lambda x: x, [1, 2], 2)
    assert next(first) == (1, 1)
    with pytest.raises(RuntimeError, match="one map at a time"):
        next(hub.map(lambda x: x, [3], 1))
    assert list(first) == [(2, 2)]
