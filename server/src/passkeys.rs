//! Passkeys: sign-up, sign-in (usernameless or scoped to a user), adding passkeys to an
//! account, and managing them. Every ceremony is a `start_*`/`finish_*` pair; the
//! webauthn-rs state stays on the server, stored under its challenge and taken atomically
//! by the first answer — successful or not — so no answer can be replayed.
//!
//! Verification is entirely webauthn-rs's (origin, rp id, signature, user verification);
//! this module adds storage, counters, identity checks and sessions.

use crate::audit::EventDetails;
use crate::auth::{Auth, MetadataType};
use crate::entities;
use crate::error::{Error, Reason, Result};
use crate::events::Event;
use crate::hooks::{AddPasskeyAttempt, RegisterAttempt, SignInAttempt};
use crate::secrets::{base64url, random_user_handle};
use crate::sessions::ClientInfo;
use crate::store::{
    Ceremony, ChallengeRecord, CredentialRecord, CredentialUsage, Guarded, StoreError, UserRecord,
};
use passkey_magic_shared::passkeys::{
    AddPasskeyOptionsResponse, AuthenticateOptionsRequest, AuthenticateOptionsResponse,
    OptionsResponse, RegisterOptionsRequest, RegisterOptionsResponse, RegisterVerifyRequest,
    RegisterVerifyResponse,
};
use passkey_magic_shared::security_events::{SecurityEventType, SignInFailure};
use passkey_magic_shared::sessions::SignInResponse;
use passkey_magic_shared::webauthn::{AuthenticationResponse, RegistrationResponse};
use passkey_magic_shared::{AuthMethod, Credential, RequestError, email};
use serde::Deserialize;
use uuid::Uuid;
use webauthn_rs::prelude::{CreationChallengeResponse, Passkey};
use webauthn_rs_proto::ResidentKeyRequirement;

/// The answer does not match a pending, unexpired ceremony of the right kind.
pub const CHALLENGE_EXPIRED: &str = Reason::ChallengeExpired.message();
/// webauthn-rs rejected the answer (origin, rp id, signature, user verification, ...).
pub const VERIFICATION_FAILED: &str = Reason::VerificationFailed.message();
/// No stored credential has the answer's id.
pub const UNKNOWN_PASSKEY: &str = Reason::UnknownPasskey.message();
/// `register/options` for a user id that exists.
pub const USER_EXISTS: &str = Reason::UserExists.message();
/// The credential is registered already.
pub const PASSKEY_EXISTS: &str = Reason::PasskeyExists.message();
/// Scoped sign-in for a user without passkeys.
pub const NO_PASSKEYS: &str = Reason::NoPasskeys.message();
/// Removing the last way in.
pub const REMOVE_LOCKOUT: &str = Reason::RemoveLockout.message();

/// Passkey operations: `auth.passkeys()`.
#[derive(Debug)]
pub struct Passkeys<'a, U, C> {
    auth: &'a Auth<U, C>,
    client: ClientInfo,
}

impl<U: MetadataType, C: MetadataType> Auth<U, C> {
    /// Passkey operations.
    pub fn passkeys(&self) -> Passkeys<'_, U, C> {
        Passkeys {
            auth: self,
            client: ClientInfo::default(),
        }
    }
}

/// An empty name counts as none: webauthn-rs refuses empty user names.
fn non_empty(name: Option<&str>) -> Option<&str> {
    name.filter(|name| !name.is_empty())
}

