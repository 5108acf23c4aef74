-- Parents (current versions in the window's days) whose children were never read at this
-- updated_at (or, with {wanted_check}, were read for fewer wanted values than asked for now); all of
-- them on a full refresh. {parent_view}, {coverage}, {parent_column} and {wanted_check} are filled
-- from the entity table. $1 first day, $2 last day, $3 full refresh, $4 the values wanted.
SELECT p.id, p.updated_at FROM {parent_view} p
WHERE p.partition_date BETWEEN $1 AND $2
  AND ($3 OR NOT EXISTS (SELECT 1 FROM {coverage} v
       WHERE v.{parent_column} = p.id AND v.updated_at = p.updated_at AND {wanted_check}))
ORDER BY p.id
