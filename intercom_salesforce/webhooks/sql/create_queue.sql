-- The queue file's tables (SQLite): one row per notification id, kept after it is consumed so a
-- late redelivery is still recognised; queue_meta holds the file's random instance id.
CREATE TABLE IF NOT EXISTS notifications (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    topic       TEXT NOT NULL,
    item_type   TEXT,
    item_id     TEXT,
    updated_at  INTEGER,
    received_at REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'consumed', 'quarantined')),
    consumed_at REAL,
    reason      TEXT,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_by_status ON notifications (status, seq);
CREATE TABLE IF NOT EXISTS queue_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
