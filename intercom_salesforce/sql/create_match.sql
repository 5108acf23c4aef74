-- Identity resolution tables and the domain macro (see assets/match/).
CREATE OR REPLACE MACRO normalize_domain(url) AS
    nullif(regexp_replace(regexp_replace(regexp_replace(lower(trim(url)),
        '^[a-z][a-z0-9+.-]*://', ''),   -- scheme
        '[/?#:].*$', ''),               -- port, path, query
        '^www[0-9]*\.', ''), '');      -- www.

CREATE TABLE IF NOT EXISTS match.company_matches (
    intercom_company_id VARCHAR NOT NULL,
    company_id          VARCHAR,            -- Intercom's company_id (the Account external id)
    partition_date      DATE NOT NULL,
    domain              VARCHAR,
    sf_account_id       VARCHAR,
    rule                VARCHAR NOT NULL,   -- external_id | domain | none | ambiguous | free_mail | no_domain
    candidates          VARCHAR[],
    matched_at          TIMESTAMPTZ NOT NULL,
    run_id              VARCHAR
);

-- Conversations waiting for their person to exist in Salesforce (written once matched or created).
CREATE TABLE IF NOT EXISTS sync.pending_conversations (
    conversation_id VARCHAR PRIMARY KEY,
    contact_id      VARCHAR,
    reason          VARCHAR,
    first_seen_at   TIMESTAMPTZ NOT NULL,
    last_seen_at    TIMESTAMPTZ NOT NULL
);

-- The record a person chose for an ambiguous match (`intercom-salesforce review merge`): matching
-- takes it (rule manual) ahead of every other rule. One row per person; a later choice replaces it.
CREATE TABLE IF NOT EXISTS match.manual_matches (
    intercom_contact_id VARCHAR PRIMARY KEY,
    sf_object           VARCHAR NOT NULL,   -- Contact | Lead
    sf_id               VARCHAR NOT NULL,
    chosen_by           VARCHAR,
    note                VARCHAR,
    chosen_at           TIMESTAMPTZ NOT NULL,
    review_item_id      BIGINT              -- the quality.review_queue item it resolved
);
