-- The records that still fail a rule, as _still_failing(record_id). $1 their ids (a list).
CREATE OR REPLACE TEMP TABLE _still_failing AS
SELECT DISTINCT unnest($1::VARCHAR[]) AS record_id
