"""The product as users run it: `dagster dev` (webserver and daemon) on 127.0.0.1 with the sandbox,
a partition backfill launched through the GraphQL API the UI uses, then a new conversation in the
Intercom emulator picked up by the sensor and landing as a Task; a tag change updates that Task.

Most of the test is the daemon's pace: the backfill daemon looks at backfills every 30 seconds
(not configurable), the sensor daemon every 5. So the unpartitioned assets the conversation sync
reads are materialized first (the UI's "Materialize"), and the backfill is of the one day and the
partitioned assets that match its person: one run, requested at the daemon's next look. The sensor
starts meanwhile, the conversation is created as soon as the person is matched (the backfill's
end is checked last), and every wait polls for the event it needs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from intercom_salesforce.assets.extract.records import intercom_companies, intercom_contacts
from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.match.companies import company_matches
from intercom_salesforce.assets.match.people import person_matches
from intercom_salesforce.assets.mirror.salesforce_objects import MIRROR_ASSETS
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, seed, start
from intercom_salesforce.sandbox.salesforce.ids import make_id
from intercom_salesforce.sandbox.world import World, WorldSize
from tests.helpers import TIMEZONE, Sandbox, soql, wait_past, warehouse_rows

pytestmark = pytest.mark.long(seconds=150)

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "intercom_salesforce"
SENSOR = "intercom_conversations_sensor"
# what the conversation sync reads: admins, teams and tags, the org's users, queues and people
# (unpartitioned); the person matched to a Salesforce Contact, and the companies on the way
UNPARTITIONED_ASSETS = [*REFERENCE_ASSETS, *MIRROR_ASSETS]
BACKFILL_ASSETS = [intercom_contacts, intercom_companies, company_matches, person_matches]
# seeded case ``i % 20 == 0``: Intercom contact 0 is Salesforce Contact 1, matched by email
PERSON = 0
# the daemon's queue is read every 5 seconds by default; every run here waits on it
INSTANCE_EXTRA = "\nrun_queue:\n  dequeue_interval_seconds: 1\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dagster:
    """The GraphQL API of a running `dagster dev`, as the UI calls it."""

    def __init__(self, url: str):
        self.url = url

    def gql(self, query: str, variables: dict | None = None) -> dict:
        resp = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=60
        )
        resp.raise_for_status()
        body = resp.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def wait(
        self,
        what: str,
        check: Callable[[], Any],
        timeout: float = 240,
        every: float = 0.5,
        retry: tuple[type[Exception], ...] = (requests.ConnectionError,),
    ) -> Any:
        """Poll ``check`` until it returns something true; an AssertionError in it fails now.

        How long each wait took is printed: pytest shows it when the test fails."""
        started = time.monotonic()
        last = None
        while time.monotonic() < started + timeout:
            try:
                last = check()
                if last:
                    print(f"{what}: {time.monotonic() - started:.1f} s")
                    return last
            except retry as exc:
                last = exc
            time.sleep(every)
        raise TimeoutError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture()
def stack(tmp_path: Path) -> Iterator[tuple[Dagster, Sandbox, Path]]:
    state = SandboxState(tmp_path / "sandbox")
    seeded = seed(state, WorldSize(contacts=120), timezone=TIMEZONE)
    sandbox = start(state)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    with open(home / "dagster.yaml", "a") as f:
        f.write(INSTANCE_EXTRA)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERCOM_", "SALESFORCE_"))}
    env.update(
        {
            "DAGSTER_HOME": str(home),
            "SANDBOX_DIR": str(state.root),
            "SANDBOX_INTERCOM_URL": sandbox.intercom_url,
            "SANDBOX_SALESFORCE_URL": sandbox.salesforce_url,
            "WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
            "SYNC_WORK_DIR": str(tmp_path / "work"),
            # the sensor daemon's own loop (5 s) is then the only delay
            "SYNC_SENSOR_INTERVAL_SECONDS": "1",
        }
    )
    log = open(tmp_path / "dagster-dev.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster",
            "dev",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-w",
            str(ROOT / "workspace.yaml"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield Dagster(f"http://127.0.0.1:{port}"), Sandbox(state, sandbox, seeded), tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its webserver, daemon and code server too
            proc.wait()
        log.close()
        sandbox.stop()


def person_day(state: SandboxState) -> tuple[str, str]:
    """The seeded person's Intercom id and partition day (the workspace-local day of updated_at)."""
    contact_id = World().intercom_id("contact", PERSON)
    store = IntercomStore(state.intercom_db)
    [(updated_at,)] = store.query("SELECT updated_at FROM contacts WHERE id = ?", [contact_id])
    store.close()
    return contact_id, datetime.fromtimestamp(updated_at, ZoneInfo(TIMEZONE)).date().isoformat()


def asset_selection(assets: list) -> list[dict]:
    return [{"path": [a.key.to_user_string()]} for a in assets]


