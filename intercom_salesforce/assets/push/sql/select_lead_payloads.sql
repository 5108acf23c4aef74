-- Lead payloads for people in the window who have no Salesforce record yet (rule 'none') or whose
-- record is a Lead carrying our external id, and who are not waiting in (or dismissed from) the
-- review queue. Column order here is the CSV's column order.
-- $1 first day, $2 last day, $3 Company default, $4 LeadSource, $5 push people without email.
SELECT
    c.id AS "Intercom_Contact_Id__c",
    c.external_id AS "Intercom_User_Id__c",
    left(nullif(regexp_extract(trim(c.name), '^(.*\S)\s+\S+$', 1), ''), 40) AS "FirstName",
    left(coalesce(nullif(regexp_extract(trim(c.name), '(\S+)$', 1), ''),
                  nullif(split_part(lower(trim(c.email)), '@', 1), ''),
                  '[not provided]'), 80) AS "LastName",
    nullif(lower(trim(c.email)), '') AS "Email",
    left(c.phone, 40) AS "Phone",
    $3 AS "Company",
    $4 AS "LeadSource",
    c.role AS "Intercom_Role__c",
    sync.sf_datetime(c.last_seen_at) AS "Intercom_Last_Seen__c"
FROM match.person_matches m
JOIN staging.intercom_contacts_current c ON c.id = m.intercom_contact_id
WHERE m.partition_date BETWEEN $1 AND $2
  AND (m.rule = 'none'
       OR (m.rule = 'external_id' AND m.sf_object = 'Lead')
       OR (m.rule = 'no_email' AND $5))
  AND NOT EXISTS (SELECT 1 FROM quality.review_queue q
                  WHERE q.entity = 'intercom_contacts' AND q.record_id = c.id
                    AND q.status IN ('open', 'dismissed'))
