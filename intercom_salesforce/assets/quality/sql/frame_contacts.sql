-- The window's contacts with what the rules read, derived as Salesforce will see it: the
-- normalized email, the LastName we would send. $1 first day, $2 last day.
SELECT id, partition_date, role, external_id,
       epoch(updated_at)::BIGINT AS updated_epoch,
       nullif(lower(trim(email)), '') AS email_normalized,
       length(nullif(lower(trim(email)), '')) AS email_length,
       phone, length(phone) AS phone_length,
       coalesce(nullif(regexp_extract(trim(name), '(\S+)$', 1), ''),
                nullif(split_part(lower(trim(email)), '@', 1), '')) AS last_name,
       custom_attributes->>'plan' AS plan, invalid_timestamps::VARCHAR AS invalid_timestamps
FROM staging.intercom_contacts
WHERE partition_date BETWEEN $1 AND $2
