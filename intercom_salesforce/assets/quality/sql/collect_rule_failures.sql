-- One row rule's failures as _rule_failures: each failing record's newest partition and value.
-- Needs the registered frames _failing_ids(record_id) and _failing_values(record_id,
-- partition_date, value).
CREATE OR REPLACE TEMP TABLE _rule_failures AS
SELECT f.record_id, max(v.partition_date) AS partition_date,
       arg_max(v.value, v.partition_date) AS value
FROM _failing_ids f JOIN _failing_values v USING (record_id)
GROUP BY f.record_id
