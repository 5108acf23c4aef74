"""Extraction progress: a line at most every ``interval`` seconds, not one per ``every`` items."""

from __future__ import annotations

from intercom_salesforce.assets.extract.streams import Progress


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)


def test_progress_logs_each_batch_when_the_interval_allows():
    log = Lines()
    progress = Progress(
        log, "intercom_data_events", every=100, total=1000, unit="contacts", interval=0.0
    )
    for _ in range(1000):
        progress.item()
    assert len(log.lines) == 10
    assert log.lines[-1].startswith("intercom_data_events: 1000/1000 contacts, ")


def test_progress_holds_back_lines_within_the_interval():
    log = Lines()
    progress = Progress(
        log, "intercom_data_events", every=1, total=100_000, unit="contacts", interval=3600.0
    )
    for _ in range(100_000):
        progress.item()
    assert log.lines == []  # the run's log gets no line until ten seconds (here an hour) pass
    assert progress.items == 100_000
