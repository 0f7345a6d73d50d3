//! The storage conformance suite: the semantics every [`Store`] must meet, as test cases
//! any adapter can run (feature `testing`).
//!
//! Each case is a `pub async fn` taking a fresh, empty store and panicking on failure.
//! [`conformance_tests!`](crate::conformance_tests) stamps one `#[tokio::test]` per case
//! for a backend, so a failure names both:
//!
//! ```
//! // In a test crate depending on `passkey-magic-server` (feature `testing`) and `tokio`:
//! use passkey_magic_server::store::MemoryStore;
//!
//! passkey_magic_server::conformance_tests!(memory, MemoryStore::new());
//! // → tests `memory::users_round_trip`, `memory::emails_are_unique_case_insensitively`, …
//! # fn main() {}
//! ```
//!
//! The constructor expression is evaluated inside each test (it may `.await`) and may
//! produce any [`Fixture`]: a store itself, or a value that owns a store and cleans up
//! after it when dropped (a temporary database file, a schema, a key prefix).
//!
//! Races are run by polling many calls at once on one task ([`join_all`]): the store sees
//! them concurrently (SQL pools and network clients run them in parallel), so "exactly
//! one winner" is tested against the backend's own atomicity, not a process lock.

// A failing assertion is how a conformance case reports a broken store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::{
    Ceremony, ChallengeRecord, CredentialRecord, CredentialUsage, Guarded, SessionRecord, Store,
    StoreError, UserRecord,
};
use super::{EmailLinkRecord, MagicLinkRecord};
use super::{Purged, QrChange, QrSessionRecord, SecurityEventRecord};
use crate::qr::state::{self as qr_state, QrSessionState};
use crate::secrets::{TokenHash, base64url, random_user_handle};
use passkey_magic_shared::{AuthContext, AuthMethod, Metadata, Timestamp};
use serde_json::json;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use uuid::Uuid;
use webauthn_rs::prelude::{Passkey, Url};

/// A store under test, possibly owning resources to clean up when dropped.
pub trait Fixture {
    /// The store the cases run against.
    fn store(&self) -> &dyn Store;
}

impl<S: Store> Fixture for S {
    fn store(&self) -> &dyn Store {
        self
    }
}

/// Stamps one `#[tokio::test]` per conformance case into a module named `$backend`,
/// each running the case against a fresh store from `$make` (an expression evaluated
/// inside the test; it may `.await` and may yield any
/// [`Fixture`](crate::store::conformance::Fixture)). The calling crate needs `tokio`
/// with the `macros` and `rt` features; items of the calling module are in scope.
///
/// ```
/// use passkey_magic_server::store::SqliteStore;
///
/// passkey_magic_server::conformance_tests!(
///     sqlite,
///     SqliteStore::connect("sqlite::memory:").await.unwrap()
/// );
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($backend:ident, $make:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use super::*;

            // QR logins.
            $crate::conformance_tests!(@cases $make;
                qr_sessions_round_trip,
                qr_sessions_looked_up_at_once_get_their_own,
                qr_transitions_apply_only_from_their_states,
                expired_qr_sessions_stay_readable_but_never_move,
                concurrent_qr_transitions_have_one_winner,
                qr_confirmation_attempts_are_capped_under_races,
                purge_removes_expired_qr_sessions,
            );

            $crate::conformance_tests!(@cases $make;
                users_round_trip,
                emails_are_unique_case_insensitively,
                concurrent_sign_ups_with_one_email_have_one_winner,
                user_ids_are_unique,
                clearing_the_email_needs_a_passkey,
                metadata_round_trips_as_json,
                credentials_round_trip_oldest_first,
                credentials_are_found_with_their_user,
                credential_use_is_recorded,
                credential_use_needs_a_higher_counter,
                racing_uses_with_one_counter_have_one_winner,
                credentials_are_updated_only_by_their_owner,
                credentials_are_deleted_only_by_their_owner,
                last_passkey_without_email_is_kept,
                racing_deletes_never_lock_a_user_out,
                sessions_are_found_by_token_hash_until_expiry,
                sessions_are_found_with_their_user,
                sessions_looked_up_at_once_get_their_own_answer,
                sessions_are_listed_newest_first,
                sessions_are_deleted_only_by_their_owner,
                sessions_are_unique,
                challenges_are_taken_once,
                concurrent_takers_of_a_challenge_have_one_winner,
                challenges_put_at_once_are_all_kept,
                expired_challenges_cannot_be_taken,
                sign_ins_take_their_challenge_and_read_their_passkey,
                purge_removes_only_expired_rows,
                deleting_a_user_removes_its_credentials_and_sessions,
            );

            // Magic links.
            $crate::conformance_tests!(@cases $make;
                magic_links_are_taken_once,
                concurrent_takers_of_a_magic_link_have_one_winner,
                expired_magic_links_cannot_be_taken,
                deleted_magic_links_cannot_be_taken,
                magic_link_token_hashes_are_unique,
                purge_removes_expired_magic_links,
            );

            // Security events.
            $crate::conformance_tests!(@cases $make;
                security_events_round_trip_newest_first,
                security_events_are_paged_by_cursor,
                security_events_are_kept_per_user,
                security_event_ids_are_unique,
                purge_removes_old_security_events,
                deleting_a_user_keeps_its_security_events,
                sign_ins_write_their_session_and_event,
                sign_ins_written_at_once_each_get_their_own_outcome,
            );

            // Pending email links (verified email linking).
            $crate::conformance_tests!(@cases $make;
                email_links_are_taken_once,
                concurrent_takers_of_an_email_link_have_one_winner,
                expired_email_links_are_refused_and_purged,
            );
        }
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let fixture = $make;
                $crate::store::conformance::$case(
                    $crate::store::conformance::Fixture::store(&fixture),
                )
                .await;
            }
        )*
    };
}

