-- One review item, whole ($1 item_id).
SELECT * FROM quality.review_queue WHERE item_id = $1
