-- The Intercom people a Salesforce record is kept for: our external id on it, or a person's
-- choice in review. $1 object (Contact | Lead), $2 its Id.
SELECT "Intercom_Contact_Id__c" FROM mirror.salesforce_contacts WHERE $1 = 'Contact' AND "Id" = $2
UNION
SELECT "Intercom_Contact_Id__c" FROM mirror.salesforce_leads WHERE $1 = 'Lead' AND "Id" = $2
UNION
SELECT intercom_contact_id FROM match.manual_matches WHERE sf_object = $1 AND sf_id = $2
