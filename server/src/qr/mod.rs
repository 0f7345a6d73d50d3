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
pub(crate) mod waiters;

use crate::audit::EventDetails;
use crate::auth::{Auth, MetadataType};
pub use crate::config::qr::{
    DEFAULT_CODE_LENGTH, DEFAULT_POLL_FALLBACK, DEFAULT_QR_TTL, QrConfig, QrConfirmation,
};
use crate::entities;
use crate::error::{Error, Reason, Result};
use crate::events::Event;
use crate::hooks::{QrCompleteAttempt, SignInAttempt};
use crate::secrets::{TokenHash, generate_token, random_bytes, random_id};
use crate::sessions::ClientInfo;
use crate::store::{QrChange, QrSessionRecord, SessionRecord};
use crate::watch::Watchers;
use passkey_magic_shared::limits::MAX_TOKEN_LEN;
use passkey_magic_shared::qr::CreateQrResponse;
use passkey_magic_shared::security_events::SignInFailure;
use passkey_magic_shared::sessions::SignInResponse;
use passkey_magic_shared::webauthn::AuthenticationResponse;
use passkey_magic_shared::{AuthContext, AuthMethod, QrState, QrStatus, Session, SessionGrant};
use state::{QrSessionState, Transition};
use std::time::Duration;

/// Confirmation codes checked per QR login; the last wrong one cancels it.
pub const MAX_CONFIRMATION_ATTEMPTS: u32 = 5;
/// The least time a desktop has to collect its session after the phone completed.
pub const CLAIM_WINDOW: Duration = Duration::from_secs(2 * 60);

/// Its time ran out.
pub const QR_EXPIRED: &str = Reason::QrExpired.message();
/// The desktop cancelled it, or too many wrong codes were entered.
pub const QR_CANCELLED: &str = Reason::QrCancelled.message();
/// A phone completed it already.
pub const QR_ALREADY_COMPLETED: &str = Reason::QrAlreadyCompleted.message();
/// Confirming or completing before scanning.
pub const QR_NOT_SCANNED: &str = Reason::QrNotScanned.message();
/// Completing (or asking for a challenge) before the right confirmation code.
pub const QR_CONFIRMATION_REQUIRED: &str = Reason::QrConfirmationRequired.message();
/// A wrong confirmation code.
pub const INVALID_CONFIRMATION_CODE: &str = Reason::InvalidConfirmationCode.message();
/// The attempt that used up the last try.
pub const CONFIRMATION_LOCKED: &str = Reason::ConfirmationLocked.message();
/// A challenge bound to this login was issued, but the answer used an unbound one.
pub const QR_CHALLENGE_MISMATCH: &str = Reason::QrChallengeMismatch.message();
/// The phone's user was deleted before the desktop collected its session.
pub const QR_USER_GONE: &str = Reason::QrUserGone.message();

/// QR login operations: `auth.qr()`.
#[derive(Debug)]
pub struct Qr<'a, U, C> {
    auth: &'a Auth<U, C>,
    client: ClientInfo,
}

impl<U: MetadataType, C: MetadataType> Auth<U, C> {
    /// QR cross-device login.
    pub fn qr(&self) -> Qr<'_, U, C> {
        Qr {
            auth: self,
            client: ClientInfo::default(),
        }
    }
}

/// The error for acting on a login that is in `state` when it must not be.
fn refused(state: QrState) -> Error {
    Error::InvalidRequest(match state {
        QrState::Created => Reason::QrNotScanned,
        QrState::Authenticated => Reason::QrAlreadyCompleted,
        QrState::Expired => Reason::QrExpired,
        QrState::Cancelled => Reason::QrCancelled,
        // Scanned/challenged are refused only when confirmation is missing.
        QrState::Scanned | QrState::Challenged => Reason::QrConfirmationRequired,
    })
}

