-- The warehouse: one DuckDB file, one schema per stage. Idempotent; run at the start of each writer.
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS mirror;
CREATE SCHEMA IF NOT EXISTS match;
CREATE SCHEMA IF NOT EXISTS sync;

-- Intercom contacts as extracted, one row per (id, partition); the same contact can appear in
-- several daily partitions as it is updated, and the current-state view picks the newest.
CREATE TABLE IF NOT EXISTS staging.intercom_contacts (
    id                VARCHAR NOT NULL,
    workspace_id      VARCHAR,
    external_id       VARCHAR,
    role              VARCHAR,
    email             VARCHAR,
    email_domain      VARCHAR,
    name              VARCHAR,
    phone             VARCHAR,
    owner_id          BIGINT,
    unsubscribed_from_emails BOOLEAN,
    created_at        TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL,
    signed_up_at      TIMESTAMPTZ,
    last_seen_at      TIMESTAMPTZ,
    custom_attributes JSON,
    location          JSON,
    tags              JSON,
    companies         JSON,
    partition_date    DATE NOT NULL,
    extracted_at      TIMESTAMPTZ NOT NULL,
    run_id            VARCHAR
);

CREATE OR REPLACE VIEW staging.intercom_contacts_current AS
SELECT * FROM staging.intercom_contacts
QUALIFY row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, extracted_at DESC) = 1;

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
    rule                VARCHAR NOT NULL,   -- external_id | email | none | ambiguous | no_email
    candidates          VARCHAR[],
    matched_at          TIMESTAMPTZ NOT NULL,
    run_id              VARCHAR
);

-- What was last pushed per record, so unchanged records are never sent again.
CREATE TABLE IF NOT EXISTS sync.sync_state (
    sobject       VARCHAR NOT NULL,
    external_id   VARCHAR NOT NULL,
    sf_id         VARCHAR,
    payload_hash  VARCHAR NOT NULL,
    payload       JSON,
    pushed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sobject, external_id)
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
