-- This run's write-back conflicts into sync.sync_conflicts (sobject intercom_contact or
-- intercom_company, field the attribute, direction to_intercom), seen again or new. $1 run id.
INSERT INTO sync.sync_conflicts (sobject, external_id, sf_id, field, kind, rule, intercom_value,
    salesforce_value, last_synced_value, intercom_updated_at, salesforce_modified_at,
    last_synced_at, first_seen_at, last_seen_at, resolved_at, run_id, direction)
SELECT 'intercom_' || d.model, d.intercom_id, d.sf_id, d.attribute, 'both_changed', d.policy,
       d.ic_now, d.value, d.last_value, d.updated_at, d.sf_modified_at, f.written_at, now(), now(),
       NULL, $1, 'to_intercom'
FROM _writeback_decided d
LEFT JOIN sync.intercom_field_state f
  ON f.model = d.model AND f.intercom_id = d.intercom_id AND f.attribute = d.attribute
WHERE d.conflict
ON CONFLICT (sobject, external_id, field) DO UPDATE SET
    sf_id = excluded.sf_id, rule = excluded.rule, intercom_value = excluded.intercom_value,
    salesforce_value = excluded.salesforce_value,
    last_synced_value = excluded.last_synced_value,
    intercom_updated_at = excluded.intercom_updated_at,
    salesforce_modified_at = excluded.salesforce_modified_at,
    last_synced_at = excluded.last_synced_at,
    last_seen_at = now(), resolved_at = NULL, run_id = excluded.run_id
