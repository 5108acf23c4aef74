-- One object's conflicts of this run in the columns of upsert_conflicts.sql.
SELECT {sobject} AS sobject, ext AS external_id, sf_id, field, kind, rule, intercom_value,
       salesforce_value, last_synced_value, intercom_updated_at, salesforce_modified_at,
       last_synced_at, 'to_salesforce' AS direction
FROM {conflicts}
