"""Syncs that overlap or outlive their process: two at once push once, a waiting one says why and
obeys SIGTERM, and a Note insert job that outlives its killed run is collected, never redone."""

from __future__ import annotations

import signal
import time

import duckdb
import pytest

from intercom_salesforce.settings import SANDBOX_MAPPING

from .crash_harness import INGEST, duplicates, kill_at, ledger, make_home

pytestmark = pytest.mark.long(seconds=60)

CONTACTS = 80


def finish_every_job(home, polls: int = 20) -> None:
    client = home.salesforce_client()
    for _ in range(polls):
        jobs = client.call(lambda s: s.restful("jobs/ingest"))["records"]
        running = [j["id"] for j in jobs if j["state"] in ("UploadComplete", "InProgress")]
        if not running:
            return
        for job_id in running:
            client.call(lambda s, j=job_id: s.restful(f"jobs/ingest/{j}"))
    raise AssertionError(f"jobs still running: {running}")


def test_notes_are_never_inserted_twice_when_their_job_outlives_the_run(tmp_path):
    """Notes have no external id: a run killed while its insert job runs must not lead to a
    second Note when the next run sends again; the job is collected first."""
    home = make_home(tmp_path, 60)
    mapping = tmp_path / "mapping-note.yaml"
    mapping.write_text(SANDBOX_MAPPING.read_text().replace("  target: Task ", "  target: Note "))
    home.extra_env["SYNC_MAPPING_FILE"] = str(mapping)
    try:
        for job in ("people", "reference"):
            code, log = home.sync(job)
            assert code == 0, log
        kill_at(home, "polling", job="conversations")
        code, log = home.sync("conversations")
        assert code == 0, log
        # whatever the org still runs finishes now (the emulator advances a job when polled)
        finish_every_job(home)
        notes = home.soql("SELECT Id, Title FROM Note WHERE Title LIKE '[Intercom #%'")
        titles = [n["Title"].split("]")[0] for n in notes]
        assert notes and len(titles) == len(set(titles)), titles
        state = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"), read_only=True)
        try:
            known = state.execute(
                "SELECT count(*) FROM sync.sync_state WHERE sobject = 'Note'"
            ).fetchone()[0]
        finally:
            state.close()
        assert known == len(notes)
    finally:
        home.stop()


def test_two_syncs_at_once_push_once(tmp_path):
    """Syncs of the same days started while one is pushing, on two Dagster instances sharing
    the warehouse: a later one waits, saying why (SIGTERM ends the wait), and one that waits
    to the end finds nothing left to send."""
    home = make_home(tmp_path, CONTACTS)
    try:
        home.salesforce_faults(holds=[{"method": "GET", "path": INGEST + "/[^/]+", "name": "poll"}])
        first = home.start_sync()
        assert home.wait_held("salesforce", "poll")
        home.extra_env["DAGSTER_HOME"] = str(tmp_path / "other-instance")
        impatient = home.start_sync()
        deadline = time.monotonic() + 60
        while "waiting for the sync lock" not in home.last_log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "waiting for the sync lock" in home.last_log()
        impatient.send_signal(signal.SIGTERM)
        assert impatient.wait(timeout=10) != 0
        second = home.start_sync()
        home.clear_holds()
        assert first.wait(timeout=300) == 0
        assert second.wait(timeout=300) == 0
        # the second run sent no Bulk job: everything was already there
        assert "none (nothing changed)" in home.last_log(), home.last_log()
        assert ledger(tmp_path)["open"] == 0
        assert duplicates(home.org()) == {"Lead": 0, "Contact": 0, "Account": 0}
    finally:
        home.stop()
