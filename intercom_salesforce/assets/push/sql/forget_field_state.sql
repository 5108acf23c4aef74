-- Before advance_field_state.sql, in the same transaction: the fields sent ({changes}) of the
-- records Salesforce took ({ok}) lose their old value, so the insert that follows replaces it.
-- $1 sObject.
DELETE FROM sync.field_state f
USING (SELECT DISTINCT ch.ext, ch.field FROM {changes} ch
       WHERE ch.ext IN (SELECT ext FROM {ok})) d
WHERE f.sobject = $1 AND f.external_id = d.ext AND f.field = d.field
