-- The records Salesforce took ({ok}): their Salesforce Id, once each, after forget_sync_state.sql
-- removed their earlier row. $1 sObject, $2 now.
INSERT INTO sync.sync_state
SELECT $1, ext, any_value("sf__Id"), $2 FROM {ok} WHERE ext IS NOT NULL GROUP BY ext
