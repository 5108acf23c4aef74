"""Every Intercom stream extracted completely while the emulator misbehaves: 5% server errors, a
429 storm, a company scroll that fails with the documented 500, and records updated while the
extractor pages. After the run and one incremental run, DuckDB holds exactly what Intercom does."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import dagster as dg
import duckdb
import pytest

from intercom_salesforce.assets.extract.records import RECORD_ASSETS
from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.extract.entities import PARTITIONED
from intercom_salesforce.resources.intercom import IntercomResource
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.resources.warehouse import WarehouseResource
from intercom_salesforce.sandbox.intercom import FaultConfig, IntercomEmulatorConfig
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from intercom_salesforce.sandbox.runtime import SandboxState, seed, start
from intercom_salesforce.sandbox.world import WorldSize
from intercom_salesforce.settings import SANDBOX_INTERCOM_TOKEN
from tests.helpers import repeated_keys

SIZE = WorldSize(contacts=300, companies=40, conversations=120, long_conversations=1)
FAULTS = FaultConfig(
    error_rate=0.05,
    rate_limit_storm=2,
    scroll_500_after_pages=2,
    mutate_while_paging=True,
    mutate_per_page=2,
    seed=11,
)
EVENT_NAMES = ["requested-demo", "upgraded-plan"]


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("faulty")
    state = SandboxState(root / "sandbox")
    seed(state, SIZE, timezone="America/Los_Angeles")
    config = IntercomEmulatorConfig(scroll_page_size=10, faults=FAULTS)
    running = start(state, intercom_config=config)
    yield state, running, root
    running.stop()


def extract(running, root, first: str, last: str) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [*RECORD_ASSETS, *REFERENCE_ASSETS],
        resources={
            "intercom": IntercomResource(
                access_token=SANDBOX_INTERCOM_TOKEN,
                base_url=running.intercom_url,
                mode="sandbox",
                per_page=25,
                max_retries=12,
                backoff_base_seconds=0.01,
                search_lag_seconds=2,
            ),
            "warehouse": WarehouseResource(database=str(root / "warehouse.duckdb")),
            "sync_settings": SyncSettings(work_dir=str(root / "work"), event_names=EVENT_NAMES),
        },
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict:
    return {
        k: v.value for k, v in result.asset_materializations_for_node(asset)[-1].metadata.items()
    }


def test_extraction_under_faults_then_incremental_matches_the_emulator(faulty):
    state, running, root = faulty
    keys = daily_partitions.get_partition_keys()
    first, last = keys[-(SIZE.days + 3)], keys[-1]

    full = extract(running, root, first, last)
    assets = [a.key.to_user_string() for a in [*RECORD_ASSETS, *REFERENCE_ASSETS]]
    costs = {name: metadata(full, name) for name in assets}
    assert sum(m["http_429s"] for m in costs.values()) == FAULTS.rate_limit_storm
    assert sum(m["http_5xx"] for m in costs.values()) > 0
    assert sum(m["retries"] for m in costs.values()) > FAULTS.rate_limit_storm
    assert costs["intercom_companies"]["scroll_restarts"] == 1
    for m in costs.values():
        for key in ("dagster/row_count", "pages", "api_calls", "seconds_waited", "rows_per_second"):
            assert key in m and "duration_seconds" in m
    assert costs["intercom_contacts"]["extract_mode"] == "full_refresh"

    second_started = time.time()
    incremental = extract(running, root, first, last)
    inc = metadata(incremental, "intercom_contacts")
    assert inc["extract_mode"] == "incremental"
    # the incremental run read what changed (records mutated while the first one paged), not all
    assert inc["api_calls"] < costs["intercom_contacts"]["api_calls"] / 2

    store = IntercomStore(state.intercom_db)
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)

    def one(sql: str, params: list | None = None):
        return con.execute(sql, params or []).fetchall()[0][0]

    for entity in ("contacts", "companies", "conversations"):
        view = f"staging.intercom_{entity}_current"
        assert one(f"SELECT count(*) FROM {view}") == store.count(entity), entity
    # a record's versions sit in their own days; none is staged twice, whatever paging returned
    for spec in PARTITIONED:
        assert repeated_keys(con, spec) == 0, spec.name
    for entity in ("admins", "teams", "tags"):
        assert one(f"SELECT count(*) FROM staging.intercom_{entity}") == store.count(entity)

    # every record changed before the second run started is staged at its latest version
    for entity in ("contacts", "conversations"):
        latest = dict(
            store.query(
                f"SELECT id, updated_at FROM {entity} WHERE updated_at < ?", [int(second_started)]
            )
        )
        staged = dict(
            con.execute(
                f"SELECT id, epoch(updated_at)::BIGINT FROM staging.intercom_{entity}_current"
            ).fetchall()
        )
        assert {k: staged.get(k) for k in latest} == latest, entity
    mutated = store.query(
        "SELECT count(*) FROM contacts WHERE updated_at >= ?",
        [int(datetime.fromisoformat(costs["intercom_contacts"]["high_water_mark"]).timestamp())],
    )[0][0]
    assert mutated > 0  # the first run really did see records move under it

    # parts: all that Intercom returns, the long conversation flagged as short
    per_conversation = store.query(
        "SELECT conversation_id, count(*) FROM conversation_parts GROUP BY 1"
    )
    reachable = sum(min(n, 500) for _, n in per_conversation)
    assert one("SELECT count(DISTINCT id) FROM staging.intercom_conversation_parts") == reachable
    assert one("SELECT count(*) FROM staging.intercom_conversation_coverage") == store.count(
        "conversations"
    )
    truncated = con.execute(
        "SELECT conversation_id, parts_retrieved, parts_total "
        "FROM staging.intercom_conversation_coverage WHERE truncated"
    ).fetchall()
    long_ones = sorted((str(c), 500, n) for c, n in per_conversation if n > 500)
    assert len(long_ones) == SIZE.long_conversations
    assert sorted((str(c), r, t) for c, r, t in truncated) == long_ones
    # flagged by each run that read it: a conversation bumped while the first run paged can move
    # behind that run's cursor, and then only the incremental run reads it
    flagged = [
        m["conversations_truncated"]
        for m in (
            costs["intercom_conversation_parts"],
            metadata(incremental, "intercom_conversation_parts"),
        )
    ]
    assert max(flagged) == len(truncated)

    # data events: only the configured names, every one of them
    wanted = [
        doc
        for (doc,) in store.query("SELECT doc FROM events")
        if json.loads(doc)["event_name"] in EVENT_NAMES
    ]
    assert one("SELECT count(DISTINCT id) FROM staging.intercom_data_events") == len(wanted)
    assert (
        one(
            "SELECT count(*) FROM staging.intercom_data_events WHERE event_name NOT IN (?, ?)",
            EVENT_NAMES,
        )
        == 0
    )
    # nested objects are queryable JSON; extraction runs carry their marks
    assert (
        one(
            "SELECT count(*) FROM staging.intercom_contacts_current "
            "WHERE custom_attributes->>'$.plan' IS NOT NULL"
        )
        > 0
    )
    assert one("SELECT count(*) FROM staging.extract_runs WHERE mode = 'incremental'") > 0
    assert one("SELECT max(finished_at) FROM staging.extract_runs") <= datetime.now(UTC)
    con.close()
    store.close()