/// What the engine reads of an answer's `clientDataJSON` itself; webauthn-rs verifies
/// the whole of it.
#[derive(Deserialize)]
struct ClientData {
    /// The challenge the answer claims to respond to (looked up, then verified).
    challenge: String,
    /// Set by a browser when the page asking was framed by another site.
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

fn client_data(client_data_json: &[u8]) -> Result<ClientData> {
    serde_json::from_slice::<ClientData>(client_data_json)
        .map_err(|_| Error::Request(RequestError::InvalidField("response")))
}

/// Refuses a sign-in answer from a page framed by another site: cross-origin embedding
/// is not offered. webauthn-rs checks `crossOrigin` for registrations only (found by the
/// `webauthn_response` fuzz target).
fn refuse_cross_origin(client_data_json: &[u8]) -> Result<()> {
    if client_data(client_data_json)?.cross_origin == Some(true) {
        tracing::info!("cross-origin passkey sign-in refused");
        return Err(Error::InvalidRequest(Reason::VerificationFailed));
    }
    Ok(())
}

/// webauthn-rs issues `residentKey: discouraged`; passkeys must be discoverable so that
/// usernameless sign-in and QR login can find them.
fn require_discoverable(options: &mut CreationChallengeResponse) {
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
}

/// AAGUID and COSE public key from a (verified) attestation object's authenticator data.
fn attested_credential(attestation_object: &[u8]) -> Option<(Uuid, Vec<u8>)> {
    use serde_cbor_2::Value;
    let Value::Map(map) = serde_cbor_2::from_slice::<Value>(attestation_object).ok()? else {
        return None;
    };
    let Some(Value::Bytes(auth_data)) = map.get(&Value::Text("authData".into())) else {
        return None;
    };
    const ATTESTED_DATA: u8 = 0x40;
    if auth_data.get(32)? & ATTESTED_DATA == 0 {
        return None;
    }
    let aaguid = Uuid::from_slice(auth_data.get(37..53)?).ok()?;
    let id_length = u16::from_be_bytes([*auth_data.get(53)?, *auth_data.get(54)?]) as usize;
    let key_bytes = auth_data.get(55 + id_length..)?;
    let mut reader = serde_cbor_2::Deserializer::from_slice(key_bytes);
    Value::deserialize(&mut reader).ok()?;
    let key = key_bytes.get(..reader.byte_offset())?.to_vec();
    Some((aaguid, key))
}

/// Transport names (`internal`, `hybrid`, ...) as the browser reported them.
fn transport_names(response: &RegistrationResponse) -> Vec<String> {
    response
        .response
        .transports
        .iter()
        .flatten()
        .filter_map(|transport| serde_json::to_value(transport).ok())
        .filter_map(|value| value.as_str().map(str::to_owned))
        .collect()
}

impl<U: MetadataType, C: MetadataType> Passkeys<'_, U, C> {
    /// Records `client` (address, user agent) on the security events of the passkey
    /// changes made through this value (add, rename, remove); without it they carry
    /// neither. Sign-ins take their client as an argument.
    pub fn with_client(mut self, client: &ClientInfo) -> Self {
        self.client = client.clone();
        self
    }

    async fn put_ceremony(&self, challenge: &[u8], ceremony: Ceremony) -> Result<()> {
        let expires_at = self
            .auth
            .now()
            .saturating_add(self.auth.inner.config.challenge_ttl);
        self.auth
            .inner
            .store
            .put_challenge(&ChallengeRecord {
                challenge: base64url(challenge),
                ceremony,
                expires_at,
            })
            .await?;
        Ok(())
    }

    async fn take_ceremony(&self, client_data_json: &[u8]) -> Result<Ceremony> {
        let challenge = client_data(client_data_json)?.challenge;
        self.auth
            .inner
            .store
            .take_challenge(&challenge, self.auth.now())
            .await?
            .map(|record| record.ceremony)
            .ok_or(Error::InvalidRequest(Reason::ChallengeExpired))
    }

    fn new_credential(
        &self,
        user_id: &str,
        passkey: Passkey,
        response: &RegistrationResponse,
    ) -> CredentialRecord {
        let transports = transport_names(response);
        // webauthn-rs keeps transports only for some attestation formats; keep them always
        // so sign-in options can hint them to the browser.
        let mut internals = webauthn_rs::prelude::Credential::from(passkey);
        if internals.transports.is_none() {
            internals.transports = response.response.transports.clone();
        }
        let (backup_eligible, backed_up) = (internals.backup_eligible, internals.backup_state);
        let counter = internals.counter;
        let passkey = Passkey::from(internals);
        let (aaguid, public_key) = match attested_credential(&response.response.attestation_object)
        {
            Some((aaguid, key)) => (Some(aaguid), key),
            None => (None, Vec::new()),
        };
        CredentialRecord {
            id: base64url(passkey.cred_id()),
            user_id: user_id.to_owned(),
            passkey,
            public_key,
            counter,
            backup_eligible,
            backed_up,
            transports,
            aaguid,
            label: None,
            created_at: self.auth.now(),
            last_used_at: None,
            metadata: None,
        }
    }

