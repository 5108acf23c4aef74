-- Records whose Salesforce owner differs from the owner the routing rules choose.
-- {joined}: the matched records u with their Salesforce row sf and last pushed values l.
SELECT u._intercom_id, u._sf_id, 'OwnerId', 'owner', u._routing_rule,
       u."OwnerId", sf."OwnerId", NULL, u._intercom_updated_at,
       sf."LastModifiedDate", NULL::TIMESTAMPTZ
{joined}
WHERE u."OwnerId" IS NOT NULL AND u."OwnerId" IS DISTINCT FROM sf."OwnerId"