/// The stored hash of a confirmation code, salted with the login's id.
fn code_hash(id: &str, code: &str) -> TokenHash {
    TokenHash::of(&format!("{id}:{code}"))
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
    /// Records `client` (the phone's address and user agent) on the security events of
    /// the completions made through this value (a refused QR sign-in); without it they
    /// carry neither. The desktop's sign-in records the client given to `status`.
    pub fn with_client(mut self, client: &ClientInfo) -> Self {
        self.client = client.clone();
        self
    }

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
        if TokenHash::of(status_token) != record.status_token_hash {
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
    #[tracing::instrument(skip_all)]
    pub async fn create(&self) -> Result<CreateQrResponse> {
        let config = &self.auth.inner.config.qr;
        let id = random_id()?;
        let status_token = generate_token()?;
        let code = if config.confirmation.enabled {
            Some(random_digits(config.confirmation.code_length)?)
        } else {
            None
        };
        let now = self.now();
        let record = QrSessionRecord {
            id: id.clone(),
            status_token_hash: TokenHash::of_token(&status_token),
            confirmation_hash: code.as_deref().map(|code| code_hash(&id, code)),
            state: QrSessionState::Created,
            confirmed: false,
            confirmation_attempts: 0,
            user_id: None,
            session_id: None,
            authenticated_at: None,
            created_at: now,
            expires_at: now.saturating_add(config.ttl),
        };
        self.auth.inner.store.create_qr_session(&record).await?;
        Ok(CreateQrResponse {
            session_id: id,
            status_token,
            confirmation_code: code,
        })
    }

    /// The desktop's view of its login (route 10). When the phone has authenticated, the
    /// first call creates the desktop's session and returns its token; later calls report
    /// the state only.
    ///
    /// With a non-zero `wait` (capped at 30 s by the HTTP layer) this is a long-poll: it
    /// answers as soon as the status differs from the one at the start, or when `wait`
    /// ends. Long-polls held at once are capped per login and overall
    /// ([`QrConfig::max_waiters_per_login`](crate::config::QrConfig::max_waiters_per_login));
    /// one over a cap is answered at once. The status token is checked first: a poller without it registers no waiter.
    /// `client` is recorded on the desktop session.
    ///
    /// # Errors
    /// `401` for a missing or wrong status token, `404` for an unknown login.
    #[tracing::instrument(skip_all, fields(qr_session_id = %id))]
    pub async fn status(
        &self,
        id: &str,
        status_token: &str,
        wait: Duration,
        client: &ClientInfo,
    ) -> Result<QrStatus> {
        let deadline = tokio::time::Instant::now() + wait;
        // `report` is boxed where it is awaited: claiming a session is a deep future, and
        // unboxed its state would be reserved in every waiting desktop's future for the
        // whole long-poll.
        // The status token is checked before anything is registered: pollers without it
        // create no waiter and start no background re-check.
        let mut record = self.read_authorized(id, status_token).await?;
        if wait.is_zero() {
            return Box::pin(self.report(record, client)).await;
        }
        let start = self.view(&record);
        if start.state.is_terminal() {
            return Box::pin(self.report(record, client)).await;
        }
        // Over the long-poll caps: answer at once; the desktop polls again.
        let Some(_slot) = self.auth.inner.qr_waiter_slots.take(id) else {
            return Box::pin(self.report(record, client)).await;
        };
        // Subscribe, then read again: a change between the first read and the
        // subscription still shows as a difference from `start`.
        let mut subscription = self.watchers().subscribe(id);
        record = self.read(id).await?;
        if self.view(&record) != start {
            return Box::pin(self.report(record, client)).await;
        }
        loop {
            self.watchers().observe(&record);
            // Wake at expiry too: the state then reads `expired` without any write.
            let until_expiry = record.expires_at.saturating_duration_since(self.now());
            tokio::select! {
                () = subscription.changed() => {}
                () = tokio::time::sleep(until_expiry + Duration::from_millis(1)) => {}
                () = tokio::time::sleep_until(deadline) => {
                    return Box::pin(self.report(record, client)).await;
                }
            }
            record = self.read(id).await?;
            let current = self.view(&record);
            if current != start || current.state.is_terminal() {
                return Box::pin(self.report(record, client)).await;
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
        // Counted at the claim, the login's final state, not when the phone completed:
        // a completion the desktop cancels or never collects is counted as that instead.
        crate::telemetry::qr_login("completed");
        let (Some(user_id), Some(session_id), Some(created_at)) = (
            claimed.user_id.as_deref(),
            claimed.session_id.as_deref(),
            claimed.authenticated_at,
        ) else {
            return Err(Error::invariant("authenticated QR session without user"));
        };
        let store = &self.auth.inner.store;
        let user = store
            .user_by_id(user_id)
            .await?
            .ok_or(Error::InvalidRequest(Reason::QrUserGone))?;
        let token = generate_token()?;
        let record = SessionRecord {
            id: session_id.to_owned(),
            token_hash: TokenHash::of_token(&token),
            user_id: user.id.clone(),
            auth_method: AuthMethod::Qr,
            created_at,
            expires_at: created_at.saturating_add(self.auth.inner.config.session_ttl),
            user_agent: client.user_agent.clone(),
            ip_address: client.ip_address.clone(),
            auth_context: Some(AuthContext {
                qr_session_id: Some(id.to_owned()),
            }),
        };
        self.auth.store_sign_in(&record, client, None).await?;
        let session = entities::session(&record, None);
        self.auth
            .inner
            .hooks
            .after_authenticate(&entities::plain_user(&user), &session)
            .await;
        Ok(Some(SessionGrant {
            token,
            expires_at: record.expires_at,
        }))
    }

    /// The phone opened the QR code (route 11). Scanning again while the login is in
    /// progress is fine.
    ///
    /// # Errors
    /// `404` for an unknown login; `400` when it is completed, expired or cancelled.
    #[tracing::instrument(skip_all, fields(qr_session_id = %id))]
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

    /// The phone entered the code shown on the desktop (route 12). For a login without
    /// a code (confirmation off) this is a no-op that succeeds, as in v0.4: apps may send
    /// a code anyway.
    ///
    /// # Errors
    /// `404` for an unknown login; `400` when the login is not scanned or over, or the
    /// code is wrong (the last allowed wrong code cancels it).
    #[tracing::instrument(skip_all, fields(qr_session_id = %id))]
    pub async fn confirm(&self, id: &str, code: &str) -> Result<()> {
        let record = self.read(id).await?;
        let Some(expected) = record.confirmation_hash else {
            return Ok(());
        };
        let is_right = |code: &str| code_hash(id, code) == expected;
        match self.wire_state(&record) {
            QrState::Scanned | QrState::Challenged => {}
            QrState::Cancelled if record.confirmation_attempts >= MAX_CONFIRMATION_ATTEMPTS => {
                return Err(Error::InvalidRequest(Reason::ConfirmationLocked));
            }
            other => return Err(refused(other)),
        }
        if record.confirmed {
            // Already confirmed: a repeat (client retry) of the right code is fine; guesses
            // gain nothing any more.
            return if is_right(code) {
                Ok(())
            } else {
                Err(Error::InvalidRequest(Reason::InvalidConfirmationCode))
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
                    Error::InvalidRequest(Reason::InvalidConfirmationCode)
                }
                QrState::Scanned | QrState::Challenged => {
                    Error::InvalidRequest(Reason::ConfirmationLocked)
                }
                QrState::Cancelled if again.confirmation_attempts >= MAX_CONFIRMATION_ATTEMPTS => {
                    Error::InvalidRequest(Reason::ConfirmationLocked)
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
            if self
                .apply(id, &QrChange::state(state::LOCK_OUT))
                .await?
                .is_some()
            {
                crate::telemetry::qr_login("locked_out");
            }
            tracing::info!("QR login cancelled after too many wrong confirmation codes");
            return Err(Error::InvalidRequest(Reason::ConfirmationLocked));
        }
        Err(Error::InvalidRequest(Reason::InvalidConfirmationCode))
    }

    /// Checks the login can take a passkey challenge (scanned, confirmed when required)
    /// and moves it to `challenged`. Called by `passkeys().start_sign_in` for a request
    /// that names a QR login.
    #[tracing::instrument(skip_all, fields(qr_session_id = %id))]
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
            return Err(Error::InvalidRequest(Reason::QrConfirmationRequired));
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
    #[tracing::instrument(skip_all, fields(qr_session_id = %id))]
    pub async fn complete(
        &self,
        id: &str,
        response: &AuthenticationResponse,
    ) -> Result<SignInResponse<U>> {
        let result = self.complete_counted(id, response).await;
        crate::telemetry::sign_in(AuthMethod::Qr, &result);
        result
    }

    /// [`Self::complete`] without the sign-in metric.
    async fn complete_counted(
        &self,
        id: &str,
        response: &AuthenticationResponse,
    ) -> Result<SignInResponse<U>> {
        let record = self.read(id).await?;
        self.check_ready(&record)?;
        let (user, credential, bound) = self
            .auth
            .passkeys()
            .verify_sign_in_for(response, Some(id), &self.client)
            .await?;
        let transition: Transition = if bound {
            state::AUTHENTICATE_BOUND
        } else {
            state::AUTHENTICATE_UNBOUND
        };
        let plain = entities::plain_user(&user);
        let hooks = &self.auth.inner.hooks;
        let allowed = match hooks
            .before_authenticate(&SignInAttempt {
                user: &plain,
                method: AuthMethod::Qr,
            })
            .await
        {
            Ok(()) => {
                hooks
                    .before_qr_complete(&QrCompleteAttempt {
                        user: &plain,
                        qr_session_id: id,
                    })
                    .await
            }
            vetoed => vetoed,
        };
        if let Err(veto) = allowed {
            let details = EventDetails::sign_in_failed(AuthMethod::Qr, SignInFailure::Blocked)
                .credential(Some(&credential.id));
            self.auth.audit(&user.id, &self.client, details).await;
            return Err(veto.into());
        }
        let now = self.now();
        let session_id = self.auth.new_id()?;
        let claim_by = now.saturating_add(CLAIM_WINDOW);
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
                QrState::Challenged if !bound => Error::InvalidRequest(Reason::QrChallengeMismatch),
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
            expires_at: now.saturating_add(self.auth.inner.config.session_ttl),
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
            user: entities::user(&user)?,
            session,
        })
    }

    /// The desktop gives up (route 14). Cancelling twice is fine.
    ///
    /// # Errors
    /// `401` for a wrong status token, `404` for an unknown login, `400` when it already
    /// signed the desktop in or expired.
    #[tracing::instrument(skip_all, fields(qr_session_id = %id))]
    pub async fn cancel(&self, id: &str, status_token: &str) -> Result<()> {
        let record = self.read_authorized(id, status_token).await?;
        if record.state == QrSessionState::Cancelled {
            return Ok(());
        }
        if self
            .apply(id, &QrChange::state(state::CANCEL))
            .await?
            .is_some()
        {
            crate::telemetry::qr_login("cancelled");
            return Ok(());
        }
        // Lost a race: fine if another cancel won.
        match self.wire_state(&self.read(id).await?) {
            QrState::Cancelled => Ok(()),
            other => Err(refused(other)),
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

    /// Each waiting desktop keeps its `status` future for up to 30 s: ten thousand of them
    /// must not each reserve room for claiming a session (`report` is boxed).
    #[test]
    fn a_waiting_desktop_future_stays_small() {
        let auth: Auth = Auth::builder("example.com", "https://example.com")
            .unwrap()
            .build()
            .unwrap();
        let client = ClientInfo::default();
        let qr = auth.qr();
        let waiting = qr.status("id", "token", Duration::from_secs(30), &client);
        let size = std::mem::size_of_val(&waiting);
        let claim = std::mem::size_of_val(&qr.claim("id", &client));
        println!("status future {size} B, claim future {claim} B");
        assert!(size < 1536, "status future: {size} bytes (claim: {claim})");
    }

    #[tokio::test]
    async fn pollers_without_the_status_token_register_nothing() {
        let auth: Auth = Auth::builder("example.com", "https://example.com")
            .unwrap()
            .build()
            .unwrap();
        let created = auth.qr().create().await.unwrap();
        let client = ClientInfo::default();
        for token in ["", "not-the-status-token"] {
            let polled = auth
                .qr()
                .status(&created.session_id, token, Duration::from_secs(25), &client)
                .await;
            assert!(matches!(polled, Err(Error::Unauthorized)), "{polled:?}");
            assert_eq!(auth.qr().waiting_desktops(), 0);
            assert!(!auth.inner.qr_watchers.is_checking());
        }
    }

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
}
