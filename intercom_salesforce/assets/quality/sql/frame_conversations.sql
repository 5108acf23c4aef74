-- The window's conversations with what the rules read. $1 first day, $2 last day.
SELECT id, partition_date, state, json_array_length(contact_ids) AS contacts,
       epoch(updated_at)::BIGINT AS updated_epoch
FROM staging.intercom_conversations
WHERE partition_date BETWEEN $1 AND $2
