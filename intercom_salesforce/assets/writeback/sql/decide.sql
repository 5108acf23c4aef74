-- Each cell's action, per attribute or tag, against what was last written (L, from
-- sync.intercom_field_state), Intercom's current value (I) and Salesforce's (S, the cell's value).
--
-- * I is staging's value only when staged after our last write to the record; an older staged
--   version predates the write, so I is what we wrote (our own write is no Intercom edit).
-- * S is no Salesforce change when it is what the push itself sent to that field
--   (sync.field_state): Intercom's own value coming back through the mirror.
-- * An attribute whose S changed is written when its policy says so: salesforce always,
--   fill_blank when I is blank, intercom only before the first write and when I is blank,
--   newest when Intercom did not change too (before any write: I is blank) or Salesforce's
--   record is the newer one. Writing what
--   Intercom already holds is no call: the value is adopted as written.
-- * Changed on both sides, to different values: a conflict (kept whatever the policy decides).
-- * A tag is attached while its milestone holds and was not attached by us; detached once it no
--   longer holds if remove_when_false.
-- Records held in the review queue (a rejected write) are left alone.
CREATE OR REPLACE TEMP TABLE _writeback_decided AS
WITH joined AS (
    SELECT c.*, s.kind, s.data_type, s.policy, s.clear_when_null, s.remove_when_false, s.tag,
           f.value AS last_value, f.attribute IS NOT NULL AS has_last,
           f.intercom_updated_at AS last_updated_at,
           fs.value AS pushed_value
    FROM _writeback_cells c
    JOIN _writeback_settings s ON s.model = c.model AND s.attribute = c.attribute
    LEFT JOIN sync.intercom_field_state f
      ON f.model = c.model AND f.intercom_id = c.intercom_id AND f.attribute = c.attribute
    LEFT JOIN sync.field_state fs
      ON fs.sobject = c.echo_object AND fs.external_id = c.intercom_id AND fs.field = c.echo_field
    WHERE NOT EXISTS (
        SELECT 1 FROM quality.review_queue q
        WHERE q.entity = 'intercom_' || c.model || 's_writeback' AND q.record_id = c.intercom_id
          AND q.rule = 'intercom_rejected' AND q.status IN ('open', 'dismissed'))
),
known AS (
    SELECT *,
           CASE WHEN has_last AND last_updated_at IS NOT NULL AND updated_at <= last_updated_at
                THEN last_value ELSE intercom_value END AS ic_now,
           coalesce(pushed_value IS NOT NULL AND sync.sf_same(echo_value, pushed_value), FALSE)
               AS ours_in_salesforce
    FROM joined
),
changes AS (
    SELECT *,
           NOT ours_in_salesforce AND CASE WHEN has_last THEN NOT sync.sf_same(value, last_value)
                                           ELSE value IS NOT NULL END AS sf_changed,
           has_last AND NOT sync.sf_same(ic_now, last_value) AS ic_changed,
           coalesce(ic_now, '') = '' AS ic_blank,
           sync.sf_same(value, ic_now) AS agrees
    FROM known
),
decided AS (
    SELECT *,
           kind = 'attribute' AND has_last AND sf_changed AND ic_changed AND NOT agrees
               AS conflict,
           CASE
               WHEN kind = 'tag' AND value = 'true' AND coalesce(last_value, '') <> 'true'
                   THEN 'attach'
               WHEN kind = 'tag' AND value = 'false' AND last_value = 'true' AND remove_when_false
                   THEN 'detach'
               WHEN kind = 'tag' THEN 'keep'
               WHEN NOT sf_changed OR (value IS NULL AND NOT clear_when_null) THEN 'keep'
               WHEN agrees THEN 'adopt'
               WHEN CASE policy
                        WHEN 'salesforce' THEN TRUE
                        WHEN 'fill_blank' THEN ic_blank
                        WHEN 'intercom' THEN NOT has_last AND ic_blank
                        -- newest: Intercom unchanged since our write (before any write:
                        -- blank), or Salesforce's record is the newer one
                        ELSE (CASE WHEN has_last THEN NOT ic_changed ELSE ic_blank END)
                             OR coalesce(sf_modified_at > updated_at, FALSE) END
                   THEN 'write'
               ELSE 'keep' END AS action
    FROM changes
)
SELECT model, intercom_id, write_id, sf_object, sf_id, updated_at, sf_modified_at, attribute,
       kind, data_type, policy, tag, value, ic_now, last_value, has_last, conflict, action
FROM decided
