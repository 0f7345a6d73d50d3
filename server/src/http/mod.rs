//! The HTTP layer: an axum [`Router`] for the wire protocol, mountable under any prefix.
//!
//! The routes come from the shared route table ([`passkey_magic_shared::routes::ROUTES`]);
//! this module only binds each endpoint to a handler. Handlers translate between HTTP and
//! the engine and hold no business logic; the status of every error is chosen in
//! [`error`]. Anything the protocol does not define answers `404 {"error":"Not found"}`,
//! including a known path with the wrong method.
//!
//! ```
//! use passkey_magic_server::{Auth, http};
//! # fn main() -> Result<(), passkey_magic_server::config::ConfigError> {
//! let auth: Auth = Auth::builder("example.com", "https://example.com")?.build()?;
//! let app: axum::Router = axum::Router::new().nest("/auth", http::router(auth));
//! # Ok(()) }
//! ```

mod accounts;
pub mod error;
pub mod extract;
mod passkeys;
mod sessions;

use crate::Error;
use crate::auth::{Auth, MetadataType};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodFilter, MethodRouter};
use passkey_magic_shared::error::messages;
use passkey_magic_shared::limits::MAX_BODY_BYTES;
use passkey_magic_shared::routes::{Endpoint, Method, ROUTES};
use std::collections::BTreeMap;

/// The protocol's router for `auth`. Mount it with `Router::new().nest("/auth", router(auth))`.
pub fn router<U: MetadataType, C: MetadataType>(auth: Auth<U, C>) -> Router {
    let mut by_path: BTreeMap<&str, MethodRouter<Auth<U, C>>> = BTreeMap::new();
    for route in ROUTES {
        let filter = match route.method {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Patch => MethodFilter::PATCH,
            Method::Delete => MethodFilter::DELETE,
        };
        let methods = by_path.remove(route.path).unwrap_or_default();
        let methods = match handle(methods.clone(), route.endpoint, filter) {
            Some(with_handler) => with_handler,
            None => methods,
        };
        by_path.insert(route.path, methods);
    }
    let mut router = Router::new();
    for (path, methods) in by_path {
        router = router.route(path, methods);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(auth)
}

/// Binds an endpoint's handler; `None` for endpoints this server does not serve yet.
fn handle<U: MetadataType, C: MetadataType>(
    methods: MethodRouter<Auth<U, C>>,
    endpoint: Endpoint,
    filter: MethodFilter,
) -> Option<MethodRouter<Auth<U, C>>> {
    use Endpoint as E;
    Some(match endpoint {
        E::RegisterOptions => methods.on(filter, passkeys::register_options::<U, C>),
        E::RegisterVerify => methods.on(filter, passkeys::register_verify::<U, C>),
        E::AuthenticateOptions => methods.on(filter, passkeys::authenticate_options::<U, C>),
        E::AuthenticateVerify => methods.on(filter, passkeys::authenticate_verify::<U, C>),
        E::AddPasskeyOptions => methods.on(filter, passkeys::add_options::<U, C>),
        E::AddPasskeyVerify => methods.on(filter, passkeys::add_verify::<U, C>),
        E::MagicLinkSend | E::MagicLinkVerify => methods.on(filter, magic_link_not_configured),
        E::GetSession => methods.on(filter, sessions::get_session::<U>),
        E::RevokeSession => methods.on(filter, sessions::revoke_session::<U, C>),
        E::ListSessions => methods.on(filter, sessions::list_sessions::<U, C>),
        E::RevokeAllSessions => methods.on(filter, sessions::revoke_all_sessions::<U, C>),
        E::RevokeSessionById => methods.on(filter, sessions::revoke_session_by_id::<U, C>),
        E::GetAccount => methods.on(filter, accounts::get_account::<U>),
        E::UpdateAccount => methods.on(filter, accounts::update_account::<U, C>),
        E::DeleteAccount => methods.on(filter, accounts::delete_account::<U, C>),
        E::ListCredentials => methods.on(filter, accounts::list_credentials::<U, C>),
        E::UpdateCredential => methods.on(filter, accounts::update_credential::<U, C>),
        E::RemoveCredential => methods.on(filter, accounts::remove_credential::<U, C>),
        E::LinkEmail => methods.on(filter, accounts::link_email::<U, C>),
        E::UnlinkEmail => methods.on(filter, accounts::unlink_email::<U, C>),
        E::CanLinkEmail => methods.on(filter, accounts::can_link_email::<U, C>),
        E::EmailAvailable => methods.on(filter, accounts::email_available::<U, C>),
        E::QrCreate | E::QrStatus | E::QrScanned | E::QrConfirm | E::QrComplete | E::QrCancel => {
            return None;
        }
    })
}

/// Magic links need an email sender; this server has none configured.
async fn magic_link_not_configured() -> Error {
    Error::InvalidRequest(messages::MAGIC_LINK_NOT_CONFIGURED.to_owned())
}

async fn not_found() -> Error {
    Error::NotFound
}
