-- The columns of a run's conflicts, no rows: the first member of their UNION ALL.
SELECT NULL::VARCHAR AS ext, NULL::VARCHAR AS sf_id, NULL::VARCHAR AS field,
       NULL::VARCHAR AS kind, NULL::VARCHAR AS rule, NULL::VARCHAR AS intercom_value,
       NULL::VARCHAR AS salesforce_value, NULL::VARCHAR AS last_synced_value,
       NULL::TIMESTAMPTZ AS intercom_updated_at, NULL::TIMESTAMPTZ AS salesforce_modified_at,
       NULL::TIMESTAMPTZ AS last_synced_at WHERE FALSE