def materialize(dagster: Dagster, assets: list) -> str:
    """Launch one run of ``assets`` as the UI's Materialize button does; returns its id."""
    launched = dagster.gql(
        """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
             ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
             ... on InvalidSubsetError { message }
             ... on RunConfigValidationInvalid { errors { message } } } }""",
        {
            "p": {
                "selector": {
                    "repositoryLocationName": LOCATION,
                    "repositoryName": "__repository__",
                    "jobName": "__ASSET_JOB",
                    "assetSelection": asset_selection(assets),
                },
                "mode": "default",
                "runConfigData": {},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def run_succeeded(dagster: Dagster, run_id: str) -> bool:
    status = dagster.gql(
        "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }", {"id": run_id}
    )["runOrError"]["status"]
    assert status not in ("FAILURE", "CANCELED", "CANCELING"), status
    return status == "SUCCESS"


def launch_backfill(dagster: Dagster, day: str) -> str:
    assets = asset_selection(BACKFILL_ASSETS)
    launched = dagster.gql(
        """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
             __typename ... on LaunchBackfillSuccess { backfillId }
             ... on PythonError { message } ... on PartitionKeysNotFoundError { message } } }""",
        {"p": {"partitionNames": [day], "assetSelection": assets, "fromFailure": False}},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def backfill_status(dagster: Dagster, backfill_id: str) -> str:
    status = dagster.gql(
        "query($id: String!) { partitionBackfillOrError(backfillId: $id) { "
        "... on PartitionBackfill { status } } }",
        {"id": backfill_id},
    )["partitionBackfillOrError"]["status"]
    assert status not in ("FAILED", "COMPLETED_FAILED", "CANCELED"), status
    return status


def materialized(dagster: Dagster, asset: str, day: str) -> bool:
    """Whether ``asset``'s partition ``day`` has been materialized (by any run)."""
    found = dagster.gql(
        "query($k: AssetKeyInput!, $p: [String!]) { assetOrError(assetKey: $k) { "
        "... on Asset { assetMaterializations(partitions: $p, limit: 1) { runId } } } }",
        {"k": {"path": [asset]}, "p": [day]},
    )["assetOrError"]
    return bool(found.get("assetMaterializations"))


def test_backfill_then_sensor_to_task(stack):
    dagster, sb, tmp = stack
    contact_id, day = person_day(sb.state)
    dagster.wait(
        "the code location",
        lambda: dagster.gql(
            "{ repositoriesOrError { __typename ... on RepositoryConnection "
            "{ nodes { name location { name } } } } }"
        )["repositoriesOrError"].get("nodes"),
        timeout=300,
        retry=(requests.ConnectionError, AssertionError),
    )

    # 1. the unpartitioned assets, then a partition backfill through the GraphQL API, as the UI
    # launches them; meanwhile the conversation sensor is started, and its first tick sets the
    # cursor
    reference_run = materialize(dagster, UNPARTITIONED_ASSETS)
    selector = {
        "repositoryName": "__repository__",
        "repositoryLocationName": LOCATION,
        "sensorName": SENSOR,
    }
    started = dagster.gql(
        "mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }",
        {"s": selector},
    )["startSensor"]
    assert started["__typename"] == "Sensor", started

    def cursor() -> int | None:
        ticks = dagster.gql(
            "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { "
            "sensorState { ticks(limit: 5) { status cursor runIds } } } } }",
            {"s": selector},
        )["sensorOrError"]["sensorState"]["ticks"]
        return next((int(t["cursor"]) for t in ticks if t["cursor"]), None)

    first_cursor = dagster.wait("the sensor's first tick", cursor)
    dagster.wait("the reference run", lambda: run_succeeded(dagster, reference_run), timeout=300)
    backfill_id = launch_backfill(dagster, day)

    # 2. once the person is matched, a new conversation from them (a Contact in Salesforce),
    # assigned to Alice; the backfill's completion is checked at the end
    dagster.wait(
        "the backfill's person match",
        lambda: (
            backfill_status(dagster, backfill_id) and materialized(dagster, "person_matches", day)
        ),
        timeout=600,
    )
    who = make_id("Contact", 1 + PERSON)
    wait_past(first_cursor)
    store = IntercomStore(sb.state.intercom_db)
    conv = store.create_conversation(
        contacts=[contact_id],
        title="Quote for 40 seats",
        state="open",
        admin_assignee_id=900000,
        team_assignee_id=5017000,
        tags=["7100000"],
    )
    store.close()

    def runs_done(n: int) -> bool:
        runs = dagster.gql(
            '{ runsOrError(filter: {tags: [{key: "intercom_salesforce/trigger", value: "'
            + SENSOR
            + '"}]}) { ... on Runs { results { runId status } } } }'
        )["runsOrError"]["results"]
        assert not any(r["status"] == "FAILURE" for r in runs), runs
        return len([r for r in runs if r["status"] == "SUCCESS"]) >= n

    dagster.wait("the sensor's run", lambda: runs_done(1), timeout=300)
    tasks = soql(
        sb,
        "SELECT Id, WhoId, OwnerId, Intercom_Link__c, Description FROM Task "
        f"WHERE Intercom_Conversation_Id__c = '{conv['id']}'",
    )
    assert len(tasks) == 1
    assert tasks[0]["WhoId"] == who
    assert tasks[0]["OwnerId"] == make_id("User", 10)  # Alice's active Salesforce user
    assert tasks[0]["Intercom_Link__c"].endswith(f"/inbox/conversation/{conv['id']}")

    # 3. new tags: the next sensor run updates the same Task, no second one
    wait_past(int(conv["updated_at"]))
    store = IntercomStore(sb.state.intercom_db)
    store.update_conversation(conv["id"], tags=["7100000", "7100002"])
    store.close()
    dagster.wait("the second sensor run", lambda: runs_done(2), timeout=300)
    after = soql(
        sb, f"SELECT Id, Description FROM Task WHERE Intercom_Conversation_Id__c = '{conv['id']}'"
    )
    assert [t["Id"] for t in after] == [tasks[0]["Id"]]
    assert "vip, billing" in after[0]["Description"]

    # the backfill ends successful, having matched the person by email (read once no run writes)
    dagster.wait(
        "the backfill",
        lambda: backfill_status(dagster, backfill_id) in ("COMPLETED", "COMPLETED_SUCCESS"),
        timeout=120,
    )
    assert warehouse_rows(
        tmp,
        "SELECT sf_id FROM match.person_matches WHERE intercom_contact_id = ? "
        "AND sf_object = 'Contact' AND rule = 'email'",
        [contact_id],
    ) == [(who,)]
