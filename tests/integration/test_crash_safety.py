"""SIGKILL syncs at exact points of extraction and of the Bulk protocol; the next run converges.

A kill point is an emulator hold rule: the sync process is stopped with a request in flight
there and killed; the hold is lifted (the org goes on: a closed job still finishes when polled)
and the next sync starts in a new process on the same instance. That sync must not wait on the
dead run's pool slot, and is itself killed at the chain's next point; the last one runs free.
The org must then equal what a fault-free run over the same data leaves: the same records with
the same values, none twice. The ledger holds no open job, and created Leads are logged as
created (not as "updated" by the rerun) with their routing decisions.
"""

from __future__ import annotations

import pytest

from .crash_harness import duplicates, kill_at, ledger, make_home

pytestmark = pytest.mark.long(seconds=60)

CONTACTS = 120

# every point is in one chain; a chain's later kills often land in the collection of the job an
# earlier kill left open (killed while recovering)
CHAINS = {
    "extract_create_upload": ["extract_search", "job_created", "mid_upload"],
    "close_poll_results": ["after_close", "polling", "reading_results"],
}


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """What a fault-free run over the seeded world leaves: the org and the number of jobs."""
    home = make_home(tmp_path_factory.mktemp("clean"), CONTACTS)
    try:
        code, log = home.sync()
        assert code == 0, log
        return home.org(), ledger(home.root)
    finally:
        home.stop()


@pytest.mark.parametrize("chain", list(CHAINS))
def test_killed_syncs_converge_on_the_next_run(chain, clean, tmp_path):
    clean_org, clean_state = clean
    home = make_home(tmp_path, CONTACTS)
    try:
        for point in CHAINS[chain]:
            kill_at(home, point)
        code, log = home.sync(timeout=300)
        assert code == 0, log
        assert "marked failed" in log, log  # the last dead run was ended, not waited on
        org = home.org()
        assert duplicates(org) == {"Lead": 0, "Contact": 0, "Account": 0}
        assert org == clean_org
        state = ledger(tmp_path)
        assert state["open"] == 0, state
        # each Lead is logged as the clean run logs it (created, not "updated" by a rerun), and
        # the routing rule of each created Lead is kept
        assert state["outcomes"] == clean_state["outcomes"], (state, clean_state)
        assert state["routed"] == clean_state["routed"], (state, clean_state)
        if chain == "extract_create_upload":  # an idle run after convergence sends nothing
            code, log = home.sync()
            assert code == 0 and "none (nothing changed)" in log, log
            assert ledger(tmp_path)["jobs"] == state["jobs"]
    finally:
        home.stop()
