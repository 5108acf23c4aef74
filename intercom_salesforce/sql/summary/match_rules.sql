-- How the run's people matched: (rule, count) for run $1.
SELECT rule, count(*) FROM match.person_matches WHERE run_id = $1 GROUP BY 1
