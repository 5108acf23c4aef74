"""Sources of truth on updates, read against the org's current values: a field changed on both
sides is left alone and recorded with both values and timestamps; an owner that differs from the
routing rules' choice is recorded with the rule; a ``newest`` field changed only in Intercom is
sent. The runs after the first decide their matched Leads in four or more slices
(``decide_slice_rows``), as a window of a million matched records is: what is sent, left alone,
overwritten or resolved is the same as in one piece."""

from __future__ import annotations

from intercom_salesforce.sandbox.intercom.store import IntercomStore
from tests.helpers import full_range, run_range, simple_salesforce, soql, warehouse_rows


def test_conflicts_left_alone_and_recorded(sandbox, tmp_path):
    first, last = full_range()
    assert run_range(sandbox, tmp_path, first, last).success
    created = warehouse_rows(
        tmp_path,
        "SELECT s.external_id, s.sf_id, f.value FROM sync.sync_state s "
        "JOIN sync.field_state f ON f.sobject = 'Lead' AND f.external_id = s.external_id "
        "AND f.field = 'Phone' WHERE s.sobject = 'Lead' AND f.value IS NOT NULL ORDER BY 1 LIMIT 2",
    )
    (both_id, both_lead, old_phone), (newest_id, newest_lead, _) = created
    leads = warehouse_rows(tmp_path, "SELECT count(*) FROM sync.sync_state WHERE sobject = 'Lead'")
    assert leads[0][0] >= 8
    sliced = {"decide_slice_rows": leads[0][0] // 4}  # every later run decides in 4+ slices
    queue = warehouse_rows(
        tmp_path,
        'SELECT "Id" FROM mirror.salesforce_queues WHERE "DeveloperName" = \'Inbound_Leads\'',
    )[0][0]
    alice = warehouse_rows(
        tmp_path,
        'SELECT "Id" FROM mirror.salesforce_users WHERE "Email" = \'alice@sandbox-corp.example.com\'',
    )[0][0]

    # Salesforce side: someone edits the phone (fill_blank) and takes the Lead from the queue
    sf = simple_salesforce(sandbox)
    region = soql(sandbox, f"SELECT Intercom_Region__c FROM Lead WHERE Id = '{both_lead}'")
    sf.Lead.update(
        both_lead, {"Phone": "+1 555 0100", "OwnerId": alice, "Intercom_Region__c": "EDITED"}
    )
    # Intercom side: the same person's phone changes too; another one is seen again (newest)
    store = IntercomStore(sandbox.state.intercom_db)
    store.update_contact(both_id, phone="+44 20 7946 0000")
    store.update_contact(newest_id, last_seen_at=1_900_000_000)
    store.close()

    result = run_range(sandbox, tmp_path, first, last, **sliced)
    assert result.success
    md = result.asset_materializations_for_node("salesforce_lead_upserts")[-1].metadata
    assert md["conflicts"].value >= 2 and md["conflicts_new"].value >= 2
    # an Intercom-owned field edited in Salesforce only is set back to Intercom's value
    assert md["salesforce_edits_overwritten"].value == 1
    restored = soql(sandbox, f"SELECT Intercom_Region__c FROM Lead WHERE Id = '{both_lead}'")
    assert restored == region and region[0]["Intercom_Region__c"] != "EDITED"

    lead = soql(sandbox, f"SELECT Phone, OwnerId FROM Lead WHERE Id = '{both_lead}'")[0]
    assert lead["Phone"] == "+1 555 0100" and lead["OwnerId"] == alice  # left alone
    conflicts = {
        r[0]: r[1:]
        for r in warehouse_rows(
            tmp_path,
            "SELECT field, kind, rule, intercom_value, salesforce_value, last_synced_value, "
            "intercom_updated_at IS NOT NULL, salesforce_modified_at IS NOT NULL, resolved_at "
            "FROM sync.sync_conflicts WHERE sobject = 'Lead' AND external_id = ?",
            [both_id],
        )
    }
    assert conflicts["Phone"] == (
        "both_changed",
        "fill_blank",
        "+44 20 7946 0000",
        "+1 555 0100",
        old_phone,
        True,
        True,
        None,
    )
    kind, rule, ours, theirs = conflicts["OwnerId"][:4]
    assert (kind, ours, theirs) == ("owner", queue, alice)
    assert rule == "Everyone else is a sales lead in the inbound queue"

    # newest: only Intercom changed since the last sync, so Intercom's value is sent
    seen = soql(sandbox, f"SELECT Intercom_Last_Seen__c FROM Lead WHERE Id = '{newest_lead}'")
    assert seen[0]["Intercom_Last_Seen__c"].startswith("2030-03-17T17:46:40")
    assert not warehouse_rows(
        tmp_path,
        "SELECT field, kind, rule, intercom_value, salesforce_value FROM sync.sync_conflicts "
        "WHERE external_id = ? AND field = 'Intercom_Last_Seen__c'",
        [newest_id],
    )

    # the two sides agree again (Salesforce takes Intercom's phone): the conflict is resolved
    sf.Lead.update(both_lead, {"Phone": "+44 20 7946 0000"})
    assert run_range(sandbox, tmp_path, first, last, **sliced).success
    resolved = warehouse_rows(
        tmp_path,
        "SELECT resolved_at IS NOT NULL FROM sync.sync_conflicts "
        "WHERE sobject = 'Lead' AND external_id = ? AND field = 'Phone'",
        [both_id],
    )
    assert resolved == [(True,)]
