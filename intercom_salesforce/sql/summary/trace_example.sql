-- A person worth tracing after run $1: one it updated or created in Salesforce, preferring a
-- record matched by email and routed by a rule (the richest story).
SELECT r.external_id
FROM sync.sync_results r
LEFT JOIN match.person_matches m ON m.intercom_contact_id = r.external_id
LEFT JOIN sync.routing_decisions d ON d.external_id = r.external_id AND d.sobject = r.sobject
WHERE r.run_id = $1 AND r.outcome IN ('updated', 'created') AND r.sobject IN ('Lead', 'Contact')
ORDER BY (m.rule = 'email') DESC NULLS LAST, (d.rule IS NOT NULL) DESC, r.external_id
LIMIT 1
