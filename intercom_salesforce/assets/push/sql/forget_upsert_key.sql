-- Before remember_upsert_key.sql, in the same transaction: the key's earlier value goes (the table
-- has no key to upsert on). $1 sObject, $2 the key's field name.
DELETE FROM sync.field_state f
USING (SELECT DISTINCT ext FROM {ok}) o
WHERE f.sobject = $1 AND f.field = $2 AND f.external_id = o.ext
