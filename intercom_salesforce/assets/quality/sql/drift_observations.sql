-- What staging observed of the entity's payload keys in this run (else in its latest run):
-- per column, how many records lacked the key or carried a value of the wrong type.
-- $1 entity, $2 run id.
SELECT column_name, source_path, expected_type, records, missing, wrong_type, sample,
       (records > 0 AND missing = records) AS key_never_arrived
FROM staging.payload_observations
WHERE entity = $1 AND run_id = coalesce(
    (SELECT max(run_id) FROM staging.payload_observations WHERE entity = $1 AND run_id = $2),
    (SELECT arg_max(run_id, observed_at) FROM staging.payload_observations WHERE entity = $1))
