-- Match the window's Intercom companies to Salesforce Accounts.
-- Rules in order: our external id (Account.Intercom_Company_Id__c = the company's company_id), then
-- the normalized website domain (scheme, www., port and path stripped); a free-mail or ISP domain
-- never matches. Several Accounts under the deciding rule: ambiguous, nothing is written.
-- Needs the temp table _free_mail(domain). $1 first day, $2 last day, $3 run id.
WITH companies AS (
    SELECT id, company_id, partition_date, normalize_domain(website) AS domain
    FROM staging.intercom_companies_current
    WHERE partition_date BETWEEN $1 AND $2
),
accounts AS (
    SELECT "Id", "Intercom_Company_Id__c" AS ext, normalize_domain("Website") AS domain
    FROM mirror.salesforce_accounts
),
by_external_id AS (
    SELECT c.id, list(DISTINCT a."Id" ORDER BY a."Id") AS candidates
    FROM companies c JOIN accounts a ON a.ext = c.company_id
    GROUP BY c.id
),
by_domain AS (
    SELECT c.id, list(DISTINCT a."Id" ORDER BY a."Id") AS candidates
    FROM companies c JOIN accounts a ON a.domain = c.domain
    WHERE c.domain NOT IN (SELECT domain FROM _free_mail)
    GROUP BY c.id
),
decided AS (
    SELECT c.id, c.company_id, c.partition_date, c.domain,
           CASE WHEN x.candidates IS NOT NULL THEN 'external_id'
                WHEN c.domain IS NULL THEN 'no_domain'
                WHEN c.domain IN (SELECT domain FROM _free_mail) THEN 'free_mail'
                WHEN d.candidates IS NOT NULL THEN 'domain'
                ELSE 'none' END AS rule,
           coalesce(x.candidates, d.candidates) AS candidates
    FROM companies c
    LEFT JOIN by_external_id x USING (id)
    LEFT JOIN by_domain d USING (id)
)
SELECT id AS intercom_company_id, company_id, partition_date, domain,
       CASE WHEN len(candidates) = 1 THEN candidates[1] END AS sf_account_id,
       CASE WHEN len(candidates) > 1 THEN 'ambiguous' ELSE rule END AS rule,
       candidates, now() AS matched_at, $3 AS run_id
FROM decided
