-- This run's write-back conflicts in the columns of upsert_conflicts.sql: sobject
-- intercom_contact or intercom_company, field the attribute, direction to_intercom.
SELECT 'intercom_' || d.model AS sobject, d.intercom_id AS external_id, d.sf_id,
       d.attribute AS field, 'both_changed' AS kind, d.policy AS rule, d.ic_now AS intercom_value,
       d.value AS salesforce_value, d.last_value AS last_synced_value,
       d.updated_at AS intercom_updated_at, d.sf_modified_at AS salesforce_modified_at,
       f.written_at AS last_synced_at, 'to_intercom' AS direction
FROM _writeback_decided d
LEFT JOIN sync.intercom_field_state f
  ON f.model = d.model AND f.intercom_id = d.intercom_id AND f.attribute = d.attribute
WHERE d.conflict
