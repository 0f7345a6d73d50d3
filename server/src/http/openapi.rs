//! `GET /openapi.json` (feature `openapi`): the protocol's OpenAPI 3.1 document, next to
//! the routes it describes.
//!
//! The document is built once, from the shared route table and wire types
//! ([`passkey_magic_shared::openapi`]). Its `servers` entry is the path the API is
//! mounted at, read from the request (`/auth` for `nest("/auth", router(auth))`), so it
//! is relative to whatever host serves it.

use crate::Error;
use axum::Json;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use passkey_magic_shared::openapi::{DOCUMENT_PATH, document};
use serde_json::{Value, json};
use std::sync::LazyLock;

/// The document as JSON, built on first use. (Serialising it cannot fail: every map in
/// it has string keys.)
static DOCUMENT: LazyLock<Option<Value>> = LazyLock::new(|| serde_json::to_value(document()).ok());

/// The document route, for [`super::router`] to merge before its state is set.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    axum::Router::new().route(DOCUMENT_PATH, axum::routing::get(serve_document))
}

/// The mount prefix of a request to the document: its path without [`DOCUMENT_PATH`].
fn mount_prefix(path: &str) -> &str {
    path.strip_suffix(DOCUMENT_PATH).unwrap_or_default()
}

async fn serve_document(OriginalUri(uri): OriginalUri) -> Response {
    let Some(mut document) = DOCUMENT.clone() else {
        return Error::invariant("the OpenAPI document serialises to JSON").into_response();
    };
    let prefix = match mount_prefix(uri.path()) {
        "" => "/",
        prefix => prefix,
    };
    document["servers"] = json!([{ "url": prefix }]);
    Json(document).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_the_path_before_the_document() {
        assert_eq!(mount_prefix("/auth/openapi.json"), "/auth");
        assert_eq!(mount_prefix("/a/b/openapi.json"), "/a/b");
        assert_eq!(mount_prefix("/openapi.json"), "");
    }
}
