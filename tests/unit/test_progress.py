"""Extraction progress: a line at most every ``interval`` seconds, not one per ``every`` items."""

from __future__ import annotations

from intercom_salesforce.assets.extract.streams import Progress


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


def logged(items: int, every: int, interval: float) -> list[str]:
    """The lines a per-contact loop of ``items`` logs."""
    log = Lines()
    progress = Progress(
        log, "intercom_data_events", every=every, total=items, unit="contacts", interval=interval
    )
    for _ in range(items):
        progress.item()
    assert progress.items == items
    return log.lines


def test_progress_logs_each_batch_when_the_interval_allows():
    lines = logged(1000, every=100, interval=0.0)
    assert len(lines) == 10
    assert lines[-1].startswith("intercom_data_events: 1000/1000 contacts, ")


def test_progress_holds_back_lines_within_the_interval():
    # the run's log gets no line until ten seconds (here an hour) have passed
    assert logged(100_000, every=1, interval=3600.0) == []
