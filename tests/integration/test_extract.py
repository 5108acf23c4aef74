"""Every Intercom stream into staging, against the emulator over HTTP, then counted against it."""

from __future__ import annotations

import dagster as dg
import duckdb

from intercom_salesforce.assets.extract.records import RECORD_ASSETS
from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.sandbox.intercom.store import IntercomStore


def extract(sandbox, tmp_path, first, last):
    return dg.materialize(
        [*RECORD_ASSETS, *REFERENCE_ASSETS],
        resources=sandbox.resources(tmp_path),
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        raise_on_error=False,
    )


def test_full_extraction_matches_the_emulator(sandbox, tmp_path):
    keys = daily_partitions.get_partition_keys()
    result = extract(sandbox, tmp_path, keys[-30], keys[-1])
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    store = IntercomStore(sandbox.state.intercom_db)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)

    def n(sql: str) -> int:
        return con.execute(sql).fetchone()[0]

    assert n("SELECT count(*) FROM staging.intercom_contacts_current") == store.count("contacts")
    assert n("SELECT count(*) FROM staging.intercom_conversations_current") == store.count(
        "conversations"
    )
    assert n("SELECT count(*) FROM staging.intercom_admins") == store.count("admins")
    assert n("SELECT count(*) FROM staging.intercom_tags") == store.count("tags")
    assert n("SELECT count(*) FROM staging.intercom_teams") == store.count("teams")
    for view in ("contacts", "conversations", "companies"):
        assert n(f"SELECT count(*) - count(DISTINCT id) FROM staging.intercom_{view}_current") == 0
    # every conversation's parts were read; the long one is flagged, not silently short
    assert n("SELECT count(*) FROM staging.intercom_conversation_coverage") == store.count(
        "conversations"
    )
    truncated = con.execute(
        "SELECT parts_retrieved, parts_total FROM "
        "staging.intercom_conversation_coverage WHERE truncated"
    ).fetchall()
    assert truncated and all(r == 500 and t > 500 for r, t in truncated)
    # contacts with more than 10 tags got their full tag list
    assert n("SELECT max(json_array_length(tags)) FROM staging.intercom_contacts_current") > 10
    md = result.asset_materializations_for_node("intercom_conversation_parts")[-1].metadata
    assert md["conversations_truncated"].value == len(truncated)
    assert md["api_calls"].value >= store.count("conversations")
    con.close()
