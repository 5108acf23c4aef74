"""SIGKILL a sync at exact points of extraction and of the Bulk protocol; the next run converges.

Each kill point is an emulator hold rule: the sync process is stopped with a request in flight
there, killed, the hold is lifted (the org goes on: a closed job still finishes), and a second
sync runs in a new process on the same instance. It must not wait on the dead run's pool slot,
and the org must then equal what a clean run over the same data leaves: the same records with
the same values, none twice; the ledger holds no open job; created records are logged as
created (not as updated by the rerun) with their routing decisions.
"""

from __future__ import annotations

import signal
import time

import duckdb
import pytest

from .crash_harness import INGEST, duplicates, kill, make_home

CONTACTS = 120

# name: (service, hold rule) — "after" holds let the request take effect, then withhold the answer
KILL_POINTS = {
    "extract_search": ("intercom", {"method": "POST", "path": "/contacts/search", "nth": 2}),
    "job_created": ("salesforce", {"method": "POST", "path": INGEST, "after": True}),
    "mid_upload": ("salesforce", {"method": "PUT", "path": INGEST + "/[^/]+/batches"}),
    "after_close": ("salesforce", {"method": "PATCH", "path": INGEST + "/[^/]+", "after": True}),
    "polling": ("salesforce", {"method": "GET", "path": INGEST + "/[^/]+", "after": True}),
    "reading_results": (
        "salesforce",
        {"method": "GET", "path": INGEST + "/[^/]+/successfulResults", "after": True},
    ),
}


@pytest.fixture(scope="module")
def clean_org(tmp_path_factory):
    """What a fault-free run over the seeded world leaves in the org."""
    home = make_home(tmp_path_factory.mktemp("clean"), CONTACTS)
    try:
        code, log = home.sync()
        assert code == 0, log
        return home.org()
    finally:
        home.stop()


def ledger(root) -> tuple[int, dict[str, int], int]:
    con = duckdb.connect(str(root / "var" / "warehouse.duckdb"), read_only=True)
    try:
        still_open = con.execute(
            "SELECT count(*) FROM sync.bulk_jobs WHERE state NOT IN "
            "('JobComplete', 'Failed', 'Aborted', 'Lost')"
        ).fetchone()[0]
        outcomes = dict(
            con.execute(
                """SELECT outcome, count(*) FROM (
                       SELECT external_id, arg_max(outcome, recorded_at) AS outcome
                       FROM sync.sync_results WHERE sobject = 'Lead' GROUP BY 1)
                   GROUP BY 1"""
            ).fetchall()
        )
        routed = con.execute(
            "SELECT count(*) FROM sync.routing_decisions WHERE sobject = 'Lead'"
        ).fetchone()[0]
    finally:
        con.close()
    return still_open, outcomes, routed


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_sync_converges_on_the_next_run(point, clean_org, tmp_path):
    service, rule = KILL_POINTS[point]
    home = make_home(tmp_path, CONTACTS)
    try:
        set_faults = home.salesforce_faults if service == "salesforce" else home.intercom_faults
        set_faults(holds=[{**rule, "name": point}])
        proc = home.start_sync()
        assert home.wait_held(service, point), f"the sync never reached {point}:\n{home.last_log()}"
        kill(proc)
        home.clear_holds()
        started = time.monotonic()
        code, log = home.sync(timeout=300)
        assert code == 0, log
        assert "marked failed" in log, log  # the dead run was found and ended, not waited on
        assert time.monotonic() - started < 240
        org = home.org()
        assert duplicates(org) == {"Lead": 0, "Contact": 0, "Account": 0}
        assert org == clean_org
        still_open, outcomes, routed = ledger(tmp_path)
        assert still_open == 0
        # every Lead this sync created is logged as created, and its routing rule is kept
        created_in_org = sum(org["Lead"].values())
        assert outcomes.get("created", 0) + outcomes.get("updated", 0) >= created_in_org
        assert routed >= outcomes.get("created", 0) > 0
    finally:
        home.stop()


def test_a_waiting_sync_says_why_and_obeys_sigterm(tmp_path):
    """A second sync while the first is alive waits with a message, and SIGTERM ends it."""
    home = make_home(tmp_path, 40)
    try:
        home.salesforce_faults(holds=[{"method": "GET", "path": INGEST + "/[^/]+", "name": "poll"}])
        first = home.start_sync()
        assert home.wait_held("salesforce", "poll")
        second = home.start_sync()
        deadline = time.monotonic() + 60
        while "waiting for the sync lock" not in home.last_log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "waiting for the sync lock" in home.last_log()
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=10) != 0
        home.clear_holds()
        assert first.wait(timeout=240) == 0
    finally:
        home.stop()
