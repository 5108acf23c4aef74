-- The records a check looked at, as _rechecked(record_id).
-- Needs the registered frame _checked_ids(record_id).
CREATE OR REPLACE TEMP TABLE _rechecked AS SELECT DISTINCT record_id FROM _checked_ids
