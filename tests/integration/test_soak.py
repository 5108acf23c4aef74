"""The soak in its short configuration: two rounds of people and conversation syncs under random
faults on both emulators, with Intercom data changing between rounds, end in the org a
fault-free twin reaches, with no duplicates and no one lost (long run: ``python -m
tests.integration.soak``)."""

from __future__ import annotations

import pytest

from .soak import run_soak

pytestmark = pytest.mark.long(seconds=90)


def test_soak_short(tmp_path):
    report = run_soak(tmp_path, contacts=120, rounds=2, seed_value=7, storms=(1, 2))
    print(report.table())
    assert report.rounds == 2 and report.changes > 0
    assert sum(report.faults.values()) > 0, report.faults  # faults were really injected
    assert report.records["Lead"] > 0 and report.records["Task"] > 0, report.records
    assert report.duplicates == {"Account": 0, "Lead": 0, "Contact": 0, "Task": 0}
    assert report.differences == {"Account": 0, "Lead": 0, "Contact": 0, "Task": 0}
    assert report.lost == []
