-- The upsert key was sent too: remember it, so a later update by Id does not resend it.
-- {key} the key column. $1 sObject, $2 the key's field name, $3 now.
INSERT OR REPLACE INTO sync.field_state
SELECT $1, ext, $2, {key}, $3 FROM {ok}
