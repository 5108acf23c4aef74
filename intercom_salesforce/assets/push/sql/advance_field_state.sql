-- The fields sent of the records Salesforce took ({taken}) become what was last pushed, after
-- forget_field_state.sql removed their earlier values. $1 sObject, $2 now.
INSERT INTO sync.field_state
SELECT $1, ext, field, value, $2 FROM {taken}
