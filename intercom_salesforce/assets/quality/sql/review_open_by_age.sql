-- Open review items per age bucket (days since first seen).
SELECT CASE WHEN age < 1 THEN 'under_1d' WHEN age < 7 THEN '1d_to_7d' ELSE 'over_7d' END,
       count(*)
FROM (SELECT date_diff('hour', first_seen_at, now()) / 24.0 AS age
      FROM quality.review_queue WHERE status = 'open')
GROUP BY 1
