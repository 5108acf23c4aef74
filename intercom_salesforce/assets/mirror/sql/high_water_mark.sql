-- An object's high-water mark and the mapped fields it was read with. $1 object name.
SELECT system_modstamp, coalesce(fields, '') FROM mirror.high_water_marks WHERE sobject = $1
