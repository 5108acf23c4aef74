-- Match the window's Intercom people to Salesforce Contacts and Leads.
-- A person chosen in review (match.manual_matches, `intercom-salesforce review merge`) takes that
-- record, rule manual, ahead of every rule below; once our external id on that record (stamped by
-- the push) points to it alone, the rule reads external_id again, the same record either way.
-- Then, in order: our external id on Contact/Lead (Intercom_Contact_Id__c), Intercom's external_id
-- in Intercom_User_Id__c, then normalized email (trimmed, lower-cased); under each rule Contacts are
-- preferred over Leads. A converted Lead resolves to its ConvertedContactId. Several distinct
-- candidates under the deciding rule make the match ambiguous: nothing is written for it.
-- The Account: the match of the person's first company, else (when $4) the Account whose website
-- domain is the person's email domain, never a free-mail one (temp table _free_mail).
-- $1 first partition day, $2 last partition day, $3 run id, $4 match accounts by email domain.
WITH people AS (
    SELECT id, partition_date, external_id, nullif(lower(trim(email)), '') AS email_norm,
           from_json(companies, '["VARCHAR"]')[1] AS first_company
    FROM staging.intercom_contacts_current
    WHERE partition_date BETWEEN $1 AND $2
),
lead_target AS (   -- where a Lead points: itself, or the Contact it was converted into
    SELECT "Id", lower(trim("Email")) AS email_norm, "Intercom_Contact_Id__c" AS ext,
           "Intercom_User_Id__c" AS user_id,
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
by_user_id AS (
    SELECT p.id,
           coalesce(list(DISTINCT 'Contact:' || c."Id" ORDER BY 'Contact:' || c."Id")
                        FILTER (WHERE c."Id" IS NOT NULL),
                    list(DISTINCT l.target ORDER BY l.target)) AS candidates
    FROM people p
    LEFT JOIN mirror.salesforce_contacts c ON c."Intercom_User_Id__c" = p.external_id
    LEFT JOIN lead_target l ON l.user_id = p.external_id
    WHERE p.external_id IS NOT NULL AND (c."Id" IS NOT NULL OR l."Id" IS NOT NULL)
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
manual AS (   -- the record a person chose in review; a Lead converted since, to its Contact
    SELECT m.intercom_contact_id AS id,
           coalesce(t.target, m.sf_object || ':' || m.sf_id) AS target
    FROM match.manual_matches m
    LEFT JOIN lead_target t ON m.sf_object = 'Lead' AND t."Id" = m.sf_id
),
decided AS (
    SELECT p.id, p.partition_date,
           CASE WHEN m.target IS NOT NULL
                     AND x.candidates IS DISTINCT FROM [m.target] THEN 'manual'
                WHEN x.candidates IS NOT NULL THEN 'external_id'
                WHEN u.candidates IS NOT NULL THEN 'user_id'
                WHEN p.email_norm IS NULL THEN 'no_email'
                WHEN c.candidates IS NOT NULL OR l.candidates IS NOT NULL THEN 'email'
                ELSE 'none' END AS rule,
           CASE WHEN m.target IS NOT NULL THEN [m.target]
                ELSE coalesce(x.candidates, u.candidates, c.candidates, l.candidates)
                END AS candidates,
           p.first_company, p.email_norm
    FROM people p
    LEFT JOIN manual m USING (id)
    LEFT JOIN by_external_id x USING (id)
    LEFT JOIN by_user_id u USING (id)
    LEFT JOIN by_contact_email c USING (id)
    LEFT JOIN by_lead_email l USING (id)
),
company_account AS (   -- the newest match of each company, else the Account we created for it
    SELECT coalesce(m.intercom_company_id, c.external_id) AS intercom_company_id,
           coalesce(m.account_id, c.sf_id) AS account_id
    FROM (SELECT intercom_company_id, arg_max(sf_account_id, partition_date) AS account_id
          FROM match.company_matches GROUP BY 1) m
    FULL JOIN (SELECT external_id, sf_id FROM sync.sync_state WHERE sobject = 'Account') c
           ON c.external_id = m.intercom_company_id
),
domain_account AS (     -- accounts by website domain, unambiguous ones only
    SELECT normalize_domain("Website") AS domain, min("Id") AS account_id
    FROM mirror.salesforce_accounts
    WHERE normalize_domain("Website") IS NOT NULL
    GROUP BY 1 HAVING count(*) = 1
)
SELECT d.id AS intercom_contact_id, d.partition_date, d.email_norm AS email_normalized,
       CASE WHEN len(d.candidates) = 1 THEN split_part(d.candidates[1], ':', 1) END AS sf_object,
       CASE WHEN len(d.candidates) = 1 THEN split_part(d.candidates[1], ':', 2) END AS sf_id,
       CASE WHEN len(d.candidates) > 1 THEN 'ambiguous' ELSE d.rule END AS rule,
       d.candidates,
       now() AS matched_at,
       $3 AS run_id,
       coalesce(ca.account_id, da.account_id) AS account_id,
       CASE WHEN ca.account_id IS NOT NULL THEN 'company'
            WHEN da.account_id IS NOT NULL THEN 'email_domain' ELSE 'none' END AS account_rule
FROM decided d
LEFT JOIN company_account ca ON ca.intercom_company_id = d.first_company
LEFT JOIN domain_account da
       ON $4 AND da.domain = split_part(d.email_norm, '@', 2)
      AND da.domain NOT IN (SELECT domain FROM _free_mail)
