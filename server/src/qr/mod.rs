//! QR cross-device login: a desktop without a passkey shows a QR code; a phone that holds
//! a passkey scans it and signs the desktop in.
//!
//! ```text
//! desktop                       server                          phone
//!  create ───────────────▶ {sessionId, statusToken, confirmationCode?}
//!  shows QR(url with sessionId) ··························▶ scans
//!  status?wait=25 ───────▶  (waits)      ◀──────────────── mark_scanned
//!                          ◀─ scanned                 ◀─── confirm(code)   (if enabled)
//!                                          ◀── authenticate/options {qrSessionId} → challenged
//!                                          ◀──────────────── complete(assertion)
//!  status ───────────────▶ authenticated + session token (once)
//! ```
//!
//! Invariants:
//!
//! - **The QR code holds only the session id.** The status token is random (256 bits),
//!   stored as its SHA-256 hash, and required for [`Qr::status`] and [`Qr::cancel`];
//!   missing → `401`, wrong → `401`. QR ids are always random UUIDs (never the app's id
//!   generator): the id is a capability to attempt completion.
//! - **Every transition is a compare-and-set in the store** ([`state`] lists them), so of
//!   racing requests exactly one wins; e.g. of many concurrent completions one succeeds.
//! - **The desktop's session token is never stored.** Completion records the phone's
//!   user and the id the desktop session will get; the first status poll with the right
//!   status token claims it by compare-and-set and only then creates the session (auth
//!   method `qr`, `authContext.qrSessionId`) and returns its token. Later polls report the
//!   state only. The desktop must collect it before the login expires (at least
//!   [`CLAIM_WINDOW`] after completion); cancelling before that means nobody signs in.
//! - **Completion never creates a user**: it verifies a passkey assertion of an existing
//!   user (any of its credentials) through the passkey engine.
//! - **Confirmation codes** (optional): `code_length` CSPRNG digits, stored as a hash
//!   salted with the id. An attempt is counted atomically *before* the code is compared,
//!   so at most [`MAX_CONFIRMATION_ATTEMPTS`] codes are ever checked, even by parallel
//!   guessers; the last wrong one cancels the login. Completing (or asking for a bound
//!   challenge) before a correct code → `400`.
//! - **Expiry** (TTL, default 5 minutes) is derived from `expires_at` on every read.
//!
//! Long-poll: `status` with a `wait` answers as soon as the reported status differs from
//! the one at the start of the request, or when the wait ends. Transitions in this
//! process wake waiters at once, through a per-id channel that exists only while someone
//! waits on that id. Changes made by other instances are found by one background task
//! that re-checks *all* watched ids with a single batched store read every
//! [`QrConfig::poll_fallback`] (± 20 % jitter): thousands of waiting desktops cost one
//! read per interval, not one each.
//!
//! Hooks: `before_authenticate` (method `qr`) and `before_qr_complete` may veto a
//! completion; `after_qr_complete` sees the user and the (token-less) desktop session at
//! completion; `after_authenticate` runs when the desktop session is actually created.
//! Events: `qr:scanned`, `qr:completed`, then `session:created` at the claim.

pub mod render;
pub mod state;
mod watch;

pub(crate) use watch::Watchers;

use crate::auth::{Auth, MetadataType};
use crate::config::{ConfigError, millis};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::hooks::{QrCompleteAttempt, SignInAttempt};
use crate::secrets::{SecretToken, TokenHash, random_bytes, random_id};
use crate::sessions::ClientInfo;
use crate::store::{QrChange, QrSessionRecord, SessionRecord};
use crate::views;
use passkey_magic_shared::limits::MAX_TOKEN_LEN;
use passkey_magic_shared::qr::CreateQrResponse;
use passkey_magic_shared::sessions::SignInResponse;
use passkey_magic_shared::webauthn::AuthenticationResponse;
use passkey_magic_shared::{AuthContext, AuthMethod, QrState, QrStatus, Session, SessionGrant};
use state::{QrSessionState, Transition};
use std::time::Duration;

/// Default lifetime of a QR login (5 minutes, as v0.4).
pub const DEFAULT_QR_TTL: Duration = Duration::from_secs(5 * 60);
/// Default number of digits of a confirmation code.
pub const DEFAULT_CODE_LENGTH: u8 = 6;
/// Confirmation codes checked per QR login; the last wrong one cancels it.
pub const MAX_CONFIRMATION_ATTEMPTS: u32 = 5;
/// The least time a desktop has to collect its session after the phone completed.
pub const CLAIM_WINDOW: Duration = Duration::from_secs(2 * 60);
/// Default interval of the long-poll re-check for changes made by other instances.
pub const DEFAULT_POLL_FALLBACK: Duration = Duration::from_secs(3);

