-- The matched records of {mapped} (WHERE {where}). An Intercom updated_at our own write-back left
-- (not later than its newest write to the record, within the clock's second) is no Intercom
-- change: it is taken back to the record's updated_at before that write, so a `newest` field
-- never reads our write as a person's edit.
SELECT m.* REPLACE (
    CASE WHEN w.written_at IS NOT NULL
              AND m._intercom_updated_at <= w.written_at + INTERVAL 2 SECOND
         THEN least(m._intercom_updated_at, coalesce(w.updated_before, m._intercom_updated_at))
         ELSE m._intercom_updated_at END AS _intercom_updated_at)
FROM {mapped} m
LEFT JOIN (
    SELECT intercom_id, max(recorded_at) AS written_at,
           arg_max(updated_before, recorded_at) AS updated_before
    FROM sync.intercom_write_results
    WHERE model = 'contact' AND status = 'written'
    GROUP BY 1
) w ON w.intercom_id = m._intercom_id::VARCHAR
WHERE {where}
