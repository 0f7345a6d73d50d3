-- passkey-magic: initial PostgreSQL schema.
-- Times are Unix milliseconds (BIGINT); JSON values are JSONB; hashes and UUIDs are BYTEA
-- (the same shapes as the SQLite schema, so the store code stays parallel).
-- Never edit a released migration: add a new file instead.

CREATE TABLE users (
    id          TEXT   PRIMARY KEY,
    -- The email as the user typed it.
    email       TEXT,
    -- Its canonical (lower-case) form: the key under which emails are unique.
    email_key   TEXT   UNIQUE,
    user_handle BYTEA  NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    metadata    JSONB,
    CHECK ((email IS NULL) = (email_key IS NULL))
);

CREATE TABLE credentials (
    id              TEXT    PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- webauthn-rs's Passkey.
    passkey         JSONB   NOT NULL,
    public_key      BYTEA   NOT NULL,
    counter         BIGINT  NOT NULL,
    backup_eligible BOOLEAN NOT NULL,
    backed_up       BOOLEAN NOT NULL,
    transports      JSONB   NOT NULL,
    aaguid          BYTEA,
    label           TEXT,
    created_at      BIGINT  NOT NULL,
    last_used_at    BIGINT,
    metadata        JSONB
);

-- A user's credentials, oldest first.
CREATE INDEX credentials_by_user ON credentials (user_id, created_at, id);

CREATE TABLE sessions (
    id           TEXT   PRIMARY KEY,
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash   BYTEA  NOT NULL UNIQUE,
    user_id      TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_method  TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    user_agent   TEXT,
    ip_address   TEXT,
    auth_context JSONB
);

-- A user's sessions, newest first.
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE challenges (
    challenge  TEXT   PRIMARY KEY,
    -- The tagged Ceremony (webauthn-rs state included).
    ceremony   JSONB  NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX challenges_by_expiry ON challenges (expires_at);
