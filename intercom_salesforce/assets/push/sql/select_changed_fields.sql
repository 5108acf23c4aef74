-- The fields of a batch's cells (ext, field, value) that differ from what was last pushed.
-- A field never pushed is a change when it has a value; a field that became empty is a change
-- only when it may be cleared (every field, or one of the listed ones).
-- {cells}: the cells relation. $1 sObject, $2 every field clears, $3 the clearable fields.
SELECT c.ext, c.field, c.value
FROM {cells} c
LEFT JOIN sync.field_state s
  ON s.sobject = $1 AND s.external_id = c.ext AND s.field = c.field
WHERE (s.field IS NULL AND c.value IS NOT NULL)
   OR (s.field IS NOT NULL AND c.value IS DISTINCT FROM s.value
       AND (c.value IS NOT NULL OR $2 OR list_contains($3::VARCHAR[], c.field)))
