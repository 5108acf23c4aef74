-- The rule that put review item $1 in the queue.
SELECT rule FROM quality.review_queue WHERE item_id = $1
