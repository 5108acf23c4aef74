-- Items waiting for a person in the review queue.
SELECT count(*) FROM quality.review_queue WHERE status = 'open'
