-- passkey-magic: QR cross-device logins.
-- Secrets are kept only as SHA-256 hashes; the desktop's session token is never stored
-- (the session is created when the desktop claims it). Expiry is derived from
-- `expires_at` on read; `state` never says "expired".

CREATE TABLE qr_sessions (
    id                    TEXT    PRIMARY KEY,
    status_token_hash     BYTEA   NOT NULL,
    -- Salted with the id; NULL when confirmation is off.
    confirmation_hash     BYTEA,
    -- created | scanned | challenged | authenticated | claimed | cancelled
    state                 TEXT    NOT NULL,
    confirmed             BOOLEAN NOT NULL DEFAULT FALSE,
    confirmation_attempts BIGINT  NOT NULL DEFAULT 0,
    -- The phone's user and the desktop session to be, once authenticated. No foreign
    -- key: a user deleted before the desktop claims simply gets no session.
    user_id               TEXT,
    session_id            TEXT,
    authenticated_at      BIGINT,
    created_at            BIGINT  NOT NULL,
    expires_at            BIGINT  NOT NULL,
    CHECK (state IN ('created', 'scanned', 'challenged', 'authenticated', 'claimed',
                     'cancelled'))
);

CREATE INDEX qr_sessions_by_expiry ON qr_sessions (expires_at);
