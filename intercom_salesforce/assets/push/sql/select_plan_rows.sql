-- One object's plan as text, one line per record and action, creates and updates first: the
-- changed fields as "field: old -> new" (empty: none; a cleared value shows as empty).
-- $1 run id, $2 sObject.
SELECT action, external_id, sf_id,
       array_to_string(list_transform(changes, lambda c: c.field || ': ' || coalesce(c.old_value, '')
                                              || ' → ' || coalesce(c.new_value, '')), '; ')
           AS fields,
       detail
FROM sync.plans
WHERE run_id = $1 AND sobject = $2
ORDER BY list_position(['create', 'update', 'conflict', 'review', 'waiting', 'unchanged'], action),
         external_id
