-- passkey-magic: magic links waiting to be used.
-- Only the SHA-256 hash of a link's token is stored; the token itself is only in the email.
-- A link is taken (DELETE … RETURNING) by its first use; expired rows are purged.

CREATE TABLE magic_links (
    token_hash BYTEA  PRIMARY KEY,
    -- The address the link was sent to, as typed.
    email      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX magic_links_by_expiry ON magic_links (expires_at);
