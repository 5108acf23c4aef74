"""Every Intercom stream into staging, against the emulator over HTTP, then counted against it."""

from __future__ import annotations

import duckdb

from intercom_salesforce.assets.extract.records import RECORD_ASSETS
from intercom_salesforce.assets.extract.reference import REFERENCE_ASSETS
from intercom_salesforce.extract.entities import PARTITIONED
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from tests.helpers import full_range, materialize_range, repeated_keys


def test_full_extraction_matches_the_emulator(sandbox, tmp_path):
    result = materialize_range(
        [*RECORD_ASSETS, *REFERENCE_ASSETS], sandbox.resources(tmp_path), *full_range()
    )
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
    # one run, nothing changing under it: every record staged once, in the tables themselves
    for spec in PARTITIONED:
        assert repeated_keys(con, spec, ("id",)) == 0, spec.name
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
