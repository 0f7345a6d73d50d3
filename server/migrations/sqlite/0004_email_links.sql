-- passkey-magic: emails waiting for their owner's confirmation (verified email linking).
-- `link-email` sends a confirmation link to the address; only using it attaches the
-- address to the user. Only the SHA-256 hash of the link's token is stored. A row is
-- taken (DELETE … RETURNING) by its first use; expired rows are purged. A row whose user
-- was deleted is harmless: confirming it finds no user and fails.

CREATE TABLE email_links (
    token_hash BLOB    PRIMARY KEY NOT NULL,
    -- The user who asked to link the address.
    user_id    TEXT    NOT NULL,
    -- The address, as typed.
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX email_links_by_expiry ON email_links (expires_at);
