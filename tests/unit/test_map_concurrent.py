"""``IntercomClient.map_concurrent``: every item comes back once, with its result or its error,
whatever the number of items, workers and items per task."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from intercom_salesforce.resources.intercom import (
    MAX_TASK_ITEMS,
    IntercomResource,
    batched,
    task_size,
)


def fetch(x: int) -> int:
    if x % 7 == 0:
        raise ValueError(x)
    return 2 * x


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-50, 50), max_size=400), st.integers(1, 6), st.booleans())
def test_every_item_once_with_its_result_or_its_error(items: list[int], workers: int, lazy: bool):
    client = IntercomResource(access_token="t", base_url="http://127.0.0.1:9").client()
    source = iter(items) if lazy else items  # an iterator has no length: one item per task
    got = list(client.map_concurrent(fetch, source, workers=workers))
    assert Counter(item for item, _ in got) == Counter(items)
    for item, result in got:
        if item % 7 == 0:
            assert isinstance(result, ValueError) and result.args == (item,)
        else:
            assert result == 2 * item


def test_tasks_hold_several_items_only_when_every_worker_has_plenty():
    assert task_size(range(5), 24) == 1  # a page's few truncated lists: one per worker
    assert task_size(range(8 * 24 * 3), 24) == 3
    assert task_size(range(1_000_000), 24) == MAX_TASK_ITEMS
    assert task_size(iter(range(1_000_000)), 24) == 1


@given(st.lists(st.integers(), max_size=50), st.integers(1, 9))
def test_batched_keeps_order_and_size(items: list[int], size: int):
    tasks = list(batched(items, size))
    assert [x for task in tasks for x in task] == items
    assert all(len(task) == size for task in tasks[:-1])
    assert all(0 < len(task) <= size for task in tasks)
