//! Target `qr_state`: sequences of QR login operations on the real engine.

use super::authenticator::{
    CREDENTIAL_ID, Enrolled, ORIGIN, START_MILLIS, USER_PRESENT, USER_VERIFIED,
    authentication_json, authenticator_data, challenge_text, client_data, engine, rp_id_hash, sign,
};
use crate::error::Error;
use crate::qr::state::{QrSessionState, TRANSITIONS};
use crate::qr::{MAX_CONFIRMATION_ATTEMPTS, QrConfirmation};
use crate::sessions::ClientInfo;
use crate::store::QrSessionRecord;
use crate::{Auth, clock::Clock};
use arbitrary::{Arbitrary, Unstructured};
use passkey_magic_shared::passkeys::AuthenticateOptionsRequest;
use passkey_magic_shared::webauthn::AuthenticationResponse;
use passkey_magic_shared::{AuthMethod, QrState};
use std::time::Duration;

/// How far one input may move the clock: less than the session lifetime (7 days).
const MAX_ADVANCE_MILLIS: i64 = 6 * 24 * 60 * 60 * 1000;

/// QR logins one input may create (more only slow the fuzzer down).
const MAX_LOGINS: usize = 4;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    confirmation: bool,
    steps: Vec<Step<'a>>,
}

#[derive(Debug, Arbitrary)]
enum Step<'a> {
    Create,
    Scan(u8),
    Confirm {
        login: u8,
        code: Secret<'a>,
    },
    /// The phone asks for a challenge bound to the login.
    Challenge(u8),
    Complete {
        login: u8,
        answer: Answer,
    },
    Status {
        login: u8,
        token: Secret<'a>,
    },
    Cancel {
        login: u8,
        token: Secret<'a>,
    },
    /// Time passes.
    Advance {
        seconds: u16,
    },
    /// The background purge runs.
    Purge,
    /// An operation on an id that was never issued.
    Unknown(&'a str),
}

/// The login's own secret (status token, confirmation code), or another text.
#[derive(Debug, Arbitrary)]
enum Secret<'a> {
    Right,
    Other(&'a str),
}

/// How the phone answers on completion.
#[derive(Debug, Arbitrary)]
enum Answer {
    /// A valid assertion of a challenge bound to this login.
    Bound,
    /// A valid assertion of an ordinary (unbound) challenge, as a v0.4 phone sends.
    Unbound,
    /// A valid assertion of a challenge bound to another login.
    BoundToOther(u8),
    /// A bound challenge with a broken signature.
    BadSignature,
    /// The last answer sent for this login, again.
    Replay,
}

/// What the test knows of one login.
struct Login {
    id: String,
    status_token: String,
    code: Option<String>,
    /// The stored record after the last step (the last one seen, once purged).
    last: Option<QrSessionRecord>,
    /// The purge removed it.
    purged: bool,
    /// Session tokens the desktop received.
    grants: u32,
    last_answer: Option<SentAnswer>,
}

/// An answer sent to complete a login, kept for replaying.
#[derive(Clone)]
struct SentAnswer {
    response: AuthenticationResponse,
    /// Valid by construction (may still be refused, e.g. for a login not ready).
    valid: bool,
    /// It completed a login: it must never work again.
    succeeded: bool,
}

/// Runs a fuzzed sequence of QR operations and clock moves on a fresh engine (memory
/// store, manual clock, confirmation codes on or off) and after each step checks every
/// login:
///
/// - its stored state moved only along [`TRANSITIONS`]; `expired`, `cancelled` and a
///   claimed login stay so; attempts and the `confirmed` flag never go back;
/// - confirmation attempts never exceed [`MAX_CONFIRMATION_ATTEMPTS`];
/// - the desktop got a session token at most once, exactly when the login was claimed,
///   and the store holds exactly that one QR session for it; a cancelled or expired
///   login never gave one;
/// - a completion succeeds only with a valid answer to a ready login, and every refusal
///   is a 4xx.
///
/// # Panics
/// When a property fails (that is the fuzzer's signal).
pub fn qr_state(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let enrolled = Enrolled::get();
    super::block_on(async {
        let confirmation = QrConfirmation {
            enabled: input.confirmation,
            ..QrConfirmation::default()
        };
        let (auth, clock) = engine(|builder| builder.qr_confirmation(confirmation));
        enrolled.store_in(&auth).await;
        let mut logins: Vec<Login> = Vec::new();
        for step in &input.steps {
            let before: Vec<Option<QrState>> = logins.iter().map(|l| wire(&auth, l)).collect();
            run(&auth, &clock, enrolled, &mut logins, step).await;
            for (index, login) in logins.iter_mut().enumerate() {
                let was = before.get(index).copied().flatten();
                check(&auth, enrolled, login, was, step).await;
            }
        }
    });
}

