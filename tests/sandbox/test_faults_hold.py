"""The hold fault of both emulators, over real HTTP(S) with requests and simple-salesforce.

Crash tests stop a client at an exact protocol step and kill it there, so these tests pin down what
such a test relies on: a rule holds exactly the requests it names (from the nth match on), a held
request is applied or not as the rule says, other requests pass meanwhile, the control API reports
what is held and lets it go, a killed client's held request is dropped (never applied when held
before processing), and stopping a server frees every held request.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from intercom_salesforce.sandbox.hold import HoldRule
from intercom_salesforce.sandbox.intercom import (
    FaultConfig,
    IntercomEmulatorConfig,
    IntercomStore,
)
from intercom_salesforce.sandbox.intercom import create_app as create_intercom_app
from intercom_salesforce.sandbox.salesforce import (
    SalesforceEmulatorConfig,
    SalesforceFaults,
    SalesforceStore,
)
from intercom_salesforce.sandbox.salesforce import create_app as create_salesforce_app
from intercom_salesforce.sandbox.salesforce.app import SalesforceEmulator
from intercom_salesforce.sandbox.serving import RunningServer, start_in_thread
from intercom_salesforce.sandbox.tls import ensure_tls, trusting_session
from intercom_salesforce.sandbox.world import World, WorldSize

IC_TOKEN = "sandbox-intercom-token"
CREATE_JOB = r"/services/data/v[\d.]+/jobs/ingest"
UPLOAD = r"/services/data/v[\d.]+/jobs/ingest/[^/]+/batches"
JOB = r"/services/data/v[\d.]+/jobs/ingest/[^/]+"
LEAD_CSV = "LastName,Company\nHeld,Acme\n"


@pytest.fixture()
def pool() -> Iterator[ThreadPoolExecutor]:
    """Threads for the client calls a hold blocks, so the test keeps talking to the server."""
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


def wait_held(base: str, rule: str, session: requests.Session, held: int = 1) -> dict[str, Any]:
    """The rule's status once it holds ``held`` requests (the server waits, up to 10 s)."""
    r = session.get(
        f"{base}/_sandbox/holds", params={"rule": rule, "held": held, "wait": 10}, timeout=15
    )
    r.raise_for_status()
    status = next(h for h in r.json()["holds"] if h["name"] == rule)
    assert status["held"] >= held, status
    return status


def release(base: str, session: requests.Session, **body: Any) -> dict[str, Any]:
    r = session.post(f"{base}/_sandbox/holds/release", json=body, timeout=10)
    r.raise_for_status()
    return r.json()


# -- Salesforce ---------------------------------------------------------------------------------
@dataclass
class Org:
    url: str
    app: SalesforceEmulator
    store: SalesforceStore
    ca: Path
    server: RunningServer

    def session(self) -> requests.Session:
        return trusting_session(self.ca)

    def token(self) -> str:
        r = self.session().post(
            f"{self.url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("sandbox-client-id", "sandbox-client-secret"),
            timeout=10,
        )
        r.raise_for_status()
        return r.json()["access_token"]

    def sf(self) -> Salesforce:
        """A client on its own session, so calls from several threads never share one."""
        return Salesforce(
            instance_url=self.url, session_id=self.token(), session=self.session(), version="59.0"
        )

    def holds(self, *rules: dict[str, Any]) -> dict[str, Any]:
        r = self.session().put(
            f"{self.url}/_sandbox/config/faults", json={"holds": list(rules)}, timeout=10
        )
        r.raise_for_status()
        return r.json()

    def uploads(self) -> int:
        """PUT batches the server has processed, from its request log."""
        log = self.session().get(f"{self.url}/_sandbox/requests", timeout=10).json()
        return sum(e["method"] == "PUT" and e["path"].endswith("/batches") for e in log)


