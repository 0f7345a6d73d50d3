//! The SQL statements both SQL stores run, written once.
//!
//! Parameters are `$N`: PostgreSQL's syntax, which sqlx's SQLite driver binds by number
//! too. JSON values are bound and read as `sqlx::types::Json` (TEXT in SQLite, `jsonb`
//! in PostgreSQL), so no statement needs a cast. What differs stays with its backend:
//! the lock-out guards (one statement in SQLite, a row lock in PostgreSQL) and lists
//! (`IN (…)` in SQLite, `= ANY($n)` in PostgreSQL), which are appended to the `*_WHERE_*`
//! prefixes below.

macro_rules! user_columns {
    () => {
        "id, email, user_handle, created_at, metadata"
    };
}

macro_rules! credential_columns {
    () => {
        credential_columns!("")
    };
    // Qualified by a table alias (`"c."`), for joins.
    ($alias:literal) => {
        concat!(
            $alias,
            "id, ",
            $alias,
            "user_id, ",
            $alias,
            "passkey, ",
            $alias,
            "public_key, ",
            $alias,
            "counter, ",
            $alias,
            "backup_eligible, ",
            $alias,
            "backed_up, ",
            $alias,
            "transports, ",
            $alias,
            "aaguid, ",
            $alias,
            "label, ",
            $alias,
            "created_at, ",
            $alias,
            "last_used_at, ",
            $alias,
            "metadata"
        )
    };
}

/// The columns of a joined user `u`, prefixed `user_` (its id is the other row's
/// `user_id`); read back by the stores' `joined_user`.
macro_rules! joined_user_columns {
    () => {
        "u.email AS user_email, u.user_handle AS user_handle, \
         u.created_at AS user_created_at, u.metadata AS user_metadata"
    };
}

macro_rules! session_columns {
    () => {
        "id, token_hash, user_id, auth_method, created_at, expires_at, user_agent, \
         ip_address, auth_context"
    };
}

macro_rules! qr_columns {
    () => {
        "id, status_token_hash, confirmation_hash, state, confirmed, confirmation_attempts, \
         user_id, session_id, authenticated_at, created_at, expires_at"
    };
}

macro_rules! security_event_columns {
    () => {
        "id, user_id, type, created_at, method, reason, ip_address, user_agent, \
         credential_id, session_id"
    };
}
#[cfg(feature = "postgres")]
pub(crate) use {qr_columns, security_event_columns, session_columns};

// ---- users ----

pub(crate) const INSERT_USER: &str = "INSERT INTO users \
     (id, email, email_key, user_handle, created_at, metadata) VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const USER_BY_ID: &str =
    concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
pub(crate) const USER_BY_EMAIL: &str = concat!(
    "SELECT ",
    user_columns!(),
    " FROM users WHERE email_key = $1"
);
/// `$1` user, `$2` email as typed, `$3` its canonical form (the `UNIQUE` column).
pub(crate) const SET_USER_EMAIL: &str = "UPDATE users SET email = $2, email_key = $3 WHERE id = $1";
pub(crate) const CLEAR_USER_EMAIL: &str =
    "UPDATE users SET email = NULL, email_key = NULL WHERE id = $1";
pub(crate) const SET_USER_METADATA: &str = "UPDATE users SET metadata = $2 WHERE id = $1";
/// Credentials and sessions go with the user: `ON DELETE CASCADE`.
pub(crate) const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";

// ---- credentials ----

