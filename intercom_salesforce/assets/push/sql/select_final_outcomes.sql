-- Each record's last outcome over a batch's jobs (its attempts), with its last error.
-- $1 the job ids.
SELECT external_id, arg_max(outcome, recorded_at) AS outcome,
       arg_max(error_code, recorded_at) AS error_code,
       arg_max(coalesce(error, 'left unprocessed by job ' || job_id), recorded_at) AS error,
       count(*) AS attempts
FROM sync.sync_results WHERE list_contains($1::VARCHAR[], job_id) GROUP BY external_id
