//! The `passkey-magic` binary, black-box: magic links through the dev outbox, read the
//! way local tooling reads them (the `--outbox-file` JSON lines and, in `--dev` mode,
//! `GET /auth/dev/outbox`), and what the logs never show.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `passkey-magic serve`, killed when dropped.
struct Server {
    child: Child,
    base: String,
    port: u16,
    /// Everything the server printed after its "listening" line.
    output: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the binary on a free loopback port with an in-memory store and `args`.
    fn start(args: &[&str]) -> Self {
        Self::start_with_database("memory:", args)
    }

    /// Starts the binary on a free loopback port with `database_url` and `args`.
    fn start_with_database(database_url: &str, args: &[&str]) -> Self {
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
                database_url,
            ])
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        drain(stderr, Arc::clone(&output));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let address = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the server exited early: {}",
                output.lock().unwrap()
            );
            if let Some(address) = line
                .trim()
                .strip_prefix("passkey-magic listening on http://")
            {
                break address.to_owned();
            }
            output.lock().unwrap().push_str(&line);
        };
        drain(stdout, Arc::clone(&output));
        let port = address.rsplit(':').next().unwrap().parse().unwrap();
        Server {
            child,
            base: format!("http://{address}/auth"),
            port,
            output,
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
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

    /// The output so far, once it contains `needle` (waits up to 10 s).
    fn output_once_it_has(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let output = self.output.lock().unwrap().clone();
            if output.contains(needle) || Instant::now() > deadline {
                return output;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Copies a stream into `sink` on a thread of its own (so the pipe never fills).
fn drain(stream: impl Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            let mut sink = sink.lock().unwrap();
            sink.push_str(&line);
            sink.push('\n');
        }
    });
}

fn temp_file(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("pm-serve-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

fn outbox_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn dev_mode_serves_the_outbox_and_links_to_the_site() {
    let file = temp_file("dev.jsonl");
    let server = Server::start(&["--dev", "--outbox-file", file.to_str().unwrap()]);
    let (status, body) = server
        .post("/magic-link/send", json!({ "email": "ada@example.com" }))
        .await;
    assert_eq!((status, body), (200, json!({ "sent": true })));

    let (status, outbox) = server.get("/dev/outbox").await;
    assert_eq!(status, 200);
    let message = &outbox["messages"][0];
    assert_eq!(message["email"], "ada@example.com");
    let token = message["token"].as_str().unwrap();
    assert_eq!(
        message["url"],
        format!("http://localhost:{}/?token={token}", server.port)
    );
    assert_eq!(outbox_lines(&file), std::slice::from_ref(message));
    // Dev mode logs the link for the developer (never the address).
    let output = server.output_once_it_has("magic link sent");
    assert!(output.contains(token), "{output}");
    assert!(!output.contains("ada@example.com"), "{output}");

    let (status, body) = server
        .post("/magic-link/verify", json!({ "token": token }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["isNewUser"], true);
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test]
async fn outside_dev_mode_there_is_no_outbox_route_and_no_token_in_the_logs() {
    let file = temp_file("prod.jsonl");
    let server = Server::start(&[
        "--magic-link-url",
        "https://example.com/verify?lang=fr",
        "--outbox-file",
        file.to_str().unwrap(),
    ]);
    let (status, _) = server
        .post("/magic-link/send", json!({ "email": "ada@example.com" }))
        .await;
    assert_eq!(status, 200);
    let lines = outbox_lines(&file);
    let token = lines[0]["token"].as_str().unwrap();
    assert_eq!(
        lines[0]["url"],
        format!("https://example.com/verify?lang=fr&token={token}")
    );
    assert_eq!(
        server.get("/dev/outbox").await,
        (404, json!({ "error": "Not found", "code": "not_found" }))
    );

    let output = server.output_once_it_has("magic link sent");
    assert!(output.contains("magic link sent"), "{output}");
    assert!(
        !output.contains(token),
        "the token must not be logged: {output}"
    );
    assert!(!output.contains("ada@example.com"), "{output}");
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test]
async fn magic_links_are_off_without_a_link_url() {
    let server = Server::start(&[]);
    assert_eq!(
        server
            .post("/magic-link/send", json!({ "email": "ada@example.com" }))
            .await,
        (
            400,
            json!({ "error": "Magic link not configured", "code": "invalid_request" })
        )
    );
}

#[test]
fn an_invalid_link_url_stops_the_server_at_start() {
    let output = Command::new(env!("CARGO_BIN_EXE_passkey-magic"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "memory:",
        ])
        .args(["--magic-link-url", "/verify"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid magic link URL"), "{stderr}");
}

/// The SQLite database holds session hashes, passkeys and emails: the binary creates it
/// (and so SQLite its `-wal` and `-shm` files) readable by the owner only, like the
/// outbox file.
#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("pm-private-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("auth.db");
    let server = Server::start_with_database(&format!("sqlite://{}", db.display()), &[]);
    // A write, so that the journal files exist.
    let (status, _) = server
        .post(
            "/account/email-available",
            json!({ "email": "ada@example.com" }),
        )
        .await;
    assert_eq!(status, 200);
    let mut checked = 0;
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.join(format!("auth.db{suffix}"));
        if let Ok(metadata) = std::fs::metadata(&path) {
            assert_eq!(
                metadata.permissions().mode() & 0o777,
                0o600,
                "{}",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 1);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Paths outside the API of the standalone binary (no demo site) answer like unknown API
/// paths: 404 with the JSON error body and the API's headers.
#[tokio::test]
async fn unknown_paths_of_the_binary_answer_json() {
    let server = Server::start(&[]);
    let response = reqwest::get(format!("http://127.0.0.1:{}/no/such/page", server.port))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Not found");
}
