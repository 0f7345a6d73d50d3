//! The HTTP layer: an axum [`Router`] for the wire protocol, mountable under any prefix.
//!
//! The routes come from the shared route table ([`passkey_magic_shared::routes::ROUTES`]);
//! this module only binds each endpoint to a handler. Handlers translate between HTTP and
//! the engine and hold no business logic; the status of every error is chosen in
//! [`error`]. Anything the protocol does not define answers `404 {"error":"Not found"}`,
//! including a known path with the wrong method.
//!
//! Next to the protocol, the router answers the health probes `GET /healthz` and
//! `GET /readyz` under the same prefix (see [`health`]), and, with the `openapi` feature
//! (on in the binary), `GET /openapi.json`: the protocol's OpenAPI 3.1 document.
//!
//! ```
//! use passkey_magic_server::{Auth, http};
//! # fn main() -> Result<(), passkey_magic_server::config::ConfigError> {
//! let auth: Auth = Auth::builder("example.com", "https://example.com")?.build()?;
//! let app: axum::Router = axum::Router::new().nest("/auth", http::router(auth));
//! # Ok(()) }
//! ```

mod accounts;
pub mod client_address;
pub mod dev;
pub mod error;
pub mod extract;
mod harden;
pub mod health;
mod magic_links;
#[cfg(feature = "openapi")]
mod openapi;
mod passkeys;
mod qr;
mod sessions;

use crate::Error;
use crate::auth::{Auth, MetadataType};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use passkey_magic_shared::RateLimitRule;
use passkey_magic_shared::limits::MAX_BODY_BYTES;
use passkey_magic_shared::routes::{Endpoint, Method, ROUTES};
use std::collections::BTreeMap;

/// The protocol's router for `auth`. Mount it with `Router::new().nest("/auth", router(auth))`.
pub fn router<U: MetadataType, C: MetadataType>(auth: Auth<U, C>) -> Router {
    Router::new().fallback_service(hardened(routes_for(auth, |_| true)))
}

/// The protocol's rules ([`harden`], the body limit) around `routes`, as one service.
///
/// Applied around the whole router rather than with [`Router::layer`], which wraps every
/// route on its own: a middleware there clones the boxed stack below it on each request
/// (an allocation per layer and request); around the router it clones one `Arc`.
pub(crate) fn hardened(
    routes: Router,
) -> impl tower::Service<
    Request,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<Response, std::convert::Infallible>> + Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::ServiceBuilder::new()
        .layer_fn(harden::Harden::new)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .service(routes)
}

/// The routes with only the endpoints `include` accepts (QR-only mode of
/// [`crate::axum::PasskeyMagic::qr_only`]); the others answer 404. Without the protocol's
/// rules: wrap them with [`hardened`].
pub(crate) fn routes_for<U: MetadataType, C: MetadataType>(
    auth: Auth<U, C>,
    include: fn(Endpoint) -> bool,
) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter<Auth<U, C>>> = BTreeMap::new();
    for route in ROUTES.iter().filter(|route| include(route.endpoint)) {
        let filter = match route.method {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Patch => MethodFilter::PATCH,
            Method::Delete => MethodFilter::DELETE,
        };
        let Some(mut handler) = handler::<U, C>(route.endpoint, filter) else {
            continue;
        };
        // Rules keyed by an identifier in the body are checked by their handler.
        if let Some(rule) = route
            .endpoint
            .rate_limit()
            .filter(|rule| !rule.keyed_by_identifier())
        {
            handler = handler.route_layer(middleware::from_fn_with_state(
                (auth.clone(), rule),
                enforce_rate_limit::<U, C>,
            ));
        }
        let methods = by_path.remove(route.path).unwrap_or_default();
        by_path.insert(route.path, methods.merge(handler));
    }
    let mut router = Router::new().merge(health::routes::<U, C>());
    // The document describes every endpoint: a router serving fewer (QR-only) has none.
    #[cfg(feature = "openapi")]
    if Endpoint::ALL.iter().all(|&endpoint| include(endpoint)) {
        router = router.merge(openapi::routes());
    }
    for (path, methods) in by_path {
        router = router.route(path, methods);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .with_state(auth)
}

/// Sets the headers every API response carries: `Cache-Control: no-store` (responses
/// hold bearer tokens), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`.
pub fn security_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// The handler of an endpoint for one method; `None` for endpoints this server does not
/// serve yet (they answer 404).
fn handler<U: MetadataType, C: MetadataType>(
    endpoint: Endpoint,
    filter: MethodFilter,
) -> Option<MethodRouter<Auth<U, C>>> {
    use Endpoint as E;
    Some(match endpoint {
        E::RegisterOptions => on(filter, passkeys::register_options::<U, C>),
        E::RegisterVerify => on(filter, passkeys::register_verify::<U, C>),
        E::AuthenticateOptions => on(filter, passkeys::authenticate_options::<U, C>),
        E::AuthenticateVerify => on(filter, passkeys::authenticate_verify::<U, C>),
        E::AddPasskeyOptions => on(filter, passkeys::add_options::<U, C>),
        E::AddPasskeyVerify => on(filter, passkeys::add_verify::<U, C>),
        E::MagicLinkSend => on(filter, magic_links::send::<U, C>),
        E::MagicLinkVerify => on(filter, magic_links::verify::<U, C>),
        E::GetSession => on(filter, sessions::get_session::<U>),
        E::RevokeSession => on(filter, sessions::revoke_session::<U, C>),
        E::ListSessions => on(filter, sessions::list_sessions::<U, C>),
        E::RevokeAllSessions => on(filter, sessions::revoke_all_sessions::<U, C>),
        E::RevokeSessionById => on(filter, sessions::revoke_session_by_id::<U, C>),
        E::GetAccount => on(filter, accounts::get_account::<U>),
        E::UpdateAccount => on(filter, accounts::update_account::<U, C>),
        E::DeleteAccount => on(filter, accounts::delete_account::<U, C>),
        E::ListCredentials => on(filter, accounts::list_credentials::<U, C>),
        E::UpdateCredential => on(filter, accounts::update_credential::<U, C>),
        E::RemoveCredential => on(filter, accounts::remove_credential::<U, C>),
        E::LinkEmail => on(filter, accounts::link_email::<U, C>),
        E::UnlinkEmail => on(filter, accounts::unlink_email::<U, C>),
        E::CanLinkEmail => on(filter, accounts::can_link_email::<U, C>),
        E::EmailAvailable => on(filter, accounts::email_available::<U, C>),
        E::AccountEvents => on(filter, accounts::events::<U, C>),
        E::QrCreate => on(filter, qr::create::<U, C>),
        E::QrStatus => on(filter, qr::status::<U, C>),
        E::QrScanned => on(filter, qr::scanned::<U, C>),
        E::QrConfirm => on(filter, qr::confirm::<U, C>),
        E::QrComplete => on(filter, qr::complete::<U, C>),
        E::QrCancel => on(filter, qr::cancel::<U, C>),
    })
}

/// Counts the request under the endpoint's rule (per client address) before the handler
/// runs; over budget → `429` with `Retry-After`.
async fn enforce_rate_limit<U: MetadataType, C: MetadataType>(
    State((auth, rule)): State<(Auth<U, C>, RateLimitRule)>,
    request: Request,
    next: Next,
) -> Result<Response, Error> {
    let (parts, body) = request.into_parts();
    let client = extract::client_ip(&parts, &auth);
    auth.rate_limits()
        .check(rule, client, None, auth.now())
        .await?;
    Ok(next.run(Request::from_parts(parts, body)).await)
}

async fn not_found() -> Error {
    Error::NotFound
}
