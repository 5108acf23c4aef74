-- The fields sent ({changes}) of the records Salesforce took ({ok}) become what was last pushed,
-- after forget_field_state.sql removed their earlier values. $1 sObject, $2 now.
INSERT INTO sync.field_state
SELECT $1, ch.ext, ch.field, ch.value, $2 FROM {changes} ch
WHERE ch.ext IN (SELECT ext FROM {ok})
