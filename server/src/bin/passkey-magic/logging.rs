//! Log output: the subscriber (`text` or `json` lines on stderr) and the request log.
//!
//! Every request except the health probes gets one `request` span carrying a request id
//! and the route *template* (`/auth/qr/{id}/status`), never the concrete path or query
//! string: both can carry bearer secrets (the QR status token, magic-link tokens). Events
//! logged while a request runs inherit the span, so an error can be traced to its request.
//! The id is echoed in the `X-Request-Id` response header; one sent by the client is
//! believed only from a trusted proxy (anyone else could forge ids to muddle the log).

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use ipnet::IpNet;
use passkey_magic_shared::routes::ROUTES;
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io::IsTerminal;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

/// The header carrying the request id, in both directions.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// Longest request id taken from a trusted proxy (longer ones are replaced).
const MAX_REQUEST_ID_LEN: usize = 128;

/// `text` (for people) or `json` (one object per line, for log collectors).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines; coloured only when stderr is a terminal.
    #[default]
    Text,
    /// JSON lines with the current span's fields (request id, route) on each event.
    Json,
}

/// Installs the global subscriber: `RUST_LOG` filter (default `info`), output on stderr,
/// ANSI colour codes only when stderr is a terminal (never in a file or a pipe).
pub(crate) fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// What the request log needs to know about the deployment.
#[derive(Debug, Clone)]
pub(crate) struct RequestLog {
    /// Where the API is nested (`/auth`).
    prefix: String,
    /// Peers whose `X-Request-Id` is believed.
    trusted_proxies: Vec<IpNet>,
    /// The label of each route of [`ROUTES`] (prefix + template), built once: the log
    /// runs on every request and should not format strings for it.
    labels: Vec<&'static str>,
    /// The labels of the routes without `{param}` segments, by path under the prefix:
    /// one hash lookup finds the hot routes (`/session`) without walking the table.
    static_routes: HashMap<&'static str, &'static str>,
}

impl RequestLog {
    pub(crate) fn new(prefix: &str, trusted_proxies: &[IpNet]) -> Arc<Self> {
        // Leaked once per server start (a few dozen short strings), so that the metric
        // labels are `&'static str` and cost no allocation per request.
        let labels: Vec<&'static str> = ROUTES
            .iter()
            .map(|route| &*Box::leak(format!("{prefix}{}", route.path).into_boxed_str()))
            .collect();
        let static_routes = ROUTES
            .iter()
            .zip(&labels)
            .filter(|(route, _)| !route.path.contains('{'))
            .map(|(route, label)| (route.path, *label))
            .collect();
        Arc::new(RequestLog {
            prefix: prefix.to_owned(),
            trusted_proxies: trusted_proxies.to_vec(),
            labels,
            static_routes,
        })
    }

    /// The route template of `path`, `None` for a health probe (not logged).
    fn route(&self, path: &str) -> Option<&'static str> {
        let relative = path.strip_prefix(&self.prefix);
        if let Some(label) = relative.and_then(|relative| self.static_routes.get(relative)) {
            return Some(label);
        }
        if passkey_magic_server::http::health::PATHS.contains(&relative.unwrap_or(path)) {
            return None;
        }
        if let Some(index) = relative.and_then(|relative| {
            ROUTES
                .iter()
                .position(|route| template_matches(route.path, relative))
        }) {
            return self.labels.get(index).copied();
        }
        // Unknown paths and the demo's static files: a fixed label, since the path is
        // whatever the client sent.
        Some("other")
    }

    fn believes(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|peer| {
            let peer = canonical(peer);
            self.trusted_proxies.iter().any(|net| net.contains(&peer))
        })
    }
}

