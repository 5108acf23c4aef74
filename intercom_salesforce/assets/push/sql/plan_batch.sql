-- The plan of one diffed batch: each pending record ({pending}) is created, updated (with its
-- changed fields from {changes}: the value before, {old}, and the value sent, NULL when cleared)
-- or left unchanged. A record is an update when its Salesforce Id is known: the batch's key is
-- the Id ({key_id}), or an earlier push kept it in sync.sync_state (an upsert by external id of
-- a record that exists updates it).
-- {mirror_join} joins the object's mirror as sf (or nothing); $1 sObject.
INSERT INTO {plan}
WITH rec AS (
    SELECT p.ext, coalesce({key_id}, st.sf_id) AS sf_id
    FROM {pending} p
    LEFT JOIN sync.sync_state st ON st.sobject = $1 AND st.external_id = p.ext
), cells AS (
    SELECT c.ext,
           list(struct_pack(field := c.field, old_value := {old}, new_value := c.value)
                ORDER BY c.field) AS changes
    FROM {changes} c
    JOIN rec r ON r.ext = c.ext
    {mirror_join}
    LEFT JOIN sync.field_state fs
           ON fs.sobject = $1 AND fs.external_id = c.ext AND fs.field = c.field
    GROUP BY c.ext
)
SELECT $1, r.ext, r.sf_id,
       CASE WHEN c.ext IS NULL THEN 'unchanged' WHEN r.sf_id IS NOT NULL THEN 'update'
            ELSE 'create' END,
       c.changes, NULL
FROM rec r LEFT JOIN cells c ON c.ext = r.ext
