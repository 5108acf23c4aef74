"""SalesforceClient against the emulator over real HTTPS: re-auth, retries, polling, limits, results.

Faults are switched on through the emulator's control endpoint and every claim is checked in the
emulator's own request log or store, not in mocks.
"""

from __future__ import annotations

import csv
import logging
from datetime import datetime
from pathlib import Path

import pytest
import requests

from intercom_salesforce.resources.salesforce import (
    MAX_UPLOAD_BYTES,
    SalesforceLimitError,
    SalesforceResource,
)
from intercom_salesforce.sandbox.salesforce.store import SalesforceStore
from intercom_salesforce.settings import SANDBOX_SF_CLIENT_ID, SANDBOX_SF_CLIENT_SECRET

COLUMNS = ["Intercom_Contact_Id__c", "LastName", "Company"]


def resource(sandbox, **overrides) -> SalesforceResource:
    return SalesforceResource(
        **{
            "mode": "sandbox",
            "login_url": sandbox.running.salesforce_url,
            "auth_flow": "client_credentials",
            "client_id": SANDBOX_SF_CLIENT_ID,
            "client_secret": SANDBOX_SF_CLIENT_SECRET,
            "ca_bundle": str(sandbox.state.root / "tls" / "ca.pem"),
            "poll_initial_seconds": 0.05,
            **overrides,
        }
    )


def control(sandbox, method: str, path: str, **kwargs) -> requests.Response:
    resp = requests.request(
        method,
        f"{sandbox.running.salesforce_url}/_sandbox/{path}",
        verify=str(sandbox.state.root / "tls" / "ca.pem"),
        timeout=10,
        **kwargs,
    )
    resp.raise_for_status()
    return resp


def set_faults(sandbox, **faults) -> None:
    control(sandbox, "PUT", "config/faults", json=faults)


def request_log(sandbox) -> list[dict]:
    return control(sandbox, "GET", "requests").json()