/// The login's wire state as of its last stored record.
fn wire(auth: &Auth, login: &Login) -> Option<QrState> {
    let record = login.last.as_ref()?;
    Some(record.state.at(record.expires_at, auth.inner.clock.now()))
}

fn pick(logins: &mut [Login], index: u8) -> Option<&mut Login> {
    let count = logins.len();
    (count > 0).then(|| &mut logins[usize::from(index) % count])
}

fn secret<'a>(choice: &'a Secret<'a>, right: &'a str) -> &'a str {
    match choice {
        Secret::Right => right,
        Secret::Other(other) => other,
    }
}

async fn run(
    auth: &Auth,
    clock: &crate::clock::ManualClock,
    enrolled: &Enrolled,
    logins: &mut Vec<Login>,
    step: &Step<'_>,
) {
    let qr = auth.qr();
    let client = ClientInfo::default();
    match step {
        Step::Create => {
            if logins.len() < MAX_LOGINS {
                let created = qr.create().await.expect("memory store");
                logins.push(Login {
                    id: created.session_id.clone(),
                    status_token: created.status_token.expose().to_owned(),
                    code: created.confirmation_code.clone(),
                    last: auth
                        .store()
                        .qr_session_by_id(&created.session_id)
                        .await
                        .expect("memory store"),
                    grants: 0,
                    last_answer: None,
                    purged: false,
                });
            }
        }
        Step::Scan(index) => {
            if let Some(login) = pick(logins, *index) {
                client_result(qr.mark_scanned(&login.id).await);
            }
        }
        Step::Confirm { login, code } => {
            if let Some(login) = pick(logins, *login) {
                let right = login.code.clone().unwrap_or_default();
                client_result(qr.confirm(&login.id, secret(code, &right)).await);
            }
        }
        Step::Challenge(index) => {
            if let Some(login) = pick(logins, *index) {
                client_result(bound_challenge(auth, &login.id).await);
            }
        }
        Step::Complete {
            login: index,
            answer,
        } => {
            let other_id = match answer {
                Answer::BoundToOther(other) => pick(logins, *other).map(|l| l.id.clone()),
                _ => None,
            };
            let Some(login) = pick(logins, *index) else {
                return;
            };
            let ready = is_ready(auth, login);
            let (response, valid) = match answer {
                Answer::Bound => match bound_challenge(auth, &login.id).await {
                    Ok(challenge) => (Some(assertion(enrolled, &challenge, false)), true),
                    Err(error) => return assert_client_error(&error),
                },
                Answer::BadSignature => match bound_challenge(auth, &login.id).await {
                    Ok(challenge) => (Some(assertion(enrolled, &challenge, true)), false),
                    Err(error) => return assert_client_error(&error),
                },
                Answer::Unbound => {
                    let options = auth
                        .passkeys()
                        .start_sign_in(&AuthenticateOptionsRequest::default())
                        .await
                        .expect("sign-in options");
                    (
                        Some(assertion(enrolled, &options.options.challenge, false)),
                        true,
                    )
                }
                Answer::BoundToOther(_) => match other_id {
                    Some(other) if other != login.id => match bound_challenge(auth, &other).await {
                        Ok(challenge) => (Some(assertion(enrolled, &challenge, false)), false),
                        Err(error) => return assert_client_error(&error),
                    },
                    _ => (None, false),
                },
                Answer::Replay => match &login.last_answer {
                    Some(sent) => (Some(sent.response.clone()), sent.valid && !sent.succeeded),
                    None => (None, false),
                },
            };
            let Some(response) = response else {
                return;
            };
            let result = qr.complete(&login.id, &response).await;
            let previously_succeeded = matches!(answer, Answer::Replay)
                && login
                    .last_answer
                    .as_ref()
                    .is_some_and(|sent| sent.succeeded);
            login.last_answer = Some(SentAnswer {
                response,
                valid,
                succeeded: result.is_ok() || previously_succeeded,
            });
            match result {
                Ok(signed_in) => {
                    assert!(
                        valid,
                        "a completion with a bad answer succeeded: {answer:?}"
                    );
                    assert!(ready, "a login that was not ready was completed");
                    assert!(
                        signed_in.session.token.is_none(),
                        "the phone got the desktop's token"
                    );
                    assert_eq!(signed_in.user.id, enrolled.user.id);
                }
                Err(error) => assert_client_error(&error),
            }
        }
        Step::Status { login, token } => {
            if let Some(login) = pick(logins, *login) {
                let right = login.status_token.clone();
                let token = secret(token, &right);
                match qr.status(&login.id, token, Duration::ZERO, &client).await {
                    Ok(status) => {
                        assert!(
                            token == right,
                            "a status without the status token was answered"
                        );
                        if let Some(grant) = status.session {
                            login.grants += 1;
                            let session = auth
                                .sessions()
                                .validate(grant.token.expose())
                                .await
                                .expect("memory store")
                                .expect("the granted session is valid");
                            assert_eq!(session.user.id, enrolled.user.id);
                            assert_eq!(session.session.auth_method, AuthMethod::Qr);
                        }
                    }
                    Err(error) => assert_client_error(&error),
                }
            }
        }
        Step::Cancel { login, token } => {
            if let Some(login) = pick(logins, *login) {
                let right = login.status_token.clone();
                let token = secret(token, &right);
                let result = qr.cancel(&login.id, token).await;
                if result.is_ok() {
                    assert!(
                        token == right,
                        "a cancel without the status token succeeded"
                    );
                }
                client_result(result);
            }
        }
        Step::Advance { seconds } => {
            // Stay within the session lifetime, so that every granted session is still
            // there to be counted.
            let advanced = clock.now().as_unix_millis() - START_MILLIS;
            let step = i64::from(*seconds) * 1000;
            if advanced + step < MAX_ADVANCE_MILLIS {
                clock.advance_millis(step);
            }
        }
        Step::Purge => {
            auth.purge_expired().await.expect("memory store");
        }
        Step::Unknown(id) => {
            if logins.iter().all(|login| login.id != *id) {
                for result in [
                    qr.mark_scanned(id).await,
                    qr.confirm(id, "123456").await,
                    qr.cancel(id, "token").await,
                ] {
                    assert!(
                        matches!(
                            result,
                            Err(Error::NotFound | Error::Unauthorized | Error::Request(_))
                        ),
                        "an unknown login answered {result:?}"
                    );
                }
            }
        }
    }
}

