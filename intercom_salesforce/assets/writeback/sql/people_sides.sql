-- One row per Intercom contact that is a Salesforce person, with every side of it as JSON (the
-- mirrored row, its mirrored `_values` merged in): the mapping's to_intercom paths read these.
-- The person is the record stamped with the contact's Intercom id, else its newest match; a
-- converted Lead's Contact is the person's Contact; its owner is a User or a queue. The Account is the Contact's (a Lead has
-- none in Salesforce, whatever Account matching would create it under). $1 the org's instance URL.
CREATE OR REPLACE TEMP TABLE _writeback_people AS
WITH matched AS (
    SELECT intercom_contact_id AS id, arg_max(sf_object, matched_at) AS sf_object,
           arg_max(sf_id, matched_at) AS sf_id
    FROM match.person_matches WHERE sf_id IS NOT NULL GROUP BY 1
),
stamped_leads AS (
    SELECT "Intercom_Contact_Id__c" AS id, max("Id") AS lead_id FROM mirror.salesforce_leads
    WHERE "Intercom_Contact_Id__c" IS NOT NULL GROUP BY 1
),
stamped_contacts AS (
    SELECT "Intercom_Contact_Id__c" AS id, max("Id") AS contact_id FROM mirror.salesforce_contacts
    WHERE "Intercom_Contact_Id__c" IS NOT NULL GROUP BY 1
),
people AS (
    SELECT c.id, c.updated_at, c.custom_attributes,
           coalesce(sl.lead_id, CASE WHEN m.sf_object = 'Lead' THEN m.sf_id END) AS lead_id,
           coalesce(sc.contact_id, CASE WHEN m.sf_object = 'Contact' THEN m.sf_id END) AS contact_id
    FROM staging.intercom_contacts_current c
    LEFT JOIN matched m ON m.id = c.id
    LEFT JOIN stamped_leads sl ON sl.id = c.id
    LEFT JOIN stamped_contacts sc ON sc.id = c.id
    WHERE coalesce(sl.lead_id, sc.contact_id, m.sf_id) IS NOT NULL
),
leads AS (
    SELECT p.*, l."ConvertedContactId" AS converted_contact_id,
           CASE WHEN l."Id" IS NOT NULL
                THEN json_merge_patch(to_json(l), coalesce(l."_values", '{}')) END AS lead
    FROM people p LEFT JOIN mirror.salesforce_leads l ON l."Id" = p.lead_id
),
persons AS (
    SELECT p.*,
           CASE WHEN k."Id" IS NOT NULL
                THEN json_merge_patch(to_json(k), coalesce(k."_values", '{}')) END AS contact,
           k."AccountId" AS contact_account_id
    FROM leads p
    LEFT JOIN mirror.salesforce_contacts k
      ON k."Id" = coalesce(p.contact_id, p.converted_contact_id)
),
sided AS (
    SELECT p.*, coalesce(p.contact, p.lead) AS person, p.contact_account_id AS sf_account_id
    FROM persons p
)
SELECT p.id AS intercom_id, p.id AS write_id, p.updated_at, p.custom_attributes,
       CASE WHEN p.contact IS NOT NULL THEN 'Contact' ELSE 'Lead' END AS sf_object,
       p.person->>'Id' AS sf_id,
       try_cast(p.person->>'LastModifiedDate' AS TIMESTAMPTZ) AS sf_modified_at,
       p.person, p.lead, p.contact,
       CASE WHEN u."Id" IS NOT NULL THEN to_json(u)
            WHEN q."Id" IS NOT NULL THEN to_json(q) END AS owner,
       CASE WHEN a."Id" IS NOT NULL
            THEN json_merge_patch(to_json(a), coalesce(a."_values", '{}')) END AS account,
       CASE WHEN au."Id" IS NOT NULL
            THEN to_json(au) END AS account_owner,
       oo.opportunity, oo.won_opportunity,
       json_object('instance_url', $1::VARCHAR) AS org
FROM sided p
LEFT JOIN mirror.salesforce_users u ON u."Id" = p.person->>'OwnerId'
LEFT JOIN mirror.salesforce_queues q ON q."Id" = p.person->>'OwnerId'
LEFT JOIN mirror.salesforce_accounts a ON a."Id" = p.sf_account_id
LEFT JOIN mirror.salesforce_users au ON au."Id" = a."OwnerId"
LEFT JOIN _writeback_opportunities oo ON oo."AccountId" = p.sf_account_id