/// Its time ran out.
pub const QR_EXPIRED: &str = "QR session expired";
/// The desktop cancelled it, or too many wrong codes were entered.
pub const QR_CANCELLED: &str = "QR session cancelled";
/// A phone completed it already.
pub const QR_ALREADY_COMPLETED: &str = "QR session already completed";
/// Confirming or completing before scanning.
pub const QR_NOT_SCANNED: &str = "QR session not scanned";
/// Completing (or asking for a challenge) before the right confirmation code.
pub const QR_CONFIRMATION_REQUIRED: &str = "QR confirmation code required";
/// A wrong confirmation code.
pub const INVALID_CONFIRMATION_CODE: &str = "Invalid confirmation code";
/// The attempt that used up the last try.
pub const CONFIRMATION_LOCKED: &str = "Too many invalid confirmation codes: QR session cancelled";
/// Confirming a login that has no code.
pub const CONFIRMATION_NOT_ENABLED: &str = "QR confirmation not enabled";
/// A challenge bound to this login was issued, but the answer used an unbound one.
pub const QR_CHALLENGE_MISMATCH: &str = "Challenge was not issued for this QR session";
/// The phone's user was deleted before the desktop collected its session.
pub const QR_USER_GONE: &str = "QR session user no longer exists";

/// Whether a QR login asks the phone for the digits shown on the desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrConfirmation {
    /// Ask for a code. Default: `false`.
    pub enabled: bool,
    /// Digits, 4 to 8. Default: 6.
    pub code_length: u8,
}

impl Default for QrConfirmation {
    fn default() -> Self {
        QrConfirmation {
            enabled: false,
            code_length: DEFAULT_CODE_LENGTH,
        }
    }
}

/// QR login settings (part of [`crate::config::AuthConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrConfig {
    /// Lifetime of a QR login. Default: 5 minutes.
    pub ttl: Duration,
    /// Confirmation codes. Default: off.
    pub confirmation: QrConfirmation,
    /// How often long-polls re-check the store for changes made by other instances
    /// (changes in this process wake them at once). Default: 3 seconds.
    pub poll_fallback: Duration,
}

impl Default for QrConfig {
    fn default() -> Self {
        QrConfig {
            ttl: DEFAULT_QR_TTL,
            confirmation: QrConfirmation::default(),
            poll_fallback: DEFAULT_POLL_FALLBACK,
        }
    }
}

impl QrConfig {
    /// Checks the TTL, the code length and the re-check interval.
    ///
    /// # Errors
    /// [`ConfigError::InvalidTtl`] or [`ConfigError::InvalidQrSetting`].
    pub fn validate(&self) -> std::result::Result<(), ConfigError> {
        if self.ttl < Duration::from_secs(1) || self.ttl > Duration::from_secs(24 * 60 * 60) {
            return Err(ConfigError::InvalidTtl("qr ttl"));
        }
        if !(4..=8).contains(&self.confirmation.code_length) {
            return Err(ConfigError::InvalidQrSetting(
                "confirmation code length must be 4 to 8 digits",
            ));
        }
        if self.poll_fallback < Duration::from_millis(100)
            || self.poll_fallback > Duration::from_secs(60)
        {
            return Err(ConfigError::InvalidQrSetting(
                "poll fallback must be between 100 ms and 60 s",
            ));
        }
        Ok(())
    }
}

/// QR login operations: `auth.qr()`.
#[derive(Debug)]
pub struct Qr<'a, U, C> {
    auth: &'a Auth<U, C>,
}

impl<U: MetadataType, C: MetadataType> Auth<U, C> {
    /// QR cross-device login.
    pub fn qr(&self) -> Qr<'_, U, C> {
        Qr { auth: self }
    }
}

fn invalid(message: &str) -> Error {
    Error::InvalidRequest(message.to_owned())
}

/// The error for acting on a login that is in `state` when it must not be.
fn refused(state: QrState) -> Error {
    invalid(match state {
        QrState::Created => QR_NOT_SCANNED,
        QrState::Authenticated => QR_ALREADY_COMPLETED,
        QrState::Expired => QR_EXPIRED,
        QrState::Cancelled => QR_CANCELLED,
        // Scanned/challenged are refused only when confirmation is missing.
        QrState::Scanned | QrState::Challenged => QR_CONFIRMATION_REQUIRED,
    })
}

