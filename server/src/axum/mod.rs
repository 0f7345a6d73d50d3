//! passkey-magic in your own axum app: mount the auth routes with one call, then protect
//! your routes with an extractor.
//!
//! ```
//! use axum::{Router, routing::get};
//! use passkey_magic_server::Auth;
//! use passkey_magic_server::axum::{CurrentUser, PasskeyMagic};
//!
//! async fn me(CurrentUser(user): CurrentUser) -> String {
//!     format!("hello {}", user.id) // 401 {"error":"Unauthorized"} without a session
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth: Auth = Auth::builder("example.com", "https://example.com")?.build()?;
//! let app: Router = PasskeyMagic::new(auth).mount(Router::new().route("/me", get(me)), "/auth");
//! # Ok(()) }
//! ```
//!
//! - **Extractors** ([`CurrentSession`], [`CurrentUser`], and `Option<…>` of each for
//!   optional sign-in) accept `Authorization: Bearer <token>` and, with cookies on, the
//!   session cookie. The session is looked up once per request, however many extractors
//!   ask (the answer is cached in the request's extensions).
//! - **Cookie sessions** ([`PasskeyMagic::cookies`], see [`cookies`]): sign-ins set an
//!   `HttpOnly; Secure; SameSite=Lax` cookie, sign-outs clear it, and cookie-authenticated
//!   state changes must come from a configured origin (the CSRF defence).
//! - **Host sessions** ([`PasskeyMagic::host_sessions`], see [`host`]): sign-ins land in
//!   your app's own session system, e.g. tower-sessions with [`host::TowerSessions`].
//! - **QR-only** ([`PasskeyMagic::qr_only`]): only the QR cross-device routes, the
//!   approved phone's user becoming your own desktop session.
//! - **CORS** ([`PasskeyMagic::cors`]): for a front-end on another origin, from the
//!   same origins list; credentials only for those origins.
//!
//! The extractors read the settings from a request extension that
//! [`PasskeyMagic::mount`] adds to the routes of the router it is given; for routes added
//! later, add [`PasskeyMagic::layer`] yourself (without it the extractors answer `500`).

pub mod cookies;
mod extract;
pub mod host;

pub use cookies::{CookieConfig, CookieConfigError};
pub use extract::{CurrentSession, CurrentUser};
pub use host::{HostError, HostRequest, HostSessions};

pub(crate) use extract::resolve_for_router;

use crate::auth::{Auth, Metadata, MetadataType};
use crate::error::{Error, InternalError, Result};
use crate::http;
use crate::sessions::Authenticated;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use cookies::{CookieSettings, origin_absent_or_allowed};
use passkey_magic_shared::limits::MAX_BODY_BYTES;
use passkey_magic_shared::routes::{self, Endpoint, ROUTES};
use std::convert::Infallible;
use std::sync::Arc;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How the extractors and the mounted routes find sessions.
#[async_trait::async_trait]
pub(crate) trait SessionSource<U>: Send + Sync {
    async fn validate(&self, token: &str) -> Result<Option<Authenticated<U>>>;
    async fn revoke(&self, token: &str) -> Result<()>;
}

#[async_trait::async_trait]
impl<U: MetadataType, C: MetadataType> SessionSource<U> for Auth<U, C> {
    async fn validate(&self, token: &str) -> Result<Option<Authenticated<U>>> {
        self.sessions().validate(token).await
    }

    async fn revoke(&self, token: &str) -> Result<()> {
        self.sessions().revoke(token).await
    }
}

/// The settings of one [`PasskeyMagic`] mount, shared by its routes and extractors as a
/// request extension (see [`PasskeyMagic::layer`]).
pub struct MountSettings<U> {
    source: Arc<dyn SessionSource<U>>,
    cookies: Option<CookieSettings>,
    /// The configured origins, ASCII-serialized, for the CSRF and CORS checks.
    origins: Vec<String>,
    host: Option<Arc<dyn HostSessions<U>>>,
    qr_only: bool,
}

impl<U: MetadataType> MountSettings<U> {
    fn new<C: MetadataType>(auth: Auth<U, C>) -> Self {
        let origins = auth
            .config()
            .origins
            .iter()
            .map(|origin| origin.origin().ascii_serialization())
            .collect();
        MountSettings {
            source: Arc::new(auth),
            cookies: None,
            origins,
            host: None,
            qr_only: false,
        }
    }

