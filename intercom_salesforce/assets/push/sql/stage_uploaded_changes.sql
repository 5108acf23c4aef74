-- The changed fields of an uploaded batch ({send}): every non-empty cell but the key.
SELECT ext, field, CASE WHEN value = {clear} THEN NULL ELSE value END AS value
FROM (UNPIVOT (SELECT * EXCLUDE ({key}) FROM {send})
      ON COLUMNS(* EXCLUDE (ext)) INTO NAME field VALUE value)
