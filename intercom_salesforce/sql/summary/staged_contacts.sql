-- Contacts staged from Intercom over the run's days ($1 first, $2 last).
SELECT count(*) FROM staging.intercom_contacts WHERE partition_date BETWEEN $1 AND $2
