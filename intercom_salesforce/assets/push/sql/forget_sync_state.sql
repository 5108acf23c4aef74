-- Before advance_sync_state.sql, in the same transaction: the records Salesforce took ({ok})
-- lose their old row, so the insert that follows replaces it (the table has no key to upsert on).
-- $1 sObject.
DELETE FROM sync.sync_state s
USING (SELECT DISTINCT ext FROM {ok}) o
WHERE s.sobject = $1 AND s.external_id = o.ext
