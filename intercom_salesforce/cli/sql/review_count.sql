-- How many review items review_list.sql would show without its limit ($1 status, $2 entity, $3 rule).
SELECT count(*)
FROM quality.review_queue
WHERE status = $1 AND ($2 IS NULL OR entity = $2) AND ($3 IS NULL OR rule = $3)