/// Whether the phone may complete the login now (scanned or challenged, unexpired,
/// confirmed when a code is required).
fn is_ready(auth: &Auth, login: &Login) -> bool {
    let Some(record) = auth_record_now(auth, login) else {
        return false;
    };
    matches!(
        record.state.at(record.expires_at, auth.inner.clock.now()),
        QrState::Scanned | QrState::Challenged
    ) && (record.confirmation_hash.is_none() || record.confirmed)
}

fn auth_record_now(_auth: &Auth, login: &Login) -> Option<QrSessionRecord> {
    login.last.clone()
}

/// Asks for a sign-in challenge bound to the login (route 3 with `qrSessionId`).
async fn bound_challenge(auth: &Auth, id: &str) -> crate::Result<Vec<u8>> {
    let options = auth
        .passkeys()
        .start_sign_in(&AuthenticateOptionsRequest {
            user_id: None,
            qr_session_id: Some(id.to_owned()),
        })
        .await?;
    Ok(options.options.challenge.to_vec())
}

/// A usernameless assertion of the enrolled passkey for `challenge`.
fn assertion(
    enrolled: &Enrolled,
    challenge: &[u8],
    break_signature: bool,
) -> AuthenticationResponse {
    let client_data_json = client_data(
        "webauthn.get",
        &challenge_text(challenge),
        ORIGIN,
        None,
        &[],
    );
    let auth_data = authenticator_data(&rp_id_hash(), USER_PRESENT | USER_VERIFIED, 0, None, None);
    let mut signature = sign(&auth_data, &client_data_json);
    if break_signature && let Some(last) = signature.last_mut() {
        *last ^= 0x01;
    }
    let json = authentication_json(
        CREDENTIAL_ID,
        &client_data_json,
        &auth_data,
        &signature,
        Some(enrolled.user.user_handle.as_bytes()),
    );
    serde_json::from_value(json).expect("a well-formed assertion")
}

