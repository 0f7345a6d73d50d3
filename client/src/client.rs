//! [`Client`]: typed calls to a passkey-magic server over any [`Transport`].

use crate::ClientError;
use crate::transport::{Request, Transport};
use passkey_magic_shared::Endpoint;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Mutex;

/// A client of one server. It remembers the session token of the last sign-in and sends
/// it as `Authorization: Bearer` on the routes that need a session.
#[derive(Debug)]
pub struct Client<T> {
    transport: T,
    // std Mutex: held only to copy or replace the token, never across an await.
    session_token: Mutex<Option<String>>,
}

impl<T: Transport> Client<T> {
    /// A client without a session.
    pub fn new(transport: T) -> Self {
        Client {
            transport,
            session_token: Mutex::new(None),
        }
    }

    /// The current session token, if signed in.
    pub fn session_token(&self) -> Option<String> {
        self.session_token
            .lock()
            .map(|token| token.clone())
            .unwrap_or_default()
    }

    /// Replaces the session token (e.g. restored from storage); `None` signs out locally.
    pub fn set_session_token(&self, token: Option<String>) {
        if let Ok(mut slot) = self.session_token.lock() {
            *slot = token;
        }
    }

    /// Calls `endpoint` through its client route (`GET` without a body, `POST` with one).
    /// `id` fills the `{id}` path parameter; `query` is appended verbatim (already encoded).
    ///
    /// # Errors
    /// [`ClientError`] from the server, the transport, or a missing `id`/session.
    pub async fn call<B, R>(
        &self,
        endpoint: Endpoint,
        id: Option<&str>,
        query: Option<&str>,
        body: Option<&B>,
    ) -> Result<R, ClientError>
    where
        B: Serialize,
        R: DeserializeOwned,
    {
        let route = endpoint.client_route();
        let mut path = match (route.has_id(), id) {
            (true, Some(id)) if !id.is_empty() => route.path_with_id(id),
            (true, _) => return Err(ClientError::invalid("an id is required")),
            (false, _) => route.path.to_owned(),
        };
        if let Some(query) = query {
            path.push('?');
            path.push_str(query);
        }
        let token = match endpoint.access() {
            passkey_magic_shared::Access::Session => Some(
                self.session_token()
                    .ok_or_else(|| ClientError::from_response(401, None))?,
            ),
            _ => None,
        };
        self.transport
            .call(Request {
                method: route.method,
                path,
                bearer: token.as_deref(),
                body,
            })
            .await
    }
}
