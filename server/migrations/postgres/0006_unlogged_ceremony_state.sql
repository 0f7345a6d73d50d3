-- passkey-magic: short-lived ceremony state skips PostgreSQL's write-ahead log.
--
-- Challenges (minutes) and QR logins (minutes) are written several times per sign-in;
-- as UNLOGGED tables their commits need no WAL flush (no fsync), which halves the
-- fsyncs of a passkey sign-in. The price: after a PostgreSQL crash (not a clean restart)
-- these two tables come back empty, so ceremonies in progress at that moment must start
-- again (the user presses the button again, or rescans the QR code). Users, passkeys,
-- sessions, magic links and email links stay fully durable. Unlogged tables are not
-- replicated to standbys either: after a fail-over, the same applies.
ALTER TABLE challenges SET UNLOGGED;
ALTER TABLE qr_sessions SET UNLOGGED;
