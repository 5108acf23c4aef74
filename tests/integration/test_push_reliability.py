"""A push that follows another run's push sends nothing twice, and records that still fail after
every attempt are listed in review per record, then written by the next run."""

from __future__ import annotations

import dagster as dg
import requests

from intercom_salesforce.assets.push.bulk_upsert import RETRY_EXHAUSTED
from intercom_salesforce.assets.push.people import (
    salesforce_account_upserts,
    salesforce_contact_upserts,
    salesforce_lead_upserts,
)
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import SYNC_ASSETS
from tests.helpers import full_range, materialize_range, warehouse_rows

PUSHES = [salesforce_account_upserts, salesforce_lead_upserts, salesforce_contact_upserts]


def salesforce_faults(sandbox, **faults) -> None:
    resp = requests.put(
        f"{sandbox.running.salesforce_url}/_sandbox/config/faults",
        json=faults,
        verify=str(sandbox.state.root / "tls" / "ca.pem"),
        timeout=10,
    )
    resp.raise_for_status()


def push_metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    mats = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey(asset)
    ]
    return {k: v.value for k, v in mats[-1].metadata.items()}


def test_push_after_another_runs_push_sends_nothing(sandbox, tmp_path):
    """Two runs of the same days at once: the second run's mirror was read before the first run
    pushed. The second push must take the first's writes as Salesforce's state (not as edits made
    in Salesforce), so it overwrites nothing and sends no job."""
    first, last = full_range()
    resources = sandbox.resources(tmp_path)
    everything = [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]
    materialize_range(everything, resources, first, last)
    jobs_before = warehouse_rows(tmp_path, "SELECT count(*) FROM sync.bulk_jobs")[0][0]
    # the second run's pushes, over the mirror the first run read before its own push
    second = materialize_range(PUSHES, resources, first, last)
    for asset in ("salesforce_account_upserts", "salesforce_lead_upserts"):
        meta = push_metadata(second, asset)
        assert meta["salesforce_edits_overwritten"] == 0, (asset, meta)
        assert meta["sent"] == 0, (asset, meta)
    meta = push_metadata(second, "salesforce_contact_upserts")
    assert (meta["salesforce_edits_overwritten"], meta["sent"]) == (0, 0), meta
    assert warehouse_rows(tmp_path, "SELECT count(*) FROM sync.bulk_jobs")[0][0] == jobs_before


def test_records_still_failing_go_to_review_and_the_next_run_writes_them(sandbox, tmp_path):
    first, last = full_range()
    resources = sandbox.resources(tmp_path)
    resources["sync_settings"] = resources["sync_settings"].model_copy(
        update={"push_retry_seconds": 0.01}
    )
    everything = [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]]
    salesforce_faults(sandbox, lock_row_rate=1.0, seed=3)
    result = materialize_range(everything, resources, first, last, succeed=False)
    meta = push_metadata(result, "salesforce_lead_upserts")
    # counts are records, not attempts: every Lead sent failed, each once in the count
    assert meta["sent"] > 0
    assert meta["failed"] == meta["sent"], meta
    assert meta["retried"] == 2 * meta["sent"], meta
    queued = dict(
        warehouse_rows(
            tmp_path,
            "SELECT column_name, count(*) FROM quality.review_queue "
            "WHERE rule = ? AND status = 'open' GROUP BY 1",
            [RETRY_EXHAUSTED],
        )
    )
    assert queued.get("Lead") == meta["sent"], queued
    reason = warehouse_rows(
        tmp_path,
        "SELECT value FROM quality.review_queue WHERE rule = ? LIMIT 1",
        [RETRY_EXHAUSTED],
    )[0][0]
    assert "UNABLE_TO_LOCK_ROW" in reason and "3 attempts" in reason
    # the lock clears: the next run sends the same records and closes their review items
    salesforce_faults(sandbox, lock_row_rate=0.0)
    again = materialize_range(everything, resources, first, last)
    meta2 = push_metadata(again, "salesforce_lead_upserts")
    assert meta2["failed"] == 0 and meta2["sent"] == meta["sent"], meta2
    still_open = warehouse_rows(
        tmp_path,
        "SELECT count(*) FROM quality.review_queue WHERE rule = ? AND status = 'open'",
        [RETRY_EXHAUSTED],
    )[0][0]
    assert still_open == 0