    /// Starts sign-up of a new user: returns WebAuthn creation options for
    /// `navigator.credentials.create()` and the id the user will get.
    ///
    /// # Errors
    /// `400` when `user_id` is empty or exists, the email is invalid or taken, or a hook
    /// vetoes.
    #[tracing::instrument(skip_all)]
    pub async fn start_registration(
        &self,
        request: &RegisterOptionsRequest,
    ) -> Result<RegisterOptionsResponse> {
        let store = &self.auth.inner.store;
        let user_id = match &request.user_id {
            Some(id) if !crate::input::is_safe_user_id(id) => {
                return Err(Error::Request(RequestError::InvalidField("userId")));
            }
            Some(id) if store.user_by_id(id).await?.is_some() => {
                return Err(Error::InvalidRequest(Reason::UserExists));
            }
            Some(id) => id.clone(),
            None => self.auth.new_id()?,
        };
        if let Some(name) = &request.user_name
            && !crate::input::is_safe_text(name)
        {
            return Err(Error::Request(RequestError::InvalidField("userName")));
        }
        if let Some(address) = &request.email {
            if !email::is_valid(address) {
                return Err(Error::InvalidRequest(Reason::InvalidEmail));
            }
            if store.user_by_email(address).await?.is_some() {
                return Err(Error::InvalidRequest(Reason::EmailInUse));
            }
        }
        self.auth
            .inner
            .hooks
            .before_register(&RegisterAttempt {
                user_id: &user_id,
                email: request.email.as_deref(),
            })
            .await?;
        let user_handle = random_user_handle()?;
        let name = non_empty(request.user_name.as_deref())
            .or(request.email.as_deref())
            .unwrap_or(&user_id);
        let (mut options, state) =
            self.auth
                .inner
                .webauthn
                .start_passkey_registration(user_handle, name, name, None)?;
        require_discoverable(&mut options);
        self.put_ceremony(
            &options.public_key.challenge,
            Ceremony::Registration {
                user_id: user_id.clone(),
                user_handle,
                email: request.email.clone(),
                state,
            },
        )
        .await?;
        Ok(RegisterOptionsResponse {
            options: options.public_key,
            user_id,
        })
    }

    /// Finishes sign-up: verifies the browser's answer, creates the user, its passkey and
    /// a session.
    ///
    /// # Errors
    /// `400` when the challenge is unknown, expired or used, or verification fails.
    #[tracing::instrument(skip_all)]
    pub async fn finish_registration(
        &self,
        request: &RegisterVerifyRequest,
        client: &ClientInfo,
    ) -> Result<RegisterVerifyResponse<U, C>> {
        let result = self.finish_registration_counted(request, client).await;
        crate::telemetry::sign_up(AuthMethod::Passkey, &result);
        result
    }

