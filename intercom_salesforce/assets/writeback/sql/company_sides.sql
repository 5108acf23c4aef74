-- One row per Intercom company that is a Salesforce Account (stamped with its company_id, else
-- its newest match), with the Account's sides as JSON. $1 the org's instance URL.
CREATE OR REPLACE TEMP TABLE _writeback_companies AS
WITH matched AS (
    SELECT intercom_company_id AS id, arg_max(sf_account_id, matched_at) AS account_id
    FROM match.company_matches WHERE sf_account_id IS NOT NULL GROUP BY 1
),
stamped AS (
    SELECT "Intercom_Company_Id__c" AS company_id, max("Id") AS account_id
    FROM mirror.salesforce_accounts WHERE "Intercom_Company_Id__c" IS NOT NULL GROUP BY 1
),
companies AS (
    SELECT c.id, c.company_id, c.updated_at, c.custom_attributes,
           coalesce(s.account_id, m.account_id) AS sf_account_id
    FROM staging.intercom_companies_current c
    LEFT JOIN matched m ON m.id = c.id
    LEFT JOIN stamped s ON s.company_id = c.company_id
    WHERE coalesce(s.account_id, m.account_id) IS NOT NULL AND c.company_id IS NOT NULL
)
SELECT c.id AS intercom_id, c.company_id AS write_id, c.updated_at, c.custom_attributes,
       'Account' AS sf_object, a."Id" AS sf_id,
       a."LastModifiedDate" AS sf_modified_at,
       json_merge_patch(to_json(a), coalesce(a."_values", '{}')) AS account,
       CASE WHEN au."Id" IS NOT NULL
            THEN to_json(au) END AS account_owner,
       oo.opportunity, oo.won_opportunity,
       json_object('instance_url', $1::VARCHAR) AS org
FROM companies c
JOIN mirror.salesforce_accounts a ON a."Id" = c.sf_account_id
LEFT JOIN mirror.salesforce_users au ON au."Id" = a."OwnerId"
LEFT JOIN _writeback_opportunities oo ON oo."AccountId" = c.sf_account_id
