-- One Intercom record's story across runs, newest first: (happened_at, run_id, step, summary, detail).
-- Each step reads the table that keeps it: the staging row (its latest extraction), the review
-- items, the match, the routing decision, the conflicts, every Bulk result with its job, and
-- every dry run's plan. $1 the Intercom id.
SELECT happened_at, run_id, step, summary, detail FROM (
    SELECT extracted_at AS happened_at, run_id, 'extracted' AS step,
           'contact, partition ' || partition_date || ', updated in Intercom ' || updated_at
               AS summary,
           to_json({'email': email, 'role': role, 'name': name}) AS detail
    FROM staging.intercom_contacts_current WHERE id = $1
    UNION ALL
    SELECT extracted_at, run_id, 'extracted',
           'company, partition ' || partition_date || ', updated in Intercom ' || updated_at,
           to_json({'name': name, 'website': website})
    FROM staging.intercom_companies_current WHERE id = $1
    UNION ALL
    SELECT extracted_at, run_id, 'extracted',
           'conversation, partition ' || partition_date || ', updated in Intercom ' || updated_at,
           to_json({'title': title, 'state': state})
    FROM staging.intercom_conversations_current WHERE id = $1
    UNION ALL
    SELECT last_seen_at, run_id, 'review',
           rule || ' (' || status || ')' || coalesce(': ' || column_name || ' = ' || value, ''),
           to_json({'item_id': item_id, 'reason': reason, 'first_seen_at': first_seen_at,
                    'candidates': candidates, 'note': note})
    FROM quality.review_queue WHERE record_id = $1
    UNION ALL
    SELECT matched_at, run_id, 'matched',
           'rule ' || rule || coalesce(' -> ' || sf_object || ' ' || sf_id, ' -> no record')
               || coalesce(', Account ' || account_id || ' (' || account_rule || ')', '')
               || CASE WHEN len(candidates) > 1
                       THEN ', candidates ' || array_to_string(candidates, ', ') ELSE '' END,
           to_json({'rule': rule, 'candidates': candidates, 'email': email_normalized,
                    'partition': partition_date})
    FROM match.person_matches WHERE intercom_contact_id = $1
    UNION ALL
    SELECT decided_at, run_id, 'routed',
           sobject || ' by rule "' || rule || '"' || coalesce(', owner ' || owner_id, '')
               || coalesce(', record type ' || record_type_id, ''),
           to_json({'rule': rule, 'owner_id': owner_id, 'record_type_id': record_type_id})
    FROM sync.routing_decisions WHERE external_id = $1
    UNION ALL
    SELECT last_seen_at, run_id, 'conflict',
           sobject || '.' || field || ' left alone (' || kind || ', ' || rule || '): Salesforce '
               || coalesce(salesforce_value, '(blank)') || ', Intercom '
               || coalesce(intercom_value, '(blank)')
               || CASE WHEN resolved_at IS NULL THEN '' ELSE ', resolved ' || resolved_at END,
           to_json({'first_seen_at': first_seen_at, 'last_synced_value': last_synced_value,
                    'resolved_at': resolved_at})
    FROM sync.sync_conflicts WHERE external_id = $1
    UNION ALL
    SELECT r.recorded_at, r.run_id, 'pushed',
           r.sobject || ' ' || coalesce(r.sf_id, '') || ' ' || r.outcome || ' by Bulk job '
               || r.job_id || coalesce(' (' || j.operation || ' on '
               || coalesce(j.external_id_field, 'Id') || ')', '')
               || coalesce(': ' || r.error, ''),
           to_json({'job_id': r.job_id, 'job_state': j.state, 'error_code': r.error_code,
                    'csv': j.csv_path})
    FROM sync.sync_results r LEFT JOIN sync.bulk_jobs j ON j.job_id = r.job_id
    WHERE r.external_id = $1
    UNION ALL
    SELECT planned_at, run_id, 'planned',
           sobject || ' ' || action || coalesce(' ' || sf_id, '')
               || coalesce(': ' || nullif(array_to_string(list_transform(changes,
                      lambda c: c.field || ' ' || coalesce(c.old_value, '') || ' → '
                                || coalesce(c.new_value, '')), '; '), ''), ''),
           to_json({'detail': detail})
    FROM sync.plans WHERE external_id = $1
)
ORDER BY happened_at DESC, step
