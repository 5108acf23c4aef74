-- The newest high-water mark of an earlier run that makes [first_day, last_day] complete up to it:
-- its window started no later, and ended no earlier or ran through its mark's day (no record of a
-- later day can be older than the mark). Rows written before runs recorded their mode hold the
-- newest updated_at staged, not a safe mark, and are ignored.
-- $1 entity, $2 first_day, $3 last_day, $4 workspace timezone
SELECT max(high_water_mark) FROM staging.extract_runs
WHERE entity = $1 AND mode IS NOT NULL AND high_water_mark IS NOT NULL
  AND first_day <= $2
  AND (last_day >= $3 OR last_day >= (high_water_mark AT TIME ZONE $4)::DATE)
