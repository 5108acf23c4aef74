-- Queue one notification unless its id is queued already (a redelivery).
INSERT OR IGNORE INTO notifications
    (id, topic, item_type, item_id, updated_at, received_at, body)
VALUES (?, ?, ?, ?, ?, ?, ?)
