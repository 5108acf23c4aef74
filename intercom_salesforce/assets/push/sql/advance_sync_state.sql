-- The records Salesforce took ({ok}): their Salesforce Id, and the fields sent ({changes}) as
-- what was last pushed. $1 sObject, $2 now.
INSERT OR REPLACE INTO sync.sync_state
SELECT $1, ext, "sf__Id", $2 FROM {ok}
