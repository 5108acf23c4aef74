-- Per Account, as JSON (the mirrored row with its `_values` merged in): its most recently
-- modified open or won Opportunity (`opportunity`), and its most recently closed won one
-- (`won_opportunity`). Both write-back sides read it.
CREATE OR REPLACE TEMP TABLE _writeback_opportunities AS
WITH o AS (
    SELECT "AccountId", "IsWon", "SystemModstamp", "Id",
           NOT coalesce(try_cast("_values"->>'IsClosed' AS BOOLEAN), FALSE) AS is_open,
           try_cast("_values"->>'CloseDate' AS DATE) AS close_date,
           json_merge_patch(to_json(x), coalesce(x."_values", '{}')) AS doc
    FROM mirror.salesforce_opportunities x
    WHERE "AccountId" IS NOT NULL
)
SELECT "AccountId",
       arg_max(doc, ("SystemModstamp", "Id")) FILTER (WHERE "IsWon" OR is_open) AS opportunity,
       arg_max(doc, (close_date, "SystemModstamp", "Id")) FILTER (WHERE "IsWon")
           AS won_opportunity
FROM o GROUP BY 1
