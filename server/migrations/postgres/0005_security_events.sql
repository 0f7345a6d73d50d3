-- passkey-magic: each account's security log (sign-ins, failed sign-ins of a known user,
-- passkey, session, email and account changes). Append-only: rows are removed only by
-- the retention purge (`created_at` older than the configured days). No foreign key to
-- users: a deleted account's events stay until they age out, for the operator.

CREATE TABLE security_events (
    -- Byte order ("C"), as the other stores compare ids in a page's keyset cursor.
    id            TEXT COLLATE "C" PRIMARY KEY,
    user_id       TEXT   NOT NULL,
    -- signIn, signInFailed, passkeyAdded, ... (the wire names).
    type          TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    method        TEXT,
    reason        TEXT,
    ip_address    TEXT,
    user_agent    TEXT,
    credential_id TEXT,
    session_id    TEXT
);

-- A user's events newest first, a page at a time from a (created_at, id) cursor.
CREATE INDEX security_events_by_user ON security_events (user_id, created_at, id);
-- The retention purge.
CREATE INDEX security_events_by_time ON security_events (created_at);
