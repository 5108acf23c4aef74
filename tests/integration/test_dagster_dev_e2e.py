"""The product as users run it: `dagster dev` (webserver and daemon) on 127.0.0.1 with the sandbox,
a partition backfill launched through the GraphQL API the UI uses, then a new conversation in the
Intercom emulator picked up by the sensor and landing as a Task; a tag change updates that Task."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import requests

from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.definitions import SYNC_ASSETS
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, seed, start
from intercom_salesforce.sandbox.salesforce.ids import make_id
from intercom_salesforce.sandbox.world import WorldSize

from .test_thin_slice import soql

ROOT = Path(__file__).resolve().parents[2]
LOCATION = "intercom_salesforce"
SENSOR = "intercom_conversations_sensor"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dagster:
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

    def wait(self, what: str, check, timeout: float = 240, every: float = 2):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = check()
                if last:
                    return last
            except (requests.ConnectionError, AssertionError) as exc:
                last = exc
            time.sleep(every)
        raise TimeoutError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture()
def stack(tmp_path):
    state = SandboxState(tmp_path / "sandbox")
    seed(state, WorldSize(contacts=120), timezone="America/Los_Angeles")
    sandbox = start(state)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
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
            "SYNC_SENSOR_INTERVAL_SECONDS": "5",
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
        yield Dagster(f"http://127.0.0.1:{port}"), state, sandbox, tmp_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        sandbox.stop()


class _SB:
    """What tests.integration.test_thin_slice.soql needs from a sandbox."""

    def __init__(self, state, running):
        from tests.conftest import Sandbox

        self.inner = Sandbox(state, running, {})

    def salesforce(self):
        return self.inner.salesforce()

    @property
    def state(self):
        return self.inner.state


def test_backfill_then_sensor_to_task(stack):
    dagster, state, sandbox, tmp = stack
    dagster.wait(
        "the code location",
        lambda: dagster.gql(
            "{ repositoriesOrError { __typename ... on RepositoryConnection "
            "{ nodes { name location { name } } } } }"
        )["repositoriesOrError"].get("nodes"),
        timeout=300,
    )

    # 1. a partition backfill through the GraphQL API, as the UI launches it
    keys = daily_partitions.get_partition_keys()[-16:]
    assets = [
        {"path": [a.key.to_user_string()]}
        for a in [*SYNC_ASSETS, *REFERENCE_ASSETS]
        for a in [a]
        if hasattr(a, "key")
    ]
    launched = dagster.gql(
        """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
             __typename ... on LaunchBackfillSuccess { backfillId }
             ... on PythonError { message } ... on PartitionKeysNotFoundError { message } } }""",
        {"p": {"partitionNames": keys, "assetSelection": assets, "fromFailure": False}},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    def backfill_done():
        b = dagster.gql(
            "query($id: String!) { partitionBackfillOrError(backfillId: $id) { "
            "... on PartitionBackfill { status } } }",
            {"id": backfill_id},
        )["partitionBackfillOrError"]
        assert b["status"] not in ("FAILED", "COMPLETED_FAILED", "CANCELED"), b
        return b["status"] in ("COMPLETED", "COMPLETED_SUCCESS")

    dagster.wait("the backfill", backfill_done, timeout=600, every=3)

    # 2. the conversation sensor, started through the API; its first tick sets the cursor
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

    def ticks() -> list[dict]:
        return dagster.gql(
            "query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { "
            "sensorState { ticks(limit: 5) { status cursor runIds } } } } }",
            {"s": selector},
        )["sensorOrError"]["sensorState"]["ticks"]

    dagster.wait("the sensor's first tick", lambda: any(t["cursor"] for t in ticks()))

    # 3. a new conversation from a person who is a Contact in Salesforce, assigned to Alice
    con = duckdb.connect(str(tmp / "warehouse.duckdb"), read_only=True)
    contact_id, who = con.execute(
        "SELECT intercom_contact_id, sf_id FROM match.person_matches "
        "WHERE sf_object = 'Contact' AND rule = 'email' ORDER BY 1 LIMIT 1"
    ).fetchone()
    con.close()
    time.sleep(1.1)
    store = IntercomStore(state.intercom_db)
    conv = store.create_conversation(
        contacts=[contact_id],
        title="Quote for 40 seats",
        state="open",
        admin_assignee_id=900000,
        team_assignee_id=5017000,
        tags=["7100000"],
    )
    store.close()

    def runs_done(n: int):
        runs = dagster.gql(
            '{ runsOrError(filter: {tags: [{key: "intercom_salesforce/trigger", value: "'
            + SENSOR
            + '"}]}) { ... on Runs { results { runId status } } } }'
        )["runsOrError"]["results"]
        assert not any(r["status"] == "FAILURE" for r in runs), runs
        return len([r for r in runs if r["status"] == "SUCCESS"]) >= n

    dagster.wait("the sensor's run", lambda: runs_done(1), timeout=300, every=3)
    sb = _SB(state, sandbox)
    tasks = soql(
        sb,
        "SELECT Id, WhoId, OwnerId, Intercom_Link__c, Description FROM Task "
        f"WHERE Intercom_Conversation_Id__c = '{conv['id']}'",
    )
    assert len(tasks) == 1
    assert tasks[0]["WhoId"] == who
    assert tasks[0]["OwnerId"] == make_id("User", 10)  # Alice's active Salesforce user
    assert tasks[0]["Intercom_Link__c"].endswith(f"/inbox/conversation/{conv['id']}")

    # 4. new tags: the next sensor run updates the same Task, no second one
    time.sleep(1.1)
    store = IntercomStore(state.intercom_db)
    store.update_conversation(conv["id"], tags=["7100000", "7100002"])
    store.close()
    dagster.wait("the second sensor run", lambda: runs_done(2), timeout=300, every=3)
    after = soql(
        sb, f"SELECT Id, Description FROM Task WHERE Intercom_Conversation_Id__c = '{conv['id']}'"
    )
    assert [t["Id"] for t in after] == [tasks[0]["Id"]]
    assert "vip, billing" in after[0]["Description"]
