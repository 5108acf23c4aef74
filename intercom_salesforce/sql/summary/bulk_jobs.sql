-- The Bulk API jobs run $1 created, oldest first.
SELECT job_id FROM sync.bulk_jobs WHERE run_id = $1 ORDER BY created_at