def start_org(tmp: Path, config: SalesforceEmulatorConfig | None = None) -> Org:
    tls = ensure_tls(tmp)
    store = SalesforceStore(tmp / "org.sqlite")
    app = create_salesforce_app(store, config or SalesforceEmulatorConfig())
    server = start_in_thread(app, ssl_context=tls.ssl_context)
    return Org(server.url, app, store, tls.ca_path, server)


@pytest.fixture()
def org(tmp_path: Path) -> Iterator[Org]:
    org = start_org(tmp_path)
    yield org
    org.server.stop()
    org.store.close()


def bulk(sf: Salesforce) -> Any:
    return sf.bulk2.Lead._client


def test_hold_after_create_job_applies_it_and_withholds_the_id(
    org: Org, pool: ThreadPoolExecutor
) -> None:
    """'The job exists but the client never learned its id' is a state a test can reach."""
    faults = org.holds({"name": "create", "method": "POST", "path": CREATE_JOB, "after": True})
    assert faults["holds"][0] == {
        "method": "POST",
        "path": CREATE_JOB,
        "after": True,
        "nth": 1,
        "timeout_s": 60.0,
        "name": "create",
    }
    created: Future[Any] = pool.submit(lambda: bulk(org.sf()).create_job("insert"))
    status = wait_held(org.url, "create", org.session())
    assert status["held_paths"] == ["/services/data/v59.0/jobs/ingest"]
    assert status["matched"] == 1 and status["armed"] is True

    # applied: the job is listed while its creator still waits; other requests pass meanwhile
    sf = org.sf()
    jobs = sf.restful("jobs/ingest")["records"]
    assert [j["state"] for j in jobs] == ["Open"]
    assert sf.query("SELECT Id FROM User")["totalSize"] == 1
    assert not created.done()

    answer = release(org.url, org.session(), rule="create")
    assert answer["released"] == 1
    assert created.result(timeout=10)["id"] == jobs[0]["id"]
    after = answer["holds"][0]
    assert (after["held"], after["released"], after["armed"]) == (0, 1, False)
    # a released rule is disarmed: the next job is created without waiting
    assert bulk(sf).create_job("insert")["state"] == "Open"


def test_hold_before_upload_applies_nothing_until_released(
    org: Org, pool: ThreadPoolExecutor
) -> None:
    """'Killed mid-upload': the data is not stored while the upload is held."""
    client = bulk(org.sf())
    job_id = client.create_job("insert")["id"]
    org.holds({"name": "upload", "method": "PUT", "path": UPLOAD})
    upload = pool.submit(client.upload_job_data, job_id, LEAD_CSV)
    status = wait_held(org.url, "upload", org.session())
    assert status["held_paths"] == [f"/services/data/v59.0/jobs/ingest/{job_id}/batches"]
    assert org.uploads() == 0 and org.store.job_data(job_id) is None
    assert org.sf().restful(f"jobs/ingest/{job_id}")["state"] == "Open"

    assert release(org.url, org.session(), rule="upload")["released"] == 1
    assert upload.result(timeout=10) is None  # simple-salesforce got its 201
    assert org.uploads() == 1 and org.store.job_data(job_id) == LEAD_CSV.encode()


def test_dropped_before_hold_is_never_applied(org: Org, pool: ThreadPoolExecutor) -> None:
    client = bulk(org.sf())
    job_id = client.create_job("insert")["id"]
    org.holds({"name": "upload", "method": "PUT", "path": UPLOAD})
    upload = pool.submit(client.upload_job_data, job_id, LEAD_CSV)
    wait_held(org.url, "upload", org.session())
    answer = release(org.url, org.session(), rule="upload", drop=True)
    assert answer["released"] == 1 and answer["holds"][0]["dropped"] == 1
    with pytest.raises(requests.ConnectionError):
        upload.result(timeout=10)
    # the job still takes its one upload: the dropped one was never stored
    bulk(org.sf()).upload_job_data(job_id, LEAD_CSV)
    assert org.store.job_data(job_id) == LEAD_CSV.encode()


