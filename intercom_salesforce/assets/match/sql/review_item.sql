-- The review item a merge answers. $1 item id.
SELECT entity, record_id, rule, candidates FROM quality.review_queue WHERE item_id = $1