    pub(crate) fn bearer_only<C: MetadataType>(auth: Auth<U, C>) -> Self {
        MountSettings::new(auth)
    }
}

/// Mounts passkey-magic into an axum app; see the [module docs](self).
pub struct PasskeyMagic<U: MetadataType = Metadata, C: MetadataType = Metadata> {
    auth: Auth<U, C>,
    shared: MountSettings<U>,
    cors: bool,
}

impl<U: MetadataType, C: MetadataType> std::fmt::Debug for PasskeyMagic<U, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyMagic")
            .field("auth", &self.auth)
            .field("cookies", &self.shared.cookies)
            .field("host_sessions", &self.shared.host.is_some())
            .field("qr_only", &self.shared.qr_only)
            .field("cors", &self.cors)
            .finish()
    }
}

/// The routes of the QR cross-device login (wire protocol routes 9–14), and the phone's
/// challenge for it (route 3 with `qrSessionId`).
fn is_qr(endpoint: Endpoint) -> bool {
    matches!(
        endpoint,
        Endpoint::AuthenticateOptions
            | Endpoint::QrCreate
            | Endpoint::QrStatus
            | Endpoint::QrScanned
            | Endpoint::QrConfirm
            | Endpoint::QrComplete
            | Endpoint::QrCancel
    )
}

impl<U: MetadataType, C: MetadataType> PasskeyMagic<U, C> {
    /// Every route of the protocol, bearer tokens only, no CORS.
    pub fn new(auth: Auth<U, C>) -> Self {
        PasskeyMagic {
            shared: MountSettings::new(auth.clone()),
            auth,
            cors: false,
        }
    }

    /// Cookie sessions (see [`cookies`]); bearer tokens keep working.
    ///
    /// # Errors
    /// Settings that break the cookie rules or use `danger_insecure_http` off localhost.
    pub fn cookies(mut self, config: CookieConfig) -> Result<Self, CookieConfigError> {
        let settings =
            config.validate(&self.auth.config().origins, self.auth.config().session_ttl)?;
        self.shared.cookies = Some(settings);
        Ok(self)
    }

    /// Hands each sign-in to your app's session system (see [`host`]).
    #[must_use]
    pub fn host_sessions(mut self, host: impl HostSessions<U>) -> Self {
        self.shared.host = Some(Arc::new(host));
        self
    }

    /// QR-only mode, for apps that already have passkeys and sessions: only the QR
    /// cross-device routes are mounted, and when the phone has approved, `host` turns its
    /// user into your app's desktop session. The desktop's status answer then carries no
    /// passkey-magic token (the session passkey-magic made for it is revoked at once):
    /// your session is the only one.
    #[must_use]
    pub fn qr_only(mut self, host: impl HostSessions<U>) -> Self {
        self.shared.host = Some(Arc::new(host));
        self.shared.qr_only = true;
        self
    }

    /// CORS for a front-end on another origin: the configured origins, with credentials
    /// (`Access-Control-Allow-Credentials: true`), and nothing for any other origin.
    #[must_use]
    pub fn cors(mut self) -> Self {
        self.cors = true;
        self
    }

    /// The CORS layer [`Self::cors`] applies to the auth routes, for your own routes.
    pub fn cors_layer(&self) -> CorsLayer {
        cors_layer(&self.shared.origins)
    }

    /// The auth routes alone, to nest yourself (add [`Self::layer`] to your routes).
    pub fn router(self) -> Router {
        let include = if self.shared.qr_only { is_qr } else { |_| true };
        let shared = Arc::new(self.shared);
        // Layered around the whole API as one service (see `http::hardened`), not per
        // route with `Router::layer`.
        let api = tower::ServiceBuilder::new()
            .layer(Extension(Arc::clone(&shared)))
            .layer_fn(|inner| SessionResponses {
                shared: Arc::clone(&shared),
                inner,
            })
            .service(http::hardened(http::routes_for(self.auth, include)));
        if self.cors {
            let cors = cors_layer(&shared.origins);
            Router::new().fallback_service(tower::ServiceBuilder::new().layer(cors).service(api))
        } else {
            Router::new().fallback_service(api)
        }
    }

