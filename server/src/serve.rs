//! Running a router on a TCP listener, hardened against a hostile network.
//!
//! `axum::serve` has no timeouts: a client that connects and sends nothing, sends half
//! its headers, a body shorter than its `Content-Length`, or keeps an idle connection
//! open holds a file descriptor forever, and about a thousand of them stop the service.
//! [`run_with`] serves HTTP/1.1 with hyper's connection builder from its own accept loop
//! and bounds every way a connection can hold on:
//!
//! | limit | default | what happens |
//! |---|---|---|
//! | [`ServeConfig::header_read_timeout`] | 10 s | the request line and headers must arrive within it, counted from when the server starts waiting for a request (so it also bounds a bare connect); else the connection is closed |
//! | [`ServeConfig::body_read_timeout`] | 10 s | the whole body must arrive within it after the headers; else `408` (JSON) and the connection is closed |
//! | [`ServeConfig::idle_timeout`] | 60 s | a connection with no request in progress and no byte read or written for this long is closed (a client that stops reading its response, too) |
//! | [`ServeConfig::max_connections`] | 8 192 | connections over it are closed as soon as they are accepted |
//! | [`ServeConfig::max_connections_per_address`] | 256 | the same, per client IP address (the socket peer) |
//! | [`ServeConfig::max_body_bytes`] | 64 KiB | a larger body is refused with `413` (JSON) |
//! | [`ServeConfig::max_uri_bytes`] | 8 KiB | a longer request target: `414` (JSON) |
//! | [`ServeConfig::max_header_bytes`] | 16 KiB | larger headers, or more than 100 of them: `431` (JSON) |
//!
//! The header timeout is hyper's, the others are this module's. Requests hyper cannot
//! parse at all (not HTTP) get hyper's own bodiless `400` and the connection is closed.
//! Behind a reverse proxy, every connection comes from the proxy's address: raise
//! `max_connections_per_address` or set it to 0 (no per-address cap).
//!
//! The accept loop never stops on an accept error (`EMFILE` when descriptors run out): it
//! logs, waits a moment and goes on. The `passkey-magic` binary also raises its soft
//! `NOFILE` limit to the hard one at start.

use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use passkey_magic_shared::error::{ErrorBody, ErrorCode};
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// What [`run`] serves: an axum [`Router`](axum::Router), or any tower service that answers
/// like one, such as a router inside layers of your own that are not boxed per request.
pub trait App:
    tower::Service<
        Request<Body>,
        Response = Response<Body>,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> App for S where
    S: tower::Service<
            Request<Body>,
            Response = Response<Body>,
            Error = std::convert::Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Default of [`ServeConfig::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`ServeConfig::body_read_timeout`].
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default of [`ServeConfig::idle_timeout`].
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default of [`ServeConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 8192;
/// Default of [`ServeConfig::max_connections_per_address`].
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 256;
/// Default of [`ServeConfig::max_uri_bytes`].
pub const DEFAULT_MAX_URI_BYTES: usize = 8 * 1024;
/// Default of [`ServeConfig::max_header_bytes`].
pub const DEFAULT_MAX_HEADER_BYTES: usize = 16 * 1024;
/// hyper's own buffer limit sits above ours, so that ours answer first, with JSON.
/// The header *count* is left to hyper's default of 100 (`431` past it, with an empty
/// body): raising it makes hyper allocate and fill a header array on every parse, 6 %
/// of a `GET /session`, for requests no browser sends.
const HYPER_MAX_BUF_BYTES: usize = 64 * 1024;
/// Pause after a failed `accept` (descriptors exhausted), so the loop does not spin.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// Connection limits and timeouts of [`run_with`]; see the [module docs](self) for
/// what each does. Every setter documents its default; if in doubt, keep it.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    header_read_timeout: Duration,
    body_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: usize,
    max_connections_per_address: usize,
    max_body_bytes: usize,
    max_uri_bytes: usize,
    max_header_bytes: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            max_body_bytes: passkey_magic_shared::limits::MAX_BODY_BYTES,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl ServeConfig {
    /// The defaults (see the [module docs](self)).
    pub fn new() -> Self {
        Self::default()
    }

    /// Time to receive a request's line and headers, from when the server starts waiting
    /// for it. Default 10 s. Zero is taken as 1 ms.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Time to receive a whole request body after its headers. Default 10 s.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.body_read_timeout = timeout;
        self
    }

    /// Time a connection may sit with no request in progress and no byte moving.
    /// Default 60 s.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Most connections open at once. Default 8 192 (keep it below the process's
    /// `NOFILE` limit, with room for the database and other files).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Most connections open at once from one IP address; 0 for no per-address cap
    /// (behind a reverse proxy, where every connection comes from the proxy). Default 256.
    pub fn max_connections_per_address(mut self, max: usize) -> Self {
        self.max_connections_per_address = max;
        self
    }

    /// Largest request body in bytes (`413` past it). Default 64 KiB.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// Longest request target (path and query) in bytes (`414` past it). Default 8 KiB.
    pub fn max_uri_bytes(mut self, max: usize) -> Self {
        self.max_uri_bytes = max;
        self
    }

    /// Largest total size of the header fields in bytes (`431` past it). Default 16 KiB,
    /// at most 48 KiB (hyper's own buffer is 64 KiB).
    pub fn max_header_bytes(mut self, max: usize) -> Self {
        self.max_header_bytes = max.min(HYPER_MAX_BUF_BYTES - 16 * 1024);
        self
    }
}

