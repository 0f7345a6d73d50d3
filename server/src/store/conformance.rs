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

use super::MagicLinkRecord;
use super::{
    Ceremony, ChallengeRecord, CredentialRecord, CredentialUsage, Guarded, SessionRecord, Store,
    StoreError, UserRecord,
};
use super::{QrChange, QrSessionRecord};
use crate::qr::state::{self as qr_state, QrSessionState};
use crate::secrets::{SecretToken, base64url, random_user_handle};
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
                credential_use_is_recorded,
                credentials_are_updated_only_by_their_owner,
                credentials_are_deleted_only_by_their_owner,
                last_passkey_without_email_is_kept,
                racing_deletes_never_lock_a_user_out,
                sessions_are_found_by_token_hash_until_expiry,
                sessions_are_listed_newest_first,
                sessions_are_deleted_only_by_their_owner,
                sessions_are_unique,
                challenges_are_taken_once,
                concurrent_takers_of_a_challenge_have_one_winner,
                expired_challenges_cannot_be_taken,
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

fn credential(id: &str, user_id: &str, created_at: Timestamp) -> CredentialRecord {
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
        token_hash: token(id).hash(),
        user_id: user_id.to_owned(),
        auth_method: AuthMethod::Passkey,
        created_at,
        expires_at,
        user_agent: None,
        ip_address: None,
        auth_context: None,
    }
}

/// The bearer token of the session with this id (distinct per id).
fn token(session_id: &str) -> SecretToken {
    SecretToken::from_client(format!("token-of-{session_id}"))
}

/// A pending discoverable sign-in with real webauthn-rs state.
fn challenge(expires_at: Timestamp) -> ChallengeRecord {
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

// ---- users ----

/// Users are created, found by id and by email (any case), updated, and deleted once.
pub async fn users_round_trip(store: &dyn Store) {
    let mut ada = user("u-ada", Some("Ada@Example.com"));
    ada.metadata = Some(metadata(json!({ "plan": "pro" })));
    store.create_user(&ada).await.unwrap();

    assert_eq!(store.user_by_id("u-ada").await.unwrap(), Some(ada.clone()));
    assert_eq!(
        store.user_by_email("ada@example.COM").await.unwrap(),
        Some(ada.clone()),
        "email lookup ignores case and returns the email as typed"
    );
    assert_eq!(store.user_by_id("u-nobody").await.unwrap(), None);
    assert_eq!(
        store.user_by_email("nobody@example.com").await.unwrap(),
        None
    );

    let passkey_only = user("u-passkey-only", None);
    store.create_user(&passkey_only).await.unwrap();
    assert_eq!(
        store.user_by_id("u-passkey-only").await.unwrap(),
        Some(passkey_only)
    );

    let new_metadata = metadata(json!({ "plan": "free" }));
    assert!(
        store
            .set_user_metadata("u-ada", Some(&new_metadata))
            .await
            .unwrap()
    );
    let stored = store.user_by_id("u-ada").await.unwrap().unwrap();
    assert_eq!(stored.metadata, Some(new_metadata.clone()));
    assert!(store.set_user_metadata("u-ada", None).await.unwrap());
    let stored = store.user_by_id("u-ada").await.unwrap().unwrap();
    assert_eq!(stored.metadata, None);
    assert!(
        !store
            .set_user_metadata("u-nobody", Some(&new_metadata))
            .await
            .unwrap()
    );

    assert!(store.delete_user("u-ada").await.unwrap());
    assert!(!store.delete_user("u-ada").await.unwrap());
    assert_eq!(store.user_by_id("u-ada").await.unwrap(), None);
    assert_eq!(store.user_by_email("ada@example.com").await.unwrap(), None);
}

/// Two users cannot share an email in any letter case (Unicode included); users without
/// an email are many; an email is free again once changed or deleted.
pub async fn emails_are_unique_case_insensitively(store: &dyn Store) {
    store
        .create_user(&user("u-1", Some("ada@example.com")))
        .await
        .unwrap();
    assert_eq!(
        store
            .create_user(&user("u-2", Some("ADA@EXAMPLE.COM")))
            .await,
        Err(StoreError::Conflict("email"))
    );

    store
        .create_user(&user("u-jürgen", Some("Jürgen@Bücher.de")))
        .await
        .unwrap();
    assert_eq!(
        store
            .create_user(&user("u-3", Some("JÜRGEN@BÜCHER.DE")))
            .await,
        Err(StoreError::Conflict("email"))
    );
    let found = store.user_by_email("jürgen@bücher.de").await.unwrap();
    assert_eq!(found.map(|u| u.id), Some("u-jürgen".to_owned()));

    for id in ["u-none-1", "u-none-2", "u-none-3"] {
        store.create_user(&user(id, None)).await.unwrap();
    }

    // Changing an email frees the old one; deleting a user frees its email.
    assert_eq!(
        store
            .set_user_email("u-1", Some("ada@new.example.com"))
            .await,
        Ok(Guarded::Done)
    );
    store
        .create_user(&user("u-4", Some("Ada@Example.com")))
        .await
        .unwrap();
    assert!(store.delete_user("u-jürgen").await.unwrap());
    store
        .create_user(&user("u-5", Some("jürgen@bücher.de")))
        .await
        .unwrap();
}

/// Twenty sign-ups racing for one email: exactly one is stored, the rest get a conflict.
pub async fn concurrent_sign_ups_with_one_email_have_one_winner(store: &dyn Store) {
    let users: Vec<UserRecord> = (0..20)
        .map(|n| user(&format!("u-racer-{n}"), Some("Race@Example.com")))
        .collect();
    let results = join_all(users.iter().map(|u| store.create_user(u)).collect()).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "results: {results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(()) | Err(StoreError::Conflict("email")))),
        "results: {results:?}"
    );
    let winner = store.user_by_email("race@example.com").await.unwrap();
    assert!(winner.is_some());
}

