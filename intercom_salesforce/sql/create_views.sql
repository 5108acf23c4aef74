-- Views over the staged entities (run after their tables exist).

-- Company-contact links as of each contact's newest version (a contact's companies list is the
-- full one: truncated embedded lists are completed at extraction).
CREATE OR REPLACE VIEW staging.intercom_company_contacts_current AS
SELECT c.id AS contact_id, unnest(from_json(c.companies, '["VARCHAR"]')) AS company_id
FROM staging.intercom_contacts_current c
WHERE c.companies IS NOT NULL;
