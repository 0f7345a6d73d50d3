//! Durability of the embedded default: what the `passkey-magic` binary acknowledged on a
//! SQLite file survives `kill -9` of the process (no shutdown, no flush, no checkpoint).
//!
//! The SQLite store commits in WAL mode with `synchronous=NORMAL` before it answers; a
//! killed process leaves its WAL in the kernel's page cache, and the next process
//! recovers it. A store that acknowledged writes still queued in the process (a
//! write-behind cache, an unflushed batch) would fail this test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

#[allow(dead_code)] // Only the software browser is used here.
mod support;

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use support::{Browser, ORIGIN};

/// A running `passkey-magic serve` on a SQLite file.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(database: &Path, config: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_passkey-magic"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PASSKEY_MAGIC_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url"])
            .arg(format!("sqlite://{}", database.display()))
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let address = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the server exited early"
            );
            if let Some(address) = line
                .trim()
                .strip_prefix("passkey-magic listening on http://")
            {
                break address.to_owned();
            }
        };
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in stdout.lines() {});
        Server {
            child,
            base: format!("http://{address}/auth"),
        }
    }

    /// SIGKILL: the process gets no chance to flush or close anything.
    fn kill_9(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert!(!status.success(), "killed, not exited: {status}");
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

    async fn get_session(&self, token: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .get(format!("{}/session", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pm-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn sqlite_survives_kill_9() {
    let dir = temp_dir();
    let database = dir.join("auth.db");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!("rp_id = \"localhost\"\norigins = [\"{ORIGIN}\"]\n"),
    )
    .unwrap();

    // Sign up (a user, a credential, a session), then kill the server at once.
    let server = Server::start(&database, &config);
    let mut browser = Browser::new();
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
    let token = signed_up["session"]["token"].as_str().unwrap().to_owned();
    let user_id = signed_up["user"]["id"].clone();
    server.kill_9();

    // A new process on the same file: the acknowledged session is valid...
    let server = Server::start(&database, &config);
    let (status, session) = server.get_session(&token).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"]["id"], user_id);
    // ...and the acknowledged credential signs in.
    let (status, options) = server
        .post("/passkey/authenticate/options", json!({}))
        .await;
    assert_eq!(status, 200, "{options}");
    let response = browser.authenticate(&options["options"]).await;
    let (status, signed_in) = server
        .post(
            "/passkey/authenticate/verify",
            json!({ "response": response }),
        )
        .await;
    assert_eq!(status, 200, "{signed_in}");
    assert_eq!(signed_in["user"]["id"], user_id);
    // The sign-in's new session, too, survives another kill.
    let second = signed_in["session"]["token"].as_str().unwrap().to_owned();
    server.kill_9();
    let server = Server::start(&database, &config);
    assert_eq!(server.get_session(&second).await.0, 200);
    assert_eq!(server.get_session(&token).await.0, 200);
    drop(server);
    std::fs::remove_dir_all(&dir).unwrap();
}