/// An IPv4-mapped IPv6 peer (`::ffff:10.0.0.1`, dual-stack sockets) as IPv4.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// Whether `path` fits `template`, whose `{name}` segments match any one segment.
fn template_matches(template: &str, path: &str) -> bool {
    if !template.contains('{') {
        return template == path;
    }
    let mut expected = template.split('/');
    let mut actual = path.split('/');
    loop {
        match (expected.next(), actual.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let wildcard = want.starts_with('{') && want.ends_with('}') && !got.is_empty();
                if !wildcard && want != got {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// A request id a proxy may hand on: short, and only characters safe in a log line.
fn acceptable(id: &HeaderValue) -> Option<&str> {
    let id = id.to_str().ok()?;
    let ok = !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    ok.then_some(id)
}

/// 32 hex digits, unique per request and not guessable from the outside: a counter run
/// through two SipHash keys drawn at random once per process (std's `RandomState`), so
/// no system call per request, and the ids do not reveal how many requests were served.
/// Not a secret: nothing is authorised by a request id.
fn new_request_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::LazyLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEYS: LazyLock<(RandomState, RandomState)> =
        LazyLock::new(|| (RandomState::new(), RandomState::new()));
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let count = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&KEYS.0.hash_one(count).to_be_bytes());
    bytes[8..].copy_from_slice(&KEYS.1.hash_one(count).to_be_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = String::with_capacity(2 * bytes.len());
    for byte in bytes {
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    id
}

/// The method as a metric label, without an allocation for the protocol's methods.
fn method_label(method: &Method) -> metrics::SharedString {
    match *method {
        Method::GET => "GET".into(),
        Method::POST => "POST".into(),
        Method::PATCH => "PATCH".into(),
        Method::DELETE => "DELETE".into(),
        Method::OPTIONS => "OPTIONS".into(),
        Method::HEAD => "HEAD".into(),
        _ => method.to_string().into(),
    }
}

/// The status code as a metric label, without an allocation for the usual ones.
fn status_label(status: u16) -> metrics::SharedString {
    const COMMON: [(u16, &str); 16] = [
        (200, "200"),
        (204, "204"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (408, "408"),
        (409, "409"),
        (413, "413"),
        (415, "415"),
        (429, "429"),
        (431, "431"),
        (500, "500"),
        (503, "503"),
    ];
    match COMMON.iter().find(|(code, _)| *code == status) {
        Some((_, label)) => (*label).into(),
        None => status.to_string().into(),
    }
}

/// The middleware: assigns the request id, runs the request inside its span, logs the
/// outcome (status, latency) and echoes the id. Health probes pass through unlogged.
///
/// A hand-written service: its future is the inner one plus the span, the id and the
/// start time, where `from_fn` would box a future holding the request for as long as it
/// runs (30 s for each waiting QR desktop) and box the inner call once more.
#[derive(Clone)]
pub(crate) struct LogRequests<S> {
    log: Arc<RequestLog>,
    inner: S,
}

impl<S> LogRequests<S> {
    pub(crate) fn new(log: Arc<RequestLog>, inner: S) -> Self {
        LogRequests { log, inner }
    }
}

impl<S> tower::Service<Request> for LogRequests<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = LoggedFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip());
        let forwarded = request
            .headers()
            .get(REQUEST_ID)
            .filter(|_| self.log.believes(peer))
            .and_then(acceptable)
            .map(str::to_owned);
        let id = forwarded.unwrap_or_else(new_request_id);
        let id = HeaderValue::from_str(&id).ok();
        // The handler sees the id the log uses (a hook could log it, too).
        if let Some(id) = &id {
            request.headers_mut().insert(REQUEST_ID, id.clone());
        }
        let Some(route) = self.log.route(request.uri().path()) else {
            return LoggedFuture {
                inner: self.inner.call(request).instrument(tracing::Span::none()),
                id,
                outcome: None,
            };
        };
        let method = request.method().clone();
        let span = match &id {
            Some(id) => tracing::info_span!(
                "request",
                request_id = %id.to_str().unwrap_or_default(),
                %method,
                %route
            ),
            None => tracing::info_span!("request", %method, %route),
        };
        let started = Instant::now();
        let inner = span.in_scope(|| self.inner.call(request));
        LoggedFuture {
            inner: inner.instrument(span),
            id,
            outcome: Some(Outcome {
                method,
                route,
                started,
            }),
        }
    }
}

/// What the log line and the metric of a logged request need when it ends.
struct Outcome {
    method: Method,
    route: &'static str,
    started: Instant,
}

pin_project_lite::pin_project! {
    /// The future of [`LogRequests`]: the inner one in the request's span.
    pub(crate) struct LoggedFuture<F> {
        #[pin]
        inner: tracing::instrument::Instrumented<F>,
        id: Option<HeaderValue>,
        outcome: Option<Outcome>,
    }
}

impl<F> Future for LoggedFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Ok(mut response) = ready!(this.inner.as_mut().poll(cx));
        if let Some(Outcome {
            method,
            route,
            started,
        }) = this.outcome.take()
        {
            let _entered = this.inner.span().enter();
            let elapsed = started.elapsed();
            let status = response.status().as_u16();
            tracing::info!(
                status,
                latency_ms = elapsed.as_secs_f64() * 1000.0,
                "request"
            );
            metrics::histogram!(
                crate::exporter::REQUEST_DURATION,
                "method" => method_label(&method),
                "route" => route,
                "status" => status_label(status)
            )
            .record(elapsed);
        }
        if let Some(id) = this.id.take() {
            response.headers_mut().insert(REQUEST_ID, id);
        }
        Poll::Ready(Ok(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_templates_and_probes_are_skipped() {
        let log = RequestLog::new("/auth", &[]);
        assert_eq!(
            log.route("/auth/qr/secret-looking-id/status"),
            Some("/auth/qr/{id}/status")
        );
        assert_eq!(log.route("/auth/session"), Some("/auth/session"));
        assert_eq!(log.route("/auth/session/"), Some("other"));
        assert_eq!(log.route("/auth/qr//status"), Some("other"));
        assert_eq!(log.route("/index.html"), Some("other"));
        assert_eq!(log.route("/auth/healthz"), None);
        assert_eq!(log.route("/readyz"), None);
    }

    #[test]
    fn forwarded_ids_are_short_and_plain() {
        assert_eq!(
            acceptable(&HeaderValue::from_static("abc-123_x.y:z")),
            Some("abc-123_x.y:z")
        );
        assert_eq!(acceptable(&HeaderValue::from_static("a b")), None);
        assert_eq!(acceptable(&HeaderValue::from_static("")), None);
        let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        assert_eq!(acceptable(&HeaderValue::from_str(&long).unwrap()), None);
        let id = new_request_id();
        assert_eq!(id.len(), 32);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(new_request_id(), new_request_id());
        let many: std::collections::HashSet<String> =
            (0..10_000).map(|_| new_request_id()).collect();
        assert_eq!(many.len(), 10_000);
    }

    #[test]
    fn labels_are_the_method_and_status_as_text() {
        for method in [
            "GET", "POST", "PATCH", "DELETE", "OPTIONS", "HEAD", "PUT", "PROPFIND",
        ] {
            let parsed = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(&*method_label(&parsed), method);
        }
        for status in [200, 204, 301, 400, 401, 404, 418, 429, 500, 503, 599] {
            assert_eq!(&*status_label(status), status.to_string());
        }
    }
}
