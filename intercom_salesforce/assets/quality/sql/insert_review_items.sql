-- New items for failures not queued yet, open.
-- Needs the temp view _review_failures(record_id, partition_date, value, candidates).
-- $1 entity, $2 rule, $3 column name, $4 reason, $5 now, $6 run id.
INSERT INTO quality.review_queue (entity, record_id, partition_date, rule, column_name, value,
                                  reason, candidates, status, first_seen_at, last_seen_at, run_id)
SELECT $1, f.record_id, f.partition_date, $2, $3, f.value, $4, f.candidates, 'open', $5, $5, $6
FROM _review_failures f
WHERE NOT EXISTS (SELECT 1 FROM quality.review_queue q
                  WHERE q.entity = $1 AND q.rule = $2 AND q.record_id = f.record_id)
