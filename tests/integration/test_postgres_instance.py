"""The shipped production instance config (PostgreSQL storage, queued runs) runs a real sync.

Runs when ``DAGSTER_PG_URL`` points at a PostgreSQL server (``.ci/run`` starts one); skipped with
the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest

from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.definitions import SYNC_ASSETS

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("DAGSTER_PG_URL")

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="DAGSTER_PG_URL is not set: no PostgreSQL server to run against"
)


def test_sync_with_postgres_storage(sandbox, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.production.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    last = daily_partitions.get_last_partition_key()
    first = daily_partitions.get_partition_keys()[-20]
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        result = dg.materialize(
            [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]],
            resources=sandbox.resources(tmp_path),
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
        )
        assert result.success
        # the audit log lives in PostgreSQL: read the materialization back from the instance
        event = instance.get_latest_materialization_event(dg.AssetKey("salesforce_lead_upserts"))
        assert event is not None
        md = event.asset_materialization.metadata
        assert md["created"].value > 0 and md["bulk_job_ids"].value.startswith("750")
        run = instance.get_run_by_id(result.run_id)
        assert run is not None and run.is_success
