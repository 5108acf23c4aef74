-- A few of the window's company matches, for the asset's metadata. $1 first day, $2 last day.
SELECT intercom_company_id, rule, domain, sf_account_id, candidates::VARCHAR
FROM match.company_matches
WHERE partition_date BETWEEN $1 AND $2
ORDER BY rule, 1
LIMIT 10
