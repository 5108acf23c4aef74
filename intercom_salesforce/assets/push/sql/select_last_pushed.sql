-- Per matched record ({matched}), each field's last pushed value (`<field>_v`, a pushed NULL as
-- {pushed_null}) and when (`<field>_at`). {fields}: the field names as strings. $1 sObject.
SELECT * FROM (
    PIVOT (SELECT external_id, field, coalesce(value, {pushed_null}) AS value, pushed_at
           FROM sync.field_state WHERE sobject = $1 AND field IN ({fields})
             AND external_id IN (SELECT _intercom_id FROM {matched}))
    ON field IN ({fields}) USING first(value) AS v, max(pushed_at) AS at
    GROUP BY external_id)
