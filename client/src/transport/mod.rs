//! How typed calls reach the server. A [`Transport`] sends one request and decodes the
//! answer; Rust apps use reqwest ([`NativeTransport`], feature `native`), and tests may
//! bring their own. (The browser build does not use this typed layer: its JavaScript API
//! keeps JSON as JS values, see the `js` module.)
//!
//! Transports do their own JSON encoding. Futures are not `Send`, so browser-side
//! transports can implement the trait too.

#[cfg(feature = "native")]
mod native;

#[cfg(feature = "native")]
pub use native::NativeTransport;

use crate::ClientError;
use passkey_magic_shared::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One call: method, path (with query) below the API prefix, optional bearer and body.
#[derive(Debug)]
pub struct Request<'a, B> {
    /// HTTP method.
    pub method: Method,
    /// Path below the prefix, e.g. `/qr/abc/status?token=…`.
    pub path: String,
    /// Session token for `Authorization: Bearer`.
    pub bearer: Option<&'a str>,
    /// JSON body (sent with `Content-Type: application/json`).
    pub body: Option<&'a B>,
}

/// Sends requests to a passkey-magic server.
#[allow(async_fn_in_trait)] // Browser futures are !Send; callers needing Send wrap the client.
pub trait Transport {
    /// Sends `request` and decodes a success body as `R`.
    ///
    /// # Errors
    /// A [`ClientError`] from the server's error body, or a transport failure (status 0).
    async fn call<B, R>(&self, request: Request<'_, B>) -> Result<R, ClientError>
    where
        B: Serialize,
        R: DeserializeOwned;
}

#[cfg(any(feature = "native", test))]
/// Joins a base URL (`https://example.com/auth`, trailing slash optional) and a path.
pub(crate) fn join_url(base_url: &str, path: &str) -> String {
    format!("{}{}", base_url.trim_end_matches('/'), path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn joins_with_one_slash() {
        assert_eq!(
            super::join_url("http://h/auth/", "/session"),
            "http://h/auth/session"
        );
        assert_eq!(super::join_url("/auth", "/session"), "/auth/session");
        assert_eq!(super::join_url("", "/session"), "/session");
    }
}
