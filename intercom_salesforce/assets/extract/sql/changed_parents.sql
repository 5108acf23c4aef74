-- Parents (current versions in the window's days) whose children were never read at this
-- updated_at (or were read for fewer wanted values than asked for now); all of them on a full
-- refresh. Each comes with whether a consumer could use its children (``needed``, see
-- ``consumers.events_needed_sql``). The view, tables and checks are filled from the entity table
-- and the mapping. $1 first day, $2 last day, $3 full refresh, $4 the values wanted.
SELECT p.id, p.updated_at, {needed_check} AS needed FROM {parent_view} p
WHERE p.partition_date BETWEEN $1 AND $2
  AND ($3 OR NOT EXISTS (SELECT 1 FROM {coverage} v
       WHERE v.{parent_column} = p.id AND v.updated_at = p.updated_at AND {wanted_check}))
