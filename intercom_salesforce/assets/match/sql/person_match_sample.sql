-- A few of the window's decided or ambiguous person matches, for the asset's metadata.
-- $1 first day, $2 last day.
SELECT intercom_contact_id, rule, sf_object, sf_id, candidates::VARCHAR
FROM match.person_matches
WHERE partition_date BETWEEN $1 AND $2
  AND rule IN ('ambiguous', 'email', 'external_id', 'manual')
ORDER BY rule, 1
LIMIT 10
