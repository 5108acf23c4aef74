-- The window's companies with what the rules read. $1 first day, $2 last day.
SELECT id, partition_date, company_id, name, website, length(name) AS name_length,
       epoch(updated_at)::BIGINT AS updated_epoch
FROM staging.intercom_companies
WHERE partition_date BETWEEN $1 AND $2
