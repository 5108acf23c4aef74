-- This run's conflicts ({conflicts}) not already open. $1 sObject.
SELECT count(*) FROM {conflicts} n WHERE NOT EXISTS (
    SELECT 1 FROM sync.sync_conflicts c WHERE c.sobject = $1 AND c.external_id = n.ext
    AND c.field = n.field AND c.resolved_at IS NULL)
