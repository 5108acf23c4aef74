-- The window's conversation parts, each with whether its conversation was staged.
-- $1 first day, $2 last day.
SELECT p.id, p.partition_date, p.conversation_id,
       epoch(p.updated_at)::BIGINT AS updated_epoch,
       (c.id IS NOT NULL) AS known_conversation
FROM staging.intercom_conversation_parts p
LEFT JOIN (SELECT DISTINCT id FROM staging.intercom_conversations) c
       ON c.id = p.conversation_id
WHERE p.partition_date BETWEEN $1 AND $2