def lead_csv(path: Path, n: int, prefix: str) -> Path:
    lines = [",".join(COLUMNS)] + [f"{prefix}-{i},Person {i},Acme" for i in range(n)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def stamp(entry: dict) -> float:
    return datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def test_poll_backoff_starts_at_the_configured_interval(sandbox, tmp_path):
    set_faults(sandbox, slow_job_polls=3)
    client = resource(sandbox, poll_initial_seconds=0.1).client()
    result = client.ingest(
        "Lead",
        "upsert",
        lead_csv(tmp_path / "leads.csv", 5, "poll"),
        tmp_path / "results",
        external_id_field="Intercom_Contact_Id__c",
    )
    assert result.state == "JobComplete" and result.records_processed == 5
    polls = [
        e
        for e in request_log(sandbox)
        if e["method"] == "GET" and e["path"].endswith(f"/jobs/ingest/{result.job_id}")
    ]
    # 2 polls to complete by default, 3 more injected; none slept 5 s as simple-salesforce would
    assert len(polls) == 5
    gaps = [stamp(b) - stamp(a) for a, b in zip(polls, polls[1:], strict=False)]
    expected = [0.1 * 1.6**i for i in range(len(gaps))]
    # each wait at least its growing interval (a sleep is a lower bound), the first well under 5 s
    assert all(g >= e * 0.9 for g, e in zip(gaps, expected, strict=True)), gaps
    assert gaps[0] < 1.0 and sum(gaps) < 5, gaps


def test_reauthenticates_on_401_and_never_logs_the_token(sandbox, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    client = resource(sandbox).client(logging.getLogger("sync"))
    first_token = client.sf.session_id
    set_faults(sandbox, expire_sessions=True)
    result = client.ingest(
        "Lead",
        "upsert",
        lead_csv(tmp_path / "leads.csv", 3, "auth"),
        tmp_path / "results",
        external_id_field="Intercom_Contact_Id__c",
    )
    assert result.state == "JobComplete"
    second_token = client.sf.session_id
    assert second_token != first_token
    log = request_log(sandbox)
    assert any(e["status"] == 401 for e in log)
    assert sum(e["path"] == "/services/oauth2/token" for e in log) == 2
    assert "re-authenticating" in caplog.text
    for token in (first_token, second_token):
        assert token not in caplog.text
        assert token not in str(client.usage.as_metadata())


def test_retries_server_errors_with_backoff(sandbox, tmp_path):
    set_faults(sandbox, http_503_rate=0.3, seed=11)
    client = resource(sandbox).client()
    result = client.ingest(
        "Lead",
        "upsert",
        lead_csv(tmp_path / "leads.csv", 4, "retry"),
        tmp_path / "results",
        external_id_field="Intercom_Contact_Id__c",
    )
    files = client.query_to_files(
        "Lead", "SELECT Id FROM Lead WHERE LeadSource = null", tmp_path / "query"
    )
    assert result.state == "JobComplete" and result.records_processed == 4
    assert files
    assert sum(e["status"] == 503 for e in request_log(sandbox)) >= 2


def test_failed_job_is_in_the_ledger_before_upload_and_every_result_with_rows_is_collected(
    sandbox, tmp_path
):
    store = SalesforceStore(sandbox.state.salesforce_db)
    client = resource(sandbox).client()
    ledger: list[tuple[str, bytes | None]] = []

    def record(job_id: str) -> None:
        ledger.append((job_id, store.job_data(job_id)))  # what the org holds at that moment

    set_faults(sandbox, fail_next_jobs=1)
    failed = client.ingest(
        "Lead",
        "upsert",
        lead_csv(tmp_path / "leads.csv", 6, "fail"),
        tmp_path / "results",
        external_id_field="Intercom_Contact_Id__c",
        on_job_created=record,
    )
    assert ledger == [(failed.job_id, None)]  # recorded before a byte was uploaded
    assert failed.state == "Failed" and "maximum number of retries" in (failed.error_message or "")
    with open(failed.unprocessed_csv, newline="", encoding="utf-8") as fh:
        unprocessed = list(csv.DictReader(fh))
    assert [r["Intercom_Contact_Id__c"] for r in unprocessed] == [f"fail-{i}" for i in range(6)]
    # nothing was processed: no successful or failed rows to ask for
    assert not failed.failed_csv.exists() and not failed.successful_csv.exists()

    # a completed job with a record built to fail: its failure comes back with Salesforce's error
    path = lead_csv(tmp_path / "leads2.csv", 2, "ok")
    path.write_text(path.read_text() + f"bad-0,{'x' * 81},Acme\n", encoding="utf-8")
    done = client.ingest(
        "Lead",
        "upsert",
        path,
        tmp_path / "results",
        external_id_field="Intercom_Contact_Id__c",
        on_job_created=record,
    )
    assert done.state == "JobComplete" and done.records_failed == 1
    with open(done.failed_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["Intercom_Contact_Id__c"] for r in rows] == ["bad-0"]
    assert rows[0]["sf__Error"].startswith("STRING_TOO_LONG:")
    with open(done.successful_csv, newline="", encoding="utf-8") as fh:
        assert sorted(r["Intercom_Contact_Id__c"] for r in csv.DictReader(fh)) == ["ok-0", "ok-1"]
    # a completed job has no unprocessed rows (reference 1.6): that file is not asked for
    assert not done.unprocessed_csv.exists()
    asked = [e["path"] for e in request_log(sandbox) if done.job_id in e["path"]]
    assert not [p for p in asked if "unprocessed" in p.lower()]
    assert [p for p in asked if "failedResults" in p] and [p for p in asked if "successful" in p]
    assert [job_id for job_id, _ in ledger] == [failed.job_id, done.job_id]
    assert client.usage.jobs == [failed.job_id, done.job_id]


def test_refuses_to_start_a_job_past_the_daily_api_share(sandbox, tmp_path):
    store = SalesforceStore(sandbox.state.salesforce_db)
    store.set_meta("api_usage", "79995")  # of 100,000; the resource allows 80%
    client = resource(sandbox).client()
    created: list[str] = []
    with pytest.raises(SalesforceLimitError, match="80%"):
        client.ingest(
            "Lead",
            "upsert",
            lead_csv(tmp_path / "leads.csv", 3, "budget"),
            tmp_path / "results",
            external_id_field="Intercom_Contact_Id__c",
            on_job_created=created.append,
        )
    assert created == [] and store.jobs("ingest") == []
    # a push checks its whole plan up front the same way
    with pytest.raises(SalesforceLimitError):
        client.check_api_budget(planned_calls=100)
    # the usage came from the org and is what the metadata reports
    md = client.usage.as_metadata()
    assert md["salesforce_api_used"] + md["salesforce_api_remaining"] == 100_000
    assert md["salesforce_api_used"] >= 79_995

    # with room under the share the same job goes ahead
    store.set_meta("api_usage", "1000")
    client.check_api_budget()
    result = client.ingest(
        "Lead",
        "upsert",
        lead_csv(tmp_path / "leads.csv", 3, "budget"),
        tmp_path / "results",
        external_id_field="Intercom_Contact_Id__c",
    )
    assert result.state == "JobComplete" and result.records_processed == 3


def test_reports_api_usage_from_sforce_limit_info(sandbox, tmp_path):
    client = resource(sandbox).client()
    client.query_to_files("User", "SELECT Id FROM User", tmp_path / "q")
    used = int(SalesforceStore(sandbox.state.salesforce_db).get_meta("api_usage") or 0)
    md = client.usage.as_metadata()
    assert md["salesforce_api_used"] == used and md["salesforce_api_remaining"] == 100_000 - used
    assert md["salesforce_api_calls"] >= 4  # token, create, poll(s), results


def test_refuses_an_upload_over_100_mb_before_creating_a_job(sandbox, tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:
        fh.truncate(MAX_UPLOAD_BYTES + 1)  # sparse: no disk space used
    client = resource(sandbox).client()
    with pytest.raises(ValueError, match="split uploads under 100 MB"):
        client.ingest("Lead", "insert", big, tmp_path / "results")
    assert SalesforceStore(sandbox.state.salesforce_db).jobs("ingest") == []
