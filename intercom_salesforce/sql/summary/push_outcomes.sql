-- What the run did per Salesforce object: (sobject, outcome, records) for run $1, each record
-- counted once, by its last outcome (a record retried three times is one record).
SELECT sobject, outcome, count(*)
FROM (SELECT sobject, external_id, arg_max(outcome, recorded_at) AS outcome
      FROM sync.sync_results
      WHERE run_id = $1
      GROUP BY 1, 2)
GROUP BY 1, 2
