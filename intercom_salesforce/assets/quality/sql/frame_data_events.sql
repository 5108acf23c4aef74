-- The window's data events with what the rules read. $1 first day, $2 last day.
SELECT e.id, e.partition_date, e.event_name, e.intercom_user_id,
       epoch(e.updated_at)::BIGINT AS updated_epoch
FROM staging.intercom_data_events e
WHERE e.partition_date BETWEEN $1 AND $2