    /// [`Self::finish_registration`] without the metric.
    async fn finish_registration_counted(
        &self,
        request: &RegisterVerifyRequest,
        client: &ClientInfo,
    ) -> Result<RegisterVerifyResponse<U, C>> {
        let response = &request.response;
        let Ceremony::Registration {
            user_id,
            user_handle,
            email,
            state,
        } = self
            .take_ceremony(&response.response.client_data_json)
            .await?
        else {
            return Err(Error::InvalidRequest(Reason::ChallengeExpired));
        };
        if user_id != request.user_id {
            return Err(Error::InvalidRequest(Reason::ChallengeExpired));
        }
        let passkey = self
            .auth
            .inner
            .webauthn
            .finish_passkey_registration(response, &state)
            .map_err(|error| {
                tracing::info!(%error, "passkey registration rejected");
                Error::InvalidRequest(Reason::VerificationFailed)
            })?;
        let store = &self.auth.inner.store;
        let user = UserRecord {
            id: user_id.clone(),
            email,
            user_handle,
            created_at: self.auth.now(),
            metadata: None,
        };
        match store.create_user(&user).await {
            Ok(()) => {}
            Err(StoreError::Conflict("email")) => return Err(Reason::EmailInUse.into()),
            // The id may be the client's (`userId` in the options request).
            Err(StoreError::Conflict("id")) => return Err(Reason::UserExists.into()),
            Err(error) => return Err(error.into()),
        }
        let credential = self.new_credential(&user_id, passkey, response);
        if let Err(error) = store.create_credential(&credential).await {
            // Do not leave a user without a way in.
            let _ = store.delete_user(&user_id).await;
            return Err(match error {
                StoreError::Conflict("id") => Reason::PasskeyExists.into(),
                other => other.into(),
            });
        }
        self.auth.emit(Event::UserCreated {
            user_id: user_id.clone(),
        });
        self.auth.emit(Event::CredentialCreated {
            credential_id: credential.id.clone(),
            user_id: user_id.clone(),
        });
        let session = self
            .auth
            .sessions()
            .create(
                &user_id,
                AuthMethod::Passkey,
                client,
                None,
                Some(&credential.id),
            )
            .await?;
        self.auth
            .inner
            .hooks
            .after_register(
                &entities::plain_user(&user),
                &entities::without_token(&session),
            )
            .await;
        Ok(RegisterVerifyResponse {
            method: AuthMethod::Passkey,
            user: entities::user(&user)?,
            session,
            credential: entities::credential(&credential)?,
        })
    }

    /// Starts a sign-in: usernameless (any discoverable passkey of this site) or, with
    /// `user_id`, restricted to that user's passkeys.
    ///
    /// With `qr_session_id`, the QR login moves to `challenged` and the challenge can only
    /// complete that login (`auth.qr().complete`).
    ///
    /// # Errors
    /// `400` when the user has no passkeys, or the named QR login is not scanned, not
    /// confirmed (if confirmation is on), or over; `404` for an unknown QR login.
    #[tracing::instrument(skip_all)]
    pub async fn start_sign_in(
        &self,
        request: &AuthenticateOptionsRequest,
    ) -> Result<AuthenticateOptionsResponse> {
        if let Some(qr_session_id) = &request.qr_session_id {
            self.auth.qr().challenge(qr_session_id).await?;
        }
        let webauthn = &self.auth.inner.webauthn;
        let (options, ceremony) = match &request.user_id {
            Some(user_id) => {
                let credentials = self.auth.inner.store.credentials_for_user(user_id).await?;
                if credentials.is_empty() {
                    return Err(Error::InvalidRequest(Reason::NoPasskeys));
                }
                let passkeys: Vec<Passkey> = credentials.into_iter().map(|c| c.passkey).collect();
                let (options, state) = webauthn.start_passkey_authentication(&passkeys)?;
                (
                    options,
                    Ceremony::ScopedSignIn {
                        user_id: user_id.clone(),
                        state,
                    },
                )
            }
            None => {
                let (options, state) = webauthn.start_discoverable_authentication()?;
                (options, Ceremony::DiscoverableSignIn { state })
            }
        };
        let ceremony = match &request.qr_session_id {
            Some(qr_session_id) => Ceremony::QrSignIn {
                qr_session_id: qr_session_id.clone(),
                sign_in: Box::new(ceremony),
            },
            None => ceremony,
        };
        self.put_ceremony(&options.public_key.challenge, ceremony)
            .await?;
        Ok(OptionsResponse {
            options: options.public_key,
        })
    }

