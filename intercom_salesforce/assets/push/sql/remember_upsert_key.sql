-- The upsert key was sent too: remember it, so a later update by Id does not resend it.
-- After forget_upsert_key.sql. {key} the key column. $1 sObject, $2 the key's field name, $3 now.
INSERT INTO sync.field_state
SELECT $1, ext, $2, any_value({key}), $3 FROM {ok} WHERE ext IS NOT NULL GROUP BY ext