// ---- helpers ----

/// A fixed "now" for the suite: 2027-01-15, as Unix milliseconds.
const NOW: i64 = 1_800_000_000_000;
const MINUTE: i64 = 60_000;

/// [`NOW`] moved by `millis`.
fn at(millis: i64) -> Timestamp {
    Timestamp::from_unix_millis(NOW + millis)
}

/// A stored passkey as webauthn-rs 0.6.2 serialises it (a real ES256 registration).
const PASSKEY_JSON: &str = r#"{"cred":{"cred_id":"N-SJldtjvjwNqLcN8WzZRQ","cred":{"type_":"ES256","key":{"EC_EC2":{"curve":"SECP256R1","x":"0CD3R-8NHm6NLS3oDEzAT9IWoghQ7UmB7MFxqKU0OlE","y":"tGYR1wFkfmqv9kFo0AsqqWXZqvi7J-TOJdTPtNlWiBA"}}},"counter":0,"transports":["internal","hybrid"],"user_verified":true,"backup_eligible":true,"backup_state":true,"registration_policy":"required","extensions":{"cred_protect":"Ignored","hmac_create_secret":"NotRequested","appid":"NotRequested","cred_props":{"Unsigned":{"rk":true}}},"attestation":{"data":"None","metadata":"None"},"attestation_format":"none"}}"#;

fn passkey() -> Passkey {
    serde_json::from_str(PASSKEY_JSON).expect("the passkey fixture parses")
}

fn user(id: &str, email: Option<&str>) -> UserRecord {
    UserRecord {
        id: id.to_owned(),
        email: email.map(str::to_owned),
        user_handle: random_user_handle().expect("OS randomness"),
        created_at: at(0),
        metadata: None,
    }
}

pub(crate) fn credential(id: &str, user_id: &str, created_at: Timestamp) -> CredentialRecord {
    CredentialRecord {
        id: id.to_owned(),
        user_id: user_id.to_owned(),
        passkey: passkey(),
        public_key: vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01],
        counter: 0,
        backup_eligible: true,
        backed_up: true,
        transports: vec!["internal".into(), "hybrid".into()],
        aaguid: Some(Uuid::from_u128(0xfbfc3007_154e_4ecc_8c0b_6e020557d7bd)),
        label: None,
        created_at,
        last_used_at: None,
        metadata: None,
    }
}

fn session(id: &str, user_id: &str, created_at: Timestamp, expires_at: Timestamp) -> SessionRecord {
    SessionRecord {
        id: id.to_owned(),
        token_hash: token(id),
        user_id: user_id.to_owned(),
        auth_method: AuthMethod::Passkey,
        created_at,
        expires_at,
        user_agent: None,
        ip_address: None,
        auth_context: None,
    }
}

/// The hash of the bearer token of the session with this id (distinct per id).
fn token(session_id: &str) -> TokenHash {
    TokenHash::of(&format!("token-of-{session_id}"))
}

/// A pending discoverable sign-in with real webauthn-rs state.
pub(crate) fn challenge(expires_at: Timestamp) -> ChallengeRecord {
    let origin = Url::parse("http://localhost:8787").expect("a valid origin");
    let webauthn = webauthn_rs::WebauthnBuilder::new("localhost", &origin)
        .and_then(webauthn_rs::WebauthnBuilder::build)
        .expect("a valid relying party");
    let (options, state) = webauthn
        .start_discoverable_authentication()
        .expect("a discoverable sign-in starts");
    ChallengeRecord {
        challenge: base64url(&options.public_key.challenge),
        ceremony: Ceremony::DiscoverableSignIn { state },
        expires_at,
    }
}

fn metadata(value: serde_json::Value) -> Metadata {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("metadata must be a JSON object, not {other}"),
    }
}

/// Records without `PartialEq` (they hold webauthn-rs types) compare as JSON.
fn as_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("records serialise")
}

fn ids(credentials: &[CredentialRecord]) -> Vec<&str> {
    credentials.iter().map(|c| c.id.as_str()).collect()
}

fn session_ids(sessions: &[SessionRecord]) -> Vec<&str> {
    sessions.iter().map(|s| s.id.as_str()).collect()
}

/// Polls all `futures` concurrently on the current task and returns their outputs in
/// order (a dependency-free `join_all`).
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|context| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

mod challenges;
mod credentials;
mod email_links;
mod events;
mod magic_links;
mod maintenance;
mod persistence;
mod qr;
mod sessions;
mod users;

pub use challenges::*;
pub use credentials::*;
pub use email_links::*;
pub use events::*;
pub use magic_links::*;
pub use maintenance::*;
pub use persistence::*;
pub use qr::*;
pub use sessions::*;
pub use users::*;