/// Serves `app` on `listener` with the default [`ServeConfig`] until `shutdown`
/// completes, then lets in-flight requests finish. Each request sees the peer's socket
/// address (`ConnectInfo<SocketAddr>`), the client address used for rate limits unless
/// trusted proxies are configured.
///
/// # Errors
/// None today (accept errors are logged and retried); the `Result` leaves room for
/// listener set-up errors.
pub async fn run(
    listener: TcpListener,
    app: impl App,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with(listener, app, ServeConfig::default(), shutdown).await
}

/// Serves `app` on `listener` with these limits until `shutdown` completes, then stops
/// accepting, asks open connections to close after their current request, and returns
/// once they have.
///
/// # Errors
/// None today (accept errors are logged and retried).
pub async fn run_with(
    listener: TcpListener,
    app: impl App,
    config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    let per_address = Arc::new(Mutex::new(HashMap::<IpAddr, usize>::new()));
    let (stop_sender, stop) = watch::channel(false);
    // Each connection task holds a clone; `recv` returns `None` once all are gone.
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!("connection refused: too many connections");
            continue; // dropping the stream closes it
        };
        let Some(address_slot) =
            AddressSlot::take(&per_address, peer.ip(), config.max_connections_per_address)
        else {
            tracing::debug!("connection refused: too many connections from one address");
            continue;
        };
        let app = app.clone();
        let config = config.clone();
        let stop = stop.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, app, &config, stop).await;
            drop((slot, address_slot, alive));
        });
    }
    drop(listener);
    let _ = stop_sender.send(true);
    drop(alive);
    let _ = all_closed.recv().await;
    Ok(())
}

/// One connection counted against its address's cap; uncounted on drop.
struct AddressSlot {
    counts: Arc<Mutex<HashMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl AddressSlot {
    fn take(
        counts: &Arc<Mutex<HashMap<IpAddr, usize>>>,
        address: IpAddr,
        max: usize,
    ) -> Option<Self> {
        let mut map = counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = map.entry(address).or_insert(0);
        if max != 0 && *count >= max {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            counts: counts.clone(),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = map.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.address);
            }
        }
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: impl App,
    config: &ServeConfig,
    mut stop: watch::Receiver<bool>,
) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let io = TokioIo::new(IdleIo::new(stream, config.idle_timeout, in_flight.clone()));
    let limits = RequestLimits {
        body_read_timeout: config.body_read_timeout,
        max_body_bytes: config.max_body_bytes,
        max_uri_bytes: config.max_uri_bytes,
        max_header_bytes: config.max_header_bytes,
    };
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let app = app.clone();
        let guard = InFlight::enter(&in_flight);
        async move {
            let response = handle(app, request, peer, limits).await;
            drop(guard);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout)
        .max_buf_size(HYPER_MAX_BUF_BYTES);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = *stop.borrow();
    if stopping {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%error, "connection closed");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Per-request limits applied before the router sees the request.
#[derive(Debug, Clone, Copy)]
struct RequestLimits {
    body_read_timeout: Duration,
    max_body_bytes: usize,
    max_uri_bytes: usize,
    max_header_bytes: usize,
}

/// Checks the request's size, reads its body within the body timeout, and hands it to
/// the router.
async fn handle(
    app: impl App,
    request: Request<Incoming>,
    peer: SocketAddr,
    limits: RequestLimits,
) -> Response<Body> {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if uri_len > limits.max_uri_bytes {
        return refusal(StatusCode::URI_TOO_LONG, "URI too long", true);
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > limits.max_header_bytes {
        return refusal(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request headers too large",
            true,
        );
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
            true,
        );
    }
    let (mut parts, body) = request.into_parts();
    let bytes = if body.is_end_stream() {
        // No body (a GET): nothing to wait for.
        Bytes::new()
    } else {
        match read_body(body, limits).await {
            Ok(bytes) => bytes,
            Err(refused) => return refused,
        }
    };
    parts.extensions.insert(ConnectInfo(peer));
    let request = Request::from_parts(parts, Body::from(bytes));
    match app.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// Reads a request body within the body timeout and size limit; the refusal otherwise.
async fn read_body(body: Incoming, limits: RequestLimits) -> Result<Bytes, Response<Body>> {
    let limited = http_body_util::Limited::new(body, limits.max_body_bytes);
    match tokio::time::timeout(limits.body_read_timeout, limited.collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) => {
            if error
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Err(refusal(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Request body too large",
                    true,
                ));
            }
            Err(refusal(
                StatusCode::BAD_REQUEST,
                "Invalid request body",
                true,
            ))
        }
        Err(_) => Err(refusal(
            StatusCode::REQUEST_TIMEOUT,
            "Request body not received in time",
            true,
        )),
    }
}