pub(crate) const INSERT_CREDENTIAL: &str = concat!(
    "INSERT INTO credentials (",
    credential_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
);
pub(crate) const CREDENTIAL_BY_ID: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM credentials WHERE id = $1"
);
/// A passkey and its user in one indexed lookup (every sign-in needs both).
/// A passkey and its user, the passkey's id bound at `$param`.
macro_rules! credential_with_user {
    ($param:literal) => {
        concat!(
            "SELECT ",
            $crate::store::sql::queries::credential_columns!("c."),
            ", ",
            $crate::store::sql::queries::joined_user_columns!(),
            " FROM credentials c JOIN users u ON u.id = c.user_id WHERE c.id = ",
            $param
        )
    };
}
#[cfg(feature = "postgres")]
pub(crate) use credential_with_user;
pub(crate) use {credential_columns, joined_user_columns};
pub(crate) const CREDENTIAL_WITH_USER: &str = credential_with_user!("$1");
pub(crate) const CREDENTIALS_FOR_USER: &str = concat!(
    "SELECT ",
    credential_columns!(),
    " FROM credentials WHERE user_id = $1 ORDER BY created_at, id"
);
/// The counter check is part of the `UPDATE`: of racing sign-ins with one counter value,
/// exactly one changes the row.
/// The counter compare-and-set; PostgreSQL prefixes it (`postgres::RECORD_CREDENTIAL_USE`).
macro_rules! record_credential_use {
    () => {
        "UPDATE credentials \
         SET passkey = $2, counter = $3, backed_up = $4, last_used_at = $5 \
         WHERE id = $1 AND (counter < $3 OR (counter = 0 AND $3 = 0))"
    };
}
#[cfg(feature = "postgres")]
pub(crate) use record_credential_use;
pub(crate) const RECORD_CREDENTIAL_USE: &str = record_credential_use!();
pub(crate) const UPDATE_CREDENTIAL: &str = "UPDATE credentials \
     SET label = COALESCE($3, label), metadata = COALESCE($4, metadata) \
     WHERE id = $1 AND user_id = $2";
pub(crate) const DELETE_CREDENTIAL: &str = "DELETE FROM credentials WHERE id = $1 AND user_id = $2";

// ---- sessions ----

pub(crate) const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (",
    session_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);
pub(crate) const SESSION_BY_TOKEN_HASH: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE token_hash = $1 AND expires_at > $2"
);
/// The session of a token hash with its user, in one indexed lookup (`token_hash` is
/// `UNIQUE`, `users.id` the primary key). User columns are prefixed `user_`.
/// The columns of a session `s` joined with its user `u`.
macro_rules! session_with_user_columns {
    () => {
        concat!(
            "s.id, s.token_hash, s.user_id, s.auth_method, s.created_at, s.expires_at, \
             s.user_agent, s.ip_address, s.auth_context, ",
            $crate::store::sql::queries::joined_user_columns!()
        )
    };
}
pub(crate) use session_with_user_columns;
pub(crate) const SESSION_WITH_USER: &str = concat!(
    "SELECT ",
    session_with_user_columns!(),
    " FROM sessions s JOIN users u ON u.id = s.user_id \
     WHERE s.token_hash = $1 AND s.expires_at > $2"
);
pub(crate) const SESSIONS_FOR_USER: &str = concat!(
    "SELECT ",
    session_columns!(),
    " FROM sessions WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id DESC"
);
pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE id = $1 AND user_id = $2";
pub(crate) const DELETE_SESSIONS_FOR_USER: &str = "DELETE FROM sessions WHERE user_id = $1";

// ---- QR logins ----

pub(crate) const INSERT_QR: &str = concat!(
    "INSERT INTO qr_sessions (",
    qr_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);
pub(crate) const QR_BY_ID: &str =
    concat!("SELECT ", qr_columns!(), " FROM qr_sessions WHERE id = $1");
/// Followed by the backend's list condition on `$1…`.
pub(crate) const QR_WHERE_ID: &str =
    concat!("SELECT ", qr_columns!(), " FROM qr_sessions WHERE id ");
/// Compare and set in one statement; followed by the list condition on the `from`
/// states (from `$9`) and [`QR_RETURNING`].
pub(crate) const TRANSITION_QR_WHERE_STATE: &str = "UPDATE qr_sessions SET state = $3, \
     confirmed = (confirmed OR $4), user_id = COALESCE($5, user_id), \
     session_id = COALESCE($6, session_id), \
     authenticated_at = COALESCE($7, authenticated_at), \
     expires_at = COALESCE($8, expires_at) \
     WHERE id = $1 AND expires_at > $2 AND state ";
