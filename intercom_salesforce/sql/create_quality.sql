-- The review queue: records a rule or Salesforce refused, waiting for a person. Never pushed while
-- open or dismissed. One item per (entity, record, rule); re-checks update it in place.
CREATE SCHEMA IF NOT EXISTS quality;
CREATE SEQUENCE IF NOT EXISTS quality.review_item_seq;
CREATE TABLE IF NOT EXISTS quality.review_queue (
    item_id        BIGINT PRIMARY KEY DEFAULT nextval('quality.review_item_seq'),
    entity         VARCHAR NOT NULL,      -- staging asset, e.g. intercom_contacts
    record_id      VARCHAR NOT NULL,      -- the Intercom id
    partition_date DATE,
    rule           VARCHAR NOT NULL,      -- e.g. email_format, ambiguous_match, salesforce_rejected
    column_name    VARCHAR,
    value          VARCHAR,               -- the offending value (never a secret)
    reason         VARCHAR NOT NULL,
    candidates     VARCHAR[],             -- Salesforce ids considered (ambiguous matches)
    status         VARCHAR NOT NULL DEFAULT 'open',   -- open | fixed | dismissed | resolved
    note           VARCHAR,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    resolved_at    TIMESTAMPTZ,
    run_id         VARCHAR,
    UNIQUE (entity, record_id, rule)
);
