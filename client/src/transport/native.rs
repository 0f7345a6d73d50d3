//! The native transport: reqwest, for Rust apps, CLIs and tests.

use super::{Request, Transport, join_url};
use crate::ClientError;
use passkey_magic_shared::{ErrorBody, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Calls a server over HTTP with reqwest.
#[derive(Debug, Clone)]
pub struct NativeTransport {
    http: reqwest::Client,
    base_url: String,
}

impl NativeTransport {
    /// A transport for the API mounted at `base_url` (e.g. `http://127.0.0.1:8787/auth`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_client(reqwest::Client::new(), base_url)
    }

    /// Like [`NativeTransport::new`] with a configured reqwest client (timeouts, TLS, proxy).
    pub fn with_client(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        NativeTransport {
            http,
            base_url: base_url.into(),
        }
    }
}

impl Transport for NativeTransport {
    async fn call<B, R>(&self, request: Request<'_, B>) -> Result<R, ClientError>
    where
        B: Serialize,
        R: DeserializeOwned,
    {
        let url = join_url(&self.base_url, &request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self.http.request(method, url);
        if let Some(token) = request.bearer {
            builder = builder.bearer_auth(token);
        }
        if let Some(body) = request.body {
            builder = builder.json(body);
        }
        let response = builder
            .send()
            .await
            .map_err(|error| ClientError::transport(format!("request failed: {error}")))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| ClientError::transport(format!("cannot read response: {error}")))?;
        if !(200..300).contains(&status) {
            let body = serde_json::from_slice::<ErrorBody>(&bytes).ok();
            return Err(ClientError::from_response(status, body));
        }
        serde_json::from_slice(&bytes)
            .map_err(|error| ClientError::transport(format!("unexpected response: {error}")))
    }
}
