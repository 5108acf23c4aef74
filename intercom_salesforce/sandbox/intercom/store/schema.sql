-- Rows are API-shaped JSON documents plus the columns that search, sort and joins use.
-- A contact's ``doc`` is its rendered single-GET JSON; a conversation's ``body`` is its rendered
-- list-item JSON beside the stored ``doc`` (NULL: render on the next read). Both are kept current
-- by every write, so reads serve them as they are (store/hydrate.py).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contacts (
    id TEXT PRIMARY KEY,
    external_id TEXT,
    email TEXT,
    email_domain TEXT,
    role TEXT,
    name TEXT,
    phone TEXT,
    owner_id INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    signed_up_at INTEGER,
    last_seen_at INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_updated ON contacts (updated_at, id);
CREATE INDEX IF NOT EXISTS contacts_created ON contacts (created_at, id);
CREATE INDEX IF NOT EXISTS contacts_email ON contacts (email COLLATE NOCASE);
-- GET /events?email= finds a contact by its email trimmed and without case.
CREATE INDEX IF NOT EXISTS contacts_email_key ON contacts (lower(trim(email)));
CREATE INDEX IF NOT EXISTS contacts_external ON contacts (external_id);
-- A company's user count joins its links to the contacts' roles; this index answers the join
-- without reading the contacts' documents.
CREATE INDEX IF NOT EXISTS contacts_role ON contacts (id, role);
-- kind: tags | notes | companies | segments; position keeps the attachment order.
CREATE TABLE IF NOT EXISTS contact_links (
    contact_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (contact_id, kind, target_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contact_links_target ON contact_links (kind, target_id, contact_id);
-- When and by which admin a tag was applied to a contact through the API; a seeded tag has no row
-- (its application is derived from the contact, contacts.py).
CREATE TABLE IF NOT EXISTS contact_taggings (
    contact_id TEXT NOT NULL,
    tag_id TEXT NOT NULL,
    applied_at INTEGER NOT NULL,
    admin_id TEXT NOT NULL,
    PRIMARY KEY (contact_id, tag_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS companies (
    id TEXT PRIMARY KEY,
    company_id TEXT,
    name TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_request_at INTEGER,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS companies_company_id ON companies (company_id);
CREATE INDEX IF NOT EXISTS companies_name ON companies (name);
CREATE INDEX IF NOT EXISTS companies_last_request ON companies (last_request_at, id);
CREATE TABLE IF NOT EXISTS company_links (
    company_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (company_id, kind, target_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS company_links_target ON company_links (kind, target_id, company_id);
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    num INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    doc TEXT NOT NULL,
    body TEXT
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations (updated_at, id);
CREATE INDEX IF NOT EXISTS conversations_created ON conversations (created_at, id);
-- kind: contacts | teammates | tags
CREATE TABLE IF NOT EXISTS conversation_links (
    conversation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, kind, target_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS conversation_links_target
    ON conversation_links (kind, target_id, conversation_id);
CREATE TABLE IF NOT EXISTS conversation_parts (
    conversation_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS admins (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS teams (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tags (id TEXT PRIMARY KEY, name TEXT, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS segments (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS data_attributes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL,
    name TEXT NOT NULL,
    full_name TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS data_attributes_model ON data_attributes (model, full_name);
-- An event names its contact by id only; reads render the contact's identifiers (events.py).
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    contact_id TEXT,
    created_at INTEGER NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_contact ON events (contact_id, created_at);
