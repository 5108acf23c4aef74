-- A few records of each action of one object's plan, as Markdown-safe cells (no pipes, no line
-- breaks; values cut to 40 characters, the fields cell to 160). $1 run id, $2 sObject,
-- $3 rows per action.
SELECT action, external_id, coalesce(sf_id, ''),
       CASE WHEN length(f) > 160 THEN left(f, 159) || '…' ELSE f END,
       coalesce(detail, '').regexp_replace('[|\r\n]', ' ', 'g')
FROM (SELECT *, array_to_string(list_transform(changes, lambda c: c.field || ': '
          || left(coalesce(c.old_value, ''), 40) || ' → ' || left(coalesce(c.new_value, ''), 40)),
          '; ').regexp_replace('[|\r\n]', ' ', 'g') AS f
      FROM sync.plans)
WHERE run_id = $1 AND sobject = $2
QUALIFY row_number() OVER (PARTITION BY action ORDER BY external_id) <= $3
ORDER BY list_position(['create', 'update', 'conflict', 'review', 'waiting', 'unchanged'], action),
         external_id
