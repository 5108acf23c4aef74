-- A mirrored Contact or Lead by Id, as (object, Id, the Contact a converted Lead became).
-- A 15-character id (as Salesforce URLs show) finds its 18-character form. $1 the id.
SELECT 'Contact', "Id", NULL FROM mirror.salesforce_contacts
WHERE "Id" = $1 OR (length($1) = 15 AND left("Id", 15) = $1)
UNION ALL
SELECT 'Lead', "Id", CASE WHEN "IsConverted" THEN "ConvertedContactId" END
FROM mirror.salesforce_leads
WHERE "Id" = $1 OR (length($1) = 15 AND left("Id", 15) = $1)