    /// Verifies a sign-in answer and returns its user and credential, without creating a
    /// session. Challenges bound to a QR login are refused here.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn verify_sign_in(
        &self,
        response: &AuthenticationResponse,
        client: &ClientInfo,
    ) -> Result<(UserRecord, CredentialRecord)> {
        let (user, credential, _) = self.verify_sign_in_for(response, None, client).await?;
        Ok((user, credential))
    }

    /// Verifies a sign-in answer for a QR login (`Some(id)`) or an ordinary sign-in
    /// (`None`). A QR login accepts challenges bound to it and unbound ones (v0.4 phones);
    /// the returned flag says whether the challenge was bound. The challenge is consumed
    /// either way. A refusal once the passkey's user is known goes into that user's
    /// security log, with `client`.
    #[tracing::instrument(skip_all)]
    pub(crate) async fn verify_sign_in_for(
        &self,
        response: &AuthenticationResponse,
        qr_session_id: Option<&str>,
        client: &ClientInfo,
    ) -> Result<(UserRecord, CredentialRecord, bool)> {
        let store = &self.auth.inner.store;
        let credential_id = base64url(&response.raw_id);
        let challenge = client_data(&response.response.client_data_json)?.challenge;
        // One store call (one statement on PostgreSQL): the challenge and the passkey with
        // its user, not a take, then a passkey and a user lookup.
        let (taken, found) = store
            .take_challenge_and_credential(&challenge, self.auth.now(), &credential_id)
            .await?;
        let ceremony = taken
            .map(|record| record.ceremony)
            .ok_or(Error::InvalidRequest(Reason::ChallengeExpired))?;
        refuse_cross_origin(&response.response.client_data_json)?;
        let (ceremony, bound) = match ceremony {
            Ceremony::QrSignIn {
                qr_session_id: bound_to,
                sign_in,
            } => {
                if qr_session_id != Some(bound_to.as_str()) {
                    return Err(Error::InvalidRequest(Reason::ChallengeExpired));
                }
                (*sign_in, true)
            }
            other => (other, false),
        };
        let webauthn = &self.auth.inner.webauthn;
        let (mut credential, user) = found.ok_or(Error::InvalidRequest(Reason::UnknownPasskey))?;
        let method = if qr_session_id.is_some() {
            AuthMethod::Qr
        } else {
            AuthMethod::Passkey
        };
        // From here on the passkey's owner is known: refusals go into their log.
        let refuse = |reason: SignInFailure| {
            let details =
                EventDetails::sign_in_failed(method, reason).credential(Some(&credential_id));
            let user_id = user.id.clone();
            async move {
                self.auth.audit(&user_id, client, details).await;
                Error::InvalidRequest(Reason::VerificationFailed)
            }
        };
        let verified = match ceremony {
            Ceremony::ScopedSignIn { user_id, state } => {
                // A user handle, when the authenticator sends one, must be this user's
                // too (WebAuthn §7.2 step 6; webauthn-rs leaves it to us; found by the
                // `webauthn_response` fuzz target).
                let handle_differs = response
                    .response
                    .user_handle
                    .as_ref()
                    .is_some_and(|handle| handle.as_slice() != user.user_handle.as_bytes());
                if user_id != credential.user_id || handle_differs {
                    return Err(refuse(SignInFailure::VerificationFailed).await);
                }
                webauthn.finish_passkey_authentication(response, &state)
            }
            Ceremony::DiscoverableSignIn { state } => {
                // The user handle the authenticator returns must be this credential's
                // user's: a passkey cannot sign in as someone else.
                let user_handle = match webauthn.identify_discoverable_authentication(response) {
                    Ok((user_handle, _)) => user_handle,
                    Err(_) => return Err(refuse(SignInFailure::VerificationFailed).await),
                };
                if user_handle != user.user_handle {
                    return Err(refuse(SignInFailure::VerificationFailed).await);
                }
                webauthn.finish_discoverable_authentication_v2(response, state, &credential.passkey)
            }
            Ceremony::Registration { .. }
            | Ceremony::AddPasskey { .. }
            | Ceremony::QrSignIn { .. } => {
                return Err(Error::InvalidRequest(Reason::ChallengeExpired));
            }
        };
        let result = match verified {
            Ok(result) => result,
            Err(error) => {
                tracing::info!(%error, "passkey sign-in rejected");
                // webauthn-rs checks the counter too (a stale copy of the authenticator
                // fails here, before our compare-and-set below).
                let reason = match error {
                    webauthn_rs::prelude::WebauthnError::CredentialPossibleCompromise => {
                        SignInFailure::CounterRegression
                    }
                    _ => SignInFailure::VerificationFailed,
                };
                return Err(refuse(reason).await);
            }
        };
        credential.passkey.update_credential(&result);
        let usage = CredentialUsage {
            id: credential.id.clone(),
            passkey: credential.passkey.clone(),
            counter: result.counter(),
            backed_up: result.backup_state(),
            used_at: self.auth.now(),
        };
        // The counter check is the store's compare-and-set, not a check before the write:
        // two copies of one authenticator racing with the same counter cannot both pass.
        if !usage.advances(credential.counter) || !store.record_credential_use(&usage).await? {
            tracing::warn!(
                credential_id = %credential.id,
                "signature counter did not increase: possible cloned authenticator"
            );
            return Err(refuse(SignInFailure::CounterRegression).await);
        }
        let counter = usage.counter;
        credential.counter = counter;
        credential.backed_up = usage.backed_up;
        Ok((user, credential, bound))
    }

    /// Finishes a sign-in: verifies the answer and creates a session.
    ///
    /// # Errors
    /// `400` when the challenge is unknown, expired or used, the passkey is unknown or
    /// not the requested user's, verification fails, or a hook vetoes.
    #[tracing::instrument(skip_all)]
    pub async fn finish_sign_in(
        &self,
        response: &AuthenticationResponse,
        client: &ClientInfo,
    ) -> Result<SignInResponse<U>> {
        let result = self.finish_sign_in_counted(response, client).await;
        crate::telemetry::sign_in(AuthMethod::Passkey, &result);
        result
    }

    /// [`Self::finish_sign_in`] without the metric.
    async fn finish_sign_in_counted(
        &self,
        response: &AuthenticationResponse,
        client: &ClientInfo,
    ) -> Result<SignInResponse<U>> {
        let (user, credential) = self.verify_sign_in(response, client).await?;
        let plain = entities::plain_user(&user);
        let allowed = self
            .auth
            .inner
            .hooks
            .before_authenticate(&SignInAttempt {
                user: &plain,
                method: AuthMethod::Passkey,
            })
            .await;
        if let Err(veto) = allowed {
            let details = EventDetails::sign_in_failed(AuthMethod::Passkey, SignInFailure::Blocked)
                .credential(Some(&credential.id));
            self.auth.audit(&user.id, client, details).await;
            return Err(veto.into());
        }
        let session = self
            .auth
            .sessions()
            .create(
                &user.id,
                AuthMethod::Passkey,
                client,
                None,
                Some(&credential.id),
            )
            .await?;
        self.auth
            .inner
            .hooks
            .after_authenticate(&plain, &entities::without_token(&session))
            .await;
        Ok(SignInResponse {
            method: AuthMethod::Passkey,
            user: entities::user(&user)?,
            session,
        })
    }

    /// Starts adding a passkey to a signed-in user (existing ones are excluded).
    ///
    /// # Errors
    /// `404` for an unknown user; `400` when a hook vetoes.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn start_add(
        &self,
        user_id: &str,
        user_name: Option<&str>,
    ) -> Result<AddPasskeyOptionsResponse> {
        let user = self.auth.accounts().record(user_id).await?;
        self.auth
            .inner
            .hooks
            .before_add_passkey(&AddPasskeyAttempt {
                user: &entities::plain_user(&user),
            })
            .await?;
        let existing = self.auth.inner.store.credentials_for_user(user_id).await?;
        let exclude = existing
            .iter()
            .map(|c| c.passkey.cred_id().clone())
            .collect();
        let name = non_empty(user_name)
            .or(user.email.as_deref())
            .unwrap_or(&user.id);
        let (mut options, state) = self.auth.inner.webauthn.start_passkey_registration(
            user.user_handle,
            name,
            name,
            Some(exclude),
        )?;
        require_discoverable(&mut options);
        self.put_ceremony(
            &options.public_key.challenge,
            Ceremony::AddPasskey {
                user_id: user_id.to_owned(),
                state,
            },
        )
        .await?;
        Ok(OptionsResponse {
            options: options.public_key,
        })
    }

    /// Finishes adding a passkey to a signed-in user.
    ///
    /// # Errors
    /// `400` when the challenge is unknown, expired, used or another user's, or
    /// verification fails.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn finish_add(
        &self,
        user_id: &str,
        response: &RegistrationResponse,
    ) -> Result<Credential<C>> {
        let Ceremony::AddPasskey {
            user_id: pending_user,
            state,
        } = self
            .take_ceremony(&response.response.client_data_json)
            .await?
        else {
            return Err(Error::InvalidRequest(Reason::ChallengeExpired));
        };
        if pending_user != user_id {
            return Err(Error::InvalidRequest(Reason::ChallengeExpired));
        }
        let passkey = self
            .auth
            .inner
            .webauthn
            .finish_passkey_registration(response, &state)
            .map_err(|error| {
                tracing::info!(%error, "adding a passkey rejected");
                Error::InvalidRequest(Reason::VerificationFailed)
            })?;
        let credential = self.new_credential(user_id, passkey, response);
        match self.auth.inner.store.create_credential(&credential).await {
            Ok(()) => {}
            Err(StoreError::Conflict("id")) => return Err(Reason::PasskeyExists.into()),
            Err(error) => return Err(error.into()),
        }
        let details =
            EventDetails::new(SecurityEventType::PasskeyAdded).credential(Some(&credential.id));
        self.auth.audit(user_id, &self.client, details).await;
        self.auth.emit(Event::CredentialCreated {
            credential_id: credential.id.clone(),
            user_id: user_id.to_owned(),
        });
        entities::credential(&credential)
    }

    /// A user's passkeys, oldest first.
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn list(&self, user_id: &str) -> Result<Vec<Credential<C>>> {
        self.auth
            .inner
            .store
            .credentials_for_user(user_id)
            .await?
            .iter()
            .map(entities::credential)
            .collect()
    }

    /// Sets a passkey's label and/or metadata (`None` leaves it unchanged).
    ///
    /// # Errors
    /// `404` when the passkey is not the user's; `400` for metadata that is not an object
    /// or too large.
    #[tracing::instrument(skip_all, fields(user_id = %user_id, credential_id = %credential_id))]
    pub async fn update(
        &self,
        user_id: &str,
        credential_id: &str,
        label: Option<&str>,
        metadata: Option<&C>,
    ) -> Result<()> {
        if label.is_some_and(|label| !crate::input::is_safe_text(label)) {
            return Err(RequestError::InvalidField("label").into());
        }
        let stored = metadata.map(entities::metadata_to_store).transpose()?;
        if let Some(stored) = &stored {
            crate::accounts::check_metadata_size(stored)?;
        }
        if !self
            .auth
            .inner
            .store
            .update_credential(user_id, credential_id, label, stored.as_ref())
            .await?
        {
            return Err(Error::NotFound);
        }
        // A rename is security-relevant (labels tell a user which passkey is which);
        // a metadata-only change is the app's business.
        if label.is_some() {
            let details = EventDetails::new(SecurityEventType::PasskeyRenamed)
                .credential(Some(credential_id));
            self.auth.audit(user_id, &self.client, details).await;
        }
        self.auth.emit(Event::CredentialUpdated {
            credential_id: credential_id.to_owned(),
            user_id: user_id.to_owned(),
        });
        Ok(())
    }

    /// Removes a passkey; refused for the last passkey of a user without email.
    ///
    /// # Errors
    /// `404` when the passkey is not the user's; `400` when it would lock the user out.
    #[tracing::instrument(skip_all, fields(user_id = %user_id, credential_id = %credential_id))]
    pub async fn remove(&self, user_id: &str, credential_id: &str) -> Result<()> {
        match self
            .auth
            .inner
            .store
            .delete_credential(user_id, credential_id)
            .await?
        {
            Guarded::Done => {}
            Guarded::NotFound => return Err(Error::NotFound),
            Guarded::WouldLockOut => return Err(Error::InvalidRequest(Reason::RemoveLockout)),
        }
        let details =
            EventDetails::new(SecurityEventType::PasskeyRemoved).credential(Some(credential_id));
        self.auth.audit(user_id, &self.client, details).await;
        self.auth.emit(Event::CredentialRemoved {
            credential_id: credential_id.to_owned(),
            user_id: user_id.to_owned(),
        });
        Ok(())
    }
}
