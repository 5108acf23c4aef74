-- The fields the source-of-truth rules leave alone ({conflicts}, one row per record and field),
-- one plan row per record: Salesforce's value is kept (old), Intercom's is not sent (new).
-- {plan} the plan's temp table; $1 sObject.
INSERT INTO {plan}
SELECT $1, ext, any_value(sf_id), 'conflict',
       list(struct_pack(field := field, old_value := salesforce_value,
                        new_value := intercom_value) ORDER BY field),
       string_agg(DISTINCT kind || ': ' || rule, '; ' ORDER BY kind || ': ' || rule)
FROM {conflicts}
GROUP BY ext
