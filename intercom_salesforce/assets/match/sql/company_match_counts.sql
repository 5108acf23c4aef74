-- The window's company matches per rule. $1 first day, $2 last day.
SELECT rule, count(*) FROM match.company_matches
WHERE partition_date BETWEEN $1 AND $2
GROUP BY 1
