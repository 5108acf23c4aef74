-- Open conflicts of the matched records ({matched}) that this run no longer sees ({conflicts})
-- are resolved: the two sides agree again. $1 sObject.
UPDATE sync.sync_conflicts c SET resolved_at = now()
WHERE c.sobject = $1 AND c.resolved_at IS NULL
  AND c.external_id IN (SELECT _intercom_id FROM {matched})
  AND NOT EXISTS (SELECT 1 FROM {conflicts} n
                  WHERE n.ext = c.external_id AND n.field = c.field)
