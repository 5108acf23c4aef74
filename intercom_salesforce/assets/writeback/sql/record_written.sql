-- The cells a successful call wrote (_writeback_done: model, intercom_id, attribute, updated_at)
-- become what was last written. $1 now, $2 run id.
INSERT OR REPLACE INTO sync.intercom_field_state
SELECT d.model, d.intercom_id, d.attribute,
       CASE WHEN d.kind = 'tag' THEN CASE d.action WHEN 'attach' THEN 'true' ELSE 'false' END
            ELSE d.value END,
       $1, coalesce(w.updated_at, d.updated_at), $2
FROM _writeback_decided d
JOIN _writeback_done w
  ON w.model = d.model AND w.intercom_id = d.intercom_id AND w.attribute = d.attribute
