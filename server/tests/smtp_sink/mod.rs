//! A real, tiny SMTP server for tests: it listens on a loopback port, speaks enough SMTP
//! for lettre (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no AUTH), and
//! records every message it accepts. It can also refuse every recipient (`550`), or
//! accept connections and never answer (to test timeouts).
//!
//! [`ReceivedMail`] reads what arrived: headers, and the MIME parts decoded from
//! quoted-printable or base64.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the sink answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    /// Accept every message.
    Accept,
    /// Refuse every recipient with `550`.
    RejectRecipients,
    /// Accept connections and never say a word.
    Silent,
}

/// One accepted message.
#[derive(Debug, Clone)]
pub(crate) struct ReceivedMail {
    /// `MAIL FROM` address.
    pub(crate) from: String,
    /// `RCPT TO` addresses.
    pub(crate) to: Vec<String>,
    /// The message as sent after `DATA` (dot-unstuffed, CRLF line ends).
    pub(crate) data: String,
}

/// A running sink; it stops when dropped.
pub(crate) struct SmtpSink {
    address: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
    task: JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// A sink that accepts everything.
    pub(crate) async fn start() -> Self {
        Self::start_with(Behaviour::Accept).await
    }

    /// A sink that behaves as told.
    pub(crate) async fn start_with(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    if behaviour == Behaviour::Silent {
                        // Hold the connection open, say nothing.
                        let _open = stream;
                        std::future::pending::<()>().await;
                    } else {
                        let _ = session(stream, behaviour, store).await;
                    }
                });
            }
        });
        SmtpSink {
            address,
            received,
            task,
        }
    }

    /// The port it listens on (127.0.0.1).
    pub(crate) fn port(&self) -> u16 {
        self.address.port()
    }

    /// Every message accepted so far.
    pub(crate) fn messages(&self) -> Vec<ReceivedMail> {
        self.received.lock().unwrap().clone()
    }

    /// The only message accepted so far.
    #[track_caller]
    pub(crate) fn single_message(&self) -> ReceivedMail {
        let messages = self.messages();
        assert_eq!(messages.len(), 1, "expected one message: {messages:#?}");
        messages.into_iter().next().unwrap()
    }
}

/// One SMTP conversation.
async fn session(
    stream: TcpStream,
    behaviour: Behaviour,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write
        .write_all(b"220 sink.test ESMTP test sink\r\n")
        .await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10000000\r\n",
            "HELO" => b"250 sink.test\r\n",
            "MAIL" => {
                from = angle_address(command);
                to.clear();
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" => {
                if behaviour == Behaviour::RejectRecipients {
                    let refusal =
                        format!("550 5.1.1 <{}>: no such user\r\n", angle_address(command));
                    write.write_all(refusal.as_bytes()).await?;
                    continue;
                }
                to.push(angle_address(command));
                b"250 2.1.5 OK\r\n"
            }
            "DATA" => {
                write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').filter(|rest| rest.starts_with('.'));
                    data.push_str(unstuffed.unwrap_or(&line));
                }
                store.lock().unwrap().push(ReceivedMail {
                    from: from.clone(),
                    to: std::mem::take(&mut to),
                    data,
                });
                b"250 2.0.0 OK queued\r\n"
            }
            "RSET" => {
                to.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 Command not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The address between `<` and `>` of `MAIL FROM:<…>` / `RCPT TO:<…>`.
fn angle_address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_owned())
        .unwrap_or_default()
}

/// One decoded MIME part.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// `text/plain`, `text/html`, ... (without parameters, lower case).
    pub(crate) content_type: String,
    /// The decoded body.
    pub(crate) body: String,
}

impl ReceivedMail {
    /// A header's value (first occurrence, unfolded), by case-insensitive name.
    pub(crate) fn header(&self, name: &str) -> Option<String> {
        header_of(split_head(&self.data).0, name)
    }

    /// The leaf parts of the message, decoded.
    pub(crate) fn parts(&self) -> Vec<Part> {
        let mut parts = Vec::new();
        collect_parts(&self.data, &mut parts);
        parts
    }

    /// The decoded body of the part with this content type.
    #[track_caller]
    pub(crate) fn part(&self, content_type: &str) -> String {
        self.parts()
            .into_iter()
            .find(|part| part.content_type == content_type)
            .unwrap_or_else(|| panic!("no {content_type} part in {:#?}", self.data))
            .body
    }

    /// The sign-in link: the line of the plain-text part that holds `token=`.
    #[track_caller]
    pub(crate) fn link(&self) -> String {
        let text = self.part("text/plain");
        text.lines()
            .map(str::trim)
            .find(|line| line.starts_with("http") && line.contains("token="))
            .unwrap_or_else(|| panic!("no link in {text:?}"))
            .to_owned()
    }
}

/// Headers and body of an entity.
fn split_head(entity: &str) -> (&str, &str) {
    entity
        .split_once("\r\n\r\n")
        .or_else(|| entity.split_once("\n\n"))
        .unwrap_or((entity, ""))
}

fn header_of(head: &str, name: &str) -> Option<String> {
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn collect_parts(entity: &str, parts: &mut Vec<Part>) {
    let (head, body) = split_head(entity);
    let content_type = header_of(head, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if mime.starts_with("multipart/") {
        let boundary = content_type
            .split(';')
            .filter_map(|param| param.trim().strip_prefix("boundary="))
            .next()
            .map(|b| b.trim_matches('"').to_owned())
            .unwrap_or_else(|| panic!("multipart without boundary: {content_type}"));
        let delimiter = format!("--{boundary}");
        for chunk in body.split(&delimiter).skip(1) {
            if chunk.starts_with("--") {
                break;
            }
            let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
            collect_parts(chunk, parts);
        }
        return;
    }
    let encoding = header_of(head, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = match encoding.as_str() {
        "quoted-printable" => decode_quoted_printable(body),
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8(STANDARD.decode(compact).unwrap()).unwrap()
        }
        _ => body.to_owned(),
    };
    parts.push(Part {
        content_type: mime,
        body,
    });
}

fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'=' && index + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).unwrap()
}
