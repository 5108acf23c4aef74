-- Every pending notification up to a seq is consumed. ? now, ? the seq.
UPDATE notifications SET status = 'consumed', consumed_at = ?
WHERE status = 'pending' AND seq <= ?