KILLED_UPLOAD = """
import sys, requests
url, token, ca = sys.argv[1:4]
requests.put(url, data=b"LastName,Company\\nKilled,Acme\\n", verify=ca, timeout=60,
             headers={"Authorization": "Bearer " + token, "Content-Type": "text/csv"})
"""


def test_killed_client_s_held_upload_is_never_applied(org: Org) -> None:
    """The crash test's recipe: wait until the client is held, SIGKILL it, let the hold go."""
    client = bulk(org.sf())
    job_id = client.create_job("insert")["id"]
    org.holds({"name": "upload", "method": "PUT", "path": UPLOAD})
    url = f"{org.url}/services/data/v59.0/jobs/ingest/{job_id}/batches"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_UPLOAD, url, org.token(), str(org.ca)])
    try:
        wait_held(org.url, "upload", org.session())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    # even released as "answer", the request of a client that is gone is dropped, not applied
    answer = release(org.url, org.session(), rule="upload")
    assert answer["holds"][0]["dropped"] == 1 and answer["holds"][0]["released"] == 0
    assert org.uploads() == 0 and org.store.job_data(job_id) is None
    client.upload_job_data(job_id, LEAD_CSV)  # the recovering client can still upload once


def test_nth_match_is_held_and_a_timeout_answers_it_normally(
    org: Org, pool: ThreadPoolExecutor
) -> None:
    """'While polling': the second poll of a job waits, the first does not; the timeout answers."""
    client = bulk(org.sf())
    job_id = client.create_job("insert")["id"]
    client.upload_job_data(job_id, LEAD_CSV)
    client.close_job(job_id)
    org.holds({"name": "poll", "method": "GET", "path": JOB, "nth": 2, "timeout_s": 0.5})
    assert client.get_job(job_id, False)["id"] == job_id  # the first match passes
    started = time.monotonic()
    second = pool.submit(client.get_job, job_id, False)
    status = wait_held(org.url, "poll", org.session())
    assert status["matched"] == 2 and status["held_paths"] == [
        f"/services/data/v59.0/jobs/ingest/{job_id}"
    ]
    assert second.result(timeout=10)["id"] == job_id
    assert time.monotonic() - started >= 0.5
    holds = org.session().get(f"{org.url}/_sandbox/holds", timeout=10).json()["holds"]
    assert (holds[0]["timed_out"], holds[0]["armed"], holds[0]["held"]) == (1, True, 0)


def test_results_download_is_held_after_the_job_ran(org: Org, pool: ThreadPoolExecutor) -> None:
    """'While results are read', and the other rules of the same list still count their matches."""
    client = bulk(org.sf())
    job_id = client.create_job("insert")["id"]
    client.upload_job_data(job_id, LEAD_CSV)
    org.holds(
        {"name": "close", "method": "PATCH", "path": JOB, "after": True, "timeout_s": 5},
        {"name": "results", "method": "GET", "path": JOB + "/successfulResults", "after": True},
    )
    closing = pool.submit(client.close_job, job_id)
    wait_held(org.url, "close", org.session())
    assert org.sf().restful(f"jobs/ingest/{job_id}")["state"] != "Open"  # closed, reply withheld
    release(org.url, org.session(), rule="close")
    closing.result(timeout=10)
    client.wait_for_job(job_id, False, wait=0.05)
    reading = pool.submit(client.get_ingest_results, job_id, "successfulResults")
    status = wait_held(org.url, "results", org.session())
    assert status["held_paths"][0].endswith(f"/{job_id}/successfulResults")
    release(org.url, org.session())  # no rule named: every rule
    assert '"sf__Created"' in reading.result(timeout=10).splitlines()[0]


