"""Bulk jobs that do not depend on each other run at once: a push's new records (upserted by our
external id) and its matched ones (updated by Id) are both open in Salesforce together, each in
the ledger with what it was, and polled in one loop."""

from __future__ import annotations

import requests

from tests.helpers import warehouse_rows

from .test_thin_slice import full_range, run_range


def request_log(sandbox) -> list[dict]:
    resp = requests.get(
        f"{sandbox.running.salesforce_url}/_sandbox/requests",
        verify=str(sandbox.state.root / "tls" / "ca.pem"),
        timeout=10,
    )
    resp.raise_for_status()
    return resp.json()


def test_lead_creates_and_updates_are_open_at_once(sandbox, tmp_path):
    first, last = full_range()
    assert run_range(sandbox, tmp_path, first, last).success
    jobs = warehouse_rows(
        tmp_path,
        "SELECT job_id, operation, external_id_field FROM sync.bulk_jobs "
        "WHERE sobject = 'Lead' ORDER BY created_at",
    )
    assert {(op, key) for _id, op, key in jobs} == {
        ("upsert", "Intercom_Contact_Id__c"),
        ("upsert", "Id"),
    }, jobs
    log = request_log(sandbox)
    # each job's requests, by position in the log: upload, close, polls, three result files
    seen = {
        job_id: [i for i, r in enumerate(log) if job_id in r["path"]] for job_id, _op, _key in jobs
    }
    assert all(seen.values()), "the jobs' requests are in the emulator's log"
    (a, b) = (seen[job_id] for job_id, _op, _key in jobs)
    # both uploaded before either was finished with: open at the same time, not one after another
    assert a[0] < b[-1] and b[0] < a[-1], (a, b)
    closes = [
        i
        for i, r in enumerate(log)
        if r["method"] == "PATCH" and any(job_id in r["path"] for job_id, _op, _key in jobs)
    ]
    assert len(closes) == 2 and max(closes) < min(a[-1], b[-1]), closes
