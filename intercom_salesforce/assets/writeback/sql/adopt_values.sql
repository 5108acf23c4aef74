-- Values Intercom already holds become what was last written, without a call. $1 now, $2 run id.
INSERT OR REPLACE INTO sync.intercom_field_state
SELECT model, intercom_id, attribute, value, $1, updated_at, $2
FROM _writeback_decided WHERE action = 'adopt'