def test_hold_rules_are_validated_and_unknown_rules_refused(org: Org) -> None:
    session = org.session()
    base = f"{org.url}/_sandbox"
    for bad in (
        [{"method": "GET", "path": "("}],
        [{"method": "GET", "path": "/x", "nth": 0}],
        [{"method": "GET", "path": "/x", "timeout_s": 0}],
        [{"method": "GET", "path": "/x", "colour": "red"}],
        [{"method": "GET", "path": "/x"}, {"method": "GET", "path": "/x"}],
        {"method": "GET", "path": "/x"},
    ):
        r = session.put(f"{base}/config/faults", json={"holds": bad}, timeout=10)
        assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD", bad
    r = session.post(f"{base}/holds/release", json={"rule": "nope"}, timeout=10)
    assert r.status_code == 404
    # a partial PUT of another fault keeps the hold rules
    org.holds({"method": "GET", "path": JOB})
    faults = session.put(f"{base}/config/faults", json={"lock_row_rate": 0.25}, timeout=10).json()
    assert faults["lock_row_rate"] == 0.25 and faults["holds"][0]["name"] == f"GET {JOB}"
    assert session.get(f"{base}/holds", timeout=10).json()["holds"][0]["name"] == f"GET {JOB}"


def test_rules_set_in_process_are_followed(org: Org, pool: ThreadPoolExecutor) -> None:
    """A test holding the app object may set ``faults.holds`` directly instead of over HTTP."""
    sf = org.sf()
    org.app.config.faults = SalesforceFaults(holds=[HoldRule("GET", r".*/limits/?", name="limits")])
    limits = pool.submit(sf.limits)
    wait_held(org.url, "limits", org.session())
    release(org.url, org.session(), rule="limits")
    assert "DailyApiRequests" in limits.result(timeout=10)


def test_stopping_the_server_frees_held_requests(tmp_path: Path, pool: ThreadPoolExecutor) -> None:
    rule = HoldRule("GET", r".*/limits/?", name="limits", timeout_s=60)
    org = start_org(tmp_path, SalesforceEmulatorConfig(faults=SalesforceFaults(holds=[rule])))
    try:
        limits = pool.submit(org.sf().limits)
        wait_held(org.url, "limits", org.session())
        started = time.monotonic()
    finally:
        org.server.stop()
        org.store.close()
    with pytest.raises(requests.ConnectionError):
        limits.result(timeout=10)
    assert time.monotonic() - started < 5  # not the rule's 60 s


# -- Intercom -----------------------------------------------------------------------------------
@dataclass
class Workspace:
    url: str
    store: IntercomStore
    server: RunningServer
    http: requests.Session

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"Bearer {IC_TOKEN}", "Accept": "application/json"},
            timeout=30,
        )

    def faults(self, **faults: Any) -> dict[str, Any]:
        r = self.http.put(f"{self.url}/_sandbox/faults", json=faults, timeout=10)
        r.raise_for_status()
        return r.json()

    def contacts(self) -> int:
        return self.http.get(f"{self.url}/_sandbox/counts", timeout=10).json()["contacts"]


@pytest.fixture(scope="module")
def world_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("intercom-hold") / "seed.sqlite"
    store = IntercomStore(path)
    store.load_world(
        World(
            size=WorldSize(contacts=12, companies=4, conversations=3, long_conversations=0)
        ).intercom()
    )
    store.close()
    return path


@pytest.fixture()
def workspace(tmp_path: Path, world_db: Path) -> Iterator[Workspace]:
    db = tmp_path / "intercom.sqlite"
    db.write_bytes(world_db.read_bytes())
    store = IntercomStore(db)
    server = start_in_thread(create_intercom_app(store, IntercomEmulatorConfig()))
    ws = Workspace(server.url, store, server, requests.Session())
    yield ws
    server.stop()
    store.close()
    ws.http.close()


def test_intercom_search_held_before_while_others_pass(
    workspace: Workspace, pool: ThreadPoolExecutor
) -> None:
    faults = workspace.faults(
        holds=[{"name": "search", "method": "POST", "path": "/contacts/search"}]
    )
    assert faults["holds"][0]["after"] is False
    query = {"query": {"field": "role", "operator": "=", "value": "user"}}
    search = pool.submit(workspace.call, "POST", "/contacts/search", query)
    status = wait_held(workspace.url, "search", workspace.http)
    assert status["held_paths"] == ["/contacts/search"]
    assert workspace.call("GET", "/me").status_code == 200  # other requests pass meanwhile
    assert not search.done()
    assert release(workspace.url, workspace.http, rule="search")["released"] == 1
    answer = search.result(timeout=10)
    assert answer.status_code == 200 and answer.json()["type"] == "list"


