-- What a read brought: records, records deleted in Salesforce (queryAll flags them), and the
-- newest SystemModstamp. Needs _mirror_batch with an "IsDeleted" column (NULL when not read).
SELECT count(*),
       count(*) FILTER (lower(coalesce("IsDeleted", '')) = 'true'),
       max("SystemModstamp"::TIMESTAMPTZ)
FROM _mirror_batch
