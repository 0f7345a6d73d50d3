//! `--metrics-listen`: installs the Prometheus recorder for the library's `metrics`
//! facade and serves the text exposition on its own listener, apart from the API (so it
//! can stay on a private interface, and the API's rate limits and logs never see it).

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::time::Duration;

/// Request latency histogram of the request log, labelled `method`, `route` (template)
/// and `status`.
pub(crate) const REQUEST_DURATION: &str = "passkey_magic_http_request_duration_seconds";

/// Latency buckets in seconds: fast API calls up to QR long polls (tens of seconds).
const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// How often histograms are compacted; without it their samples pile up between scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

/// Installs the global recorder and serves `GET` (any path) on `address`; returns the
/// bound address (the port may have been 0).
pub(crate) async fn start(address: SocketAddr) -> anyhow::Result<SocketAddr> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    passkey_magic_server::telemetry::describe();
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method, route template and status."
    );
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for metrics"))?;
    let bound = listener.local_addr()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP);
        loop {
            ticks.tick().await;
            upkeep.run_upkeep();
        }
    });
    let app = axum::Router::new().fallback(move || scrape(handle.clone()));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "metrics listener stopped");
        }
    });
    Ok(bound)
}

/// The exposition text with its content type.
async fn scrape(handle: PrometheusHandle) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
}
