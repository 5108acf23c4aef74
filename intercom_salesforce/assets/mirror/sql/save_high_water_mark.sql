-- An object's new high-water mark. $1 object, $2 largest SystemModstamp read, $3 when the read
-- started, $4 the mapped fields read (comma-separated).
INSERT OR REPLACE INTO mirror.high_water_marks VALUES ($1, $2, $3, $4)
