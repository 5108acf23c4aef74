-- The records of one job worth sending again: a transient error, or left unprocessed.
-- $1 the transient error codes.
SELECT ext FROM {failed} WHERE list_contains($1::VARCHAR[], split_part("sf__Error", ':', 1))
UNION SELECT ext FROM {unprocessed}