/// A second user with a taken id is refused, and the first is unchanged.
pub async fn user_ids_are_unique(store: &dyn Store) {
    let first = user("u-same", Some("first@example.com"));
    store.create_user(&first).await.unwrap();
    assert_eq!(
        store
            .create_user(&user("u-same", Some("second@example.com")))
            .await,
        Err(StoreError::Conflict("id"))
    );
    assert_eq!(store.user_by_id("u-same").await.unwrap(), Some(first));
    assert_eq!(
        store.user_by_email("second@example.com").await.unwrap(),
        None
    );
}

/// An email can be set, changed and re-cased freely, but cleared only while the user has
/// a passkey; another user's email is a conflict; an unknown user is not found.
pub async fn clearing_the_email_needs_a_passkey(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store
        .create_user(&user("u-other", Some("other@example.com")))
        .await
        .unwrap();

    assert_eq!(
        store.set_user_email("u-1", None).await,
        Ok(Guarded::WouldLockOut)
    );
    assert_eq!(
        store.set_user_email("u-1", Some("one@example.com")).await,
        Ok(Guarded::Done)
    );
    assert_eq!(
        store.set_user_email("u-1", None).await,
        Ok(Guarded::WouldLockOut),
        "the email is the only way in"
    );
    let stored = store.user_by_id("u-1").await.unwrap().unwrap();
    assert_eq!(stored.email.as_deref(), Some("one@example.com"));

    // Re-casing one's own email is not a conflict.
    assert_eq!(
        store.set_user_email("u-1", Some("One@Example.com")).await,
        Ok(Guarded::Done)
    );
    let stored = store
        .user_by_email("ONE@example.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.email.as_deref(), Some("One@Example.com"));

    assert_eq!(
        store.set_user_email("u-1", Some("OTHER@example.com")).await,
        Err(StoreError::Conflict("email"))
    );
    let stored = store.user_by_id("u-1").await.unwrap().unwrap();
    assert_eq!(stored.email.as_deref(), Some("One@Example.com"));

    store
        .create_credential(&credential("c-1", "u-1", at(0)))
        .await
        .unwrap();
    assert_eq!(store.set_user_email("u-1", None).await, Ok(Guarded::Done));
    let stored = store.user_by_id("u-1").await.unwrap().unwrap();
    assert_eq!(stored.email, None);
    assert_eq!(store.user_by_email("one@example.com").await.unwrap(), None);

    assert_eq!(
        store.set_user_email("u-nobody", None).await,
        Ok(Guarded::NotFound)
    );
    assert_eq!(
        store
            .set_user_email("u-nobody", Some("nobody@example.com"))
            .await,
        Ok(Guarded::NotFound)
    );
}

/// Metadata and auth context come back exactly: nested objects, arrays, numbers, nulls,
/// booleans and Unicode.
pub async fn metadata_round_trips_as_json(store: &dyn Store) {
    let rich = metadata(json!({
        "name": "Zoë 🦀 Ñandú",
        "nested": { "deeper": { "list": [1, 2.5, -3, true, null, "x"], "empty": {} } },
        "big": 9_007_199_254_740_991_i64,
        "quote": "she said \"hi\"\n\t\\",
        "日本語": "キー",
    }));
    let mut u = user("u-meta", Some("meta@example.com"));
    u.metadata = Some(rich.clone());
    store.create_user(&u).await.unwrap();
    assert_eq!(store.user_by_id("u-meta").await.unwrap(), Some(u));

    let mut c = credential("c-meta", "u-meta", at(0));
    c.metadata = Some(rich.clone());
    c.label = Some("Zoë's 🔑".into());
    store.create_credential(&c).await.unwrap();
    let stored = store.credential_by_id("c-meta").await.unwrap().unwrap();
    assert_eq!(stored.metadata, Some(rich.clone()));
    assert_eq!(stored.label.as_deref(), Some("Zoë's 🔑"));

    let mut s = session("s-meta", "u-meta", at(0), at(MINUTE));
    s.auth_method = AuthMethod::Qr;
    s.user_agent = Some("Mozilla/5.0 (Zoë)".into());
    s.ip_address = Some("2001:db8::1".into());
    s.auth_context = Some(AuthContext {
        qr_session_id: Some("qr-1".into()),
    });
    store.create_session(&s).await.unwrap();
    assert_eq!(
        store
            .session_by_token_hash(&s.token_hash, at(0))
            .await
            .unwrap(),
        Some(s)
    );
}

// ---- credentials ----

/// Credentials come back field for field, listed per user oldest first (ties by id);
/// ids are unique and a credential needs an existing user.
pub async fn credentials_round_trip_oldest_first(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();

    let mut full = credential("c-b", "u-1", at(0));
    full.label = Some("Laptop".into());
    full.counter = 7;
    full.backed_up = false;
    full.last_used_at = Some(at(5));
    full.metadata = Some(metadata(json!({ "device": "laptop" })));
    let mut bare = credential("c-bare", "u-1", at(-MINUTE));
    bare.aaguid = None;
    bare.transports = Vec::new();
    bare.backup_eligible = false;
    bare.backed_up = false;
    let tie = credential("c-a", "u-1", at(0));
    let newest = credential("c-0-newest", "u-1", at(MINUTE));
    let others = credential("c-other", "u-2", at(-2 * MINUTE));
    for c in [&full, &bare, &tie, &newest, &others] {
        store.create_credential(c).await.unwrap();
    }

    let stored = store.credential_by_id("c-b").await.unwrap().unwrap();
    assert_eq!(as_json(&stored), as_json(&full));
    let stored = store.credential_by_id("c-bare").await.unwrap().unwrap();
    assert_eq!(as_json(&stored), as_json(&bare));
    assert!(store.credential_by_id("c-none").await.unwrap().is_none());

    let listed = store.credentials_for_user("u-1").await.unwrap();
    assert_eq!(ids(&listed), ["c-bare", "c-a", "c-b", "c-0-newest"]);
    assert_eq!(as_json(&listed[2]), as_json(&full));
    assert!(
        store
            .credentials_for_user("u-none")
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        store
            .create_credential(&credential("c-a", "u-2", at(0)))
            .await,
        Err(StoreError::Conflict("id"))
    );
    let stored = store.credential_by_id("c-a").await.unwrap().unwrap();
    assert_eq!(stored.user_id, "u-1");

    assert!(
        store
            .create_credential(&credential("c-orphan", "u-none", at(0)))
            .await
            .is_err(),
        "a credential needs an existing user"
    );
    assert!(store.credential_by_id("c-orphan").await.unwrap().is_none());
}

/// A sign-in updates counter, backup state, passkey and last use, nothing else; an
/// unknown credential is ignored.
pub async fn credential_use_is_recorded(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    let mut before = credential("c-1", "u-1", at(0));
    before.label = Some("Phone".into());
    store.create_credential(&before).await.unwrap();

    store
        .record_credential_use(&CredentialUsage {
            id: "c-1".into(),
            passkey: passkey(),
            counter: 42,
            backed_up: false,
            used_at: at(MINUTE),
        })
        .await
        .unwrap();
    let after = store.credential_by_id("c-1").await.unwrap().unwrap();
    assert_eq!(after.counter, 42);
    assert!(!after.backed_up);
    assert_eq!(after.last_used_at, Some(at(MINUTE)));
    assert_eq!(as_json(&after.passkey), as_json(&passkey()));
    let expected = CredentialRecord {
        counter: 42,
        backed_up: false,
        last_used_at: Some(at(MINUTE)),
        ..before
    };
    assert_eq!(as_json(&after), as_json(&expected));

    store
        .record_credential_use(&CredentialUsage {
            id: "c-none".into(),
            passkey: passkey(),
            counter: u32::MAX,
            backed_up: true,
            used_at: at(2 * MINUTE),
        })
        .await
        .unwrap();
    assert!(store.credential_by_id("c-none").await.unwrap().is_none());
}

/// Label and metadata change independently (`None` keeps the field), and only for the
/// credential's owner.
pub async fn credentials_are_updated_only_by_their_owner(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();
    store
        .create_credential(&credential("c-1", "u-1", at(0)))
        .await
        .unwrap();

    assert!(
        store
            .update_credential("u-1", "c-1", Some("Work laptop"), None)
            .await
            .unwrap()
    );
    let meta = metadata(json!({ "color": "blue" }));
    assert!(
        store
            .update_credential("u-1", "c-1", None, Some(&meta))
            .await
            .unwrap()
    );
    assert!(
        store
            .update_credential("u-1", "c-1", None, None)
            .await
            .unwrap()
    );
    let stored = store.credential_by_id("c-1").await.unwrap().unwrap();
    assert_eq!(stored.label.as_deref(), Some("Work laptop"));
    assert_eq!(stored.metadata, Some(meta.clone()));

    assert!(
        !store
            .update_credential("u-2", "c-1", Some("stolen"), Some(&meta))
            .await
            .unwrap(),
        "another user's credential"
    );
    assert!(
        !store
            .update_credential("u-1", "c-none", Some("x"), None)
            .await
            .unwrap()
    );
    let stored = store.credential_by_id("c-1").await.unwrap().unwrap();
    assert_eq!(stored.label.as_deref(), Some("Work laptop"));
}

/// Deleting another user's or an unknown credential is `NotFound` and changes nothing.
pub async fn credentials_are_deleted_only_by_their_owner(store: &dyn Store) {
    store
        .create_user(&user("u-1", Some("one@example.com")))
        .await
        .unwrap();
    store
        .create_user(&user("u-2", Some("two@example.com")))
        .await
        .unwrap();
    store
        .create_credential(&credential("c-1", "u-1", at(0)))
        .await
        .unwrap();

    assert_eq!(
        store.delete_credential("u-2", "c-1").await,
        Ok(Guarded::NotFound)
    );
    assert_eq!(
        store.delete_credential("u-1", "c-none").await,
        Ok(Guarded::NotFound)
    );
    assert!(store.credential_by_id("c-1").await.unwrap().is_some());
    assert_eq!(
        store.delete_credential("u-1", "c-1").await,
        Ok(Guarded::Done)
    );
    assert!(store.credential_by_id("c-1").await.unwrap().is_none());
    assert_eq!(
        store.delete_credential("u-1", "c-1").await,
        Ok(Guarded::NotFound)
    );
}

/// The last passkey of a user without email is kept (`WouldLockOut`); with an email, or
/// with another passkey left, it goes.
pub async fn last_passkey_without_email_is_kept(store: &dyn Store) {
    store.create_user(&user("u-no-email", None)).await.unwrap();
    store
        .create_credential(&credential("c-1", "u-no-email", at(0)))
        .await
        .unwrap();
    store
        .create_credential(&credential("c-2", "u-no-email", at(1)))
        .await
        .unwrap();
    assert_eq!(
        store.delete_credential("u-no-email", "c-1").await,
        Ok(Guarded::Done)
    );
    assert_eq!(
        store.delete_credential("u-no-email", "c-2").await,
        Ok(Guarded::WouldLockOut)
    );
    assert!(store.credential_by_id("c-2").await.unwrap().is_some());

    store
        .create_user(&user("u-email", Some("mail@example.com")))
        .await
        .unwrap();
    store
        .create_credential(&credential("c-3", "u-email", at(0)))
        .await
        .unwrap();
    assert_eq!(
        store.delete_credential("u-email", "c-3").await,
        Ok(Guarded::Done)
    );
    assert!(
        store
            .credentials_for_user("u-email")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Racing guarded changes cannot together remove a user's last way in: two deletes of
/// the last two passkeys, or clearing the email while deleting the only passkey.
pub async fn racing_deletes_never_lock_a_user_out(store: &dyn Store) {
    for round in 0..10 {
        let user_id = format!("u-two-keys-{round}");
        store.create_user(&user(&user_id, None)).await.unwrap();
        let (first, second) = (format!("c-{round}-a"), format!("c-{round}-b"));
        for id in [&first, &second] {
            store
                .create_credential(&credential(id, &user_id, at(0)))
                .await
                .unwrap();
        }
        let results = join_all(vec![
            store.delete_credential(&user_id, &first),
            store.delete_credential(&user_id, &second),
        ])
        .await;
        let done = results.iter().filter(|r| **r == Ok(Guarded::Done)).count();
        let refused = results
            .iter()
            .filter(|r| **r == Ok(Guarded::WouldLockOut))
            .count();
        assert_eq!((done, refused), (1, 1), "round {round}: {results:?}");
        assert_eq!(store.credentials_for_user(&user_id).await.unwrap().len(), 1);

        let user_id = format!("u-key-and-email-{round}");
        let address = format!("race-{round}@example.com");
        store
            .create_user(&user(&user_id, Some(&address)))
            .await
            .unwrap();
        let only = format!("c-{round}-only");
        store
            .create_credential(&credential(&only, &user_id, at(0)))
            .await
            .unwrap();
        let results = join_all(vec![
            store.set_user_email(&user_id, None),
            store.delete_credential(&user_id, &only),
        ])
        .await;
        let (cleared, deleted) = (results[0].clone(), results[1].clone());
        assert!(
            !(cleared == Ok(Guarded::Done) && deleted == Ok(Guarded::Done)),
            "round {round}: both the email and the last passkey went"
        );
        let stored = store.user_by_id(&user_id).await.unwrap().unwrap();
        let keys = store.credentials_for_user(&user_id).await.unwrap();
        assert!(
            stored.email.is_some() || !keys.is_empty(),
            "round {round}: user locked out"
        );
    }
}

// ---- sessions ----

/// A session is found by its token hash while `now < expires_at`, never after.
pub async fn sessions_are_found_by_token_hash_until_expiry(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    let mut s = session("s-1", "u-1", at(0), at(MINUTE));
    s.auth_method = AuthMethod::MagicLink;
    s.user_agent = Some("curl/8".into());
    store.create_session(&s).await.unwrap();

    let hash = token("s-1").hash();
    assert_eq!(
        store.session_by_token_hash(&hash, at(0)).await.unwrap(),
        Some(s.clone())
    );
    assert_eq!(
        store
            .session_by_token_hash(&hash, at(MINUTE - 1))
            .await
            .unwrap(),
        Some(s)
    );
    assert_eq!(
        store
            .session_by_token_hash(&hash, at(MINUTE))
            .await
            .unwrap(),
        None,
        "expired at expires_at"
    );
    assert_eq!(
        store
            .session_by_token_hash(&token("s-unknown").hash(), at(0))
            .await
            .unwrap(),
        None
    );
}

/// A user's live sessions, newest first (ties by id, descending); expired ones and
/// other users' are not listed.
pub async fn sessions_are_listed_newest_first(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();
    for s in [
        session("s-old", "u-1", at(-2 * MINUTE), at(10 * MINUTE)),
        session("s-new", "u-1", at(0), at(10 * MINUTE)),
        session("s-tie-a", "u-1", at(-MINUTE), at(10 * MINUTE)),
        session("s-tie-b", "u-1", at(-MINUTE), at(10 * MINUTE)),
        session("s-expired", "u-1", at(-3 * MINUTE), at(0)),
        session("s-other", "u-2", at(0), at(10 * MINUTE)),
    ] {
        store.create_session(&s).await.unwrap();
    }
    let listed = store.sessions_for_user("u-1", at(0)).await.unwrap();
    assert_eq!(
        session_ids(&listed),
        ["s-new", "s-tie-b", "s-tie-a", "s-old"]
    );
    assert!(
        store
            .sessions_for_user("u-none", at(0))
            .await
            .unwrap()
            .is_empty()
    );
}

/// One session is deleted only by its owner; deleting all counts them and leaves other
/// users' sessions alone.
pub async fn sessions_are_deleted_only_by_their_owner(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    store.create_user(&user("u-2", None)).await.unwrap();
    for s in [
        session("s-1", "u-1", at(0), at(MINUTE)),
        session("s-2", "u-1", at(1), at(MINUTE)),
        session("s-3", "u-1", at(2), at(MINUTE)),
        session("s-other", "u-2", at(0), at(MINUTE)),
    ] {
        store.create_session(&s).await.unwrap();
    }

    assert!(!store.delete_session("u-2", "s-1").await.unwrap());
    assert!(!store.delete_session("u-1", "s-none").await.unwrap());
    assert!(
        store
            .session_by_token_hash(&token("s-1").hash(), at(0))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.delete_session("u-1", "s-1").await.unwrap());
    assert!(!store.delete_session("u-1", "s-1").await.unwrap());
    assert!(
        store
            .session_by_token_hash(&token("s-1").hash(), at(0))
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(store.delete_sessions_for_user("u-1").await, Ok(2));
    assert_eq!(store.delete_sessions_for_user("u-1").await, Ok(0));
    assert!(
        store
            .sessions_for_user("u-1", at(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        session_ids(&store.sessions_for_user("u-2", at(0)).await.unwrap()),
        ["s-other"]
    );
}

/// Session ids and token hashes are unique, and a session needs an existing user.
pub async fn sessions_are_unique(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    let first = session("s-1", "u-1", at(0), at(MINUTE));
    store.create_session(&first).await.unwrap();

    let mut same_id = session("s-1", "u-1", at(1), at(MINUTE));
    same_id.token_hash = token("fresh").hash();
    assert_eq!(
        store.create_session(&same_id).await,
        Err(StoreError::Conflict("id"))
    );
    let mut same_hash = session("s-2", "u-1", at(1), at(MINUTE));
    same_hash.token_hash = first.token_hash;
    assert!(
        matches!(
            store.create_session(&same_hash).await,
            Err(StoreError::Conflict(_))
        ),
        "a token hash names one session"
    );
    assert_eq!(
        store
            .session_by_token_hash(&first.token_hash, at(0))
            .await
            .unwrap(),
        Some(first)
    );
    assert_eq!(
        session_ids(&store.sessions_for_user("u-1", at(0)).await.unwrap()),
        ["s-1"]
    );

    assert!(
        store
            .create_session(&session("s-orphan", "u-none", at(0), at(MINUTE)))
            .await
            .is_err(),
        "a session needs an existing user"
    );
}

// ---- challenges ----

/// A pending ceremony comes back once, intact; a second take and an unknown challenge
/// get `None`.
pub async fn challenges_are_taken_once(store: &dyn Store) {
    let record = challenge(at(MINUTE));
    store.put_challenge(&record).await.unwrap();
    let taken = store
        .take_challenge(&record.challenge, at(0))
        .await
        .unwrap()
        .expect("a live challenge is taken");
    assert_eq!(as_json(&taken), as_json(&record));
    assert!(matches!(
        taken.ceremony,
        Ceremony::DiscoverableSignIn { .. }
    ));
    assert!(
        store
            .take_challenge(&record.challenge, at(0))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_challenge("unknown", at(0))
            .await
            .unwrap()
            .is_none()
    );
}

/// A hundred takers racing for one challenge: exactly one gets it.
pub async fn concurrent_takers_of_a_challenge_have_one_winner(store: &dyn Store) {
    let record = challenge(at(MINUTE));
    store.put_challenge(&record).await.unwrap();
    let results = join_all(
        (0..100)
            .map(|_| store.take_challenge(&record.challenge, at(0)))
            .collect(),
    )
    .await;
    let errors: Vec<&StoreError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(winners, 1);
}

/// A challenge at or past its expiry is never handed out.
pub async fn expired_challenges_cannot_be_taken(store: &dyn Store) {
    let record = challenge(at(MINUTE));
    store.put_challenge(&record).await.unwrap();
    assert!(
        store
            .take_challenge(&record.challenge, at(MINUTE))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_challenge(&record.challenge, at(0))
            .await
            .unwrap()
            .is_none(),
        "a take removes the challenge even when expired"
    );
}

// ---- maintenance ----

/// Purging removes expired sessions and challenges, counts them, and keeps live rows.
pub async fn purge_removes_only_expired_rows(store: &dyn Store) {
    store.create_user(&user("u-1", None)).await.unwrap();
    for s in [
        session("s-expired-1", "u-1", at(-2 * MINUTE), at(-MINUTE)),
        session("s-expired-2", "u-1", at(-2 * MINUTE), at(0)),
        session("s-live", "u-1", at(-2 * MINUTE), at(MINUTE)),
    ] {
        store.create_session(&s).await.unwrap();
    }
    let expired = challenge(at(0));
    let live = challenge(at(MINUTE));
    store.put_challenge(&expired).await.unwrap();
    store.put_challenge(&live).await.unwrap();

    assert_eq!(store.purge_expired(at(0)).await, Ok(3));
    assert_eq!(store.purge_expired(at(0)).await, Ok(0));
    // Looking back in time shows what is left: only live rows.
    assert_eq!(
        session_ids(
            &store
                .sessions_for_user("u-1", at(-3 * MINUTE))
                .await
                .unwrap()
        ),
        ["s-live"]
    );
    assert!(
        store
            .take_challenge(&expired.challenge, at(-MINUTE))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .take_challenge(&live.challenge, at(0))
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.user_by_id("u-1").await.unwrap().is_some());
}

/// Deleting a user takes its credentials and sessions with it, and nobody else's.
pub async fn deleting_a_user_removes_its_credentials_and_sessions(store: &dyn Store) {
    for (id, address) in [
        ("u-gone", "gone@example.com"),
        ("u-kept", "kept@example.com"),
    ] {
        store.create_user(&user(id, Some(address))).await.unwrap();
        store
            .create_credential(&credential(&format!("c-{id}"), id, at(0)))
            .await
            .unwrap();
        store
            .create_session(&session(&format!("s-{id}"), id, at(0), at(MINUTE)))
            .await
            .unwrap();
    }

    assert!(store.delete_user("u-gone").await.unwrap());
    assert!(store.credential_by_id("c-u-gone").await.unwrap().is_none());
    assert!(
        store
            .credentials_for_user("u-gone")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .session_by_token_hash(&token("s-u-gone").hash(), at(0))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .sessions_for_user("u-gone", at(0))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.delete_sessions_for_user("u-gone").await, Ok(0));

    assert!(store.credential_by_id("c-u-kept").await.unwrap().is_some());
    assert!(
        store
            .session_by_token_hash(&token("s-u-kept").hash(), at(0))
            .await
            .unwrap()
            .is_some()
    );

    // The id is free again, with none of the old rows attached.
    store.create_user(&user("u-gone", None)).await.unwrap();
    assert!(
        store
            .credentials_for_user("u-gone")
            .await
            .unwrap()
            .is_empty()
    );
}

// ---- magic links ----

/// A magic link sent to `email` at [`NOW`], expiring at `expires_at`; its token is
/// `token-of-magic-<name>`.
fn magic_link(name: &str, email: &str, expires_at: Timestamp) -> MagicLinkRecord {
    MagicLinkRecord {
        token_hash: magic_token(name).hash(),
        email: email.to_owned(),
        created_at: at(0),
        expires_at,
    }
}

fn magic_token(name: &str) -> SecretToken {
    SecretToken::from_client(format!("token-of-magic-{name}"))
}

/// A magic link comes back once, intact (the email as typed); a second take and an
/// unknown hash get `None`.
pub async fn magic_links_are_taken_once(store: &dyn Store) {
    let link = magic_link("once", "Ada@Example.com", at(15 * MINUTE));
    store.put_magic_link(&link).await.unwrap();
    let other = magic_link("other", "bob@example.com", at(15 * MINUTE));
    store.put_magic_link(&other).await.unwrap();

    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(Some(link.clone()))
    );
    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(None)
    );
    assert_eq!(
        store
            .take_magic_link(&magic_token("unknown").hash(), at(0))
            .await,
        Ok(None)
    );
    assert!(!store.delete_magic_link(&link.token_hash).await.unwrap());
    // Taking one link leaves the others alone.
    assert_eq!(
        store.take_magic_link(&other.token_hash, at(MINUTE)).await,
        Ok(Some(other))
    );
}

/// A hundred takers racing for one magic link: exactly one gets it.
pub async fn concurrent_takers_of_a_magic_link_have_one_winner(store: &dyn Store) {
    let link = magic_link("race", "race@example.com", at(15 * MINUTE));
    store.put_magic_link(&link).await.unwrap();
    let results = join_all(
        (0..100)
            .map(|_| store.take_magic_link(&link.token_hash, at(0)))
            .collect(),
    )
    .await;
    let errors: Vec<&StoreError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(errors.is_empty(), "errors: {errors:?}");
    let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
    assert_eq!(winners, 1);
}

/// A magic link at or past its expiry is never handed out, not even to a later caller
/// who looks back in time.
pub async fn expired_magic_links_cannot_be_taken(store: &dyn Store) {
    let link = magic_link("expired", "late@example.com", at(15 * MINUTE));
    store.put_magic_link(&link).await.unwrap();
    assert_eq!(
        store
            .take_magic_link(&link.token_hash, at(15 * MINUTE))
            .await,
        Ok(None)
    );
    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(None)
    );

    let live = magic_link("just-live", "late@example.com", at(15 * MINUTE));
    store.put_magic_link(&live).await.unwrap();
    assert_eq!(
        store
            .take_magic_link(&live.token_hash, at(15 * MINUTE - 1))
            .await,
        Ok(Some(live))
    );
}

/// A deleted magic link (its email could not be sent) cannot be taken; deleting twice
/// says it was already gone.
pub async fn deleted_magic_links_cannot_be_taken(store: &dyn Store) {
    let link = magic_link("undelivered", "bounce@example.com", at(15 * MINUTE));
    store.put_magic_link(&link).await.unwrap();
    assert!(store.delete_magic_link(&link.token_hash).await.unwrap());
    assert!(!store.delete_magic_link(&link.token_hash).await.unwrap());
    assert_eq!(
        store.take_magic_link(&link.token_hash, at(0)).await,
        Ok(None)
    );
}

/// A token hash names one magic link: storing it again is a conflict and keeps the first.
pub async fn magic_link_token_hashes_are_unique(store: &dyn Store) {
    let first = magic_link("same", "first@example.com", at(15 * MINUTE));
    store.put_magic_link(&first).await.unwrap();
    let second = magic_link("same", "second@example.com", at(30 * MINUTE));
    assert_eq!(
        store.put_magic_link(&second).await,
        Err(StoreError::Conflict("token_hash"))
    );
    assert_eq!(
        store.take_magic_link(&first.token_hash, at(0)).await,
        Ok(Some(first))
    );
}

/// Purging removes expired magic links, counts them, and keeps live ones.
pub async fn purge_removes_expired_magic_links(store: &dyn Store) {
    let expired = [
        magic_link("expired-1", "a@example.com", at(-MINUTE)),
        magic_link("expired-2", "b@example.com", at(0)),
    ];
    let live = magic_link("live", "c@example.com", at(MINUTE));
    for link in expired.iter().chain([&live]) {
        store.put_magic_link(link).await.unwrap();
    }
    assert_eq!(store.purge_expired(at(0)).await, Ok(2));
    assert_eq!(store.purge_expired(at(0)).await, Ok(0));
    // Looking back in time shows what is left: only the live link.
    for link in &expired {
        assert_eq!(
            store
                .take_magic_link(&link.token_hash, at(-2 * MINUTE))
                .await,
            Ok(None)
        );
    }
    assert_eq!(
        store.take_magic_link(&live.token_hash, at(0)).await,
        Ok(Some(live))
    );
}

// ---- QR logins ----

fn qr_session(id: &str, expires_at: Timestamp) -> QrSessionRecord {
    QrSessionRecord {
        id: id.to_owned(),
        status_token_hash: token(&format!("status-{id}")).hash(),
        confirmation_hash: Some(token(&format!("code-{id}")).hash()),
        state: QrSessionState::Created,
        confirmed: false,
        confirmation_attempts: 0,
        user_id: None,
        session_id: None,
        authenticated_at: None,
        created_at: at(0),
        expires_at,
    }
}

fn qr_ids(records: &[QrSessionRecord]) -> Vec<&str> {
    let mut ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids
}

/// QR logins are stored whole (hashes included), found by id and in batches, and their
/// ids are unique.
pub async fn qr_sessions_round_trip(store: &dyn Store) {
    let first = qr_session("q-1", at(5 * MINUTE));
    let second = QrSessionRecord {
        confirmation_hash: None,
        ..qr_session("q-2", at(5 * MINUTE))
    };
    store.create_qr_session(&first).await.unwrap();
    store.create_qr_session(&second).await.unwrap();
    assert_eq!(
        store.create_qr_session(&first).await,
        Err(StoreError::Conflict("id"))
    );
    assert_eq!(store.qr_session_by_id("q-1").await, Ok(Some(first)));
    assert_eq!(store.qr_session_by_id("q-2").await, Ok(Some(second)));
    assert_eq!(store.qr_session_by_id("q-unknown").await, Ok(None));

    let ids: Vec<String> = ["q-2", "q-unknown", "q-1"].map(String::from).to_vec();
    let found = store.qr_sessions_by_ids(&ids).await.unwrap();
    assert_eq!(qr_ids(&found), ["q-1", "q-2"]);
    assert!(store.qr_sessions_by_ids(&[]).await.unwrap().is_empty());
    // Batches larger than any backend's parameter limit are fine.
    let many: Vec<String> = (0..1200).map(|i| format!("q-{i}")).collect();
    assert_eq!(
        qr_ids(&store.qr_sessions_by_ids(&many).await.unwrap()),
        ["q-1", "q-2"]
    );
}

/// A transition applies only from its `from` states, sets exactly the fields it names,
/// and leaves a final state alone.
pub async fn qr_transitions_apply_only_from_their_states(store: &dyn Store) {
    store
        .create_qr_session(&qr_session("q-1", at(5 * MINUTE)))
        .await
        .unwrap();
    let now = at(0);
    let claim = QrChange::state(qr_state::CLAIM);
    assert_eq!(
        store.transition_qr_session("q-1", &claim, now).await,
        Ok(None)
    );
    let unknown = store
        .transition_qr_session("q-unknown", &QrChange::state(qr_state::SCAN), now)
        .await;
    assert_eq!(unknown, Ok(None));

    let scanned = store
        .transition_qr_session("q-1", &QrChange::state(qr_state::SCAN), now)
        .await
        .unwrap()
        .expect("created → scanned");
    assert_eq!(scanned.state, QrSessionState::Scanned);
    assert!(!scanned.confirmed);
    assert_eq!(
        store
            .transition_qr_session("q-1", &QrChange::state(qr_state::SCAN), now)
            .await,
        Ok(None),
        "scanning twice is not a transition"
    );

    let confirm = QrChange {
        confirm: true,
        ..QrChange::state(qr_state::CONFIRM)
    };
    let confirmed = store
        .transition_qr_session("q-1", &confirm, now)
        .await
        .unwrap()
        .expect("confirm while scanned");
    assert_eq!(
        (confirmed.state, confirmed.confirmed),
        (QrSessionState::Scanned, true)
    );

    let challenged = store
        .transition_qr_session("q-1", &QrChange::state(qr_state::CHALLENGE), now)
        .await
        .unwrap()
        .expect("scanned → challenged");
    assert!(challenged.confirmed, "fields not named stay as they were");
    assert_eq!(
        store
            .transition_qr_session("q-1", &QrChange::state(qr_state::AUTHENTICATE_UNBOUND), now)
            .await,
        Ok(None),
        "an unbound completion needs `scanned`"
    );

    let authenticate = QrChange {
        user_id: Some("u-1".into()),
        session_id: Some("s-desktop".into()),
        authenticated_at: Some(at(1)),
        expires_at: Some(at(10 * MINUTE)),
        ..QrChange::state(qr_state::AUTHENTICATE_BOUND)
    };
    let authenticated = store
        .transition_qr_session("q-1", &authenticate, now)
        .await
        .unwrap()
        .expect("challenged → authenticated");
    assert_eq!(authenticated.state, QrSessionState::Authenticated);
    assert_eq!(authenticated.user_id.as_deref(), Some("u-1"));
    assert_eq!(authenticated.session_id.as_deref(), Some("s-desktop"));
    assert_eq!(authenticated.authenticated_at, Some(at(1)));
    assert_eq!(authenticated.expires_at, at(10 * MINUTE));
    assert_eq!(
        store.qr_session_by_id("q-1").await,
        Ok(Some(authenticated.clone()))
    );

    let claimed = store
        .transition_qr_session("q-1", &claim, now)
        .await
        .unwrap()
        .expect("authenticated → claimed");
    assert_eq!(claimed.state, QrSessionState::Claimed);
    assert_eq!(claimed.user_id.as_deref(), Some("u-1"));
    for transition in qr_state::TRANSITIONS {
        assert_eq!(
            store
                .transition_qr_session("q-1", &QrChange::state(transition), now)
                .await,
            Ok(None),
            "{} moved a claimed login",
            transition.name
        );
    }
}

/// Reads return expired logins (the engine reports them as expired), but no transition
/// or confirmation attempt applies to them.
pub async fn expired_qr_sessions_stay_readable_but_never_move(store: &dyn Store) {
    let record = qr_session("q-1", at(MINUTE));
    store.create_qr_session(&record).await.unwrap();
    let scan = QrChange::state(qr_state::SCAN);
    assert_eq!(
        store.transition_qr_session("q-1", &scan, at(MINUTE)).await,
        Ok(None)
    );
    assert_eq!(
        store
            .count_qr_confirmation_attempt("q-1", &[QrSessionState::Created], 5, at(MINUTE))
            .await,
        Ok(None)
    );
    assert_eq!(store.qr_session_by_id("q-1").await, Ok(Some(record)));
    // Just before expiry it still moves.
    assert!(
        store
            .transition_qr_session("q-1", &scan, at(MINUTE - 1))
            .await
            .unwrap()
            .is_some()
    );
}

/// A hundred racing claims of one authenticated login: exactly one wins. Likewise a
/// hundred racing scans.
pub async fn concurrent_qr_transitions_have_one_winner(store: &dyn Store) {
    let authenticated = QrSessionRecord {
        state: QrSessionState::Authenticated,
        user_id: Some("u-1".into()),
        ..qr_session("q-claim", at(MINUTE))
    };
    store.create_qr_session(&authenticated).await.unwrap();
    store
        .create_qr_session(&qr_session("q-scan", at(MINUTE)))
        .await
        .unwrap();
    for (id, transition) in [("q-claim", qr_state::CLAIM), ("q-scan", qr_state::SCAN)] {
        let change = QrChange::state(transition);
        let results = join_all(
            (0..100)
                .map(|_| store.transition_qr_session(id, &change, at(0)))
                .collect(),
        )
        .await;
        let errors: Vec<&StoreError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(errors.is_empty(), "errors: {errors:?}");
        let winners = results.iter().filter(|r| matches!(r, Ok(Some(_)))).count();
        assert_eq!(winners, 1, "{id}");
    }
}

/// Confirmation attempts are numbered 1..=max under races and then refused; none are
/// counted for a confirmed login or one in another state.
pub async fn qr_confirmation_attempts_are_capped_under_races(store: &dyn Store) {
    let scanned = QrSessionRecord {
        state: QrSessionState::Scanned,
        ..qr_session("q-1", at(MINUTE))
    };
    store.create_qr_session(&scanned).await.unwrap();
    let states = [QrSessionState::Scanned];
    let results = join_all(
        (0..30)
            .map(|_| store.count_qr_confirmation_attempt("q-1", &states, 5, at(0)))
            .collect(),
    )
    .await;
    let mut numbers: Vec<u32> = results.into_iter().filter_map(|r| r.unwrap()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    assert_eq!(
        store
            .qr_session_by_id("q-1")
            .await
            .unwrap()
            .map(|r| r.confirmation_attempts),
        Some(5)
    );

    let created = qr_session("q-created", at(MINUTE));
    store.create_qr_session(&created).await.unwrap();
    assert_eq!(
        store
            .count_qr_confirmation_attempt("q-created", &states, 5, at(0))
            .await,
        Ok(None),
        "not in an allowed state"
    );
    let confirmed = QrSessionRecord {
        state: QrSessionState::Scanned,
        confirmed: true,
        ..qr_session("q-confirmed", at(MINUTE))
    };
    store.create_qr_session(&confirmed).await.unwrap();
    assert_eq!(
        store
            .count_qr_confirmation_attempt("q-confirmed", &states, 5, at(0))
            .await,
        Ok(None),
        "already confirmed"
    );
    assert_eq!(
        store
            .count_qr_confirmation_attempt("q-unknown", &states, 5, at(0))
            .await,
        Ok(None)
    );
}

/// Purging removes QR logins past their expiry, whatever their state, and counts them.
pub async fn purge_removes_expired_qr_sessions(store: &dyn Store) {
    store
        .create_qr_session(&qr_session("q-expired", at(0)))
        .await
        .unwrap();
    let claimed = QrSessionRecord {
        state: QrSessionState::Claimed,
        ..qr_session("q-claimed", at(-MINUTE))
    };
    store.create_qr_session(&claimed).await.unwrap();
    store
        .create_qr_session(&qr_session("q-live", at(MINUTE)))
        .await
        .unwrap();
    assert_eq!(store.purge_expired(at(0)).await, Ok(2));
    assert_eq!(store.qr_session_by_id("q-expired").await, Ok(None));
    assert_eq!(store.qr_session_by_id("q-claimed").await, Ok(None));
    assert!(store.qr_session_by_id("q-live").await.unwrap().is_some());
}

// ---- persistence (for stores that outlive the process) ----

fn restart_user() -> UserRecord {
    UserRecord {
        id: "u-restart".into(),
        email: Some("Restart@Example.com".into()),
        user_handle: Uuid::from_u128(0x5e55_1011),
        created_at: at(0),
        metadata: Some(metadata(json!({ "survives": ["restarts", 1] }))),
    }
}

fn restart_credential() -> CredentialRecord {
    CredentialRecord {
        label: Some("Restart key".into()),
        ..credential("c-restart", "u-restart", at(0))
    }
}

fn restart_session() -> SessionRecord {
    SessionRecord {
        user_agent: Some("restart-test".into()),
        ..session("s-restart", "u-restart", at(0), at(10 * MINUTE))
    }
}

/// First half of the restart check for persistent stores: writes a user with a
/// credential and a session. Drop the store, open the same database again, then run
/// [`reads_back_after_restart`] on the new store.
pub async fn write_before_restart(store: &dyn Store) {
    store.create_user(&restart_user()).await.unwrap();
    store
        .create_credential(&restart_credential())
        .await
        .unwrap();
    store.create_session(&restart_session()).await.unwrap();
}

/// Second half of the restart check: everything [`write_before_restart`] wrote is there,
/// unchanged, and still indexed (by email, owner and token hash).
pub async fn reads_back_after_restart(store: &dyn Store) {
    let user = restart_user();
    assert_eq!(
        store.user_by_id(&user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(
        store.user_by_email("restart@example.com").await.unwrap(),
        Some(user)
    );
    let credentials = store.credentials_for_user("u-restart").await.unwrap();
    assert_eq!(as_json(&credentials), as_json(&vec![restart_credential()]));
    let session = restart_session();
    assert_eq!(
        store
            .session_by_token_hash(&session.token_hash, at(0))
            .await
            .unwrap(),
        Some(session)
    );
}
