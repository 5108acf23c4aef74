-- One row per changed record, in CSV shape: the key, each field's changed value (NULL: unchanged,
-- an empty cell; '#N/A': cleared), and ext (the Intercom id the row stands for).
-- A record with no field state for the sObject has never been pushed: its changes are exactly
-- its non-empty cells, so its row is its pending row as text, with no PIVOT of its cells (at a
-- first sync, every record: a million Leads' eight million cells). The others are pivoted from
-- their changes.
-- {key} the key column, {changes} and {pending} the batch's relations, {fields} the quoted
-- field names listed as strings, {casts} each field as text, {any_value} whether any field has
-- a value, {clear} the clear marker. $1 sObject.
WITH pushed AS (
    SELECT DISTINCT external_id AS ext FROM sync.field_state
    WHERE sobject = $1 AND external_id IN (SELECT ext FROM {pending})
)
SELECT k._key AS {key}, pv.* EXCLUDE (ext), pv.ext FROM (
    PIVOT (SELECT ext, field, coalesce(value, {clear}) AS v FROM {changes}
           WHERE ext IN (SELECT ext FROM pushed))
    ON field IN ({fields}) USING first(v) GROUP BY ext) pv
JOIN (SELECT ext, _key FROM {pending}) k ON k.ext = pv.ext
UNION ALL BY NAME
SELECT _key AS {key}, {casts}, ext FROM {pending}
WHERE ext NOT IN (SELECT ext FROM pushed) AND ({any_value})
