-- The ledger's jobs of one sObject not settled yet, oldest first. $1 sObject, $2 settled states.
SELECT job_id, operation, external_id_field, csv_path, coalesce(bytes_uploaded, 0)
FROM sync.bulk_jobs
WHERE sobject = $1 AND NOT list_contains($2::VARCHAR[], coalesce(state, 'Open'))
ORDER BY created_at
