-- A person's decision on one item. $1 status, $2 note (NULL keeps the old one), $3 item id.
UPDATE quality.review_queue SET status = $1, note = coalesce($2, note),
       resolved_at = CASE WHEN $1 = 'open' THEN NULL ELSE now() END
WHERE item_id = $3
RETURNING item_id, entity, record_id, rule, status
