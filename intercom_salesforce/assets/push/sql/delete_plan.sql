-- A step run again replaces its earlier plan rows. $1 run id, $2 the Parquet file.
DELETE FROM sync.plans
WHERE run_id = $1 AND sobject IN (SELECT DISTINCT sobject FROM read_parquet($2))