/// The stored hash of a confirmation code, salted with the login's id.
fn code_hash(id: &str, code: &str) -> TokenHash {
    SecretToken::from_client(format!("{id}:{code}")).hash()
}

/// `length` uniformly random decimal digits from the OS CSPRNG (rejection sampling: bytes
/// ≥ 250 are dropped so every digit is equally likely).
fn random_digits(length: u8) -> Result<String> {
    let mut code = String::with_capacity(usize::from(length));
    while code.len() < usize::from(length) {
        for byte in random_bytes::<16>()? {
            if byte < 250 && code.len() < usize::from(length) {
                code.push(char::from(b'0' + byte % 10));
            }
        }
    }
    Ok(code)
}

impl<U: MetadataType, C: MetadataType> Qr<'_, U, C> {
    fn now(&self) -> passkey_magic_shared::Timestamp {
        self.auth.now()
    }

    fn watchers(&self) -> &std::sync::Arc<Watchers> {
        &self.auth.inner.qr_watchers
    }

    async fn read(&self, id: &str) -> Result<QrSessionRecord> {
        self.auth
            .inner
            .store
            .qr_session_by_id(id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// Reads the login and checks the desktop's status token (`401` when wrong).
    async fn read_authorized(&self, id: &str, status_token: &str) -> Result<QrSessionRecord> {
        if status_token.is_empty() {
            return Err(Error::Unauthorized);
        }
        if status_token.len() > MAX_TOKEN_LEN {
            return Err(Error::Request(
                passkey_magic_shared::RequestError::InvalidField("token"),
            ));
        }
        let record = self.read(id).await?;
        if SecretToken::from_client(status_token).hash() != record.status_token_hash {
            return Err(Error::Unauthorized);
        }
        Ok(record)
    }

    /// Applies a transition; `Some` with the new record if this call won.
    async fn apply(&self, id: &str, change: &QrChange) -> Result<Option<QrSessionRecord>> {
        let updated = self
            .auth
            .inner
            .store
            .transition_qr_session(id, change, self.now())
            .await?;
        if updated.is_some() {
            tracing::debug!(transition = change.transition.name, "QR transition");
            self.watchers().notify(id);
        }
        Ok(updated)
    }

    /// After a lost compare-and-set: the error that explains the login's current state.
    async fn explain(&self, id: &str) -> Error {
        match self.read(id).await {
            Ok(record) => refused(record.state.at(record.expires_at, self.now())),
            Err(error) => error,
        }
    }

    fn wire_state(&self, record: &QrSessionRecord) -> QrState {
        record.state.at(record.expires_at, self.now())
    }

    /// Starts a QR login (route 9): the id for the QR code, the desktop's status token,
    /// and the confirmation code to show when confirmation is enabled.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn create(&self) -> Result<CreateQrResponse> {
        let config = &self.auth.inner.config.qr;
        let id = random_id()?;
        let status_token = SecretToken::generate()?;
        let code = if config.confirmation.enabled {
            Some(random_digits(config.confirmation.code_length)?)
        } else {
            None
        };
        let now = self.now();
        let record = QrSessionRecord {
            id: id.clone(),
            status_token_hash: status_token.hash(),
            confirmation_hash: code.as_deref().map(|code| code_hash(&id, code)),
            state: QrSessionState::Created,
            confirmed: false,
            confirmation_attempts: 0,
            user_id: None,
            session_id: None,
            authenticated_at: None,
            created_at: now,
            expires_at: now.plus_millis(millis(config.ttl)),
        };
        self.auth.inner.store.create_qr_session(&record).await?;
        Ok(CreateQrResponse {
            session_id: id,
            status_token: status_token.expose().to_owned(),
            confirmation_code: code,
        })
    }

    /// The desktop's view of its login (route 10). When the phone has authenticated, the
    /// first call creates the desktop's session and returns its token; later calls report
    /// the state only.
    ///
    /// With a non-zero `wait` (capped at 30 s by the HTTP layer) this is a long-poll: it
    /// answers as soon as the status differs from the one at the start, or when `wait`
    /// ends. `client` is recorded on the desktop session.
    ///
    /// # Errors
    /// `401` for a missing or wrong status token, `404` for an unknown login.
    pub async fn status(
        &self,
        id: &str,
        status_token: &str,
        wait: Duration,
        client: &ClientInfo,
    ) -> Result<QrStatus> {
        let deadline = tokio::time::Instant::now() + wait;
        // Subscribe before the first read, so no change can slip between them.
        let mut subscription = (!wait.is_zero()).then(|| self.watchers().subscribe(id));
        let mut record = self.read_authorized(id, status_token).await?;
        let Some(subscription) = subscription.as_mut() else {
            return self.report(record, client).await;
        };
        let start = self.view(&record);
        if start.state.is_terminal() {
            return self.report(record, client).await;
        }
        loop {
            self.watchers().observe(&record);
            // Wake at expiry too: the state then reads `expired` without any write.
            let until_expiry =
                u64::try_from(record.expires_at.as_unix_millis() - self.now().as_unix_millis())
                    .unwrap_or(0);
            tokio::select! {
                () = subscription.changed() => {}
                () = tokio::time::sleep(Duration::from_millis(until_expiry + 1)) => {}
                () = tokio::time::sleep_until(deadline) => {
                    return self.report(record, client).await;
                }
            }
            record = self.read(id).await?;
            let current = self.view(&record);
            if current != start || current.state.is_terminal() {
                return self.report(record, client).await;
            }
        }
    }

    /// The wire status of a record, without any session.
    fn view(&self, record: &QrSessionRecord) -> QrStatus {
        let required = record.confirmation_hash.is_some();
        QrStatus {
            state: self.wire_state(record),
            confirmation_required: required.then_some(true),
            confirmed: required.then_some(record.confirmed),
            session: None,
        }
    }

    /// The status to answer with; claims the desktop session when it is there to take.
    async fn report(&self, record: QrSessionRecord, client: &ClientInfo) -> Result<QrStatus> {
        let mut status = self.view(&record);
        if record.state == QrSessionState::Authenticated && status.state == QrState::Authenticated {
            status.session = self.claim(&record.id, client).await?;
        }
        Ok(status)
    }

    /// Claims the desktop session (once) and creates it.
    async fn claim(&self, id: &str, client: &ClientInfo) -> Result<Option<SessionGrant>> {
        let Some(claimed) = self.apply(id, &QrChange::state(state::CLAIM)).await? else {
            return Ok(None);
        };
        let (Some(user_id), Some(session_id), Some(created_at)) = (
            claimed.user_id.as_deref(),
            claimed.session_id.as_deref(),
            claimed.authenticated_at,
        ) else {
            return Err(Error::Internal(
                "authenticated QR session without user".into(),
            ));
        };
        let store = &self.auth.inner.store;
        let user = store
            .user_by_id(user_id)
            .await?
            .ok_or_else(|| invalid(QR_USER_GONE))?;
        let token = SecretToken::generate()?;
        let record = SessionRecord {
            id: session_id.to_owned(),
            token_hash: token.hash(),
            user_id: user.id.clone(),
            auth_method: AuthMethod::Qr,
            created_at,
            expires_at: created_at.plus_millis(millis(self.auth.inner.config.session_ttl)),
            user_agent: client.user_agent.clone(),
            ip_address: client.ip_address.clone(),
            auth_context: Some(AuthContext {
                qr_session_id: Some(id.to_owned()),
            }),
        };
        store.create_session(&record).await?;
        self.auth.emit(Event::SessionCreated {
            session_id: record.id.clone(),
            user_id: record.user_id.clone(),
            method: AuthMethod::Qr,
        });
        let session = views::session(&record, None);
        self.auth
            .inner
            .hooks
            .after_authenticate(&views::plain_user(&user), &session)
            .await;
        Ok(Some(SessionGrant {
            token: token.expose().to_owned(),
            expires_at: record.expires_at,
        }))
    }

    /// The phone opened the QR code (route 11). Scanning again while the login is in
    /// progress is fine.
    ///
    /// # Errors
    /// `404` for an unknown login; `400` when it is completed, expired or cancelled.
    pub async fn mark_scanned(&self, id: &str) -> Result<()> {
        let record = self.read(id).await?;
        match self.wire_state(&record) {
            QrState::Created => {
                if self
                    .apply(id, &QrChange::state(state::SCAN))
                    .await?
                    .is_some()
                {
                    self.auth.emit(Event::QrScanned {
                        qr_session_id: id.to_owned(),
                    });
                    return Ok(());
                }
                // Lost a race: fine if another scan won.
                let again = self.read(id).await?;
                match self.wire_state(&again) {
                    QrState::Scanned | QrState::Challenged => Ok(()),
                    other => Err(refused(other)),
                }
            }
            QrState::Scanned | QrState::Challenged => Ok(()),
            other => Err(refused(other)),
        }
    }

    /// The phone entered the code shown on the desktop (route 12).
    ///
    /// # Errors
    /// `404` for an unknown login; `400` when confirmation is off, the login is not
    /// scanned or over, or the code is wrong (the last allowed wrong code cancels it).
    pub async fn confirm(&self, id: &str, code: &str) -> Result<()> {
        let record = self.read(id).await?;
        let Some(expected) = record.confirmation_hash else {
            return Err(invalid(CONFIRMATION_NOT_ENABLED));
        };
        let is_right = |code: &str| code_hash(id, code) == expected;
        match self.wire_state(&record) {
            QrState::Scanned | QrState::Challenged => {}
            QrState::Cancelled if record.confirmation_attempts >= MAX_CONFIRMATION_ATTEMPTS => {
                return Err(invalid(CONFIRMATION_LOCKED));
            }
            other => return Err(refused(other)),
        }
        if record.confirmed {
            // Already confirmed: a repeat (client retry) of the right code is fine; guesses
            // gain nothing any more.
            return if is_right(code) {
                Ok(())
            } else {
                Err(invalid(INVALID_CONFIRMATION_CODE))
            };
        }
        let Some(attempt) = self
            .auth
            .inner
            .store
            .count_qr_confirmation_attempt(
                id,
                state::CONFIRMABLE,
                MAX_CONFIRMATION_ATTEMPTS,
                self.now(),
            )
            .await?
        else {
            let again = self.read(id).await?;
            return Err(match self.wire_state(&again) {
                QrState::Scanned | QrState::Challenged if again.confirmed => {
                    if is_right(code) {
                        return Ok(());
                    }
                    invalid(INVALID_CONFIRMATION_CODE)
                }
                QrState::Scanned | QrState::Challenged => invalid(CONFIRMATION_LOCKED),
                QrState::Cancelled if again.confirmation_attempts >= MAX_CONFIRMATION_ATTEMPTS => {
                    invalid(CONFIRMATION_LOCKED)
                }
                other => refused(other),
            });
        };
        if is_right(code) {
            let change = QrChange {
                confirm: true,
                ..QrChange::state(state::CONFIRM)
            };
            return match self.apply(id, &change).await? {
                Some(_) => Ok(()),
                None => Err(self.explain(id).await),
            };
        }
        if attempt >= MAX_CONFIRMATION_ATTEMPTS {
            self.apply(id, &QrChange::state(state::LOCK_OUT)).await?;
            tracing::info!("QR login cancelled after too many wrong confirmation codes");
            return Err(invalid(CONFIRMATION_LOCKED));
        }
        Err(invalid(INVALID_CONFIRMATION_CODE))
    }

    /// Checks the login can take a passkey challenge (scanned, confirmed when required)
    /// and moves it to `challenged`. Called by `passkeys().start_sign_in` for a request
    /// that names a QR login.
    pub(crate) async fn challenge(&self, id: &str) -> Result<()> {
        let record = self.read(id).await?;
        self.check_ready(&record)?;
        if record.state == QrSessionState::Challenged {
            return Ok(());
        }
        match self.apply(id, &QrChange::state(state::CHALLENGE)).await? {
            Some(_) => Ok(()),
            None => Err(self.explain(id).await),
        }
    }

    /// `Ok` when the phone may authenticate: scanned or challenged, unexpired, and
    /// confirmed if a code is required.
    fn check_ready(&self, record: &QrSessionRecord) -> Result<()> {
        match self.wire_state(record) {
            QrState::Scanned | QrState::Challenged => {}
            other => return Err(refused(other)),
        }
        if record.confirmation_hash.is_some() && !record.confirmed {
            return Err(invalid(QR_CONFIRMATION_REQUIRED));
        }
        Ok(())
    }

    /// The phone signs the desktop in (route 13): verifies a passkey assertion of the
    /// phone's user and marks the login authenticated. The returned session is the one the
    /// desktop will get, **without its token** (only the desktop receives it, from
    /// [`Qr::status`]).
    ///
    /// # Errors
    /// `404` for an unknown login; `400` when it is not scanned, not confirmed (if
    /// required), already completed, expired or cancelled, the assertion fails, or a hook
    /// vetoes. Of concurrent completions exactly one succeeds.
    pub async fn complete(
        &self,
        id: &str,
        response: &AuthenticationResponse,
    ) -> Result<SignInResponse<U>> {
        let record = self.read(id).await?;
        self.check_ready(&record)?;
        let (user, _, bound) = self
            .auth
            .passkeys()
            .verify_sign_in_for(response, Some(id))
            .await?;
        let transition: Transition = if bound {
            state::AUTHENTICATE_BOUND
        } else {
            state::AUTHENTICATE_UNBOUND
        };
        let plain = views::plain_user(&user);
        let hooks = &self.auth.inner.hooks;
        hooks
            .before_authenticate(&SignInAttempt {
                user: &plain,
                method: AuthMethod::Qr,
            })
            .await?;
        hooks
            .before_qr_complete(&QrCompleteAttempt {
                user: &plain,
                qr_session_id: id,
            })
            .await?;
        let now = self.now();
        let session_id = self.auth.new_id()?;
        let claim_by = now.plus_millis(millis(CLAIM_WINDOW));
        let change = QrChange {
            user_id: Some(user.id.clone()),
            session_id: Some(session_id.clone()),
            authenticated_at: Some(now),
            expires_at: Some(record.expires_at.max(claim_by)),
            ..QrChange::state(transition)
        };
        if self.apply(id, &change).await?.is_none() {
            let current = self.read(id).await?;
            return Err(match self.wire_state(&current) {
                QrState::Challenged if !bound => invalid(QR_CHALLENGE_MISMATCH),
                other => refused(other),
            });
        }
        self.auth.emit(Event::QrCompleted {
            qr_session_id: id.to_owned(),
            user_id: user.id.clone(),
        });
        let session = Session {
            id: session_id,
            token: None,
            user_id: user.id.clone(),
            auth_method: AuthMethod::Qr,
            expires_at: now.plus_millis(millis(self.auth.inner.config.session_ttl)),
            created_at: now,
            user_agent: None,
            ip_address: None,
            auth_context: Some(AuthContext {
                qr_session_id: Some(id.to_owned()),
            }),
        };
        hooks.after_qr_complete(&plain, &session).await;
        Ok(SignInResponse {
            method: AuthMethod::Qr,
            user: views::user(&user)?,
            session,
        })
    }

    /// The desktop gives up (route 14). Cancelling twice is fine.
    ///
    /// # Errors
    /// `401` for a wrong status token, `404` for an unknown login, `400` when it already
    /// signed the desktop in or expired.
    pub async fn cancel(&self, id: &str, status_token: &str) -> Result<()> {
        let record = self.read_authorized(id, status_token).await?;
        if record.state == QrSessionState::Cancelled {
            return Ok(());
        }
        match self.apply(id, &QrChange::state(state::CANCEL)).await? {
            Some(_) => Ok(()),
            None => match self.explain(id).await {
                Error::InvalidRequest(message) if message == QR_CANCELLED => Ok(()),
                other => Err(other),
            },
        }
    }

    /// An SVG image of a QR code holding `url` (default [`render::SvgOptions`]); see
    /// [`render`] for other sizes and terminal text.
    ///
    /// # Errors
    /// `400` when the URL is too long for a QR code.
    pub fn render(&self, url: &str) -> Result<String> {
        Ok(render::svg(url, &render::SvgOptions::default())?)
    }

    /// How many QR logins have long-polling desktops in this process.
    pub fn waiting_desktops(&self) -> usize {
        self.watchers().watched()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_digits_of_the_configured_length() {
        for length in 4..=8 {
            let code = random_digits(length).unwrap();
            assert_eq!(code.len(), usize::from(length));
            assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn code_hashes_are_salted_with_the_id() {
        assert_ne!(code_hash("a", "123456"), code_hash("b", "123456"));
        assert_eq!(code_hash("a", "123456"), code_hash("a", "123456"));
    }

    #[test]
    fn settings_are_checked() {
        assert!(QrConfig::default().validate().is_ok());
        let short = QrConfig {
            confirmation: QrConfirmation {
                enabled: true,
                code_length: 3,
            },
            ..QrConfig::default()
        };
        assert!(matches!(
            short.validate(),
            Err(ConfigError::InvalidQrSetting(_))
        ));
        let forever = QrConfig {
            ttl: Duration::from_secs(2 * 24 * 60 * 60),
            ..QrConfig::default()
        };
        assert_eq!(forever.validate(), Err(ConfigError::InvalidTtl("qr ttl")));
    }
}
