-- The window's person matches, about to be decided again. $1 first day, $2 last day.
DELETE FROM match.person_matches WHERE partition_date BETWEEN $1 AND $2
