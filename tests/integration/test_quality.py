"""The quality gate and the review queue, on a partition seeded with known bad rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from intercom_salesforce.assets.partitions import daily_partitions
from intercom_salesforce.assets.quality.checks import CHECKS_BY_ENTITY
from intercom_salesforce.assets.quality.review_queue import set_status
from intercom_salesforce.definitions import SYNC_ASSETS
from intercom_salesforce.sandbox.intercom.store import IntercomStore
from tests.helpers import full_range, soql

# one record per row rule, each built to break exactly that rule
BAD = {
    "email_format": {"email": "jo at example dot com", "name": "Jo Format"},
    "email_length": {"email": "a" * 75 + "@example.com", "name": "Al Long"},
    "phone_length": {"email": "phone@example.com", "name": "Pat Phone", "phone": "+1 " * 20},
    "plan_unmapped": {
        "email": "plan@example.com",
        "name": "Lee Plan",
        "custom_attributes": {"plan": "legacy-gold"},
    },
    "last_name_missing": {"email": None, "name": None},
}


def seed_day(sandbox) -> tuple[str, dict[str, str], set[str]]:
    day = daily_partitions.get_partition_keys()[-40]  # no seeded data on this day
    noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=ZoneInfo("America/Los_Angeles"))
    store = IntercomStore(sandbox.state.intercom_db)
    good, bad = set(), {}
    for i in range(60):
        ts = int((noon + timedelta(minutes=i)).timestamp())
        good.add(
            store.create_contact(
                role="lead",
                email=f"good{i}@example.org",
                name=f"Good Person{i}",
                created_at=ts,
                updated_at=ts,
                custom_attributes={"plan": "pro"},
            )["id"]
        )
    for n, (rule, fields) in enumerate(BAD.items()):
        ts = int((noon + timedelta(hours=2, minutes=n)).timestamp())
        bad[rule] = store.create_contact(role="lead", created_at=ts, updated_at=ts, **fields)["id"]
    return day, bad, good


def sync_day(sandbox, tmp_path, day: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]],
        resources=sandbox.resources(tmp_path),
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=day,
        raise_on_error=False,
    )


def pushed_ids(sandbox) -> set[str]:
    return {
        r["Intercom_Contact_Id__c"]
        for r in soql(
            sandbox, "SELECT Intercom_Contact_Id__c FROM Lead WHERE Intercom_Contact_Id__c != null"
        )
    }


def test_bad_rows_wait_in_review_and_good_rows_go_through(sandbox, tmp_path):
    day, bad, good = seed_day(sandbox)
    result = sync_day(sandbox, tmp_path, day)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    batch = checks["contacts_no_bad_batch"]
    assert batch.passed and batch.metadata["rows_sent_to_review"].value == len(BAD)
    assert checks["contacts_pass_gx_suite"].passed and checks["contacts_no_schema_drift"].passed
    # each rule is its own warning, with its own count of the rows sent to review
    for rule in BAD:
        check = checks[f"contacts_{rule}"]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
        assert check.metadata["unexpected_count"].value == 1
        assert check.metadata["rows_sent_to_review"].value == 1
    assert checks["contacts_timestamp_out_of_range"].passed

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    queued = con.execute(
        "SELECT rule, record_id, reason, value, status, partition_date::VARCHAR "
        "FROM quality.review_queue WHERE entity = 'intercom_contacts'"
    ).fetchall()
    con.close()
    expected = {(rule, rid) for rule, rid in bad.items()}
    # the mapping cannot map that plan either: it holds the record back under its own rule
    expected.add(("mapping_unmapped_value", bad["plan_unmapped"]))
    assert {(r[0], r[1]) for r in queued} == expected
    assert all(r[4] == "open" and r[2] for r in queued)
    assert all(r[5] == day for r in queued if r[0] != "mapping_unmapped_value")
    by_rule = {r[0]: r for r in queued}
    assert by_rule["plan_unmapped"][3] == "legacy-gold"
    assert "INVALID_EMAIL_ADDRESS" in by_rule["email_format"][2]

    pushed = pushed_ids(sandbox)
    assert good <= pushed
    assert not (set(bad.values()) & pushed)


def test_fixed_is_pushed_next_run_and_dismissed_never(sandbox, tmp_path):
    day, bad, _good = seed_day(sandbox)
    assert sync_day(sandbox, tmp_path, day).success
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    items = dict(con.execute("SELECT rule, item_id FROM quality.review_queue").fetchall())
    # the long phone is acceptable (the mapping truncates it); the broken email is a test account
    set_status(con, items["phone_length"], "fixed", "the mapping truncates it")
    set_status(con, items["email_format"], "dismissed", "test account")
    con.close()

    assert sync_day(sandbox, tmp_path, day).success
    pushed = pushed_ids(sandbox)
    assert bad["phone_length"] in pushed
    assert bad["email_format"] not in pushed
    assert bad["plan_unmapped"] not in pushed  # still open

    assert sync_day(sandbox, tmp_path, day).success  # and a later run changes neither
    assert bad["email_format"] not in pushed_ids(sandbox)
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    statuses = dict(con.execute("SELECT rule, status FROM quality.review_queue").fetchall())
    con.close()
    assert statuses["phone_length"] == "fixed" and statuses["email_format"] == "dismissed"


def test_schema_drift_blocks_and_names_the_columns(sandbox, tmp_path):
    """A renamed and a retyped key in the emulator's contact payload stop the batch."""
    import requests

    faults = {"drift_rename": {"email": "email_address"}, "drift_retype": {"created_at": "string"}}
    resp = requests.put(f"{sandbox.running.intercom_url}/_sandbox/faults", json=faults, timeout=10)
    assert resp.status_code == 200, resp.text
    first, last = full_range()
    result = dg.materialize(
        [*SYNC_ASSETS, CHECKS_BY_ENTITY["intercom_contacts"]],
        resources=sandbox.resources(tmp_path),
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first,
            "dagster/asset_partition_range_end": last,
        },
        raise_on_error=False,
    )
    assert not result.success
    check = next(
        c
        for c in result.get_asset_check_evaluations()
        if c.check_name == "contacts_no_schema_drift"
    )
    assert not check.passed
    assert check.metadata["schema_drift_columns"].value == "created_at, email"
    rules = check.metadata["rules"].value
    assert rules["schema_missing_column"]["details"]["email"]["missing"] > 0
    assert rules["schema_wrong_type"]["details"]["created_at"]["expected"] == "TIMESTAMPTZ"
    for downstream in ("person_matches", "salesforce_lead_upserts"):
        assert not result.asset_materializations_for_node(downstream)
