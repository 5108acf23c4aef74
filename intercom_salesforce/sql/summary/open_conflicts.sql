-- Fields left alone because Salesforce owns them and they differ, not yet resolved.
SELECT count(*) FROM sync.sync_conflicts WHERE resolved_at IS NULL
