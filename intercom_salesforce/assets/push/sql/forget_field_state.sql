-- Before advance_field_state.sql, in the same transaction: the fields sent of the records
-- Salesforce took ({taken}) lose their old value, so the insert that follows replaces it. Only a
-- record pushed before has any (field and sync state are written together, by this step alone):
-- the first push of a million new records deletes nothing and scans nothing for it.
-- $1 sObject.
DELETE FROM sync.field_state f
USING (SELECT DISTINCT ext, field FROM {taken} WHERE pushed_before) d
WHERE f.sobject = $1 AND f.external_id = d.ext AND f.field = d.field
