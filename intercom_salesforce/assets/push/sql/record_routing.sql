-- The routing rule (with the owner {owner} and record type {record_type} it set) of each record
-- of {mapped} this run created. $1 sObject, $2 run id.
INSERT OR REPLACE INTO sync.routing_decisions
SELECT $1, _intercom_id, _routing_rule, {owner}, {record_type}, now(), $2
FROM {mapped}
WHERE _routing_rule IS NOT NULL AND _intercom_id IN (
    SELECT external_id FROM sync.sync_results
    WHERE run_id = $2 AND sobject = $1 AND outcome = 'created')