/// The invariants of one login after a step.
async fn check(
    auth: &Auth,
    enrolled: &Enrolled,
    login: &mut Login,
    was: Option<QrState>,
    step: &Step<'_>,
) {
    let now = auth.inner.clock.now();
    let record = auth
        .store()
        .qr_session_by_id(&login.id)
        .await
        .expect("memory store");
    let Some(record) = record else {
        // Only the purge removes a login, and only once it expired; it stays gone.
        let previous = login.last.as_ref().expect("a login is stored when created");
        if !login.purged {
            assert!(
                previous.expires_at <= now,
                "a login vanished before it expired (after {step:?})"
            );
            login.purged = true;
        }
        assert_eq!(
            login.grants,
            u32::from(previous.state == QrSessionState::Claimed)
        );
        return;
    };
    assert!(!login.purged, "a purged login came back (after {step:?})");
    let previous = login.last.take();
    if let Some(previous) = &previous {
        assert!(
            reachable(previous.state, record.state),
            "QR state went {:?} → {:?} (after {step:?})",
            previous.state,
            record.state
        );
        assert!(record.confirmation_attempts >= previous.confirmation_attempts);
        assert!(
            record.confirmed || !previous.confirmed,
            "`confirmed` went back"
        );
    }
    assert!(
        record.confirmation_attempts <= MAX_CONFIRMATION_ATTEMPTS,
        "{} confirmation attempts counted",
        record.confirmation_attempts
    );
    let state = record.state.at(record.expires_at, now);
    match was {
        Some(QrState::Expired) => assert_eq!(
            state,
            QrState::Expired,
            "an expired login came back (after {step:?})"
        ),
        Some(QrState::Cancelled) => assert_eq!(
            state,
            QrState::Cancelled,
            "a cancelled login changed (after {step:?})"
        ),
        _ => {}
    }
    let claimed = record.state == QrSessionState::Claimed;
    assert!(
        login.grants <= 1,
        "the desktop got {} sessions",
        login.grants
    );
    assert_eq!(
        login.grants,
        u32::from(claimed),
        "claimed = {claimed} but {} sessions granted (after {step:?})",
        login.grants
    );
    let sessions = auth
        .store()
        .sessions_for_user(&enrolled.user.id, now)
        .await
        .expect("memory store");
    let for_login = sessions
        .iter()
        .filter(|session| {
            session
                .auth_context
                .as_ref()
                .and_then(|context| context.qr_session_id.as_deref())
                == Some(login.id.as_str())
        })
        .count();
    assert_eq!(
        for_login,
        usize::from(claimed),
        "{for_login} sessions exist for a QR login in state {:?}",
        record.state
    );
    login.last = Some(record);
}

/// Whether `to` can follow `from` by zero or more allowed transitions.
fn reachable(from: QrSessionState, to: QrSessionState) -> bool {
    let mut seen = vec![from];
    let mut index = 0;
    while let Some(&state) = seen.get(index) {
        if state == to {
            return true;
        }
        for transition in TRANSITIONS {
            if transition.from.contains(&state) && !seen.contains(&transition.to) {
                seen.push(transition.to);
            }
        }
        index += 1;
    }
    false
}

fn client_result<T>(result: crate::Result<T>) {
    if let Err(error) = result {
        assert_client_error(&error);
    }
}

fn assert_client_error(error: &Error) {
    assert!(
        error.status().is_client_error(),
        "a QR operation must answer a 4xx, got {} ({error:?})",
        error.status()
    );
}
