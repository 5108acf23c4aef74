-- Open review items per entity and rule, with the oldest, largest first.
SELECT entity, rule, count(*), min(first_seen_at)::VARCHAR
FROM quality.review_queue
WHERE status = 'open'
GROUP BY 1, 2
ORDER BY 3 DESC
