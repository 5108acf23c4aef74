-- One run's conflicts into sync.sync_conflicts, seen again or new; the push's (direction
-- to_salesforce) and the write-back's (to_intercom) alike, from a relation with the
-- columns sobject, external_id, sf_id, field, kind, rule, intercom_value, salesforce_value,
-- last_synced_value, intercom_updated_at, salesforce_modified_at, last_synced_at, direction.
-- $1 run id.
INSERT INTO sync.sync_conflicts (sobject, external_id, sf_id, field, kind, rule, intercom_value,
    salesforce_value, last_synced_value, intercom_updated_at, salesforce_modified_at,
    last_synced_at, first_seen_at, last_seen_at, resolved_at, run_id, direction)
SELECT sobject, external_id, sf_id, field, kind, rule, intercom_value, salesforce_value,
       last_synced_value, intercom_updated_at, salesforce_modified_at,
       last_synced_at, now(), now(), NULL, $1, direction
FROM {conflicts}
ON CONFLICT (sobject, external_id, field) DO UPDATE SET
    sf_id = excluded.sf_id, kind = excluded.kind, rule = excluded.rule,
    intercom_value = excluded.intercom_value,
    salesforce_value = excluded.salesforce_value,
    last_synced_value = excluded.last_synced_value,
    intercom_updated_at = excluded.intercom_updated_at,
    salesforce_modified_at = excluded.salesforce_modified_at,
    last_synced_at = excluded.last_synced_at,
    last_seen_at = now(), resolved_at = NULL, run_id = excluded.run_id
