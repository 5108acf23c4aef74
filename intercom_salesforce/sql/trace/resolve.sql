-- The Intercom records an identifier names, with their kind: an Intercom id (contact, company or
-- conversation), a contact's email (any case), or a Salesforce Id this sync wrote, matched or
-- considered as a candidate. $1 the identifier.
SELECT DISTINCT id, kind FROM (
    SELECT id, 'contact' AS kind FROM staging.intercom_contacts_current
    WHERE id = $1 OR lower(email) = lower($1)
    UNION ALL
    SELECT id, 'company' FROM staging.intercom_companies_current WHERE id = $1
    UNION ALL
    SELECT id, 'conversation' FROM staging.intercom_conversations_current WHERE id = $1
    UNION ALL
    SELECT external_id, CASE WHEN sobject IN ('Lead', 'Contact') THEN 'contact'
                             WHEN sobject = 'Account' THEN 'company' ELSE 'conversation' END
    FROM sync.sync_state WHERE sf_id = $1
    UNION ALL
    SELECT intercom_contact_id, 'contact' FROM match.person_matches
    WHERE sf_id = $1 OR list_contains(list_transform(candidates, lambda c: split_part(c, ':', 2)), $1)
)
ORDER BY kind, id
