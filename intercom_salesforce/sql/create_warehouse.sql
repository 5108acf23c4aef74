-- The warehouse: one DuckDB file, one schema per stage. Idempotent; run at the start of each writer.
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS mirror;
CREATE SCHEMA IF NOT EXISTS match;
CREATE SCHEMA IF NOT EXISTS sync;

-- Staging tables for Intercom entities are created from the entity table
-- (extract/entities.py), one per EntitySpec, with a *_current view each.

-- Salesforce keys mirrored for matching; merged incrementally by SystemModstamp.
CREATE TABLE IF NOT EXISTS mirror.salesforce_contacts (
    "Id" VARCHAR PRIMARY KEY,
    "Email" VARCHAR,
    "AccountId" VARCHAR,
    "OwnerId" VARCHAR,
    "Intercom_Contact_Id__c" VARCHAR,
    "Intercom_User_Id__c" VARCHAR,
    "LastModifiedDate" TIMESTAMPTZ,
    "LastModifiedById" VARCHAR,
    "SystemModstamp" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS mirror.salesforce_leads (
    "Id" VARCHAR PRIMARY KEY,
    "Email" VARCHAR,
    "OwnerId" VARCHAR,
    "Intercom_Contact_Id__c" VARCHAR,
    "Intercom_User_Id__c" VARCHAR,
    "IsConverted" BOOLEAN,
    "ConvertedContactId" VARCHAR,
    "Status" VARCHAR,
    "LastModifiedDate" TIMESTAMPTZ,
    "LastModifiedById" VARCHAR,
    "SystemModstamp" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS mirror.high_water_marks (
    sobject VARCHAR PRIMARY KEY,
    system_modstamp TIMESTAMPTZ,
    refreshed_at TIMESTAMPTZ
);

-- Which Salesforce record each Intercom person is, and why.
CREATE TABLE IF NOT EXISTS match.person_matches (
    intercom_contact_id VARCHAR NOT NULL,
    partition_date      DATE NOT NULL,
    email_normalized    VARCHAR,
    sf_object           VARCHAR,
    sf_id               VARCHAR,
    rule                VARCHAR NOT NULL,   -- manual | external_id | user_id | email | none | ambiguous | no_email
    candidates          VARCHAR[],
    account_id          VARCHAR,            -- the Account a Contact belongs under
    account_rule        VARCHAR,            -- company | email_domain | none
    matched_at          TIMESTAMPTZ NOT NULL,
    run_id              VARCHAR
);

-- Where each extraction got to, so the next incremental run knows what it may have missed.
CREATE TABLE IF NOT EXISTS staging.extract_runs (
    entity        VARCHAR NOT NULL,
    first_day     DATE,
    last_day      DATE,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ NOT NULL,
    high_water_mark TIMESTAMPTZ,
    rows_staged   BIGINT,
    api_calls     BIGINT,
    run_id        VARCHAR
);

-- Which conversations' parts were fetched at which updated_at, and whether Intercom's 500-part
-- cap left them short (parts retrieved vs the true count).
CREATE TABLE IF NOT EXISTS staging.intercom_conversation_coverage (
    conversation_id VARCHAR PRIMARY KEY,
    updated_at      TIMESTAMPTZ,
    parts_retrieved BIGINT,
    parts_total     BIGINT,
    truncated       BOOLEAN,
    fetched_at      TIMESTAMPTZ
);

-- What was last pushed: per record (its Salesforce id) and per record and field (the value), so
-- only changed fields are sent and unchanged records not at all.
-- No primary key: DuckDB holds a key's index in memory whole, and at a million records with ten
-- fields each that index alone outgrew the warehouse's memory limit. The push replaces a record's
-- rows with a delete and an insert in one transaction (advance_*_state.sql), so the keys
-- (sobject, external_id) and (sobject, external_id, field) stay unique all the same.
CREATE TABLE IF NOT EXISTS sync.sync_state (
    sobject       VARCHAR NOT NULL,
    external_id   VARCHAR NOT NULL,
    sf_id         VARCHAR,
    pushed_at     TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS sync.field_state (
    sobject       VARCHAR NOT NULL,
    external_id   VARCHAR NOT NULL,
    field         VARCHAR NOT NULL,
    value         VARCHAR,             -- as sent in the CSV (NULL once cleared with #N/A)
    pushed_at     TIMESTAMPTZ NOT NULL
);

-- Every Bulk job we create, written before its data is uploaded.
CREATE TABLE IF NOT EXISTS sync.bulk_jobs (
    job_id          VARCHAR PRIMARY KEY,
    sobject         VARCHAR NOT NULL,
    operation       VARCHAR NOT NULL,
    external_id_field VARCHAR,
    csv_path        VARCHAR,
    rows_uploaded   BIGINT,
    bytes_uploaded  BIGINT,
    state           VARCHAR,
    records_processed BIGINT,
    records_failed  BIGINT,
    error_message   VARCHAR,
    created_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    run_id          VARCHAR
);

-- Per-record outcome of every push, from successfulResults, failedResults and unprocessedrecords.
CREATE TABLE IF NOT EXISTS sync.sync_results (
    job_id       VARCHAR NOT NULL,
    sobject      VARCHAR NOT NULL,
    external_id  VARCHAR,
    sf_id        VARCHAR,
    outcome      VARCHAR NOT NULL,   -- created | updated | failed | unprocessed
    error_code   VARCHAR,
    error        VARCHAR,
    payload      JSON,
    recorded_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR
);

-- The rest of the org's keys for matching and ownership, mirrored like Contacts and Leads
-- (one MirrorSpec each in assets/mirror/salesforce_objects.py; columns in the SOQL's order).
CREATE TABLE IF NOT EXISTS mirror.salesforce_users (
    "Id" VARCHAR PRIMARY KEY,
    "Email" VARCHAR,
    "IsActive" BOOLEAN,
    "Name" VARCHAR,
    "SystemModstamp" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS mirror.salesforce_queues (
    "Id" VARCHAR PRIMARY KEY,
    "Name" VARCHAR,
    "DeveloperName" VARCHAR,
    "Email" VARCHAR,
    "SystemModstamp" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS mirror.salesforce_queue_sobjects (
    "Id" VARCHAR PRIMARY KEY,
    "QueueId" VARCHAR,
    "SobjectType" VARCHAR,
    "SystemModstamp" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS mirror.salesforce_record_types (
    "Id" VARCHAR PRIMARY KEY,
    "Name" VARCHAR,
    "DeveloperName" VARCHAR,
    "SobjectType" VARCHAR,
    "IsActive" BOOLEAN,
    "SystemModstamp" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS mirror.salesforce_accounts (
    "Id" VARCHAR PRIMARY KEY,
    "Name" VARCHAR,
    "Website" VARCHAR,
    "OwnerId" VARCHAR,
    "Intercom_Company_Id__c" VARCHAR,
    "SystemModstamp" TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS mirror.salesforce_opportunities (
    "Id" VARCHAR PRIMARY KEY,
    "AccountId" VARCHAR,
    "StageName" VARCHAR,
    "IsWon" BOOLEAN,
    "OwnerId" VARCHAR,
    "SystemModstamp" TIMESTAMPTZ
);

-- How values are written into Bulk API CSV cells (reference 1.7). A NULL result is an empty cell,
-- which Salesforce reads as "leave the field alone"; sf_clear turns it into #N/A, which clears it.
-- Datetimes are UTC with a zone designator, milliseconds only when there are any.
CREATE OR REPLACE MACRO sync.sf_datetime(ts) AS
    replace(strftime(timezone('UTC', ts::TIMESTAMPTZ), '%Y-%m-%dT%H:%M:%S.%gZ'), '.000Z', 'Z');
CREATE OR REPLACE MACRO sync.sf_date(d) AS strftime(d::DATE, '%Y-%m-%d');
CREATE OR REPLACE MACRO sync.sf_boolean(b) AS
    CASE WHEN b::BOOLEAN THEN 'true' WHEN NOT b::BOOLEAN THEN 'false' END;
-- Multi-select picklists: distinct non-blank values, sorted (so a payload's hash is stable), joined
-- by ';'. A value containing ';' would be read as two values; picklist values cannot contain one.
CREATE OR REPLACE MACRO sync.sf_multiselect(vals) AS
    nullif(array_to_string(list_sort(list_distinct(
        list_filter(vals::VARCHAR[], lambda v: v IS NOT NULL AND trim(v) <> ''))), ';'), '');
CREATE OR REPLACE MACRO sync.sf_clear(v) AS coalesce(v::VARCHAR, '#N/A');
-- Text as Salesforce stores it (the same SQL as mapping/functions.py clean_text): CRLF and lone CR
-- become LF; NUL and the other C0 control characters but tab and line feed are dropped. A value
-- sent otherwise never equals what the mirror reads back, so it would be sent again every run.
CREATE OR REPLACE MACRO sync.sf_text(v) AS
    CASE WHEN regexp_matches(v::VARCHAR, '[\x00-\x08\x0b-\x1f]')
         THEN regexp_replace(regexp_replace(v::VARCHAR, '\r\n?', chr(10), 'g'),
                             '[\x00-\x08\x0b\x0c\x0e-\x1f]', '', 'g')
         ELSE v::VARCHAR END;
-- True for a value a Bulk API CSV cannot carry as data: the clear marker #N/A (spaces, tabs and
-- line breaks around it, any case). Such a value must go to review, never into a cell.
CREATE OR REPLACE MACRO sync.sf_is_clear_marker(v) AS
    coalesce(upper(trim(v::VARCHAR, ' ' || chr(9) || chr(10))) = '#N/A', FALSE);

-- Incremental extraction: how each run read its window (incremental | full_refresh). Its
-- high_water_mark is the instant up to which the window is complete: the run's start, less the
-- search's indexing lag, so records updated while it paged are read again by the next run.
ALTER TABLE staging.extract_runs ADD COLUMN IF NOT EXISTS mode VARCHAR;

-- Which contacts' data events were read at which contact updated_at (events are read per contact).
CREATE TABLE IF NOT EXISTS staging.intercom_contact_event_coverage (
    contact_id  VARCHAR PRIMARY KEY,
    updated_at  TIMESTAMPTZ,
    events_read BIGINT,
    fetched_at  TIMESTAMPTZ
);
-- The event names that read kept: a contact is read again once the mapping reads other names.
ALTER TABLE staging.intercom_contact_event_coverage ADD COLUMN IF NOT EXISTS event_names VARCHAR[];

-- Why each pushed record has its owner and record type: the routing rule that decided them
-- (the newest decision per record; the push's results keep the payloads that were sent).
CREATE TABLE IF NOT EXISTS sync.routing_decisions (
    sobject        VARCHAR NOT NULL,
    external_id    VARCHAR NOT NULL,   -- the Intercom id the record is kept for
    rule           VARCHAR NOT NULL,
    owner_id       VARCHAR,
    record_type_id VARCHAR,
    decided_at     TIMESTAMPTZ NOT NULL,
    run_id         VARCHAR,
    PRIMARY KEY (sobject, external_id)
);

-- Mapped objects also mirror the current value of every mapped field (JSON object, as the Bulk
-- query returned it), so a push can apply each field's source of truth and see conflicts; the
-- high-water mark keeps the field list read, and a changed list forces a full read.
ALTER TABLE mirror.salesforce_accounts ADD COLUMN IF NOT EXISTS "LastModifiedDate" TIMESTAMPTZ;
ALTER TABLE mirror.salesforce_accounts ADD COLUMN IF NOT EXISTS "_values" JSON;
ALTER TABLE mirror.salesforce_contacts ADD COLUMN IF NOT EXISTS "_values" JSON;
ALTER TABLE mirror.salesforce_leads ADD COLUMN IF NOT EXISTS "_values" JSON;
ALTER TABLE mirror.high_water_marks ADD COLUMN IF NOT EXISTS fields VARCHAR;

-- Fields left alone because Salesforce and Intercom disagree and Intercom is not the source of
-- truth (changed on both sides since the last sync), and owners that differ from the owner the
-- routing rules choose. One row per record and field; resolved_at is set once they agree again.
CREATE TABLE IF NOT EXISTS sync.sync_conflicts (
    sobject           VARCHAR NOT NULL,
    external_id       VARCHAR NOT NULL,   -- the Intercom id
    sf_id             VARCHAR,
    field             VARCHAR NOT NULL,
    kind              VARCHAR NOT NULL,   -- both_changed | owner
    rule              VARCHAR NOT NULL,   -- the source of truth, or the routing rule
    intercom_value    VARCHAR,
    salesforce_value  VARCHAR,
    last_synced_value VARCHAR,
    intercom_updated_at   TIMESTAMPTZ,
    salesforce_modified_at TIMESTAMPTZ,
    last_synced_at    TIMESTAMPTZ,
    first_seen_at     TIMESTAMPTZ NOT NULL,
    last_seen_at      TIMESTAMPTZ NOT NULL,
    resolved_at       TIMESTAMPTZ,
    run_id            VARCHAR,
    PRIMARY KEY (sobject, external_id, field)
);

-- Whether a value we sent and one Salesforce returns are the same: blank is NULL, and datetimes,
-- numbers and booleans compare by value (Salesforce answers 2026-01-01T10:00:00.000Z for the
-- 2026-01-01T10:00:00Z we sent, 120.0 for 120, true for TRUE).
CREATE OR REPLACE MACRO sync.sf_same(a, b) AS
    coalesce(nullif(a::VARCHAR, ''), '') = coalesce(nullif(b::VARCHAR, ''), '')
    OR coalesce(try_cast(a AS TIMESTAMPTZ) = try_cast(b AS TIMESTAMPTZ), FALSE)
    OR coalesce(try_cast(a AS DOUBLE) = try_cast(b AS DOUBLE), FALSE)
    OR coalesce(lower(a::VARCHAR) IN ('true', 'false') AND lower(a::VARCHAR) = lower(b::VARCHAR),
                FALSE);

-- What a dry run (run tag intercom_salesforce/dry_run=true) found each push would do, one row per
-- record and action: create | update | unchanged | review | conflict | waiting. changes lists the
-- fields a create or update sends (old: Salesforce's value as mirrored, else the value last
-- pushed; new: NULL when cleared) and, for a conflict, the fields left alone.
CREATE TABLE IF NOT EXISTS sync.plans (
    run_id      VARCHAR NOT NULL,
    sobject     VARCHAR NOT NULL,
    external_id VARCHAR NOT NULL,      -- the Intercom id
    sf_id       VARCHAR,
    action      VARCHAR NOT NULL,
    changes     STRUCT(field VARCHAR, old_value VARCHAR, new_value VARCHAR)[],
    detail      VARCHAR,               -- the review rules, the conflict kinds and rules
    planned_at  TIMESTAMPTZ NOT NULL
);

-- The write-back to Intercom reads Opportunities' other fields the same way.
ALTER TABLE mirror.salesforce_opportunities ADD COLUMN IF NOT EXISTS "_values" JSON;

-- Conflicts of both directions: to_salesforce (the push) or to_intercom (the write-back, whose
-- rows have sobject intercom_contact or intercom_company and the attribute as field).
ALTER TABLE sync.sync_conflicts ADD COLUMN IF NOT EXISTS direction VARCHAR DEFAULT 'to_salesforce';

-- What the write-back last wrote to Intercom, per record and attribute (or tag:<key>, 'true' while
-- attached): only changed values are written, and Intercom's value is an edit only when it differs.
-- intercom_updated_at: the record's updated_at our write left (a staged version not newer than it
-- predates the write, so its value is not Intercom's current one).
CREATE TABLE IF NOT EXISTS sync.intercom_field_state (
    model              VARCHAR NOT NULL,   -- contact | company
    intercom_id        VARCHAR NOT NULL,
    attribute          VARCHAR NOT NULL,
    value              VARCHAR,
    written_at         TIMESTAMPTZ NOT NULL,
    intercom_updated_at TIMESTAMPTZ,
    run_id             VARCHAR,
    PRIMARY KEY (model, intercom_id, attribute)
);

-- Per call of every write-back run: what was sent (payload, kept for a retry) and how it ended.
-- updated_before: the record's updated_at as staged when the run decided; the push reads it to
-- tell our writes from a person's.
CREATE TABLE IF NOT EXISTS sync.intercom_write_results (
    run_id         VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,      -- contact | company | data_attribute | tag
    intercom_id    VARCHAR,
    operation      VARCHAR NOT NULL,      -- update | tag | untag | create_attribute | create_tag
    status         VARCHAR NOT NULL,      -- written | rejected | failed
    http_status    INTEGER,
    error          VARCHAR,
    payload        JSON,
    updated_before TIMESTAMPTZ,
    updated_after  TIMESTAMPTZ,
    recorded_at    TIMESTAMPTZ NOT NULL
);
