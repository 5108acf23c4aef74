-- One row per changed record, in CSV shape: the key, each field's changed value (NULL: unchanged,
-- an empty cell; '#N/A': cleared), and ext (the Intercom id the row stands for).
-- {key} the key column, {changes} and {pending} the batch's relations, {fields} the quoted
-- field names listed as strings, {clear} the clear marker.
SELECT k._key AS {key}, pv.* EXCLUDE (ext), pv.ext FROM (
    PIVOT (SELECT ext, field, coalesce(value, {clear}) AS v FROM {changes})
    ON field IN ({fields}) USING first(v) GROUP BY ext) pv
JOIN (SELECT ext, _key FROM {pending}) k ON k.ext = pv.ext
