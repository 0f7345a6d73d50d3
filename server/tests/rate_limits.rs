//! Rate limits over real HTTP: budgets, Retry-After, disabled rules, window reset,
//! spoofing resistance, a limit shared by two instances through Redis, and Redis outages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use passkey_magic_server::clock::ManualClock;
use passkey_magic_server::rate_limit::Budget;
use passkey_magic_server::{Auth, AuthBuilder, http, serve};
use passkey_magic_shared::RateLimitRule;
use serde_json::{Value, json};
use std::time::Duration;

const EMAIL_CHECK: &str = "/auth/account/email-available";

fn builder() -> AuthBuilder {
    Auth::builder("localhost", "http://localhost:8787").unwrap()
}

/// Serves `auth` on a loopback port until the returned sender is dropped.
async fn serve(auth: Auth) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = axum::Router::new().nest("/auth", http::router(auth));
    tokio::spawn(serve::run(listener, app, async {
        let _ = stopped.await;
    }));
    (base, stop)
}

async fn check_email(base: &str, forwarded_for: Option<&str>) -> (u16, Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{EMAIL_CHECK}"))
        .json(&json!({"email": "ada@example.com"}));
    if let Some(address) = forwarded_for {
        request = request.header("X-Forwarded-For", address);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry, response.json().await.unwrap())
}

#[tokio::test]
async fn the_request_over_budget_gets_429_with_retry_after() {
    let (base, _stop) = serve(builder().build().unwrap()).await;
    // email.available: 10 per minute by default.
    for _ in 0..10 {
        assert_eq!(check_email(&base, None).await.0, 200);
    }
    let (status, retry, body) = check_email(&base, None).await;
    assert_eq!(status, 429);
    let seconds: u64 = retry.expect("Retry-After header").parse().unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");
    assert_eq!(body["error"], "Too many requests");
    assert_eq!(body["code"], "rate_limited");
}

#[tokio::test]
async fn a_disabled_rule_never_limits() {
    let auth = builder()
        .rate_limit(RateLimitRule::EmailAvailable, None)
        .build()
        .unwrap();
    let (base, _stop) = serve(auth).await;
    for _ in 0..40 {
        assert_eq!(check_email(&base, None).await.0, 200);
    }
}

#[tokio::test]
async fn the_budget_refills_when_the_window_ends() {
    let clock = ManualClock::at_system_time();
    let auth = builder()
        .clock(clock.clone())
        .rate_limit(
            RateLimitRule::EmailAvailable,
            Some(Budget::new(2, Duration::from_secs(30))),
        )
        .build()
        .unwrap();
    let (base, _stop) = serve(auth).await;
    assert_eq!(check_email(&base, None).await.0, 200);
    assert_eq!(check_email(&base, None).await.0, 200);
    assert_eq!(check_email(&base, None).await.0, 429);
    clock.advance_millis(30_000);
    assert_eq!(check_email(&base, None).await.0, 200);
}

#[tokio::test]
async fn forwarding_headers_from_untrusted_peers_do_not_change_the_key() {
    let auth = builder()
        .rate_limit(
            RateLimitRule::EmailAvailable,
            Some(Budget::new(2, Duration::from_secs(60))),
        )
        .build()
        .unwrap();
    let (base, _stop) = serve(auth).await;
    assert_eq!(check_email(&base, Some("198.51.100.1")).await.0, 200);
    assert_eq!(check_email(&base, Some("198.51.100.2")).await.0, 200);
    // A third "client" is still the same socket peer: limited.
    assert_eq!(check_email(&base, Some("198.51.100.3")).await.0, 429);
}

/// One host floods from ever-new addresses of its IPv6 /64: they share one budget, and a
/// client of another network is not affected.
#[tokio::test]
async fn an_ipv6_64_flood_shares_one_budget() {
    let auth = builder()
        .trusted_proxies(["127.0.0.0/8".parse().unwrap()])
        .rate_limit(
            RateLimitRule::EmailAvailable,
            Some(Budget::new(3, Duration::from_secs(60))),
        )
        .build()
        .unwrap();
    let (base, _stop) = serve(auth).await;
    let mut statuses = Vec::new();
    for host in 1..=50u32 {
        let address = format!("2001:db8:1:2:{:x}:{:x}::{host:x}", host * 7, host * 13);
        statuses.push(check_email(&base, Some(&address)).await.0);
    }
    assert_eq!(statuses[..3], [200, 200, 200]);
    assert!(
        statuses[3..].iter().all(|&status| status == 429),
        "{statuses:?}"
    );
    // The next /64 over, and an IPv4 client, have budgets of their own.
    assert_eq!(check_email(&base, Some("2001:db8:1:3::1")).await.0, 200);
    assert_eq!(check_email(&base, Some("198.51.100.9")).await.0, 200);
}

/// With `/128` configured, each IPv6 address counts alone.
#[tokio::test]
async fn the_ipv6_grouping_is_configurable() {
    let auth = builder()
        .trusted_proxies(["127.0.0.0/8".parse().unwrap()])
        .rate_limit_ipv6_prefix(128)
        .rate_limit(
            RateLimitRule::EmailAvailable,
            Some(Budget::new(1, Duration::from_secs(60))),
        )
        .build()
        .unwrap();
    let (base, _stop) = serve(auth).await;
    for host in 1..=5u32 {
        let address = format!("2001:db8:1:2::{host:x}");
        assert_eq!(check_email(&base, Some(&address)).await.0, 200, "{address}");
    }
    assert_eq!(check_email(&base, Some("2001:db8:1:2::1")).await.0, 429);
}

