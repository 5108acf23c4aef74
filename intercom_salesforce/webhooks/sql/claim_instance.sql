-- The file's instance id, made once with it. ? a new random id.
INSERT OR IGNORE INTO queue_meta VALUES ('instance', ?)
