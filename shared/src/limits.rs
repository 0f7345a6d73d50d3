//! Field limits of the protocol. A value over its limit is rejected with
//! `400 Invalid field: <name>` before anything else happens.

/// Bearer tokens: session, magic-link and QR status tokens.
pub const MAX_TOKEN_LEN: usize = 1024;
/// Identifiers: user, credential, session and QR session ids.
pub const MAX_ID_LEN: usize = 256;
/// Credential labels.
pub const MAX_LABEL_LEN: usize = 200;
/// Email addresses (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// User names shown by authenticators (`userName` of registration options).
pub const MAX_USER_NAME_LEN: usize = 256;
/// QR confirmation codes (digits).
pub const MAX_CONFIRMATION_CODE_LEN: usize = 16;
/// User and credential metadata, measured as compact JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// A whole request body. WebAuthn attestations with certificate chains stay well below.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The longest QR status long-poll, in seconds (`?wait=N`).
pub const MAX_QR_WAIT_SECONDS: u32 = 30;
