//! The development outbox: an [`EmailSender`] that delivers nowhere.
//!
//! It keeps the most recent messages in memory (a bounded ring buffer, read with
//! [`DevOutbox::messages`]: by tests, and by the demo through the dev-only route
//! [`crate::http::dev::outbox_router`]), optionally appends each message as one JSON line
//! `{"email","url","token","sentAt","subject"}` to a file for local tooling and black-box tests,
//! and logs that a link was sent. The log names the recipient only by its
//! [`recipient_fingerprint`] and shows the link only when [`DevOutbox::log_links`] is on
//! (the binary's `--dev` mode).
//!
//! The outbox holds live sign-in links: never expose it (or its file) in production.

use super::{EmailSender, MagicLinkEmail, MailError, recipient_fingerprint};
use async_trait::async_trait;
use passkey_magic_shared::{Timestamp, email};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Messages kept in memory by default.
pub const DEFAULT_OUTBOX_CAPACITY: usize = 100;

/// One message in the outbox, and one line of the outbox file:
/// `{"email": …, "url": …, "token": …, "sentAt": …, "subject": …}`. `Debug` hides the
/// link and token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    /// The recipient, as typed.
    pub email: String,
    /// The sign-in link.
    pub url: String,
    /// The link's token.
    pub token: String,
    /// When the engine sent it (by the engine's clock).
    pub sent_at: Timestamp,
    /// The email's subject: `Sign in to …` for a magic link, `Confirm your email for …`
    /// for the confirmation of verified email linking.
    #[serde(default)]
    pub subject: String,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("email", &recipient_fingerprint(&self.email))
            .field("url", &"<redacted>")
            .field("token", &"<redacted>")
            .field("sent_at", &self.sent_at)
            .finish()
    }
}

/// An [`EmailSender`] for development and tests. Clones share the same messages; set it
/// up (capacity, file, logging) before cloning it.
///
/// ```
/// use passkey_magic_server::Auth;
/// use passkey_magic_server::magic_links::MagicLinkConfig;
/// use passkey_magic_server::mail::DevOutbox;
///
/// # fn main() -> Result<(), passkey_magic_server::config::ConfigError> {
/// let outbox = DevOutbox::new();
/// let auth: Auth = Auth::builder("localhost", "http://localhost:8787")?
///     .magic_links(MagicLinkConfig::new("http://localhost:8787/"))
///     .email_sender(outbox.clone())
///     .build()?;
/// // After `auth.magic_links().request("ada@example.com")`, the link is in
/// // `outbox.last_to("ada@example.com")`.
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct DevOutbox {
    messages: Arc<Mutex<VecDeque<OutboxMessage>>>,
    /// Serialises appends to the file within this process.
    file_lock: Arc<Mutex<()>>,
    capacity: usize,
    file: Option<PathBuf>,
    log_links: bool,
}

impl fmt::Debug for DevOutbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevOutbox")
            .field("capacity", &self.capacity)
            .field("file", &self.file)
            .field("log_links", &self.log_links)
            .finish_non_exhaustive()
    }
}

impl Default for DevOutbox {
    fn default() -> Self {
        DevOutbox {
            messages: Arc::new(Mutex::new(VecDeque::new())),
            file_lock: Arc::new(Mutex::new(())),
            capacity: DEFAULT_OUTBOX_CAPACITY,
            file: None,
            log_links: false,
        }
    }
}

