"""`make demo`'s command on a fresh home: people and conversations land, the plan of the next
run and one person's trace follow, nothing but the project's own lines is printed, and a second
run creates nothing."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from simple_salesforce import Salesforce

from intercom_salesforce.sandbox.runtime import SandboxState, start
from intercom_salesforce.sandbox.tls import trusting_session
from intercom_salesforce.settings import SANDBOX_SF_CLIENT_ID, SANDBOX_SF_CLIENT_SECRET

pytestmark = pytest.mark.long(seconds=45)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_demo(home: Path, env: dict) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "intercom_salesforce.cli", "demo"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout + proc.stderr


def test_demo_twice(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INTERCOM_", "SALESFORCE_", "DAGSTER_"))
    }
    env.update(
        {
            "INTERCOM_SALESFORCE_HOME": str(tmp_path),
            "SANDBOX_INTERCOM_URL": f"http://127.0.0.1:{free_port()}",
            "SANDBOX_SALESFORCE_URL": f"https://127.0.0.1:{free_port()}",
        }
    )
    code, out = run_demo(tmp_path, env)
    assert code == 0, out
    created = int(re.search(r"Salesforce Leads:\s+created (\d+)", out).group(1))
    assert created > 0, out
    tasks = int(re.search(r"Salesforce Tasks:\s+created (\d+)", out).group(1))
    assert tasks > 0, out
    # the plan of the next run, on a sandbox nobody changed: nothing to create or update
    plan = out[out.index("Plan of run") :]
    for sobject in ("Account", "Lead", "Contact"):
        assert re.search(rf"{sobject}:\s+create 0, update 0, unchanged \d+", plan), plan
    # one person's story: extracted, pushed by a Bulk job, and planned, each with its run id
    story = out[out.index("The story of one person") :]
    for step in ("extracted", "pushed", "planned"):
        assert re.search(rf"run [0-9a-f-]{{36}}\s+{step}\s", story), story
    assert not re.search(r"warning", out, re.IGNORECASE), out

    # The sandbox org now holds the Leads the summary reported, read back by SOQL
    state = SandboxState(tmp_path / "var" / "sandbox")
    ours = "SELECT Id FROM Lead WHERE LeadSource = 'Intercom' AND Intercom_Contact_Id__c != null"
    intercom_leads, all_leads = count(state, ours), count(state, "SELECT Id FROM Lead")
    assert intercom_leads >= created

    code, out2 = run_demo(tmp_path, env)
    assert code == 0, out2
    assert re.search(r"Salesforce Leads:\s+created 0,", out2), out2
    assert count(state, ours) == intercom_leads
    assert count(state, "SELECT Id FROM Lead") == all_leads


def count(state: SandboxState, soql: str) -> int:
    """Serve the stopped sandbox again and count through simple-salesforce."""
    running = start(state)
    try:
        session = trusting_session(state.root / "tls" / "ca.pem")
        token = session.post(
            f"{running.salesforce_url}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(SANDBOX_SF_CLIENT_ID, SANDBOX_SF_CLIENT_SECRET),
        ).json()
        sf = Salesforce(
            instance_url=token["instance_url"], session_id=token["access_token"], session=session
        )
        return sf.query_all(soql)["totalSize"]
    finally:
        running.stop()
