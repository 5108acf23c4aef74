-- Review items per status.
SELECT status, count(*) FROM quality.review_queue GROUP BY 1
