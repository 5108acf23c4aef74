-- Every company of the window, as _rechecked(record_id): checked again for ambiguity.
-- $1 first day, $2 last day.
CREATE OR REPLACE TEMP TABLE _rechecked AS
SELECT DISTINCT intercom_company_id AS record_id
FROM match.company_matches
WHERE partition_date BETWEEN $1 AND $2
