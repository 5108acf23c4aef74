-- A person's choice of surviving record; a later choice for the same person replaces it.
-- $1 Intercom contact id, $2 object, $3 Id, $4 chosen by, $5 note, $6 chosen at, $7 review item.
INSERT INTO match.manual_matches (intercom_contact_id, sf_object, sf_id, chosen_by, note,
                                  chosen_at, review_item_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (intercom_contact_id) DO UPDATE SET
    sf_object = excluded.sf_object, sf_id = excluded.sf_id, chosen_by = excluded.chosen_by,
    note = excluded.note, chosen_at = excluded.chosen_at, review_item_id = excluded.review_item_id