/// A JSON error answered by the connection layer itself; `close` ends the connection
/// after it (the rest of the request may still be on the wire).
fn refusal(status: StatusCode, message: &str, close: bool) -> Response<Body> {
    let code = match status {
        StatusCode::REQUEST_TIMEOUT => ErrorCode::InvalidRequest,
        _ => ErrorCode::InvalidRequest,
    };
    let body = serde_json::to_vec(&ErrorBody::new(code, message.to_owned())).unwrap_or_default();
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    crate::http::security_headers(headers);
    if close {
        headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Counts a request in progress on its connection for as long as it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A socket that fails with `TimedOut` when it has been idle (no request in progress, no
/// byte read or written) for the idle timeout. While a request is being handled (a
/// long-poll may wait quietly for 30 s) the clock does not run.
struct IdleIo {
    inner: TcpStream,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
    in_flight: Arc<AtomicUsize>,
}

impl IdleIo {
    fn new(inner: TcpStream, timeout: Duration, in_flight: Arc<AtomicUsize>) -> Self {
        IdleIo {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
            in_flight,
        }
    }

    fn touch(&mut self) {
        let next = Instant::now() + self.timeout;
        self.deadline.as_mut().reset(next);
    }

    /// Called when the socket would block: `Err` once the connection has been idle for
    /// the timeout.
    fn check_idle(&mut self, cx: &mut Context<'_>) -> std::io::Result<()> {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            self.touch();
            return Ok(());
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "idle connection closed",
            )),
            Poll::Pending => Ok(()),
        }
    }
}

impl AsyncRead for IdleIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match this.check_idle(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
        }
    }
}

impl AsyncWrite for IdleIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    this.touch();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match this.check_idle(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    this.touch();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => match this.check_idle(cx) {
                Ok(()) => Poll::Pending,
                Err(error) => Poll::Ready(Err(error)),
            },
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Pending connections the kernel queues for [`bind`]'s listener before `accept` takes
/// them (Linux caps it at `net.core.somaxconn`, 4096 by default).
pub const LISTEN_BACKLOG: u32 = 4096;

/// A listener on `address` with a [`LISTEN_BACKLOG`] queue, instead of the 1024 of
/// [`TcpListener::bind`]: a burst of new connections (every desktop of a QR page
/// reconnecting after a deploy) then waits in the kernel instead of having its `SYN`s
/// dropped and retried one, three, seven seconds later.
///
/// # Errors
/// When the address cannot be bound (in use, not local, no permission).
pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does on Unix: a restarted server can bind at once.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Raises this process's soft `NOFILE` limit (open files) to its hard limit, so that the
/// connection cap, not the descriptor table, is what refuses connections. Returns the
/// new soft limit.
///
/// # Errors
/// When the limit cannot be read or changed.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stops_when_the_shutdown_future_completes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(
            listener,
            crate::http::router(
                crate::Auth::builder("localhost", "http://localhost:8787")
                    .unwrap()
                    .build::<crate::auth::Metadata, crate::auth::Metadata>()
                    .unwrap(),
            ),
            async {
                let _ = stopped.await;
            },
        ));
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

    /// The kernel shows a listening socket's backlog as its `Send-Q` (`ss -ltn`).
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn bind_asks_for_a_deep_accept_queue() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let port = listener.local_addr().unwrap().port();
        let output = std::process::Command::new("ss")
            .args(["-Hltn", &format!("sport = :{port}")])
            .output()
            .expect("ss (iproute2) lists listening sockets");
        let text = String::from_utf8(output.stdout).unwrap();
        let backlog: u32 = text.split_whitespace().nth(2).unwrap().parse().unwrap();
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(backlog, LISTEN_BACKLOG.min(somaxconn), "{text}");
        assert!(backlog > 1024, "the default of TcpListener::bind: {text}");
    }

    #[test]
    fn address_slots_are_capped_and_released() {
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let address: IpAddr = [127, 0, 0, 1].into();
        let first = AddressSlot::take(&counts, address, 2).unwrap();
        let _second = AddressSlot::take(&counts, address, 2).unwrap();
        assert!(AddressSlot::take(&counts, address, 2).is_none());
        assert!(AddressSlot::take(&counts, [127, 0, 0, 2].into(), 2).is_some());
        drop(first);
        assert!(AddressSlot::take(&counts, address, 2).is_some());
        assert!(
            AddressSlot::take(&counts, address, 0).is_some(),
            "0: no cap"
        );
    }
}
