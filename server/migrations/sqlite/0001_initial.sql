-- passkey-magic: initial SQLite schema.
-- Times are Unix milliseconds (INTEGER); JSON values are TEXT; hashes and UUIDs are BLOBs.
-- Never edit a released migration: add a new file instead.

CREATE TABLE users (
    id          TEXT    PRIMARY KEY NOT NULL,
    -- The email as the user typed it.
    email       TEXT,
    -- Its canonical (lower-case) form: the key under which emails are unique.
    email_key   TEXT    UNIQUE,
    user_handle BLOB    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    metadata    TEXT,
    CHECK ((email IS NULL) = (email_key IS NULL))
) STRICT;

CREATE TABLE credentials (
    id              TEXT    PRIMARY KEY NOT NULL,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- webauthn-rs's Passkey as JSON.
    passkey         TEXT    NOT NULL,
    public_key      BLOB    NOT NULL,
    counter         INTEGER NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backed_up       INTEGER NOT NULL,
    -- JSON array of strings.
    transports      TEXT    NOT NULL,
    aaguid          BLOB,
    label           TEXT,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER,
    metadata        TEXT
) STRICT;

-- A user's credentials, oldest first.
CREATE INDEX credentials_by_user ON credentials (user_id, created_at, id);

CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY NOT NULL,
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash   BLOB    NOT NULL UNIQUE,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_method  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT,
    ip_address   TEXT,
    auth_context TEXT
) STRICT;

-- A user's sessions, newest first.
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE challenges (
    challenge  TEXT    PRIMARY KEY NOT NULL,
    -- The tagged Ceremony (webauthn-rs state included) as JSON.
    ceremony   TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX challenges_by_expiry ON challenges (expires_at);
