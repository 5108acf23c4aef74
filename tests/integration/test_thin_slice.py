"""The thin slice through Dagster, against both emulators over real HTTP(S), into a DuckDB file."""

from __future__ import annotations

import dagster as dg
import duckdb

from intercom_salesforce.assets.partitions import daily_partitions
from tests.helpers import full_range, run_range, soql


def test_thin_slice_creates_leads_once(sandbox, tmp_path):
    first, last = full_range()
    result = run_range(sandbox, tmp_path, first, last)
    assert result.success, [e.message for e in result.all_events if e.is_failure]

    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    staged = con.execute("SELECT count(DISTINCT id) FROM staging.intercom_contacts").fetchone()[0]
    assert staged == sandbox.seeded["intercom"]["contacts"]
    rules = dict(
        con.execute("SELECT rule, count(*) FROM match.person_matches GROUP BY 1").fetchall()
    )
    assert rules.get("email", 0) > 0 and rules.get("external_id", 0) > 0
    assert rules.get("ambiguous", 0) > 0 and rules.get("no_email", 0) > 0
    created = {
        r[0]
        for r in con.execute(
            "SELECT external_id FROM sync.sync_results WHERE outcome = 'created'"
        ).fetchall()
    }
    updated = {
        r[0]
        for r in con.execute(
            "SELECT external_id FROM sync.sync_results WHERE outcome = 'updated'"
        ).fetchall()
    }
    jobs = con.execute("SELECT job_id, state FROM sync.bulk_jobs").fetchall()
    ambiguous = {
        r[0]
        for r in con.execute(
            "SELECT intercom_contact_id FROM match.person_matches WHERE rule = 'ambiguous'"
        ).fetchall()
    }
    unmatched = {
        r[0]
        for r in con.execute(
            "SELECT intercom_contact_id FROM match.person_matches WHERE rule = 'none'"
        ).fetchall()
    }
    in_review = {
        r[0]
        for r in con.execute(
            "SELECT record_id FROM quality.review_queue WHERE status = 'open'"
        ).fetchall()
    }
    assert ambiguous <= in_review
    con.close()
    assert in_review, "the seeded bad rows (unmapped plan, ambiguous matches) wait in review"
    assert created and created == unmatched - in_review
    assert jobs and all(state == "JobComplete" for _, state in jobs)

    # Salesforce holds exactly those new Leads, read back through simple-salesforce and SOQL
    leads = soql(
        sandbox, "SELECT Id, Email, Intercom_Contact_Id__c FROM Lead WHERE LeadSource = 'Intercom'"
    )
    assert {r["Intercom_Contact_Id__c"] for r in leads} == created
    assert all(r["Email"] == r["Email"].strip().lower() for r in leads if r["Email"])
    # matched records were updated by Id and now carry our external id, so later runs find them
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    matched = dict(
        con.execute(
            "SELECT intercom_contact_id, sf_id FROM match.person_matches "
            "WHERE rule IN ('email', 'user_id') AND intercom_contact_id NOT IN "
            "(SELECT record_id FROM quality.review_queue WHERE status = 'open')"
        ).fetchall()
    )
    con.close()
    stamped = {
        r["Id"]: r["Intercom_Contact_Id__c"]
        for obj in ("Lead", "Contact")
        for r in soql(
            sandbox,
            f"SELECT Id, Intercom_Contact_Id__c FROM {obj} WHERE Intercom_Contact_Id__c != null",
        )
    }
    assert matched and all(stamped.get(sf_id) == ic for ic, sf_id in matched.items())
    assert updated >= set(matched)
    # the dedupe safeguard: people with several candidates were not written
    assert not (ambiguous & set(stamped.values()))

    # metadata carries counts and the Bulk job ids: the audit log
    mats = result.asset_materializations_for_node("salesforce_lead_upserts")
    md = mats[-1].metadata
    assert md["created"].value == len(created)
    assert md["bulk_job_ids"].value.startswith("750")
    assert md["mode"].value == "sandbox"

    # a second run over the same partitions creates nothing and uploads nothing
    again = run_range(sandbox, tmp_path, first, last)
    assert again.success
    md2 = again.asset_materializations_for_node("salesforce_lead_upserts")[-1].metadata
    assert md2["created"].value == 0 and md2["sent"].value == 0
    assert len(soql(sandbox, "SELECT Id FROM Lead WHERE LeadSource = 'Intercom'")) == len(created)
    md3 = again.asset_materializations_for_node("salesforce_contact_upserts")[-1].metadata
    assert md3["sent"].value == 0


def test_a_bad_batch_blocks_the_push(sandbox, tmp_path):
    """More than 5% broken emails in a partition means something upstream broke: nothing is pushed."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from intercom_salesforce.sandbox.intercom.store import IntercomStore

    keys = daily_partitions.get_partition_keys()
    day = keys[-40]  # before the seeded data, so the partition holds only these contacts
    noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=ZoneInfo("America/Los_Angeles"))
    store = IntercomStore(sandbox.state.intercom_db)
    ids = []
    for i in range(60):  # 10 of 60 broken: over the 5% share, and enough rows to mean it
        email = f"person{i}@example.com" if i % 6 else f"person{i} at example dot com"
        ts = int((noon + timedelta(minutes=i)).timestamp())
        ids.append(
            store.create_contact(
                role="lead", email=email, name=f"Bad Batch {i}", created_at=ts, updated_at=ts
            )["id"]
        )
    result = run_range(sandbox, tmp_path, day, day)
    assert not result.success
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    failed = {name for name, c in checks.items() if not c.passed}
    assert failed == {"contacts_no_bad_batch", "contacts_email_format"}
    assert checks["contacts_no_bad_batch"].metadata["blocking_rules"].value == "email_format"
    assert checks["contacts_email_format"].severity == dg.AssetCheckSeverity.WARN
    assert not result.asset_materializations_for_node("salesforce_lead_upserts")
    assert not result.asset_materializations_for_node("person_matches")
    pushed = {
        r["Intercom_Contact_Id__c"]
        for r in soql(
            sandbox, "SELECT Intercom_Contact_Id__c FROM Lead WHERE Intercom_Contact_Id__c != null"
        )
    }
    assert not (pushed & set(ids))
