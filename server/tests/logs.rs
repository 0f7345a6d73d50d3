//! The binary's logs for machines: `--log-format json|text` (flag, environment, config
//! file), no ANSI escape codes when stderr is not a terminal, request logs with a request
//! id (an incoming `X-Request-Id` believed from trusted proxies only) and the route
//! template, never the query string, and no log lines for health probes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `passkey-magic serve` process (memory store) with its stderr collected; killed on drop.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_passkey-magic"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PASSKEY_MAGIC_") || name == "NO_COLOR" {
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
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = pipe.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..read]));
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let address = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the server exited early: {}",
                stderr.lock().unwrap()
            );
            if let Some(address) = line
                .trim()
                .strip_prefix("passkey-magic listening on http://")
            {
                break address.to_owned();
            }
        };
        Server {
            child,
            base: format!("http://{address}"),
            stderr,
        }
    }

    /// GET `path` with an optional `X-Request-Id`: status and the echoed request id.
    async fn get(&self, path: &str, request_id: Option<&str>) -> (u16, String) {
        let mut request = reqwest::Client::new().get(format!("{}{path}", self.base));
        if let Some(id) = request_id {
            request = request.header("x-request-id", id);
        }
        let response = request.send().await.unwrap();
        let echoed = response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        (response.status().as_u16(), echoed)
    }

    /// Stderr so far, once it contains `needle` (bounded wait: fails only on a hang).
    fn stderr_once_it_has(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let output = self.stderr.lock().unwrap().clone();
            if output.contains(needle) {
                return output;
            }
            assert!(Instant::now() < deadline, "no {needle:?} in:\n{output}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every line parsed as a JSON object.
fn json_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect()
}

#[tokio::test]
async fn json_request_logs_carry_a_fresh_id_and_the_route_never_the_query() {
    let server = Server::start(
        &["--log-format", "json", "--trusted-proxy", "10.9.9.9"],
        &[],
    );
    // 127.0.0.1 is not a trusted proxy: its X-Request-Id is replaced by a fresh one.
    let (status, id) = server.get("/auth/session", Some("forged-id")).await;
    assert_eq!(status, 401);
    assert_ne!(id, "forged-id");
    assert_eq!(id.len(), 32, "{id}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let (_, other) = server.get("/auth/session", None).await;
    assert_ne!(other, id);
    let (_, polled) = server
        .get(
            "/auth/qr/some-login-id/status?token=SECRET-QUERY-TOKEN",
            None,
        )
        .await;
    for probe in ["/healthz", "/readyz", "/auth/healthz", "/auth/readyz"] {
        assert_eq!(server.get(probe, None).await.0, 200, "{probe}");
    }

    let output = server.stderr_once_it_has(&polled);
    assert!(
        !output.contains('\u{1b}'),
        "escape codes in a pipe:\n{output}"
    );
    assert!(!output.contains("forged-id"), "{output}");
    assert!(!output.contains("SECRET-QUERY-TOKEN"), "{output}");
    assert!(!output.contains("some-login-id"), "{output}");
    assert!(
        !output.contains("healthz") && !output.contains("readyz"),
        "{output}"
    );
    let lines = json_lines(&output);
    let request = |id: &str| {
        lines
            .iter()
            .find(|line| line["span"]["request_id"] == id && line["fields"]["message"] == "request")
            .unwrap_or_else(|| panic!("no request line for {id}:\n{output}"))
    };
    let session = request(&id);
    assert_eq!(session["span"]["route"], "/auth/session");
    assert_eq!(session["span"]["method"], "GET");
    assert_eq!(session["fields"]["status"], 401);
    assert_eq!(request(&polled)["span"]["route"], "/auth/qr/{id}/status");
}

#[tokio::test]
async fn a_trusted_proxys_request_id_is_kept_config_file_format() {
    let dir = std::env::temp_dir().join(format!("pm-logs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "log_format = \"json\"\ntrusted_proxies = [\"127.0.0.1\"]\n",
    )
    .unwrap();
    let server = Server::start(&["--config", config.to_str().unwrap()], &[]);
    let (status, id) = server.get("/auth/account", Some("edge-7f3a:1")).await;
    assert_eq!((status, id.as_str()), (401, "edge-7f3a:1"));
    // Even from a trusted proxy, an id that could break a log line is replaced.
    let (_, replaced) = server.get("/auth/account", Some("two words")).await;
    assert_eq!(replaced.len(), 32, "{replaced}");

    let output = server.stderr_once_it_has(&replaced);
    let lines = json_lines(&output);
    assert!(
        lines
            .iter()
            .any(|line| line["span"]["request_id"] == "edge-7f3a:1"
                && line["span"]["route"] == "/auth/account"),
        "{output}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn text_logs_in_a_pipe_have_no_escape_codes() {
    let server = Server::start(&[], &[("PASSKEY_MAGIC_LOG_FORMAT", "text")]);
    let (status, id) = server.get("/auth/session", None).await;
    assert_eq!(status, 401);
    let output = server.stderr_once_it_has(&id);
    assert!(
        !output.contains('\u{1b}'),
        "escape codes in a pipe:\n{output}"
    );
    let line = output.lines().find(|line| line.contains(&id)).unwrap();
    assert!(line.contains("route=/auth/session"), "{line}");
    assert!(line.contains("status=401"), "{line}");
    assert!(serde_json::from_str::<Value>(line).is_err(), "{line}");
}

/// `serve --help` shows the environment's value of a plain setting, but never that of
/// one that may carry a credential (database and Redis URLs, the SMTP password).
#[test]
fn help_never_shows_credentials_from_the_environment() {
    let output = Command::new(env!("CARGO_BIN_EXE_passkey-magic"))
        .args(["serve", "--help"])
        .env("PASSKEY_MAGIC_LISTEN", "127.0.0.1:9999")
        .env(
            "PASSKEY_MAGIC_DATABASE_URL",
            "postgres://app:db-pass-env@db.internal/auth",
        )
        .env(
            "PASSKEY_MAGIC_RATE_LIMIT_REDIS_URL",
            "redis://:redis-pass-env@cache.internal:6379",
        )
        .env("PASSKEY_MAGIC_SMTP_PASSWORD", "smtp-pass-env")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.contains("PASSKEY_MAGIC_LISTEN=127.0.0.1:9999"),
        "{help}"
    );
    assert!(help.contains("PASSKEY_MAGIC_DATABASE_URL"), "{help}");
    for secret in ["db-pass-env", "redis-pass-env", "smtp-pass-env"] {
        assert!(!help.contains(secret), "{secret} in:\n{help}");
    }
}
