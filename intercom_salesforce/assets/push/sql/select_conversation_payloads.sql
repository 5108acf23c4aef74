-- One row per conversation of the window (and conversations still pending from earlier runs): what
-- any target (Task, Intercom_Conversation__c, Note) is built from, plus the routing inputs.
-- The person: their match (newest), else the Lead or Contact we created for them (sync_state).
-- $1 first day, $2 last day, $3 Intercom web app host, $4 include transcript, $5 redact,
-- $6 transcript limit (characters).
WITH conversations AS (
    SELECT * FROM staging.intercom_conversations_current
    WHERE partition_date BETWEEN $1 AND $2
       OR id IN (SELECT conversation_id FROM sync.pending_conversations)
),
person AS (
    SELECT intercom_contact_id AS contact_id,
           arg_max(sf_object, matched_at) AS sf_object, arg_max(sf_id, matched_at) AS sf_id,
           arg_max(account_id, matched_at) AS account_id
    FROM match.person_matches WHERE sf_id IS NOT NULL GROUP BY 1
),
created AS (
    SELECT external_id AS contact_id, arg_max(sobject, pushed_at) AS sf_object,
           arg_max(sf_id, pushed_at) AS sf_id, NULL AS account_id
    FROM sync.sync_state WHERE sobject IN ('Lead', 'Contact') GROUP BY 1
),
who AS (
    SELECT c.id AS conversation_id,
           from_json(c.contact_ids, '["VARCHAR"]')[1] AS contact_id
    FROM conversations c
),
resolved AS (
    SELECT w.conversation_id, w.contact_id,
           coalesce(p.sf_object, k.sf_object) AS sf_object,
           coalesce(p.sf_id, k.sf_id) AS sf_id,
           p.account_id
    FROM who w
    LEFT JOIN person p USING (contact_id)
    LEFT JOIN created k USING (contact_id)
),
app AS (SELECT any_value(workspace_id) AS app_id FROM staging.intercom_contacts),
admins AS (
    SELECT a.id, a.name, lower(a.email) AS email, u."Id" AS user_id,
           coalesce(from_json(a.team_ids, '["VARCHAR"]'), []) AS team_ids
    FROM staging.intercom_admins a
    LEFT JOIN mirror.salesforce_users u ON lower(u."Email") = lower(a.email) AND u."IsActive"
),
transcripts AS (   -- parts as plain text, oldest first (only when asked for)
    SELECT p.conversation_id,
           string_agg(strftime(p.created_at AT TIME ZONE 'UTC', '%Y-%m-%d %H:%M') || ' '
                      || coalesce(p.author->>'name', p.author->>'type', '?') || ': '
                      || trim(regexp_replace(regexp_replace(coalesce(p.body, ''),
                                '<[^>]*>', ' ', 'g'), '\s+', ' ', 'g')),
                      chr(10) ORDER BY p.created_at, p.id) AS text
    FROM staging.intercom_conversation_parts_current p
    WHERE $4 AND p.conversation_id IN (SELECT id FROM conversations)
      AND p.body IS NOT NULL AND p.body <> ''
    GROUP BY 1
)
SELECT
    c.id AS conversation_id,
    -- text as Salesforce stores it (no NUL, LF line ends); the clear marker is never a subject
    coalesce(CASE WHEN NOT sync.sf_is_clear_marker(c.title)
                  THEN nullif(trim(sync.sf_text(c.title)), '') END,
             CASE WHEN NOT sync.sf_is_clear_marker(c.source->>'body') THEN
             nullif(trim(regexp_replace(regexp_replace(sync.sf_text(c.source->>'body'),
                                        '<[^>]*>', ' ', 'g'), '\s+', ' ', 'g')), '') END,
             'Intercom conversation ' || c.id) AS subject,
    c.created_at AS opened_at,
    to_timestamp((c.statistics->>'first_admin_reply_at')::BIGINT) AS first_response_at,
    to_timestamp((c.statistics->>'last_close_at')::BIGINT) AS closed_at,
    c.state,
    c.priority,
    r.sf_object,
    r.sf_id,
    CASE WHEN r.sf_object = 'Contact' THEN r.account_id END AS account_id,
    'https://' || $3 || '/a/inbox/' || (SELECT app_id FROM app) || '/inbox/conversation/' || c.id
        AS link,
    array_to_string(coalesce(from_json(c.tag_names, '["VARCHAR"]'), []), ', ') AS tags,
    sync.sf_text(left(
        'Intercom conversation ' || c.id || ' (' || c.state || ')' || chr(10)
        || 'Tags: ' || coalesce(array_to_string(from_json(c.tag_names, '["VARCHAR"]'), ', '), '')
        || chr(10) || 'Assignee: ' || coalesce(ad.name, '-')
        || chr(10) || 'Team: ' || coalesce(t.name, '-')
        || chr(10) || 'Created: ' || strftime(c.created_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')
        || chr(10) || 'First response: ' || coalesce(strftime(to_timestamp(
               (c.statistics->>'first_admin_reply_at')::BIGINT) AT TIME ZONE 'UTC',
               '%Y-%m-%dT%H:%M:%SZ'), '-')
        || chr(10) || 'Closed: ' || coalesce(strftime(to_timestamp(
               (c.statistics->>'last_close_at')::BIGINT) AT TIME ZONE 'UTC',
               '%Y-%m-%dT%H:%M:%SZ'), '-')
        || CASE WHEN tr.text IS NULL THEN ''
                ELSE chr(10) || chr(10) || 'Transcript:' || chr(10) || CASE WHEN $5
                    THEN regexp_replace(regexp_replace(tr.text,
                            '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', '[email]', 'g'),
                            '\+?[0-9][0-9 ().-]{7,}[0-9]', '[phone]', 'g')
                    ELSE tr.text END END,
        $6) || CASE WHEN length(coalesce(tr.text, '')) + 400 > $6
                    THEN chr(10) || '[transcript truncated]' ELSE '' END) AS description,
    -- routing inputs (see intercom_salesforce/mapping/conversations.py)
    coalesce(from_json(c.tag_ids, '["VARCHAR"]'), []) AS _tag_ids,
    coalesce(from_json(c.tag_names, '["VARCHAR"]'), []) AS _tag_names,
    c.team_assignee_id::VARCHAR AS _team_id,
    coalesce(ad.team_ids, []) AS _assignee_team_ids,
    ad.user_id AS _assignee_user_id,
    r.contact_id AS _contact_id,
    r.sf_id IS NULL AS _pending
FROM conversations c
JOIN resolved r ON r.conversation_id = c.id
LEFT JOIN admins ad ON ad.id = c.admin_assignee_id::VARCHAR
LEFT JOIN staging.intercom_teams t ON t.id = c.team_assignee_id::VARCHAR
LEFT JOIN transcripts tr ON tr.conversation_id = c.id
