-- Review items of status $1, of entity $2 and rule $3 when given (NULL: any), at most $4.
SELECT item_id, entity, record_id, rule, coalesce(value, ''), partition_date,
       date_diff('day', first_seen_at, now())
FROM quality.review_queue
WHERE status = $1 AND ($2 IS NULL OR entity = $2) AND ($3 IS NULL OR rule = $3)
ORDER BY rule, item_id
LIMIT $4
