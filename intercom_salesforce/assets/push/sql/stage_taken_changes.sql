-- The fields sent ({changes}) of the records Salesforce took ({ok}), once per job: the field
-- state steps read this job's rows, not the whole batch's changes twice. Taken before
-- forget_sync_state.sql: whether each record had been pushed before. $1 sObject.
CREATE OR REPLACE TEMP TABLE {taken} AS
SELECT ch.ext, ch.field, ch.value,
       ch.ext IN (SELECT external_id FROM sync.sync_state WHERE sobject = $1) AS pushed_before
FROM {changes} ch
WHERE ch.ext IN (SELECT ext FROM {ok})
