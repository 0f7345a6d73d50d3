//! Metrics through the [`metrics`] facade. Like `tracing`, the library only emits: nothing
//! is recorded until the application installs a recorder (the `passkey-magic` binary
//! installs a Prometheus exporter with `--metrics-listen`).
//!
//! Every label value comes from a small fixed set (a method, an outcome, a rule name);
//! never a user id, an email, an address or a token, so series stay few and carry no
//! personal data.

mod store;

pub(crate) use store::MeteredStore;
pub use store::STORE_ERRORS;

use crate::error::{Error, Reason};
use passkey_magic_shared::entities::AuthMethod;
use passkey_magic_shared::routes::RateLimitRule;

/// Counter: finished sign-ups, labelled `method` and `outcome`.
pub const SIGN_UPS: &str = "passkey_magic_sign_ups_total";
/// Counter: finished sign-ins, labelled `method` and `outcome`.
pub const SIGN_INS: &str = "passkey_magic_sign_ins_total";
/// Counter: requests refused by a rate limit, labelled `rule` (`qr.scan`, ...).
pub const RATE_LIMITED: &str = "passkey_magic_rate_limited_total";
/// Counter: magic-link emails handed to the sender, labelled `outcome` (`sent`, `failed`).
pub const EMAILS: &str = "passkey_magic_emails_total";

/// Counter: QR logins that reached a final state, labelled `state`: `completed` (the
/// desktop collected its session), `cancelled` (by the desktop, also after the phone
/// completed), `locked_out` (too many wrong codes) or `expired` (counted by the purge,
/// [`crate::Auth::purge_expired`]). Each login is counted once.
pub const QR_LOGINS: &str = "passkey_magic_qr_logins_total";
/// Gauge: desktop long-polls on QR status being held now.
pub const LONG_POLLS: &str = "passkey_magic_qr_long_polls_active";
/// Counter: QR ids with waiting desktops woken, labelled `source`: `local` (a transition
/// in this process), `announcement` (another instance's message) or `recheck` (the
/// fallback re-check found a change). Counted once per woken id, however many desktops
/// wait on it.
pub const QR_WAKEUPS: &str = "passkey_magic_qr_wakeups_total";
/// Counter: messages announcing QR changes to other instances (`NOTIFY`, `PUBLISH`) sent
/// by this process; each carries every change queued while the previous one was sent.
pub const QR_ANNOUNCEMENTS: &str = "passkey_magic_qr_announcements_total";

/// Registers a help text for each metric with the installed recorder (the `# HELP` lines
/// of a Prometheus scrape). Call once after installing a recorder; optional.
pub fn describe() {
    metrics::describe_counter!(SIGN_UPS, "Finished sign-ups by method and outcome.");
    metrics::describe_counter!(SIGN_INS, "Finished sign-ins by method and outcome.");
    metrics::describe_counter!(RATE_LIMITED, "Requests refused by a rate limit, by rule.");
    metrics::describe_counter!(EMAILS, "Magic-link emails sent or failed.");
    metrics::describe_counter!(QR_LOGINS, "QR logins that reached a final state.");
    metrics::describe_gauge!(LONG_POLLS, "QR status long-polls being held.");
    metrics::describe_counter!(QR_WAKEUPS, "QR ids with waiters woken, by source.");
    metrics::describe_counter!(
        QR_ANNOUNCEMENTS,
        "Messages announcing QR changes to other instances."
    );
    metrics::describe_counter!(STORE_ERRORS, "Storage failures by operation and kind.");
}

/// The `outcome` label of a finished sign-in or sign-up: `success`, or why it failed.
pub fn outcome<T>(result: &Result<T, Error>) -> &'static str {
    match result {
        Ok(_) => "success",
        Err(Error::InvalidRequest(reason)) => match reason {
            Reason::ChallengeExpired => "challenge_expired",
            Reason::VerificationFailed => "verification_failed",
            Reason::UnknownPasskey => "unknown_passkey",
            Reason::InvalidMagicLink => "invalid_magic_link",
            Reason::EmailInUse | Reason::UserExists | Reason::PasskeyExists => "conflict",
            _ => "invalid_request",
        },
        Err(Error::Request(_)) => "invalid_request",
        Err(Error::Vetoed(_)) => "vetoed",
        Err(Error::RateLimited { .. }) => "rate_limited",
        Err(Error::Unavailable(_)) => "unavailable",
        Err(_) => "error",
    }
}

/// Counts a finished sign-up attempt.
pub(crate) fn sign_up<T>(method: AuthMethod, result: &Result<T, Error>) {
    metrics::counter!(SIGN_UPS, "method" => method.as_str(), "outcome" => outcome(result))
        .increment(1);
}

/// Counts a finished sign-in attempt.
pub(crate) fn sign_in<T>(method: AuthMethod, result: &Result<T, Error>) {
    metrics::counter!(SIGN_INS, "method" => method.as_str(), "outcome" => outcome(result))
        .increment(1);
}

/// Counts a request refused by `rule`.
pub(crate) fn rate_limited(rule: RateLimitRule) {
    metrics::counter!(RATE_LIMITED, "rule" => rule.name()).increment(1);
}

/// Counts a magic-link email sent or failed.
pub(crate) fn email(sent: bool) {
    let outcome = if sent { "sent" } else { "failed" };
    metrics::counter!(EMAILS, "outcome" => outcome).increment(1);
}

/// Counts a QR login reaching the final `state`.
pub(crate) fn qr_login(state: &'static str) {
    metrics::counter!(QR_LOGINS, "state" => state).increment(1);
}

/// Counts QR logins found expired by a purge.
pub(crate) fn qr_logins_expired(count: u64) {
    if count > 0 {
        metrics::counter!(QR_LOGINS, "state" => "expired").increment(count);
    }
}

/// One more (`+1.0`) or one fewer (`-1.0`) long-poll held.
pub(crate) fn long_polls(delta: f64) {
    metrics::gauge!(LONG_POLLS).increment(delta);
}

/// Counts `count` QR ids with waiters woken by `source` (`local`, `announcement`,
/// `recheck`).
pub(crate) fn qr_wakeups(source: &'static str, count: usize) {
    if count > 0 {
        metrics::counter!(QR_WAKEUPS, "source" => source).increment(count as u64);
    }
}

/// Counts one message announcing QR changes, sent.
pub(crate) fn qr_announcement() {
    metrics::counter!(QR_ANNOUNCEMENTS).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_a_fixed_set() {
        assert_eq!(outcome(&Ok::<(), Error>(())), "success");
        assert_eq!(
            outcome::<()>(&Err(Error::InvalidRequest(Reason::UnknownPasskey))),
            "unknown_passkey"
        );
        assert_eq!(outcome::<()>(&Err(Error::Unauthorized)), "error");
    }
}