impl DevOutbox {
    /// An empty outbox keeping the last [`DEFAULT_OUTBOX_CAPACITY`] messages, with no
    /// file, that does not log links.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the last `capacity` messages (at least one). Default:
    /// [`DEFAULT_OUTBOX_CAPACITY`].
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// Also appends every message as one JSON line to `path` (created if missing, with
    /// owner-only permissions on Unix). Default: no file. A message whose line cannot be
    /// written is not sent ([`MailError::Failed`]).
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.file = Some(path.into());
        self
    }

    /// Whether the "magic link sent" log line shows the link itself, so a developer can
    /// click it from the console. Default: `false` (the token never reaches the logs).
    /// Turn it on only in development.
    pub fn log_links(mut self, log_links: bool) -> Self {
        self.log_links = log_links;
        self
    }

    /// The file messages are appended to, if any.
    pub fn file_path(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The messages kept, oldest first.
    pub fn messages(&self) -> Vec<OutboxMessage> {
        self.lock().iter().cloned().collect()
    }

    /// The most recent message to `address` (compared case-insensitively).
    pub fn last_to(&self, address: &str) -> Option<OutboxMessage> {
        let wanted = email::canonical(address);
        self.lock()
            .iter()
            .rev()
            .find(|message| email::canonical(&message.email) == wanted)
            .cloned()
    }

    /// Forgets every message kept in memory (the file is left alone).
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<OutboxMessage>> {
        // A poisoned lock only means a panic elsewhere mid-push; the queue is still valid.
        self.messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn append_to_file(&self, path: &Path, message: &OutboxMessage) -> Result<(), MailError> {
        let mut line = serde_json::to_vec(message)
            .map_err(|error| MailError::Failed(format!("cannot encode outbox line: {error}")))?;
        line.push(b'\n');
        let target = path.to_owned();
        let lock = Arc::clone(&self.file_lock);
        let written = tokio::task::spawn_blocking(move || {
            let _guard = lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut options = std::fs::OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            // One write of the whole line: appends from other processes do not interleave.
            options.open(&target)?.write_all(&line)
        })
        .await
        .map_err(|error| MailError::Failed(format!("outbox writer stopped: {error}")))?;
        written.map_err(|error| {
            MailError::Failed(format!(
                "cannot append to the outbox file {}: {error}",
                path.display()
            ))
        })
    }
}

#[async_trait]
impl EmailSender for DevOutbox {
    async fn send_magic_link(&self, message: &MagicLinkEmail) -> Result<(), MailError> {
        let sent_at = message.expires_at().saturating_sub(message.valid_for());
        let entry = OutboxMessage {
            email: message.to().to_owned(),
            url: message.url().to_owned(),
            token: message.token().expose().to_owned(),
            sent_at,
            subject: message.subject(),
        };
        if let Some(path) = &self.file {
            self.append_to_file(path, &entry).await?;
        }
        {
            let mut messages = self.lock();
            while messages.len() >= self.capacity {
                messages.pop_front();
            }
            messages.push_back(entry);
        }
        let recipient = recipient_fingerprint(message.to());
        if self.log_links {
            tracing::info!(%recipient, link = %message.url(), "magic link sent (dev outbox)");
        } else {
            tracing::info!(%recipient, "magic link sent (dev outbox)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::BearerToken;
    use std::time::Duration;

    fn message(to: &str, token: &str) -> MagicLinkEmail {
        MagicLinkEmail::new(
            to,
            format!("http://localhost:8787/?token={token}"),
            BearerToken::new(token),
            "Demo",
            Timestamp::from_unix_millis(1_000_000 + 900_000),
            Duration::from_secs(900),
        )
    }

    #[tokio::test]
    async fn keeps_the_most_recent_messages() {
        let outbox = DevOutbox::new().capacity(3);
        for n in 0..5 {
            outbox
                .send_magic_link(&message(&format!("user{n}@example.com"), &format!("t{n}")))
                .await
                .unwrap();
        }
        let kept: Vec<String> = outbox.messages().into_iter().map(|m| m.token).collect();
        assert_eq!(kept, ["t2", "t3", "t4"]);
        let last = outbox.last_to("USER4@example.com").unwrap();
        assert_eq!(last.url, "http://localhost:8787/?token=t4");
        assert_eq!(last.sent_at, Timestamp::from_unix_millis(1_000_000));
        assert!(outbox.last_to("user0@example.com").is_none());
        outbox.clear();
        assert!(outbox.messages().is_empty());
    }

    #[tokio::test]
    async fn appends_one_json_line_per_message() {
        let path = std::env::temp_dir().join(format!("pm-outbox-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let outbox = DevOutbox::new().file(&path);
        let clone = outbox.clone();
        outbox
            .send_magic_link(&message("ada@example.com", "a1"))
            .await
            .unwrap();
        clone
            .send_magic_link(&message("bob@example.com", "b2"))
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            serde_json::json!({
                "email": "ada@example.com",
                "url": "http://localhost:8787/?token=a1",
                "token": "a1",
                "sentAt": "1970-01-01T00:16:40.000Z",
                "subject": "Sign in to Demo",
            })
        );
        assert_eq!(lines[1]["token"], "b2");
        assert_eq!(outbox.messages().len(), 2, "clones share the messages");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the file holds live links: owner only");
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[tokio::test]
    async fn an_unwritable_file_fails_the_send() {
        let outbox = DevOutbox::new().file("/nonexistent-dir/outbox.jsonl");
        let result = outbox
            .send_magic_link(&message("ada@example.com", "a1"))
            .await;
        assert!(matches!(result, Err(MailError::Failed(_))), "{result:?}");
        assert!(outbox.messages().is_empty());
    }

    #[test]
    fn debug_hides_links_and_tokens() {
        let entry = OutboxMessage {
            email: "ada@example.com".into(),
            url: "http://x/?token=s3cret".into(),
            token: "s3cret".into(),
            sent_at: Timestamp::from_unix_millis(0),
            subject: "Sign in to Example".into(),
        };
        let debug = format!("{entry:?}");
        assert!(
            !debug.contains("s3cret") && !debug.contains("ada"),
            "{debug}"
        );
    }
}
