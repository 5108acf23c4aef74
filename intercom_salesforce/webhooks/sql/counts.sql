-- Notifications per status.
SELECT status, count(*) FROM notifications GROUP BY status
