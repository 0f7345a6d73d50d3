//! Several stateless instances on one PostgreSQL database, and PostgreSQL outages.
//!
//! - Two `passkey-magic` processes on different loopback ports share one database
//!   (a schema of its own per test): register on A, sign in on B; a QR login created on
//!   A is completed on B and collected on A; a session revoked on B is refused by A.
//! - A database outage (the connection to PostgreSQL cut by a proxy) answers 503 JSON,
//!   never panics, and the server recovers by itself when the database is back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

#[allow(dead_code)]
mod support;

use passkey_magic_server::store::PostgresStore;
use serde_json::{Value, json};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use support::{Browser, ORIGIN, Proxy, RP_ID, TestServer};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

fn postgres_url() -> String {
    std::env::var("PASSKEY_MAGIC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn unique_schema(name: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "pm_{name}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

async fn drop_schema(schema: &str) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&mut connection)
        .await
        .unwrap();
}

/// A `passkey-magic serve` process, killed on drop.
struct Instance {
    _child: Child,
    base: String,
    http: reqwest::Client,
}

impl Instance {
    async fn start(schema: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_passkey-magic"))
            .args(["serve", "--listen", "127.0.0.1:0", "--rp-id", RP_ID])
            .args(["--origin", ORIGIN, "--database-url", &postgres_url()])
            .args(["--database-schema", schema])
            // Small pools: every test here also proves the flag is taken and works.
            .args(["--database-max-connections", "2"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next_line().await.unwrap().expect("server exited");
            if let Some(address) = line.strip_prefix("passkey-magic listening on ") {
                break format!("{address}/auth");
            }
        };
        // Keep reading so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Instance {
            _child: child,
            base,
            http: reqwest::Client::new(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (status, body) = self
            .call(reqwest::Method::POST, path, None, Some(body))
            .await;
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }

    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, Some(token), None)
            .await
    }
}

