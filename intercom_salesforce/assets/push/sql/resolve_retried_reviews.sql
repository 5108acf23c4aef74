-- Records that exhausted their retries in an earlier run and were taken now leave the queue.
-- $1 now, $2 the retry-exhausted rule, $3 sObject.
UPDATE quality.review_queue SET status = 'resolved', resolved_at = $1
WHERE rule = $2 AND status = 'open' AND column_name = $3
  AND record_id IN (SELECT ext FROM {ok})
