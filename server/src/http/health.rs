//! Health probes for load balancers and orchestrators: `GET /healthz` and `GET /readyz`.
//!
//! [`router`](super::router) mounts both next to the protocol's routes, so under the
//! prefix the API is nested at (`/auth/healthz` for `nest("/auth", router(auth))`); the
//! `passkey-magic` binary also answers them at the root. They are not protocol endpoints
//! (not in the shared route table), carry no rate limit and are left out of the binary's
//! request log, so a probe every second neither spends a budget nor floods the log.
//!
//! - `/healthz` answers `200 {"status":"ok"}` while the process serves HTTP; it touches
//!   no dependency, so a database outage does not get the process restarted.
//! - `/readyz` asks the store and the rate limiter for one round trip each and answers
//!   `200 {"status":"ready",...}`, or `503` with the protocol's error body (code
//!   `unavailable`) and which check failed, so traffic moves to another instance.

use crate::auth::{Auth, MetadataType};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use passkey_magic_shared::error::{ErrorCode, messages};
use serde_json::json;
use std::time::Duration;

/// How long each readiness check may take before it counts as unreachable: below the
/// usual probe timeout (Kubernetes' default is 1 s per probe, often raised to a few).
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// An id no user has (ids are UUIDs): reading it is a round trip to the store that
/// changes nothing.
const PROBE_USER_ID: &str = "readiness-probe";

/// The probe paths, relative to where the API is mounted.
pub const PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// `/healthz` and `/readyz` for `auth`, to merge into a router or mount at the root.
pub fn router<U: MetadataType, C: MetadataType>(auth: Auth<U, C>) -> axum::Router {
    let mut router = routes::<U, C>().with_state(auth);
    router = router.layer(axum::middleware::map_response(
        |mut response: Response| async move {
            super::security_headers(response.headers_mut());
            response
        },
    ));
    router
}

/// The probe routes, for [`super::router`] to merge before its state is set.
pub(crate) fn routes<U: MetadataType, C: MetadataType>() -> axum::Router<Auth<U, C>> {
    axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz::<U, C>))
}

/// `GET /healthz`: the process is up.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// `GET /readyz`: the store and the limiter answer.
async fn readyz<U: MetadataType, C: MetadataType>(State(auth): State<Auth<U, C>>) -> Response {
    let store = async {
        match tokio::time::timeout(CHECK_TIMEOUT, auth.store().user_by_id(PROBE_USER_ID)).await {
            Ok(Ok(_)) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: store unavailable");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: store timed out");
                false
            }
        }
    };
    let limiter = async {
        match tokio::time::timeout(CHECK_TIMEOUT, auth.rate_limits().ping()).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(%error, "readiness: rate limiter unavailable");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: rate limiter timed out");
                false
            }
        }
    };
    let (store, limiter) = tokio::join!(store, limiter);
    let state = |up: bool| if up { "ok" } else { "unavailable" };
    let checks = json!({"store": state(store), "limiter": state(limiter)});
    if store && limiter {
        Json(json!({"status": "ready", "checks": checks})).into_response()
    } else {
        let body = json!({
            "error": messages::UNAVAILABLE,
            "code": ErrorCode::Unavailable,
            "checks": checks,
        });
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}