#[tokio::test]
async fn two_instances_share_users_sessions_and_qr_logins() {
    let schema = unique_schema("two");
    // The first start creates the schema; start them one after the other so the
    // migrations run once.
    let a = Instance::start(&schema).await;
    let b = Instance::start(&schema).await;
    let mut phone = Browser::new();

    // Register on A.
    let options = a.post("/passkey/register/options", json!({})).await;
    let response = phone.register(&options["options"]).await;
    let registered = a
        .post(
            "/passkey/register/verify",
            json!({"userId": options["userId"], "response": response}),
        )
        .await;
    let user_id = registered["user"]["id"].as_str().unwrap().to_owned();

    // Sign in on B with the passkey registered on A.
    let options = b.post("/passkey/authenticate/options", json!({})).await;
    let response = phone.authenticate(&options["options"]).await;
    let signed_in = b
        .post(
            "/passkey/authenticate/verify",
            json!({"response": response}),
        )
        .await;
    assert_eq!(signed_in["user"]["id"], user_id.as_str());
    let token_b = signed_in["session"]["token"].as_str().unwrap().to_owned();
    let (status, current) = a.get("/session", &token_b).await;
    assert_eq!(status, 200, "{current}");
    assert_eq!(current["user"]["id"], user_id.as_str());

    // QR login: the desktop talks to A, the phone to B.
    let qr = a.post("/qr/create", json!({})).await;
    let qr_id = qr["sessionId"].as_str().unwrap();
    let status_token = qr["statusToken"].as_str().unwrap();
    b.post(&format!("/qr/{qr_id}/scanned"), json!({})).await;
    let options = b
        .post(
            "/passkey/authenticate/options",
            json!({"qrSessionId": qr_id}),
        )
        .await;
    let response = phone.authenticate(&options["options"]).await;
    b.post(
        &format!("/qr/{qr_id}/complete"),
        json!({"response": response}),
    )
    .await;
    let (status, polled) = a
        .call(
            reqwest::Method::GET,
            &format!("/qr/{qr_id}/status?token={status_token}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, 200, "{polled}");
    assert_eq!(polled["state"], "authenticated");
    let desktop_token = polled["session"]["token"].as_str().unwrap();
    let (status, desktop) = a.get("/session", desktop_token).await;
    assert_eq!(status, 200, "{desktop}");
    assert_eq!(desktop["session"]["authMethod"], "qr");
    assert_eq!(desktop["user"]["id"], user_id.as_str());

    // Revoked on B, refused on A.
    let (status, _) = b
        .call(
            reqwest::Method::POST,
            "/session/revoke",
            Some(&token_b),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, refused) = a.get("/session", &token_b).await;
    assert_eq!(status, 401, "{refused}");

    drop((a, b));
    drop_schema(&schema).await;
}

async fn raw(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_database_outage_is_a_503_and_the_server_recovers() {
    let schema = unique_schema("outage");
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let proxied_url = postgres_url().replace("127.0.0.1:5432", &proxy.address());
    let store = PostgresStore::connect_in_schema(&proxied_url, &schema)
        .await
        .unwrap();
    // Storage failures are counted per operation: a recorder local to this test's
    // (single) runtime thread, which the in-process server runs on.
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let server = TestServer::start_with(support::builder().store(store)).await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let session = server.get_as(&account.token, "/session").await;
    assert_eq!(session.status, 200);
    assert!(
        !metrics
            .render()
            .contains("passkey_magic_store_errors_total"),
        "no failures yet"
    );

    proxy.cut();
    // Reads and sign-in attempts answer 503 JSON while the database is away (the
    // support client refuses 5xx, so these go out by hand).
    let http = reqwest::Client::new();
    let (status, body) = raw(http
        .get(format!("{}/session", server.base_url()))
        .bearer_auth(&account.token))
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "Service temporarily unavailable");
    assert_eq!(body["code"], "unavailable");
    let (status, body) = raw(http
        .post(format!(
            "{}/passkey/authenticate/options",
            server.base_url()
        ))
        .json(&json!({"userId": account.user_id})))
    .await;
    assert_eq!(status, 503, "{body}");
    let text = metrics.render();
    for series in [
        "passkey_magic_store_errors_total{operation=\"session_with_user\",kind=\"unavailable\"} 1",
        "passkey_magic_store_errors_total{operation=\"credentials_for_user\",kind=\"unavailable\"} 1",
    ] {
        assert!(
            text.lines().any(|line| line == series),
            "{series} in:\n{text}"
        );
    }
    assert!(!text.contains(&account.token) && !text.contains(&account.user_id));

    proxy.restore().await;
    let back = server.get_as(&account.token, "/session").await;
    assert_eq!(back.status, 200, "{back:?}");
    let signed_in = server.sign_in(&mut browser).await;
    assert_eq!(signed_in.user_id, account.user_id);

    drop(server);
    drop_schema(&schema).await;
}

/// `GET /readyz` once (the support client refuses 5xx, so by hand).
async fn readiness(base: &str) -> (u16, Value) {
    raw(reqwest::Client::new().get(format!("{base}/readyz"))).await
}

#[tokio::test]
async fn readiness_is_503_while_the_database_is_cut_and_recovers() {
    let schema = unique_schema("readyz");
    let proxy = Proxy::start("127.0.0.1:5432").await;
    let proxied_url = postgres_url().replace("127.0.0.1:5432", &proxy.address());
    let store = PostgresStore::connect_in_schema(&proxied_url, &schema)
        .await
        .unwrap();
    let server = TestServer::start_with(support::builder().store(store)).await;
    let base = server.base_url().to_owned();
    let (status, body) = readiness(&base).await;
    assert_eq!((status, &body["status"]), (200, &json!("ready")), "{body}");

    proxy.cut();
    let (status, body) = readiness(&base).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "unavailable");
    assert_eq!(body["error"], "Service temporarily unavailable");
    assert_eq!(
        body["checks"],
        json!({"store": "unavailable", "limiter": "ok"})
    );
    // Liveness touches no dependency: the process is up, so it must not be restarted.
    let (status, body) = raw(reqwest::Client::new().get(format!("{base}/healthz"))).await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")), "{body}");

    proxy.restore().await;
    let (status, body) = readiness(&base).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"], json!({"store": "ok", "limiter": "ok"}));

    drop(server);
    drop_schema(&schema).await;
}

/// The security log's storage failing does not fail what it records: sign-in, a rename
/// and a sign-out go through, each failed write is counted under
/// `append_security_event`, and only reading the log reports the failure.
#[tokio::test]
async fn actions_stand_when_their_security_events_cannot_be_written() {
    use passkey_magic_shared::security_events::EventsPage;
    let schema = unique_schema("audit_down");
    let store = PostgresStore::connect_in_schema(&postgres_url(), &schema)
        .await
        .unwrap();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let metrics = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let server = TestServer::start_with(support::builder().store(store)).await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let page = EventsPage::default();
    let log = server.auth.accounts().events(&account.user_id, &page).await;
    assert_eq!(log.unwrap().events.len(), 1);

    // Only the log's table goes away.
    {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
        sqlx::query(&format!("DROP TABLE \"{schema}\".security_events"))
            .execute(&mut connection)
            .await
            .unwrap();
    }
    let signed_in = server.sign_in(&mut browser).await;
    assert_eq!(signed_in.user_id, account.user_id);
    server.get_as(&signed_in.token, "/session").await.ok();
    let path = format!("/account/credentials/{}", account.credential());
    server
        .post_as(&signed_in.token, &path, json!({"label": "Still renamed"}))
        .await
        .ok();
    let listed = server
        .get_as(&signed_in.token, "/account/credentials")
        .await
        .ok();
    assert_eq!(listed["credentials"][0]["label"], "Still renamed");
    server
        .post_as(&signed_in.token, "/session/revoke", json!({}))
        .await
        .ok();

    let text = metrics.render();
    let series =
        "passkey_magic_store_errors_total{operation=\"append_security_event\",kind=\"internal\"} 3";
    assert!(
        text.lines().any(|line| line == series),
        "{series} in:\n{text}"
    );
    assert!(
        server
            .auth
            .accounts()
            .events(&account.user_id, &page)
            .await
            .is_err()
    );
    drop(server);
    drop_schema(&schema).await;
}

/// `--database-max-connections` sizes a PostgreSQL pool; given with another store it is
/// a mistake the server refuses at start rather than ignores.
#[tokio::test]
async fn the_connection_setting_is_for_postgresql_only() {
    for url in ["memory:", "sqlite://ignored.db"] {
        let output = Command::new(env!("CARGO_BIN_EXE_passkey-magic"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
            .args(["--database-max-connections", "4"])
            .output()
            .await
            .unwrap();
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("applies to PostgreSQL only"),
            "{url}: {stderr}"
        );
    }
    assert!(!std::path::Path::new("ignored.db").exists());
}