    /// The extension the extractors need, for routes outside [`Self::mount`].
    pub fn layer(&self) -> Extension<Arc<MountSettings<U>>> {
        Extension(Arc::new(MountSettings {
            source: Arc::clone(&self.shared.source),
            cookies: self.shared.cookies.clone(),
            origins: self.shared.origins.clone(),
            host: self.shared.host.clone(),
            qr_only: self.shared.qr_only,
        }))
    }

    /// Nests the auth routes under `prefix` in `app` and gives `app`'s routes the
    /// extractors' extension. Add routes before calling it (or add [`Self::layer`]).
    pub fn mount<S: Clone + Send + Sync + 'static>(
        self,
        app: Router<S>,
        prefix: &str,
    ) -> Router<S> {
        let layer = self.layer();
        let cors = self.cors.then(|| self.cors_layer());
        let app = app.layer(layer);
        let app = match cors {
            Some(cors) => app.layer(cors),
            None => app,
        };
        app.nest_service(prefix, self.router())
    }
}

fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .expose_headers([header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600))
}

/// What a route does to the caller's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    /// Answers with a new session (`session.token`).
    SignIn,
    /// May end the caller's session.
    SignOut,
}

fn effect(endpoint: Endpoint) -> Option<Effect> {
    use Endpoint as E;
    match endpoint {
        E::RegisterVerify | E::AuthenticateVerify | E::MagicLinkVerify | E::QrStatus => {
            Some(Effect::SignIn)
        }
        E::RevokeSession | E::RevokeAllSessions | E::RevokeSessionById | E::DeleteAccount => {
            Some(Effect::SignOut)
        }
        _ => None,
    }
}

/// The endpoint of a request, from its method and its path below the mount prefix.
fn endpoint_for(method: &Method, path: &str) -> Option<Endpoint> {
    let method = match *method {
        Method::GET => routes::Method::Get,
        Method::POST => routes::Method::Post,
        Method::PATCH => routes::Method::Patch,
        Method::DELETE => routes::Method::Delete,
        _ => return None,
    };
    let matches = |pattern: &str| {
        let mut actual = path.split('/');
        let mut expected = pattern.split('/');
        loop {
            match (expected.next(), actual.next()) {
                (None, None) => return true,
                (Some(p), Some(a)) if p.starts_with('{') => {
                    if a.is_empty() {
                        return false;
                    }
                }
                (Some(p), Some(a)) if p == a => {}
                _ => return false,
            }
        }
    };
    ROUTES
        .iter()
        .find(|route| route.method == method && matches(route.path))
        .map(|route| route.endpoint)
}

/// Around the session-changing routes: sets or clears the cookie and tells the host's
/// session system.
///
/// A hand-written service (not `middleware::from_fn`): a request without a session effect,
/// or a mount without cookies and host sessions, costs nothing but the inner future, which
/// matters for a QR long-poll kept open 30 s by every waiting desktop. The rare effect path
/// is boxed with what it needs (copies of the headers and extensions).
struct SessionResponses<U, S> {
    shared: Arc<MountSettings<U>>,
    inner: S,
}

impl<U, S: Clone> Clone for SessionResponses<U, S> {
    fn clone(&self) -> Self {
        SessionResponses {
            shared: Arc::clone(&self.shared),
            inner: self.inner.clone(),
        }
    }
}

type BoxedResponse =
    std::pin::Pin<Box<dyn Future<Output = std::result::Result<Response, Infallible>> + Send>>;

impl<U, S> tower::Service<Request> for SessionResponses<U, S>
where
    U: MetadataType,
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures_util::future::Either<S::Future, BoxedResponse>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::result::Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let effect = endpoint_for(request.method(), request.uri().path()).and_then(effect);
        let Some(effect) =
            effect.filter(|_| self.shared.cookies.is_some() || self.shared.host.is_some())
        else {
            return futures_util::future::Either::Left(self.inner.call(request));
        };
        let (parts, body) = request.into_parts();
        let presented = extract::presented_token(&parts, &self.shared);
        let headers = parts.headers.clone();
        let extensions = parts.extensions.clone();
        let response = self.inner.call(Request::from_parts(parts, body));
        let shared = Arc::clone(&self.shared);
        futures_util::future::Either::Right(Box::pin(async move {
            let Ok(response) = response.await;
            Ok(
                with_session_effect(&shared, effect, presented, &headers, &extensions, response)
                    .await,
            )
        }))
    }
}

