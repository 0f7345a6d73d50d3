//! The protocol's rules for every request and response of the API, as a tower service.
//!
//! - a request body that is not `application/json` gets `415` before anything runs, so a
//!   cross-site HTML form (which can only send `text/plain` and form encodings without a
//!   preflight) cannot reach a handler;
//! - every refusal axum makes by itself (body too large, bad path, ...) gets the
//!   protocol's JSON error body instead of plain text;
//! - every response gets [`security_headers`].
//!
//! A hand-written service rather than `axum::middleware::from_fn`: its future is the
//! inner one plus a tag, where `from_fn` boxes a future that keeps the request for as long
//! as the request runs (30 s for a QR long-poll, times every waiting desktop) and boxes the
//! inner call once more.

use super::{error, security_headers};
use crate::Error;
use axum::extract::Request;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

/// [`Harden`] around `inner`.
#[derive(Debug, Clone)]
pub(crate) struct Harden<S> {
    inner: S,
}

impl<S> Harden<S> {
    pub(crate) fn new(inner: S) -> Self {
        Harden { inner }
    }
}

impl<S> tower::Service<Request> for Harden<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = HardenFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if has_body(request.headers()) && !is_json(request.headers()) {
            return HardenFuture::Refused {
                response: Some(Error::UnsupportedMediaType.into_response()),
            };
        }
        HardenFuture::Inner {
            future: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Harden`]: the inner service's response, or the refusal, finished.
    #[project = HardenProjection]
    pub(crate) enum HardenFuture<F> {
        Inner { #[pin] future: F },
        Refused { response: Option<Response> },
    }
}

impl<F> Future for HardenFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match self.project() {
            HardenProjection::Inner { future } => ready!(future.poll(cx))?,
            HardenProjection::Refused { response } => response
                .take()
                .unwrap_or_else(|| Error::invariant("polled after completion").into_response()),
        };
        Poll::Ready(Ok(finish(response)))
    }
}

/// The protocol's JSON error body for axum's own refusals, and the security headers.
fn finish(mut response: Response) -> Response {
    if response.status().is_client_error() || response.status().is_server_error() {
        let json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
        if !json {
            response = error::framework_refusal(response.status(), response.headers());
        }
    }
    security_headers(response.headers_mut());
    response
}

/// Whether a request carries a body (a `Content-Length` above 0, or a chunked one).
fn has_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .is_some_and(|length| length > 0)
}

/// Whether the `Content-Type` is `application/json` (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}
