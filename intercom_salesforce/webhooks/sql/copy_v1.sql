-- The first layout's rows, carried over in arrival order; then its table goes.
INSERT INTO notifications
    (id, topic, item_type, item_id, updated_at, received_at, status, consumed_at, body)
SELECT id, topic, item_type, item_id, updated_at, received_at,
       CASE WHEN consumed_at IS NULL THEN 'pending' ELSE 'consumed' END, consumed_at, body
FROM notifications_v1 ORDER BY received_at;
DROP TABLE notifications_v1
