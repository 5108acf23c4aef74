-- Open write-back conflicts of cells this run decided without a conflict: the sides agree again.
UPDATE sync.sync_conflicts c SET resolved_at = now()
WHERE c.direction = 'to_intercom' AND c.resolved_at IS NULL
  AND EXISTS (SELECT 1 FROM _writeback_decided d
              WHERE 'intercom_' || d.model = c.sobject AND d.intercom_id = c.external_id
                AND d.attribute = c.field AND NOT d.conflict)
