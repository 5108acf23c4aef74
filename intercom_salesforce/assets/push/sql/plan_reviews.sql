-- Records of the object in the mapped relation ({mapped}) that review holds back: to be created
-- as it, or matched to one of its records by an update rule, and either carrying a value the org
-- refuses (_needs_review) or waiting in the review queue. The detail names the queue's rules.
-- {plan} the plan's temp table. $1 sObject, $2 the update rules, $3 the review entity,
-- $4 the blocking statuses, $5 the rule that never blocks.
INSERT INTO {plan}
SELECT $1, m._intercom_id, CASE WHEN m._sf_object = $1 THEN m._sf_id END, 'review', NULL,
       coalesce(q.rules, 'mapping_unmapped_value')
FROM {mapped} m
LEFT JOIN (SELECT record_id, string_agg(DISTINCT rule, ', ' ORDER BY rule) AS rules
           FROM quality.review_queue
           WHERE entity = $3 AND list_contains($4::VARCHAR[], status) AND rule <> $5
           GROUP BY record_id) q ON q.record_id = m._intercom_id
WHERE (m._create_as = $1 OR (m._sf_object = $1 AND list_contains($2::VARCHAR[], m._rule)))
  AND (m._needs_review OR q.record_id IS NOT NULL)
