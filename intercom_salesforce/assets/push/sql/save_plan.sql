-- A dry run's plan, kept as Parquet before its transaction was rolled back, into sync.plans
-- (after delete_plan.sql). $1 run id, $2 the Parquet file.
INSERT INTO sync.plans
SELECT $1, sobject, external_id, sf_id, action, changes, detail, now()
FROM read_parquet($2)
