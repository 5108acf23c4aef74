-- One extraction run in the ledger: the instant up to which its window is complete, and its cost.
INSERT INTO staging.extract_runs (entity, first_day, last_day, started_at, finished_at,
    high_water_mark, rows_staged, api_calls, run_id, mode)
VALUES ($entity, $first_day, $last_day, $started_at, now(), $high_water_mark, $rows_staged,
    $api_calls, $run_id, $mode)