/// The session effect of a finished request: the cookie and the host's session.
async fn with_session_effect<U: MetadataType>(
    shared: &MountSettings<U>,
    effect: Effect,
    presented: Option<String>,
    headers: &HeaderMap,
    extensions: &axum::http::Extensions,
    response: Response,
) -> Response {
    if !response.status().is_success() {
        return response;
    }
    let request = HostRequest {
        headers,
        extensions,
    };
    let outcome = match effect {
        Effect::SignIn => signed_in(shared, request, response).await,
        Effect::SignOut => signed_out(shared, request, presented, response).await,
    };
    outcome.unwrap_or_else(IntoResponse::into_response)
}

fn host_error(error: HostError) -> Error {
    Error::Internal(InternalError::HostSession(error))
}

async fn signed_in<U: MetadataType>(
    shared: &MountSettings<U>,
    request: HostRequest<'_>,
    response: Response,
) -> Result<Response> {
    let (mut parts, body) = response.into_parts();
    let bytes = to_bytes(body, MAX_BODY_BYTES.max(1 << 16))
        .await
        .map_err(|_| Error::invariant("unreadable sign-in response"))?;
    let mut json: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| Error::invariant("sign-in response is not JSON"))?;
    let token = json
        .pointer("/session/token")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    // No token: a QR status that is not authenticated yet. A foreign `Origin`: login
    // CSRF, so the session is not put into the browser's cookies or the host session.
    let Some(token) = token.filter(|_| origin_absent_or_allowed(request.headers, &shared.origins))
    else {
        return Ok(Response::from_parts(parts, Body::from(bytes)));
    };
    let current = shared
        .source
        .validate(&token)
        .await?
        .ok_or_else(|| Error::invariant("a new session does not validate"))?;
    if let Some(host) = &shared.host {
        host.signed_in(request, &current, &mut parts.headers)
            .await
            .map_err(host_error)?;
    }
    if shared.qr_only {
        shared.source.revoke(&token).await?;
        if let Some(session) = json.get_mut("session").and_then(|s| s.as_object_mut()) {
            session.remove("token");
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        let body = serde_json::to_vec(&json)
            .map_err(|error| Error::Internal(InternalError::Metadata(error)))?;
        return Ok(Response::from_parts(parts, Body::from(body)));
    }
    if let Some(cookie) = shared.cookies.as_ref().and_then(|c| c.set(&token)) {
        parts.headers.append(header::SET_COOKIE, cookie);
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

async fn signed_out<U: MetadataType>(
    shared: &MountSettings<U>,
    request: HostRequest<'_>,
    presented: Option<String>,
    mut response: Response,
) -> Result<Response> {
    let Some(token) = presented else {
        return Ok(response);
    };
    // Revoking another session by id leaves the caller signed in.
    if shared.source.validate(&token).await?.is_some() {
        return Ok(response);
    }
    if let Some(cookie) = shared.cookies.as_ref().and_then(CookieSettings::clear) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    if let Some(host) = &shared.host {
        let mut added = HeaderMap::new();
        host.signed_out(request, &mut added)
            .await
            .map_err(host_error)?;
        response.headers_mut().extend(added);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_found_below_the_prefix() {
        assert_eq!(
            endpoint_for(&Method::GET, "/qr/abc/status"),
            Some(Endpoint::QrStatus)
        );
        assert_eq!(
            endpoint_for(&Method::POST, "/session/revoke"),
            Some(Endpoint::RevokeSession)
        );
        assert_eq!(
            endpoint_for(&Method::DELETE, "/account/sessions/s1"),
            Some(Endpoint::RevokeSessionById)
        );
        assert_eq!(endpoint_for(&Method::GET, "/qr//status"), None);
        assert_eq!(endpoint_for(&Method::PUT, "/session"), None);
    }
}
