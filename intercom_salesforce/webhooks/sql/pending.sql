-- The oldest pending notifications. ? how many at most.
SELECT seq, id, topic, item_type, item_id, received_at, body FROM notifications
WHERE status = 'pending' ORDER BY seq LIMIT ?
