-- The first layout had no seq, status or reason: its table is set aside before the new one is
-- created.
ALTER TABLE notifications RENAME TO notifications_v1