#[test]
fn invalid_budgets_are_refused_when_the_engine_is_built() {
    use passkey_magic_server::config::ConfigError;
    let zero = builder()
        .rate_limit(
            RateLimitRule::QrCreate,
            Some(Budget::new(0, Duration::from_secs(60))),
        )
        .build::<passkey_magic_shared::Metadata, passkey_magic_shared::Metadata>();
    assert!(matches!(
        zero,
        Err(ConfigError::InvalidRateLimit("qr.create"))
    ));
    let forever = builder()
        .rate_limit(RateLimitRule::QrCreate, Some(Budget::new(5, Duration::MAX)))
        .build::<passkey_magic_shared::Metadata, passkey_magic_shared::Metadata>();
    assert!(matches!(
        forever,
        Err(ConfigError::InvalidRateLimit("qr.create"))
    ));
    let prefix = builder()
        .rate_limit_ipv6_prefix(0)
        .build::<passkey_magic_shared::Metadata, passkey_magic_shared::Metadata>();
    assert!(matches!(prefix, Err(ConfigError::InvalidIpv6Prefix(0))));
}

#[tokio::test]
async fn a_trusted_proxy_forwards_each_clients_own_budget() {
    let auth = builder()
        .trusted_proxies(["127.0.0.0/8".parse().unwrap()])
        .rate_limit(
            RateLimitRule::EmailAvailable,
            Some(Budget::new(2, Duration::from_secs(60))),
        )
        .build()
        .unwrap();
    let (base, _stop) = serve(auth).await;
    for _ in 0..2 {
        assert_eq!(check_email(&base, Some("198.51.100.1")).await.0, 200);
    }
    assert_eq!(check_email(&base, Some("198.51.100.1")).await.0, 429);
    // Another client behind the same proxy has its own budget.
    assert_eq!(check_email(&base, Some("198.51.100.2")).await.0, 200);
}

#[cfg(feature = "redis")]
mod redis_shared {
    use super::*;
    use passkey_magic_server::rate_limit::{FailureMode, RedisRateLimiter};
    use std::process::{Child, Command, Stdio};

    const SHARED_REDIS: &str = "redis://127.0.0.1:6379";

    fn unique_prefix(name: &str) -> String {
        use std::time::{SystemTime, UNIX_EPOCH};
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("pm-test-{name}-{}-{nanos}", std::process::id())
    }

    #[tokio::test]
    async fn two_instances_sharing_redis_enforce_one_limit() {
        let prefix = unique_prefix("shared");
        let mut bases = Vec::new();
        let mut stops = Vec::new();
        for _ in 0..2 {
            let limiter = RedisRateLimiter::connect(SHARED_REDIS, &prefix)
                .await
                .unwrap();
            let auth = builder()
                .rate_limiter(limiter)
                .rate_limit(
                    RateLimitRule::EmailAvailable,
                    Some(Budget::new(5, Duration::from_secs(60))),
                )
                .build()
                .unwrap();
            let (base, stop) = serve(auth).await;
            bases.push(base);
            stops.push(stop);
        }
        let mut allowed = 0;
        let mut limited = 0;
        for round in 0..8 {
            match check_email(&bases[round % 2], None).await.0 {
                200 => allowed += 1,
                429 => limited += 1,
                other => panic!("unexpected status {other}"),
            }
        }
        assert_eq!((allowed, limited), (5, 3));
    }

    /// A private redis-server on a free port, killed on drop.
    struct PrivateRedis {
        child: Child,
        url: String,
    }

    impl PrivateRedis {
        async fn start() -> Self {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .spawn()
                .expect("redis-server is installed by scripts/test");
            for _ in 0..250 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            PrivateRedis {
                child,
                url: format!("redis://127.0.0.1:{port}"),
            }
        }

        fn stop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for PrivateRedis {
        fn drop(&mut self) {
            self.stop();
        }
    }

    /// Status of a request made after the limiter's Redis went away.
    async fn status_during_outage(mode: FailureMode) -> u16 {
        let mut redis = PrivateRedis::start().await;
        let limiter = RedisRateLimiter::connect(&redis.url, "pm-outage")
            .await
            .unwrap();
        let auth = builder()
            .rate_limiter(limiter)
            .rate_limit_failure_mode(mode)
            .build()
            .unwrap();
        let (base, _stop) = serve(auth).await;
        assert_eq!(check_email(&base, None).await.0, 200);
        redis.stop();
        check_email(&base, None).await.0
    }

    #[tokio::test]
    async fn redis_down_fails_closed_by_default() {
        assert_eq!(status_during_outage(FailureMode::Closed).await, 503);
    }

    #[tokio::test]
    async fn redis_down_can_fail_open() {
        assert_eq!(status_during_outage(FailureMode::Open).await, 200);
    }

    #[tokio::test]
    async fn readiness_reports_the_limiters_redis_and_probes_are_never_limited() {
        let mut redis = PrivateRedis::start().await;
        let limiter = RedisRateLimiter::connect(&redis.url, "pm-readyz")
            .await
            .unwrap();
        let auth = builder().rate_limiter(limiter).build().unwrap();
        let (base, _stop) = serve(auth).await;
        let http = reqwest::Client::new();
        let probe = |path: &'static str| {
            let request = http.get(format!("{base}/auth{path}"));
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (status, response.json::<Value>().await.unwrap())
            }
        };
        assert_eq!(probe("/readyz").await.0, 200);
        redis.stop();
        let (status, body) = probe("/readyz").await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["checks"]["limiter"], "unavailable");
        assert_eq!(body["checks"]["store"], "ok");
        // The protocol fails closed, but the probes carry no rule: liveness still answers.
        assert_eq!(check_email(&base, None).await.0, 503);
        for _ in 0..50 {
            assert_eq!(probe("/healthz").await.0, 200);
        }
    }
}
