-- The window's people several Salesforce records match, as _ambiguous_people for the review queue.
-- $1 first day, $2 last day.
CREATE OR REPLACE TEMP TABLE _ambiguous_people AS
SELECT intercom_contact_id AS record_id, partition_date, email_normalized AS value, candidates
FROM match.person_matches
WHERE partition_date BETWEEN $1 AND $2 AND rule = 'ambiguous'
