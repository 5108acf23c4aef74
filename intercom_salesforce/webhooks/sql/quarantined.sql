-- Quarantined notifications, newest first. ? how many at most.
SELECT seq, id, topic, item_id, reason, consumed_at, body FROM notifications
WHERE status = 'quarantined' ORDER BY seq DESC LIMIT ?