pub(crate) const QR_RETURNING: &str = concat!(" RETURNING ", qr_columns!());
/// Followed by the list condition on the states (from `$4`) and
/// [`ATTEMPTS_RETURNING`].
pub(crate) const COUNT_ATTEMPT_WHERE_STATE: &str = "UPDATE qr_sessions \
     SET confirmation_attempts = confirmation_attempts + 1 \
     WHERE id = $1 AND expires_at > $2 AND NOT confirmed AND confirmation_attempts < $3 \
     AND state ";
pub(crate) const ATTEMPTS_RETURNING: &str = " RETURNING confirmation_attempts";

// ---- pending ceremonies ----

pub(crate) const PUT_CHALLENGE: &str = "INSERT INTO challenges (challenge, ceremony, expires_at) \
     VALUES ($1, $2, $3) ON CONFLICT (challenge) DO UPDATE \
     SET ceremony = excluded.ceremony, expires_at = excluded.expires_at";
/// Delete-and-return in one statement: of all racing takers exactly one gets the row.
pub(crate) const TAKE_CHALLENGE: &str =
    "DELETE FROM challenges WHERE challenge = $1 RETURNING ceremony, expires_at";

// ---- magic links ----

pub(crate) const PUT_MAGIC_LINK: &str = "INSERT INTO magic_links \
     (token_hash, email, created_at, expires_at) VALUES ($1, $2, $3, $4)";
/// As [`TAKE_CHALLENGE`]: one winner among racing takers.
pub(crate) const TAKE_MAGIC_LINK: &str = "DELETE FROM magic_links WHERE token_hash = $1 \
     RETURNING email, created_at, expires_at";
pub(crate) const DELETE_MAGIC_LINK: &str = "DELETE FROM magic_links WHERE token_hash = $1";

// ---- pending email links (migration 0004) ----

pub(crate) const PUT_EMAIL_LINK: &str = "INSERT INTO email_links \
     (token_hash, user_id, email, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
/// As [`TAKE_CHALLENGE`]: one winner among racing takers.
pub(crate) const TAKE_EMAIL_LINK: &str = "DELETE FROM email_links WHERE token_hash = $1 \
     RETURNING user_id, email, created_at, expires_at";

// ---- security events (migration 0005) ----

pub(crate) const INSERT_SECURITY_EVENT: &str = concat!(
    "INSERT INTO security_events (",
    security_event_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);
/// A user's newest events: `$1` user, `$2` limit. Read from the end of the
/// `(user_id, created_at, id)` index.
pub(crate) const SECURITY_EVENTS_FOR_USER: &str = concat!(
    "SELECT ",
    security_event_columns!(),
    " FROM security_events WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
);
/// The page after a cursor: `$1` user, `$2` limit, `$3` cursor time, `$4` cursor id.
/// `created_at <= $3` is an index range (a keyset seek, not an offset); the `OR` drops
/// the cursor's own event and the ones before it at the same millisecond.
pub(crate) const SECURITY_EVENTS_FOR_USER_AFTER: &str = concat!(
    "SELECT ",
    security_event_columns!(),
    " FROM security_events WHERE user_id = $1 AND created_at <= $3 \
     AND (created_at < $3 OR id < $4) ORDER BY created_at DESC, id DESC LIMIT $2"
);
/// The retention purge: `$1` cutoff.
pub(crate) const PURGE_SECURITY_EVENTS: &str = "DELETE FROM security_events WHERE created_at < $1";

// ---- maintenance ----

/// Deletes expired QR logins that never reached a final state, first and on its own:
/// its count is the number of logins that expired (each row is deleted once, whichever
/// instance purges).
pub(crate) const PURGE_EXPIRED_QR: &str = "DELETE FROM qr_sessions \
     WHERE expires_at <= $1 AND state NOT IN ('claimed', 'cancelled')";

/// Deletes the other expired rows (after [`PURGE_EXPIRED_QR`]).
pub(crate) const PURGE: [&str; 5] = [
    "DELETE FROM sessions WHERE expires_at <= $1",
    "DELETE FROM challenges WHERE expires_at <= $1",
    "DELETE FROM magic_links WHERE expires_at <= $1",
    "DELETE FROM qr_sessions WHERE expires_at <= $1",
    "DELETE FROM email_links WHERE expires_at <= $1",
];
