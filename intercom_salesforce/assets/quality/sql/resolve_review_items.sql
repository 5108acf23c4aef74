-- Open items of records checked again (temp table _rechecked(record_id)) that no longer fail
-- their rule (temp table _still_failing(record_id)) are resolved. $1 entity, $2 rule.
UPDATE quality.review_queue SET status = 'resolved', resolved_at = now()
WHERE entity = $1 AND rule = $2 AND status = 'open'
  AND record_id IN (SELECT record_id FROM _rechecked)
  AND record_id NOT IN (SELECT record_id FROM _still_failing)
