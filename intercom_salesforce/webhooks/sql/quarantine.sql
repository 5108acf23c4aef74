-- One pending notification set aside for good. ? now, ? the reason, ? its seq.
UPDATE notifications SET status = 'quarantined', consumed_at = ?, reason = ?
WHERE seq = ? AND status = 'pending'