def test_intercom_conversation_held_from_the_nth_get(
    workspace: Workspace, pool: ThreadPoolExecutor
) -> None:
    ids = [c["id"] for c in workspace.call("GET", "/conversations").json()["conversations"]]
    workspace.faults(
        holds=[{"name": "conv", "method": "GET", "path": "/conversations/[^/]+", "nth": 2}]
    )
    assert workspace.call("GET", f"/conversations/{ids[0]}").status_code == 200
    second = pool.submit(workspace.call, "GET", f"/conversations/{ids[1]}")
    assert wait_held(workspace.url, "conv", workspace.http)["held_paths"] == [
        f"/conversations/{ids[1]}"
    ]
    release(workspace.url, workspace.http, rule="conv", disarm=False)
    assert second.result(timeout=10).json()["id"] == ids[1]
    # still armed: the third GET waits too, until the rule is disarmed
    third = pool.submit(workspace.call, "GET", f"/conversations/{ids[2]}")
    assert wait_held(workspace.url, "conv", workspace.http)["matched"] == 3
    release(workspace.url, workspace.http)
    assert third.result(timeout=10).status_code == 200


KILLED_CREATE = """
import sys, requests
requests.post(sys.argv[1] + "/contacts", json={"role": "lead", "email": "killed@example.com"},
              headers={"Authorization": "Bearer sandbox-intercom-token"}, timeout=60)
"""


def test_intercom_create_held_after_is_applied_and_the_killed_client_dropped(
    workspace: Workspace,
) -> None:
    before = workspace.contacts()
    workspace.faults(
        holds=[{"name": "create", "method": "POST", "path": "/contacts", "after": True}]
    )
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CREATE, workspace.url])
    try:
        wait_held(workspace.url, "create", workspace.http)
        assert workspace.contacts() == before + 1  # applied; only the answer is withheld
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    answer = release(workspace.url, workspace.http)
    assert answer["holds"][0]["dropped"] == 1 and workspace.contacts() == before + 1


def test_intercom_fault_replacement_answers_what_old_rules_held(
    workspace: Workspace, pool: ThreadPoolExecutor
) -> None:
    """``PUT /_sandbox/faults`` replaces the whole fault config, hold rules included."""
    workspace.faults(holds=[{"name": "me", "method": "GET", "path": "/me"}])
    me = pool.submit(workspace.call, "GET", "/me")
    wait_held(workspace.url, "me", workspace.http)
    assert workspace.faults()["holds"] == []
    assert me.result(timeout=10).status_code == 200
    bad = workspace.http.put(
        f"{workspace.url}/_sandbox/faults", json={"holds": [{"path": "/me"}]}, timeout=10
    )
    assert bad.status_code == 400


def test_intercom_stop_frees_held_requests(
    world_db: Path, tmp_path: Path, pool: ThreadPoolExecutor
) -> None:
    db = tmp_path / "stop.sqlite"
    db.write_bytes(world_db.read_bytes())
    store = IntercomStore(db)
    rule = HoldRule("GET", "/me", name="me")
    config = IntercomEmulatorConfig(faults=FaultConfig(holds=[rule]))
    server = start_in_thread(create_intercom_app(store, config))
    ws = Workspace(server.url, store, server, requests.Session())
    me = pool.submit(ws.call, "GET", "/me")
    wait_held(ws.url, "me", ws.http)
    started = time.monotonic()
    server.stop()
    store.close()
    with pytest.raises(requests.ConnectionError):
        me.result(timeout=10)
    assert time.monotonic() - started < 5
