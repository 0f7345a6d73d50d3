//! `--metrics-listen`: the binary serves the Prometheus text exposition of the library's
//! metrics on a separate listener. A scripted sequence of sign-ups, sign-ins, failures, a
//! magic-link email and a rate-limit refusal shows up as exact counts under fixed label
//! sets, and no email, token or user id appears in the exposition.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

#[allow(dead_code)] // Only the software browser is used here.
mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use support::{Browser, ORIGIN};

/// A `passkey-magic serve` process (memory store) with metrics on; killed on drop.
struct Server {
    child: Child,
    base: String,
    metrics: Option<String>,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_passkey-magic"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PASSKEY_MAGIC_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                "memory:",
            ])
            .args([
                "--origin",
                ORIGIN,
                "--magic-link-url",
                "http://localhost:8787/",
            ])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let mut metrics = None;
        let address = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the server exited early"
            );
            if let Some(address) = line.trim().strip_prefix("passkey-magic metrics on ") {
                metrics = Some(address.to_owned());
            }
            if let Some(address) = line
                .trim()
                .strip_prefix("passkey-magic listening on http://")
            {
                break address.to_owned();
            }
        };
        std::thread::spawn(move || for _ in stdout.lines() {});
        Server {
            child,
            base: format!("http://{address}/auth"),
            metrics,
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .header("Origin", ORIGIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let response = reqwest::get(format!("{}{path}", self.base)).await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// A new QR login: its id and status token.
    async fn create_qr(&self) -> (String, String) {
        let (status, created) = self.post("/qr/create", json!({})).await;
        assert_eq!(status, 200, "{created}");
        (
            created["sessionId"].as_str().unwrap().to_owned(),
            created["statusToken"].as_str().unwrap().to_owned(),
        )
    }

    async fn scrape(&self) -> String {
        let url = self.metrics.as_deref().expect("the metrics listener");
        let response = reqwest::get(format!("{url}/metrics")).await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        response.text().await.unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the series `name` whose labels are exactly `labels` (any order).
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    want.sort();
    text.lines().find_map(|line| {
        let (series, number) = line.rsplit_once(' ')?;
        let rest = series.strip_prefix(name)?;
        let mut got: Vec<String> = if rest.is_empty() {
            Vec::new()
        } else {
            let inner = rest.strip_prefix('{')?.strip_suffix('}')?;
            inner.split(',').map(str::to_owned).collect()
        };
        got.sort();
        (got == want).then(|| number.parse().unwrap())
    })
}

#[tokio::test]
async fn metrics_count_sign_ins_failures_emails_and_refusals() {
    let server = Server::start(&["--metrics-listen", "127.0.0.1:0"]);
    let mut browser = Browser::new();

    // A passkey sign-up and a sign-in, then the same sign-in answer replayed.
    let (status, options) = server.post("/passkey/register/options", json!({})).await;
    assert_eq!(status, 200, "{options}");
    let response = browser.register(&options["options"]).await;
    let (status, signed_up) = server
        .post(
            "/passkey/register/verify",
            json!({ "userId": options["userId"], "response": response }),
        )
        .await;
    assert_eq!(status, 200, "{signed_up}");
    let (status, options) = server
        .post("/passkey/authenticate/options", json!({}))
        .await;
    assert_eq!(status, 200, "{options}");
    let answer = browser.authenticate(&options["options"]).await;
    let (status, signed_in) = server
        .post(
            "/passkey/authenticate/verify",
            json!({ "response": answer }),
        )
        .await;
    assert_eq!(status, 200, "{signed_in}");
    let (status, replayed) = server
        .post(
            "/passkey/authenticate/verify",
            json!({ "response": answer }),
        )
        .await;
    assert_eq!(status, 400, "{replayed}");

    // A magic-link email, then wrong tokens until `magicLink.verify` (10 per 15 minutes)
    // refuses the eleventh.
    let email = "metrics-probe@example.com";
    let (status, sent) = server
        .post("/magic-link/send", json!({ "email": email }))
        .await;
    assert_eq!(status, 200, "{sent}");
    let wrong_token = "wrong-token-0123456789abcdef";
    for _ in 0..10 {
        let (status, body) = server
            .post("/magic-link/verify", json!({ "token": wrong_token }))
            .await;
        assert_eq!(status, 400, "{body}");
    }
    let (status, body) = server
        .post("/magic-link/verify", json!({ "token": wrong_token }))
        .await;
    assert_eq!(status, 429, "{body}");

    // A QR login the phone completes and the desktop collects...
    let (id, status_token) = server.create_qr().await;
    let (status, body) = server.post(&format!("/qr/{id}/scanned"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let (status, options) = server
        .post(
            "/passkey/authenticate/options",
            json!({ "qrSessionId": id }),
        )
        .await;
    assert_eq!(status, 200, "{options}");
    let answer = browser.authenticate(&options["options"]).await;
    let (status, body) = server
        .post(&format!("/qr/{id}/complete"), json!({ "response": answer }))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, polled) = server
        .get(&format!("/qr/{id}/status?token={status_token}"))
        .await;
    assert_eq!(status, 200, "{polled}");
    assert!(polled["session"]["token"].is_string(), "{polled}");

    // ...and one the desktop cancels while it long-polls: the gauge shows the held poll,
    // then drops back when the cancellation answers it.
    let (id, status_token) = server.create_qr().await;
    let server = std::sync::Arc::new(server);
    let poller = {
        let server = std::sync::Arc::clone(&server);
        let path = format!("/qr/{id}/status?token={status_token}&wait=25");
        tokio::spawn(async move { server.get(&path).await })
    };
    let mut held = false;
    for _ in 0..200 {
        let text = server.scrape().await;
        if value(&text, "passkey_magic_qr_long_polls_active", &[]) == Some(1.0) {
            held = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(held, "the long-poll never showed in the gauge");
    let (status, body) = server
        .post(
            &format!("/qr/{id}/cancel"),
            json!({ "statusToken": status_token }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, polled) = poller.await.unwrap();
    assert_eq!(status, 200, "{polled}");
    assert_eq!(polled["state"], "cancelled");

    let text = server.scrape().await;
    let counts = [
        (
            "passkey_magic_sign_ups_total",
            vec![("method", "passkey"), ("outcome", "success")],
            1.0,
        ),
        (
            "passkey_magic_sign_ins_total",
            vec![("method", "passkey"), ("outcome", "success")],
            1.0,
        ),
        (
            "passkey_magic_sign_ins_total",
            vec![("method", "passkey"), ("outcome", "challenge_expired")],
            1.0,
        ),
        (
            "passkey_magic_sign_ins_total",
            vec![("method", "magic-link"), ("outcome", "invalid_magic_link")],
            10.0,
        ),
        (
            "passkey_magic_rate_limited_total",
            vec![("rule", "magicLink.verify")],
            1.0,
        ),
        (
            "passkey_magic_sign_ins_total",
            vec![("method", "qr"), ("outcome", "success")],
            1.0,
        ),
        (
            "passkey_magic_qr_logins_total",
            vec![("state", "completed")],
            1.0,
        ),
        (
            "passkey_magic_qr_logins_total",
            vec![("state", "cancelled")],
            1.0,
        ),
        ("passkey_magic_qr_long_polls_active", vec![], 0.0),
        // The cancellation woke the held poll, in this process.
        (
            "passkey_magic_qr_wakeups_total",
            vec![("source", "local")],
            1.0,
        ),
        ("passkey_magic_emails_total", vec![("outcome", "sent")], 1.0),
        (
            "passkey_magic_http_request_duration_seconds_count",
            vec![
                ("method", "POST"),
                ("route", "/auth/passkey/authenticate/verify"),
                ("status", "200"),
            ],
            1.0,
        ),
        (
            "passkey_magic_http_request_duration_seconds_count",
            vec![
                ("method", "POST"),
                ("route", "/auth/magic-link/verify"),
                ("status", "429"),
            ],
            1.0,
        ),
    ];
    for (name, labels, expected) in counts {
        assert_eq!(
            value(&text, name, &labels),
            Some(expected),
            "{name} {labels:?} in:\n{text}"
        );
    }
    // One instance on the memory store: nothing announced, nothing heard or re-checked.
    for (name, labels) in [
        ("passkey_magic_qr_announcements_total", vec![]),
        (
            "passkey_magic_qr_wakeups_total",
            vec![("source", "announcement")],
        ),
        (
            "passkey_magic_qr_wakeups_total",
            vec![("source", "recheck")],
        ),
    ] {
        assert_eq!(
            value(&text, name, &labels),
            None,
            "{name} {labels:?} in:\n{text}"
        );
    }
    for help in [
        "# HELP passkey_magic_sign_ins_total ",
        "# HELP passkey_magic_qr_wakeups_total ",
        "# HELP passkey_magic_http_request_duration_seconds ",
    ] {
        assert!(text.contains(help), "{help} in:\n{text}");
    }
    // The histogram is a real Prometheus histogram (buckets), not a summary.
    assert!(
        text.contains("passkey_magic_http_request_duration_seconds_bucket{"),
        "{text}"
    );

    // Nothing personal or secret in any label.
    let token = signed_in["session"]["token"].as_str().unwrap();
    let user_id = signed_up["user"]["id"].as_str().unwrap();
    for secret in [
        email,
        "example.com",
        wrong_token,
        token,
        user_id,
        &id,
        &status_token,
    ] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
}

#[tokio::test]
async fn metrics_are_off_by_default() {
    let server = Server::start(&[]);
    assert!(server.metrics.is_none());
    let (status, _) = server.post("/passkey/register/options", json!({})).await;
    assert_eq!(status, 200);
}

/// QR logins are counted once each, by their final state: `completed` when the desktop
/// collects its session, `cancelled`, and `expired` when the purge finds one that ran out
/// unfinished, also after the phone completed it if the desktop never collected. In
/// process, with the test clock, on a recorder local to this test.
#[tokio::test]
async fn expired_qr_logins_are_counted_once_by_the_purge() {
    use passkey_magic_server::Auth;
    use passkey_magic_server::clock::ManualClock;
    use passkey_magic_server::sessions::ClientInfo;
    use passkey_magic_shared::Timestamp;
    use std::time::Duration;

    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let clock = ManualClock::new(Timestamp::from_unix_millis(support::START_MILLIS));
    let auth: Auth = support::builder()
        .clock(clock.clone())
        .qr_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut browser = Browser::new();
    let options = auth
        .passkeys()
        .start_registration(&Default::default())
        .await
        .unwrap();
    let response = browser
        .register(&serde_json::to_value(&options.options).unwrap())
        .await;
    let request =
        serde_json::from_value(json!({ "userId": options.user_id, "response": response })).unwrap();
    auth.passkeys()
        .finish_registration(&request, &ClientInfo::default())
        .await
        .unwrap();
    let qr = auth.qr();
    let client = ClientInfo::default();
    /// The phone scans and completes the login with its passkey.
    async fn complete(auth: &Auth, browser: &mut Browser, id: &str) {
        auth.qr().mark_scanned(id).await.unwrap();
        let request = serde_json::from_value(json!({ "qrSessionId": id })).unwrap();
        let options = auth.passkeys().start_sign_in(&request).await.unwrap();
        let answer = browser
            .authenticate(&serde_json::to_value(&options.options).unwrap())
            .await;
        let answer = serde_json::from_value(answer).unwrap();
        auth.qr().complete(id, &answer).await.unwrap();
    }

    // Collected, cancelled, completed but never collected, and left alone.
    let collected = qr.create().await.unwrap();
    complete(&auth, &mut browser, &collected.session_id).await;
    let status = qr
        .status(
            &collected.session_id,
            collected.status_token.expose(),
            Duration::ZERO,
            &client,
        )
        .await
        .unwrap();
    assert!(status.session.is_some());
    let cancelled = qr.create().await.unwrap();
    qr.cancel(&cancelled.session_id, cancelled.status_token.expose())
        .await
        .unwrap();
    let uncollected = qr.create().await.unwrap();
    complete(&auth, &mut browser, &uncollected.session_id).await;
    let _left_alone = qr.create().await.unwrap();

    let count = |state: &str| {
        value(
            &metrics.render(),
            "passkey_magic_qr_logins_total",
            &[("state", state)],
        )
    };
    assert_eq!(count("completed"), Some(1.0));
    assert_eq!(count("cancelled"), Some(1.0));
    // Expiry writes nothing, so nothing is counted until a purge finds it.
    clock.advance_millis(61_000);
    assert_eq!(count("expired"), None);
    let purged = auth.purge_expired().await.unwrap();
    // The uncollected login has the claim window (2 minutes) after its completion.
    assert_eq!(purged.expired_qr_logins, 1);
    assert_eq!(count("expired"), Some(1.0));
    clock.advance_millis(120_000);
    assert_eq!(auth.purge_expired().await.unwrap().expired_qr_logins, 1);
    assert_eq!(count("expired"), Some(2.0));
    // Each login once: later purges find nothing more, and nothing else was counted.
    assert_eq!(auth.purge_expired().await.unwrap().expired_qr_logins, 0);
    assert_eq!(count("expired"), Some(2.0));
    assert_eq!(count("completed"), Some(1.0));
    assert_eq!(count("cancelled"), Some(1.0));
    assert_eq!(count("locked_out"), None);
}
