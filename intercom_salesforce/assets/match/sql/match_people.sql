-- Match the window's Intercom people to Salesforce Contacts and Leads.
-- Rules in order: our external id on Contact/Lead, then normalized email (trimmed, lower-cased)
-- preferring Contacts over Leads. A converted Lead resolves to its ConvertedContactId. Several
-- distinct candidates under the deciding rule make the match ambiguous: nothing is written for it.
-- $1 first partition day, $2 last partition day, $3 run id.
WITH people AS (
    SELECT id, partition_date, nullif(lower(trim(email)), '') AS email_norm
    FROM staging.intercom_contacts_current
    WHERE partition_date BETWEEN $1 AND $2
),
lead_target AS (   -- where a Lead points: itself, or the Contact it was converted into
    SELECT "Id", lower(trim("Email")) AS email_norm, "Intercom_Contact_Id__c" AS ext,
           CASE WHEN "IsConverted" AND "ConvertedContactId" IS NOT NULL
                THEN 'Contact:' || "ConvertedContactId" ELSE 'Lead:' || "Id" END AS target
    FROM mirror.salesforce_leads
),
by_external_id AS (
    SELECT p.id, list(DISTINCT t.target ORDER BY t.target) AS candidates
    FROM people p
    JOIN (SELECT "Intercom_Contact_Id__c" AS ext, 'Contact:' || "Id" AS target
          FROM mirror.salesforce_contacts
          UNION ALL SELECT ext, target FROM lead_target) t ON t.ext = p.id
    GROUP BY p.id
),
by_contact_email AS (
    SELECT p.id, list(DISTINCT 'Contact:' || c."Id" ORDER BY 'Contact:' || c."Id") AS candidates
    FROM people p JOIN mirror.salesforce_contacts c ON lower(trim(c."Email")) = p.email_norm
    GROUP BY p.id
),
by_lead_email AS (
    SELECT p.id, list(DISTINCT l.target ORDER BY l.target) AS candidates
    FROM people p JOIN lead_target l ON l.email_norm = p.email_norm
    GROUP BY p.id
),
decided AS (
    SELECT p.id, p.partition_date, p.email_norm,
           CASE WHEN x.candidates IS NOT NULL THEN 'external_id'
                WHEN p.email_norm IS NULL THEN 'no_email'
                WHEN c.candidates IS NOT NULL OR l.candidates IS NOT NULL THEN 'email'
                ELSE 'none' END AS rule,
           coalesce(x.candidates, c.candidates, l.candidates) AS candidates
    FROM people p
    LEFT JOIN by_external_id x USING (id)
    LEFT JOIN by_contact_email c USING (id)
    LEFT JOIN by_lead_email l USING (id)
)
SELECT id AS intercom_contact_id, partition_date, email_norm AS email_normalized,
       CASE WHEN len(candidates) = 1 THEN split_part(candidates[1], ':', 1) END AS sf_object,
       CASE WHEN len(candidates) = 1 THEN split_part(candidates[1], ':', 2) END AS sf_id,
       CASE WHEN len(candidates) > 1 THEN 'ambiguous' ELSE rule END AS rule,
       candidates,
       now() AS matched_at,
       $3 AS run_id
FROM decided
