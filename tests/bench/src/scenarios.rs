//! What the benchmark measures: one [`Worker`] per route or flow, and the QR-at-scale
//! run (thousands of desktops long-polling while phones complete their logins).

use crate::authenticator::SoftBrowser;
use crate::http::Connection;
use crate::load::{Worker, histogram};
use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The origin the software browser claims (the server allows `http://localhost:<port>`
/// by default; the bench config names this one explicitly).
pub(crate) const ORIGIN: &str = "http://localhost:8787";
/// The API prefix.
pub(crate) const PREFIX: &str = "/auth";

/// Signs up a passkey-only user with `browser`: its session token.
pub(crate) async fn sign_up(
    connection: &mut Connection,
    browser: &mut SoftBrowser,
) -> anyhow::Result<String> {
    let reply = connection
        .post("/passkey/register/options", None, &json!({}))
        .await?
        .json()?;
    let response = browser.register(&reply["options"]).await?;
    let body = connection
        .post(
            "/passkey/register/verify",
            None,
            &json!({ "userId": reply["userId"], "response": response }),
        )
        .await?
        .json()?;
    token_of(&body)
}

fn token_of(body: &Value) -> anyhow::Result<String> {
    body["session"]["token"]
        .as_str()
        .map(str::to_owned)
        .context("no session token in the reply")
}

/// Signs in with the passkey `browser` holds (discoverable: no user named).
async fn sign_in(connection: &mut Connection, browser: &mut SoftBrowser) -> anyhow::Result<Value> {
    let reply = connection
        .post("/passkey/authenticate/options", None, &json!({}))
        .await?
        .json()?;
    browser.authenticate(&reply["options"]).await
}

/// `GET /session` with a valid bearer token.
pub(crate) struct GetSession {
    connection: Connection,
    token: String,
}

impl GetSession {
    /// A worker with a fresh user of its own.
    pub(crate) async fn new(address: SocketAddr) -> anyhow::Result<Self> {
        let mut connection = Connection::open(address, PREFIX).await?;
        let mut browser = SoftBrowser::at(ORIGIN)?;
        let token = sign_up(&mut connection, &mut browser).await?;
        Ok(GetSession { connection, token })
    }
}

impl Worker for GetSession {
    async fn step(&mut self) -> anyhow::Result<()> {
        self.connection
            .get("/session", Some(&self.token))
            .await?
            .ok()
    }
}

/// `POST /passkey/authenticate/options {}` (one challenge stored per request).
pub(crate) struct AuthenticateOptions {
    connection: Connection,
}

impl AuthenticateOptions {
    /// A worker on its own connection.
    pub(crate) async fn new(address: SocketAddr) -> anyhow::Result<Self> {
        Ok(AuthenticateOptions {
            connection: Connection::open(address, PREFIX).await?,
        })
    }
}

impl Worker for AuthenticateOptions {
    async fn step(&mut self) -> anyhow::Result<()> {
        self.connection
            .post("/passkey/authenticate/options", None, &json!({}))
            .await?
            .ok()
    }
}

/// A new QR login: its status path (`/qr/{id}/status?token=…`) and id.
async fn create_qr(connection: &mut Connection) -> anyhow::Result<(String, String)> {
    let created = connection
        .post("/qr/create", None, &json!({}))
        .await?
        .json()?;
    let id = created["sessionId"].as_str().context("no sessionId")?;
    let token = created["statusToken"].as_str().context("no statusToken")?;
    Ok((format!("/qr/{id}/status?token={token}"), id.to_owned()))
}

/// `GET /qr/{id}/status?token=…` of a login nobody scans (a desktop polling).
pub(crate) struct QrStatus {
    connection: Connection,
    path: String,
}

impl QrStatus {
    /// A worker with a QR login of its own.
    pub(crate) async fn new(address: SocketAddr) -> anyhow::Result<Self> {
        let mut connection = Connection::open(address, PREFIX).await?;
        let (path, _) = create_qr(&mut connection).await?;
        Ok(QrStatus { connection, path })
    }
}

impl Worker for QrStatus {
    async fn step(&mut self) -> anyhow::Result<()> {
        self.connection.get(&self.path, None).await?.ok()
    }
}

/// A complete passkey sign-in: options → authenticator → verify.
pub(crate) struct SignIn {
    connection: Connection,
    browser: SoftBrowser,
}

impl SignIn {
    /// A worker with a credential of its own.
    pub(crate) async fn new(address: SocketAddr) -> anyhow::Result<Self> {
        let mut connection = Connection::open(address, PREFIX).await?;
        let mut browser = SoftBrowser::at(ORIGIN)?;
        sign_up(&mut connection, &mut browser).await?;
        Ok(SignIn {
            connection,
            browser,
        })
    }
}

impl Worker for SignIn {
    async fn step(&mut self) -> anyhow::Result<()> {
        let response = sign_in(&mut self.connection, &mut self.browser).await?;
        self.connection
            .post(
                "/passkey/authenticate/verify",
                None,
                &json!({ "response": response }),
            )
            .await?
            .ok()
    }
}

/// A complete passkey sign-up: options → authenticator → verify (a new user each time).
pub(crate) struct SignUp {
    connection: Connection,
    browser: SoftBrowser,
}

impl SignUp {
    /// A worker on its own connection.
    pub(crate) async fn new(address: SocketAddr) -> anyhow::Result<Self> {
        Ok(SignUp {
            connection: Connection::open(address, PREFIX).await?,
            browser: SoftBrowser::at(ORIGIN)?,
        })
    }
}

impl Worker for SignUp {
    async fn step(&mut self) -> anyhow::Result<()> {
        sign_up(&mut self.connection, &mut self.browser)
            .await
            .map(drop)
    }
}

/// A magic link: request → read it from the dev outbox → verify.
pub(crate) struct MagicLink {
    connection: Connection,
    email: String,
}

impl MagicLink {
    /// Worker `index`, with an address of its own.
    pub(crate) async fn new(address: SocketAddr, index: usize) -> anyhow::Result<Self> {
        Ok(MagicLink {
            connection: Connection::open(address, PREFIX).await?,
            email: format!("bench-{index}@example.com"),
        })
    }
}

impl Worker for MagicLink {
    async fn step(&mut self) -> anyhow::Result<()> {
        self.connection
            .post("/magic-link/send", None, &json!({ "email": self.email }))
            .await?
            .ok()?;
        let outbox = self.connection.get("/dev/outbox", None).await?.json()?;
        // Newest first: the first message to this address is the one just sent.
        let token = outbox["messages"]
            .as_array()
            .and_then(|messages| {
                messages
                    .iter()
                    .find(|message| message["email"] == self.email.as_str())
            })
            .and_then(|message| message["token"].as_str())
            .context("the link is not in the dev outbox")?
            .to_owned();
        self.connection
            .post("/magic-link/verify", None, &json!({ "token": token }))
            .await?
            .ok()
    }
}

/// What the QR-at-scale run measured.
pub(crate) struct QrScale {
    /// Desktops that were waiting.
    pub(crate) desktops: usize,
    /// Desktops that received their session.
    pub(crate) completed: usize,
    /// Server RSS before the desktops connected, in bytes.
    pub(crate) rss_idle: u64,
    /// Server RSS with every desktop waiting, in bytes.
    pub(crate) rss_waiting: u64,
    /// Server CPU seconds per second while every desktop waits.
    pub(crate) cpu_waiting: f64,
    /// The paced half: the logins the phones completed at a set rate.
    pub(crate) paced: QrPhase,
    /// The other half: the logins the phones completed as fast as they could.
    pub(crate) flat_out: QrPhase,
}

/// One half of the QR-at-scale logins.
pub(crate) struct QrPhase {
    /// Logins completed per second while the phones ran.
    pub(crate) logins_per_second: f64,
    /// From the phone sending `complete` to its desktop's status reply, in µs.
    pub(crate) delay: Histogram<u64>,
}

/// Reads the server's RSS and CPU seconds.
pub(crate) trait Probe {
    /// Resident memory in bytes.
    fn rss(&self) -> anyhow::Result<u64>;
    /// CPU seconds so far.
    fn cpu(&self) -> anyhow::Result<f64>;
}

/// `desktops` desktops long-poll their QR status (`?wait=30`) on `address` while
/// `phones` phones complete the logins with their passkeys on `phones_at` (the same
/// server, or another instance sharing its store); measures the delay to each desktop.
///
/// The phones complete the first half of the logins at `paced_rate` logins a second in
/// all (open loop: each login has its set start time and runs late only while its phone is
/// still busy with the one before), then the second half as fast as they can. The first
/// shows the wake-up path on a server with room to spare, the second the queue of a
/// saturated machine.
pub(crate) async fn qr_scale(
    address: SocketAddr,
    phones_at: SocketAddr,
    desktops: usize,
    phones: usize,
    paced_rate: f64,
    probe: &dyn Probe,
) -> anyhow::Result<QrScale> {
    let rss_idle = probe.rss()?;
    // Create the logins over a few connections.
    let creators = phones.clamp(1, desktops.max(1));
    let mut logins = Vec::with_capacity(desktops);
    let mut tasks = Vec::new();
    for worker in 0..creators {
        let count = desktops / creators + usize::from(worker < desktops % creators);
        tasks.push(tokio::spawn(async move {
            let mut connection = Connection::open(address, PREFIX).await?;
            let mut created = Vec::with_capacity(count);
            for _ in 0..count {
                created.push(create_qr(&mut connection).await?);
            }
            anyhow::Ok(created)
        }));
    }
    for task in tasks {
        logins.extend(task.await??);
    }

    // Every desktop on its own connection, long-polling until it is signed in.
    let (done_sender, mut done) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let connecting = Arc::new(Semaphore::new(256));
    let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut waiting = Vec::with_capacity(desktops);
    for (index, (path, _)) in logins.iter().enumerate() {
        let path = format!("{path}&wait=30");
        let done_sender = done_sender.clone();
        let connecting = Arc::clone(&connecting);
        let connected = Arc::clone(&connected);
        waiting.push(tokio::spawn(async move {
            let mut connection = {
                let _permit = connecting.acquire().await?;
                Connection::open(address, PREFIX).await?
            };
            connected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            loop {
                let status = connection.get(&path, None).await?.json()?;
                match status["state"].as_str() {
                    Some("authenticated") => {
                        let _ = done_sender.send((index, Instant::now()));
                        return anyhow::Ok(());
                    }
                    Some("expired" | "cancelled") | None => {
                        anyhow::bail!("QR login ended as {}", status["state"])
                    }
                    Some(_) => {}
                }
            }
        }));
    }
    drop(done_sender);
    // Every desktop connected before any phone starts: a connection still being set up
    // (a SYN retried after a full accept queue) would count its set-up as wake-up delay.
    let connect_deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while connected.load(std::sync::atomic::Ordering::Relaxed) < desktops {
        anyhow::ensure!(
            tokio::time::Instant::now() < connect_deadline,
            "only {} of {desktops} desktops connected",
            connected.load(std::sync::atomic::Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let every desktop settle into its long-poll, then watch the server.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_waiting = probe.rss()?;
    let cpu_before = probe.cpu()?;
    let window = Duration::from_secs(5);
    tokio::time::sleep(window).await;
    let cpu_waiting = (probe.cpu()? - cpu_before) / window.as_secs_f64();

    // Phones complete the logins, each with its own passkey: the first half paced, then
    // (once every phone is done with its paced share) the second half flat out.
    let ids: Arc<Vec<String>> = Arc::new(logins.into_iter().map(|(_, id)| id).collect());
    let paced_count = ids.len() / 2;
    let signed_up = Arc::new(tokio::sync::Barrier::new(creators));
    let paced_done = Arc::new(tokio::sync::Barrier::new(creators));
    let paced_start = Arc::new(std::sync::OnceLock::<Instant>::new());
    let flat_out_start = Arc::new(std::sync::OnceLock::<Instant>::new());
    // A JoinSet: a phone that fails ends the run at once; the others, which would wait
    // for it at a barrier forever, are aborted when the set is dropped.
    let mut phone_tasks = tokio::task::JoinSet::new();
    for phone in 0..creators {
        let ids = Arc::clone(&ids);
        let (signed_up, paced_done) = (Arc::clone(&signed_up), Arc::clone(&paced_done));
        let (paced_start, flat_out_start) = (Arc::clone(&paced_start), Arc::clone(&flat_out_start));
        phone_tasks.spawn(async move {
            let mut connection = Connection::open(phones_at, PREFIX).await?;
            let mut browser = SoftBrowser::at(ORIGIN)?;
            sign_up(&mut connection, &mut browser).await?;
            signed_up.wait().await;
            let start = *paced_start.get_or_init(Instant::now);
            let mut sent = Vec::new();
            for index in (phone..paced_count).step_by(creators) {
                let due = start + Duration::from_secs_f64(index as f64 / paced_rate);
                tokio::time::sleep_until(due.into()).await;
                let began = complete_qr_login(&mut connection, &mut browser, &ids[index]).await?;
                sent.push((index, began));
            }
            let paced_finished = Instant::now();
            paced_done.wait().await;
            flat_out_start.get_or_init(Instant::now);
            for index in (paced_count + phone..ids.len()).step_by(creators) {
                let began = complete_qr_login(&mut connection, &mut browser, &ids[index]).await?;
                sent.push((index, began));
            }
            anyhow::Ok((sent, paced_finished, Instant::now()))
        });
    }
    let mut began_at = vec![None; ids.len()];
    let (mut paced_end, mut flat_out_end) = (None::<Instant>, None::<Instant>);
    while let Some(phone) = phone_tasks.join_next().await {
        let (sent, paced_finished, finished) = phone??;
        for (index, began) in sent {
            began_at[index] = Some(began);
        }
        paced_end = paced_end.max(Some(paced_finished));
        flat_out_end = flat_out_end.max(Some(finished));
    }
    let rate = |count: usize, start: Option<&Instant>, end: Option<Instant>| match (start, end) {
        (Some(start), Some(end)) => count as f64 / end.duration_since(*start).as_secs_f64(),
        _ => 0.0,
    };
    let mut paced = QrPhase {
        logins_per_second: rate(paced_count, paced_start.get(), paced_end),
        delay: histogram(),
    };
    let mut flat_out = QrPhase {
        logins_per_second: rate(ids.len() - paced_count, flat_out_start.get(), flat_out_end),
        delay: histogram(),
    };
    let mut completed = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while completed < ids.len() {
        match tokio::time::timeout_at(deadline, done.recv()).await {
            Ok(Some((index, answered))) => {
                completed += 1;
                if let Some(began) = began_at[index] {
                    let micros = answered.saturating_duration_since(began).as_micros();
                    let phase = if index < paced_count {
                        &mut paced
                    } else {
                        &mut flat_out
                    };
                    phase.delay.saturating_record((micros as u64).max(1));
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    for task in waiting {
        task.abort();
    }
    Ok(QrScale {
        desktops,
        completed,
        rss_idle,
        rss_waiting,
        cpu_waiting,
        paced,
        flat_out,
    })
}

/// A phone scans the QR login `id`, signs in with its passkey and completes the login:
/// when it sent `complete`.
async fn complete_qr_login(
    connection: &mut Connection,
    browser: &mut SoftBrowser,
    id: &str,
) -> anyhow::Result<Instant> {
    connection
        .post(&format!("/qr/{id}/scanned"), None, &json!({}))
        .await?
        .ok()?;
    let response = sign_in(connection, browser).await?;
    let began = Instant::now();
    connection
        .post(
            &format!("/qr/{id}/complete"),
            None,
            &json!({ "response": response }),
        )
        .await?
        .ok()?;
    Ok(began)
}
