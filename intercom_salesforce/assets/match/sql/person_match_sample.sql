-- A few of the window's decided or ambiguous person matches, for the asset's metadata.
-- $1 first day, $2 last day, $3 the rules worth a look (people.SAMPLE_RULES).
SELECT intercom_contact_id, rule, sf_object, sf_id, candidates::VARCHAR
FROM match.person_matches
WHERE partition_date BETWEEN $1 AND $2
  AND list_contains($3, rule)
ORDER BY rule, 1
LIMIT 10
