-- Per-record outcomes of one Bulk job from its three result files ({ok}, {failed},
-- {unprocessed}, each with an `ext` column). The payload kept for a failed or unprocessed record
-- is what was sent (from {send}), so it can be inspected and retried.
-- $1 job id, $2 sObject, $3 run id.
INSERT INTO sync.sync_results
SELECT $1, $2, ext, sf_id, outcome, error_code, error, payload, now(), $3 FROM (
    SELECT ok.ext, ok."sf__Id" AS sf_id,
           CASE WHEN lower(ok."sf__Created") = 'true' THEN 'created' ELSE 'updated' END AS outcome,
           NULL AS error_code, NULL AS error, NULL::JSON AS payload
    FROM {ok} ok
    UNION ALL
    SELECT f.ext, nullif(f."sf__Id", ''), 'failed',
           split_part(f."sf__Error", ':', 1), f."sf__Error", to_json(s)
    FROM {failed} f LEFT JOIN {send} s ON s.ext = f.ext
    UNION ALL
    SELECT u.ext, NULL, 'unprocessed', NULL, NULL, to_json(s)
    FROM {unprocessed} u LEFT JOIN {send} s ON s.ext = u.ext
)
