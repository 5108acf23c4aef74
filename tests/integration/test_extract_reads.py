"""The extraction reads only what the later stages need, judged by the calls the emulator saw:
data events only when a mapping rule reads them, and a conversation's parts only once it changed
since they were last read."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import requests
import yaml

from intercom_salesforce.assets.extract.records import (
    intercom_contacts,
    intercom_conversation_parts,
    intercom_conversations,
    intercom_data_events,
)
from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.resources.sync_settings import SyncSettings
from intercom_salesforce.sandbox.intercom.store import IntercomStore

SANDBOX_MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "sandbox.yaml"


def run(sandbox, tmp_path: Path, assets: list, mapping: Path = SANDBOX_MAPPING, **settings) -> dict:
    """Materialize ``assets`` over the last 20 days; returns each asset's metadata."""
    keys = daily_partitions.get_partition_keys()
    resources = sandbox.resources(tmp_path)
    resources["sync_settings"] = SyncSettings(
        work_dir=str(tmp_path / "work"), mapping_file=str(mapping), **settings
    )
    result = dg.materialize(
        assets,
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": keys[-20],
            "dagster/asset_partition_range_end": keys[-1],
        },
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return {
        a.key.to_user_string(): {
            k: v.value
            for k, v in result.asset_materializations_for_node(a.key.to_user_string())[
                -1
            ].metadata.items()
        }
        for a in assets
    }


def calls(sandbox, prefix: str) -> list[dict]:
    """The emulator's logged requests whose path starts with ``prefix``; clears the log."""
    url = f"{sandbox.running.intercom_url}/_sandbox/requests"
    entries = requests.get(url, timeout=10).json()["requests"]
    requests.delete(url, timeout=10).raise_for_status()
    return [e for e in entries if e["path"].startswith(prefix)]


def with_events(tmp_path: Path, events: dict) -> Path:
    """The sandbox mapping with ``lifecycle.events`` replaced."""
    mapping = yaml.safe_load(SANDBOX_MAPPING.read_text())
    mapping["lifecycle"]["events"] = events
    path = tmp_path / f"mapping_{len(events)}.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def test_no_rule_reads_events_so_no_event_is_read(sandbox, tmp_path):
    without_events = with_events(tmp_path, {})

    md = run(sandbox, tmp_path, [intercom_contacts, intercom_data_events], without_events)
    assert calls(sandbox, "/events") == []
    events = md["intercom_data_events"]
    assert events["api_calls"] == 0 and events["dagster/row_count"] == 0
    assert events["contacts_fetched"] == 0
    assert "no lifecycle rule" in events["event_names"]


def test_events_are_read_for_changed_contacts_when_the_mapping_uses_them(sandbox, tmp_path):
    md = run(sandbox, tmp_path, [intercom_contacts, intercom_data_events])
    store = IntercomStore(sandbox.state.intercom_db)
    contacts = store.count("contacts")
    store.close()
    listed = {e["query"]["intercom_user_id"][0] for e in calls(sandbox, "/events")}
    assert len(listed) == contacts == md["intercom_data_events"]["contacts_fetched"]
    assert "requested-demo" in md["intercom_data_events"]["event_names"]

    # nothing changed: no contact is listed again
    run(sandbox, tmp_path, [intercom_contacts, intercom_data_events])
    assert calls(sandbox, "/events") == []


def test_parts_are_read_again_only_for_conversations_that_changed(sandbox, tmp_path):
    assets = [intercom_conversations, intercom_conversation_parts]
    run(sandbox, tmp_path, assets)
    store = IntercomStore(sandbox.state.intercom_db)
    n_conversations = store.count("conversations")
    changed = store.query("SELECT id FROM conversations ORDER BY id LIMIT 1")[0][0]
    store.close()
    read = [e for e in calls(sandbox, "/conversations/") if e["method"] == "GET"]
    assert len(read) == n_conversations

    # nothing changed: no conversation is read again
    md = run(sandbox, tmp_path, assets)["intercom_conversation_parts"]
    assert [e for e in calls(sandbox, "/conversations/") if e["method"] == "GET"] == []
    assert md["conversations_fetched"] == 0

    touched = requests.post(
        f"{sandbox.running.intercom_url}/_sandbox/conversations/{changed}/touch",
        json={},
        timeout=10,
    ).json()["updated_at"]
    calls(sandbox, "/")
    md = run(sandbox, tmp_path, assets)["intercom_conversation_parts"]
    read = [e["path"] for e in calls(sandbox, "/conversations/") if e["method"] == "GET"]
    assert read == [f"/conversations/{changed}"]
    assert md["conversations_fetched"] == 1
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    marker = con.execute(
        "SELECT epoch(updated_at)::BIGINT FROM staging.intercom_conversation_coverage "
        "WHERE conversation_id = ?",
        [changed],
    ).fetchall()
    con.close()
    assert marker == [(touched,)]


def test_contacts_are_listed_again_when_the_mapping_reads_another_event(sandbox, tmp_path):
    assets = [intercom_contacts, intercom_data_events]
    demo = {"requested-demo": {"Lead.Status": "Marketing Qualified"}}
    one = with_events(tmp_path, demo)
    two = with_events(tmp_path, {**demo, "upgraded-plan": {"Lead.Status": "Working - Contacted"}})
    first = run(sandbox, tmp_path, assets, one, event_names=[])["intercom_data_events"]
    assert first["event_names"] == "requested-demo"
    n_contacts = len({e["query"]["intercom_user_id"][0] for e in calls(sandbox, "/events")})
    assert n_contacts > 0

    run(sandbox, tmp_path, assets, one, event_names=[])
    assert calls(sandbox, "/events") == []
    # a rule now reads a name that was not kept: every contact is listed again, once
    again = run(sandbox, tmp_path, assets, two, event_names=[])["intercom_data_events"]
    assert again["event_names"] == "requested-demo, upgraded-plan"
    assert len(calls(sandbox, "/events")) >= n_contacts == again["contacts_fetched"]
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    names = con.execute(
        "SELECT DISTINCT event_name FROM staging.intercom_data_events ORDER BY 1"
    ).fetchall()
    con.close()
    assert names == [("requested-demo",), ("upgraded-plan",)]
    # dropping a name reads nothing again: what was kept covers it
    run(sandbox, tmp_path, assets, one, event_names=[])
    assert calls(sandbox, "/events") == []
