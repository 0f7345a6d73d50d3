//! Sessions: random bearer tokens (256 bits) of which only the SHA-256 hash is stored.
//! Validation is one indexed lookup of the session by hash joined with its user; it
//! never writes.

use crate::audit::EventDetails;
use crate::auth::{Auth, MetadataType};
use crate::entities;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::secrets::{TokenHash, generate_token};
use crate::store::SessionRecord;
use passkey_magic_shared::limits::MAX_TOKEN_LEN;
use passkey_magic_shared::security_events::SecurityEventType;
use passkey_magic_shared::{AuthContext, AuthMethod, Session, User};

/// Who is calling: recorded on the sessions they create and on the security events of
/// what they do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// Client address (the socket peer unless trusted proxies say otherwise).
    pub ip_address: Option<String>,
}

/// A validated session with its user.
#[derive(Debug, Clone, PartialEq)]
pub struct Authenticated<U = passkey_magic_shared::Metadata> {
    /// The signed-in user.
    pub user: User<U>,
    /// The session (without token).
    pub session: Session,
}

/// Session operations: `auth.sessions()`.
#[derive(Debug)]
pub struct Sessions<'a, U, C> {
    auth: &'a Auth<U, C>,
    client: ClientInfo,
}

impl<U: MetadataType, C: MetadataType> Auth<U, C> {
    /// Session operations.
    pub fn sessions(&self) -> Sessions<'_, U, C> {
        Sessions {
            auth: self,
            client: ClientInfo::default(),
        }
    }

    /// Stores a sign-in's new session and its security event in one store call
    /// ([`Store::create_session_with_event`](crate::store::Store::create_session_with_event):
    /// concurrently, or ordered so that one commit's wait covers both). Fails only when
    /// the session could not be stored.
    pub(crate) async fn store_sign_in(
        &self,
        record: &SessionRecord,
        client: &ClientInfo,
        credential_id: Option<&str>,
    ) -> Result<()> {
        let details = EventDetails::new(SecurityEventType::SignIn)
            .method(record.auth_method)
            .session(&record.id)
            .credential(credential_id);
        let created = match self.security_event(&record.user_id, client, details) {
            Ok(event) => {
                let (created, appended) = self
                    .inner
                    .store
                    .create_session_with_event(record, &event)
                    .await;
                if let Err(error) = appended {
                    crate::audit::log_failed_event(
                        &record.user_id,
                        SecurityEventType::SignIn,
                        &error,
                    );
                }
                created
            }
            Err(error) => {
                crate::audit::log_failed_event(&record.user_id, SecurityEventType::SignIn, &error);
                self.inner.store.create_session(record).await
            }
        };
        created?;
        self.emit(Event::SessionCreated {
            session_id: record.id.clone(),
            user_id: record.user_id.clone(),
            method: record.auth_method,
        });
        Ok(())
    }
}

impl<U: MetadataType, C: MetadataType> Sessions<'_, U, C> {
    /// Records `client` (address, user agent) on the security events of the revocations
    /// made through this value; without it they carry neither.
    pub fn with_client(mut self, client: &ClientInfo) -> Self {
        self.client = client.clone();
        self
    }

    /// Creates a session for a user (a sign-in); the returned view carries the token
    /// (once). The sign-in's security event is written concurrently with the session.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub(crate) async fn create(
        &self,
        user_id: &str,
        method: AuthMethod,
        client: &ClientInfo,
        auth_context: Option<AuthContext>,
        credential_id: Option<&str>,
    ) -> Result<Session> {
        let token = generate_token()?;
        let now = self.auth.now();
        let record = SessionRecord {
            id: self.auth.new_id()?,
            token_hash: TokenHash::of_token(&token),
            user_id: user_id.to_owned(),
            auth_method: method,
            created_at: now,
            expires_at: now.saturating_add(self.auth.inner.config.session_ttl),
            user_agent: client.user_agent.clone(),
            ip_address: client.ip_address.clone(),
            auth_context,
        };
        self.auth
            .store_sign_in(&record, client, credential_id)
            .await?;
        Ok(entities::session(&record, Some(&token)))
    }

    /// The user and session of a bearer token, if it is valid and unexpired.
    ///
    /// # Errors
    /// Storage failures only; an unknown token is `Ok(None)`.
    #[tracing::instrument(skip_all)]
    pub async fn validate(&self, token: &str) -> Result<Option<Authenticated<U>>> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Ok(None);
        }
        let hash = TokenHash::of(token);
        let store = &self.auth.inner.store;
        // One store call (one indexed JOIN on SQL), not a session then a user lookup.
        let Some((session, user)) = store.session_with_user(&hash, self.auth.now()).await? else {
            return Ok(None);
        };
        Ok(Some(Authenticated {
            user: entities::user(&user)?,
            session: entities::session(&session, None),
        }))
    }

    /// A user's unexpired sessions, newest first, without tokens.
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn list(&self, user_id: &str) -> Result<Vec<Session>> {
        let records = self
            .auth
            .inner
            .store
            .sessions_for_user(user_id, self.auth.now())
            .await?;
        Ok(records.iter().map(|r| entities::session(r, None)).collect())
    }

    /// Ends the session of a token (sign out). Unknown tokens are ignored.
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all)]
    pub async fn revoke(&self, token: &str) -> Result<()> {
        if let Some(current) = self.validate(token).await? {
            self.revoke_by_id(&current.user.id, &current.session.id)
                .await?;
        }
        Ok(())
    }

    /// Ends one of a user's sessions.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the session is not the user's.
    #[tracing::instrument(skip_all, fields(user_id = %user_id, session_id = %session_id))]
    pub async fn revoke_by_id(&self, user_id: &str, session_id: &str) -> Result<()> {
        if !self
            .auth
            .inner
            .store
            .delete_session(user_id, session_id)
            .await?
        {
            return Err(Error::NotFound);
        }
        let details = EventDetails::new(SecurityEventType::SessionRevoked).session(session_id);
        self.auth.audit(user_id, &self.client, details).await;
        self.auth.emit(Event::SessionRevoked {
            session_id: session_id.to_owned(),
            user_id: user_id.to_owned(),
        });
        Ok(())
    }

    /// Ends all of a user's sessions; returns how many.
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn revoke_all(&self, user_id: &str) -> Result<u64> {
        let count = self
            .auth
            .inner
            .store
            .delete_sessions_for_user(user_id)
            .await?;
        let details = EventDetails::new(SecurityEventType::AllSessionsRevoked);
        self.auth.audit(user_id, &self.client, details).await;
        self.auth.emit(Event::SessionsRevoked {
            user_id: user_id.to_owned(),
            count,
        });
        Ok(count)
    }
}
