-- The window's companies several Accounts match, as _ambiguous_companies for the review queue.
-- $1 first day, $2 last day.
CREATE OR REPLACE TEMP TABLE _ambiguous_companies AS
SELECT intercom_company_id AS record_id, partition_date, domain AS value, candidates
FROM match.company_matches
WHERE partition_date BETWEEN $1 AND $2 AND rule = 'ambiguous'
