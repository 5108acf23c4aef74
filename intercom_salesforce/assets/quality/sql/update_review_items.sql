-- Items already queued for these failures: take the new value; a fixed item stays fixed while its
-- value is unchanged, a dismissed one stays dismissed, anything else (re)opens.
-- Needs the temp view _review_failures(record_id, partition_date, value, candidates).
-- $1 now, $2 run id, $3 reason, $4 entity, $5 rule.
UPDATE quality.review_queue q SET
    value = f.value, partition_date = f.partition_date, last_seen_at = $1, run_id = $2,
    reason = $3, candidates = f.candidates,
    status = CASE
        WHEN q.status = 'fixed' AND q.value IS NOT DISTINCT FROM f.value THEN 'fixed'
        WHEN q.status = 'dismissed' THEN 'dismissed'
        ELSE 'open' END,
    resolved_at = CASE WHEN q.status IN ('resolved') THEN NULL ELSE q.resolved_at END
FROM _review_failures f
WHERE q.entity = $4 AND q.rule = $5 AND q.record_id = f.record_id
