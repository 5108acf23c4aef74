-- A job's final state in the ledger, once its results are recorded.
-- $1 state, $2 processed, $3 failed, $4 error message, $5 now, $6 job id.
UPDATE sync.bulk_jobs SET state = $1, records_processed = $2, records_failed = $3,
       error_message = $4, finished_at = $5
WHERE job_id = $6
