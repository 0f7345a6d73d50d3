//! # passkey-magic-bench
//!
//! Starts the real `passkey-magic` binary (release build) once per store and drives it
//! over loopback HTTP with keep-alive connections, in a closed loop: every worker sends
//! its next request as soon as the last one is answered. Prints a Markdown table of
//! operations per second, p50/p99/max latency and the CPU-seconds per 1 000 operations of
//! the server, the load generator and the database server, and writes it with the
//! machine and the command to `docs/BENCHMARKS.md`.
//!
//! ```sh
//! cargo run --release -p passkey-magic-bench -- --stores memory,sqlite,postgres,redis
//! ```
//!
//! The load generator (and PostgreSQL or Redis) runs on the same machine as the server
//! and competes with it for the cores: the server column is the server's own cost,
//! whatever the others leave it, and the generator, database and idle columns show what
//! the others took.

mod authenticator;
mod ceiling;
mod cpu;
mod http;
mod load;
mod scenarios;
mod server;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use cpu::{CpuSample, CpuUse};
use load::{Measured, Worker};
use passkey_magic_shared::RateLimitRule;
use scenarios::{Probe, QrPhase, QrScale};
use server::{Launch, ServerProcess};
use std::fmt::Write as _;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// Load benchmarks of the passkey-magic server.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Stores to run against, each with a fresh server.
    #[arg(long, value_delimiter = ',', default_value = "memory,sqlite")]
    stores: Vec<StoreKind>,
    /// What to measure.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "session,session-flat,authenticate-options,qr-status,sign-in,sign-up,magic-link,qr-scale,qr-scale-two"
    )]
    scenarios: Vec<Scenario>,
    /// Concurrent keep-alive connections (closed-loop workers).
    #[arg(long, default_value_t = 50)]
    connections: usize,
    /// Measured seconds per scenario.
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Unmeasured warm-up seconds before each scenario.
    #[arg(long, default_value_t = 1)]
    warmup_seconds: u64,
    /// Desktops long-polling in the QR-at-scale run.
    #[arg(long, default_value_t = 10_000)]
    qr_desktops: usize,
    /// Phones completing the QR logins [default: --connections]. In the flat-out half each
    /// phone starts its next login as soon as the last is done, so fewer phones complete
    /// fewer logins a second and queue less.
    #[arg(long)]
    qr_phones: Option<usize>,
    /// QR logins a second, all phones together, in the paced half of the QR-at-scale run
    /// (the other half runs flat out).
    #[arg(long, default_value_t = 500.0, value_parser = positive_rate)]
    qr_rate: f64,
    /// The server binary [default: build `target/release/passkey-magic` with every store].
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// PostgreSQL for `--stores postgres` (a schema of its own is created per run).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres_url: String,
    /// PostgreSQL statement connections per instance (the server's
    /// `--database-max-connections`) [default: the server's, 4 per core].
    #[arg(long)]
    postgres_connections: Option<u16>,
    /// Redis for `--stores redis` (a key prefix of its own per run).
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Where the report goes (`-`: standard output only).
    #[arg(long, default_value = "docs/BENCHMARKS.md")]
    output: String,
}

/// Parses a rate: a positive, finite number.
fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a positive number of logins a second"
        )),
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum StoreKind {
    Memory,
    Sqlite,
    Postgres,
    Redis,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// `GET /session` with a valid token.
    Session,
    /// `GET /session` with 10³, 10⁵ and 10⁶ sessions stored (SQLite and PostgreSQL,
    /// seeded by bulk inserts).
    SessionFlat,
    /// `POST /passkey/authenticate/options` (stores a challenge).
    AuthenticateOptions,
    /// `GET /qr/{id}/status?token=…`, answered at once.
    QrStatus,
    /// options → software authenticator → verify.
    SignIn,
    /// register options → software authenticator → verify.
    SignUp,
    /// send → dev outbox → verify.
    MagicLink,
    /// Many desktops long-polling while phones complete their QR logins.
    QrScale,
    /// The same across two instances sharing the store (PostgreSQL and Redis): desktops
    /// wait on one, phones complete on the other.
    QrScaleTwo,
}

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Scenario::Session => "GET /session",
            Scenario::AuthenticateOptions => "POST /passkey/authenticate/options",
            Scenario::QrStatus => "GET /qr/{id}/status",
            Scenario::SignIn => "passkey sign-in: options → authenticator → verify",
            Scenario::SignUp => "passkey sign-up: options → authenticator → verify",
            Scenario::MagicLink => "magic link send → outbox → verify",
            Scenario::SessionFlat => "GET /session with N sessions stored",
            Scenario::QrScale => "QR long-poll at scale",
            Scenario::QrScaleTwo => "QR long-poll at scale, two instances",
        }
    }
}

struct Row {
    store: StoreKind,
    scenario: Scenario,
    /// What the label leaves out (how many sessions were stored).
    detail: Option<String>,
    measured: Measured,
    cpu: CpuUse,
}

struct QrRow {
    store: StoreKind,
    instances: usize,
    scale: QrScale,
}

impl Probe for ServerProcess {
    fn rss(&self) -> anyhow::Result<u64> {
        self.rss_bytes()
    }
    fn cpu(&self) -> anyhow::Result<f64> {
        self.cpu_seconds()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let load_before = load_average();
    raise_file_limit();
    // Before any server starts, while the cores are otherwise idle.
    let verify_micros = ceiling::es256_verify_micros(VERIFY_ROUNDS)?;
    eprintln!("ES256 verify: {verify_micros:.0} µs of CPU");
    let binary = server::server_binary(args.server_bin.clone())?;
    let scratch = std::env::temp_dir().join(format!("passkey-magic-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let config = scratch.join("bench.toml");
    std::fs::write(&config, bench_config())?;

    let mut rows = Vec::new();
    let mut qr_rows = Vec::new();
    for (run, &store) in args.stores.iter().enumerate() {
        let (database_url, schema) = store_location(store, &args, &scratch, &run.to_string());
        let server = ServerProcess::start(&Launch {
            binary: &binary,
            database_url: &database_url,
            database_schema: schema.as_deref(),
            database_max_connections: max_connections(store, &args),
            config: &config,
        })
        .await
        .with_context(|| format!("starting the server on {store:?}"))?;
        eprintln!("{store:?}: server on {}", server.address);
        for &scenario in &args.scenarios {
            eprint!("  {} … ", scenario.label());
            if scenario == Scenario::QrScale || scenario == Scenario::QrScaleTwo {
                let two = scenario == Scenario::QrScaleTwo;
                if two && !matches!(store, StoreKind::Postgres | StoreKind::Redis) {
                    eprintln!("skipped (needs a store shared by instances)");
                    continue;
                }
                // Fresh instances on a fresh store: the RSS read is the desktops', not
                // what earlier scenarios left in the allocator.
                let (qr_url, qr_schema) =
                    store_location(store, &args, &scratch, &format!("{run}-{scenario:?}"));
                let launch = Launch {
                    binary: &binary,
                    database_url: &qr_url,
                    database_schema: qr_schema.as_deref(),
                    database_max_connections: max_connections(store, &args),
                    config: &config,
                };
                let desktops_at = ServerProcess::start(&launch)
                    .await
                    .context("starting the desktops' instance")?;
                let second = if two {
                    Some(
                        ServerProcess::start(&launch)
                            .await
                            .context("starting the second instance")?,
                    )
                } else {
                    None
                };
                // Desktops wait on the first instance, phones complete on the second.
                let phones_at = second.as_ref().map_or(desktops_at.address, |s| s.address);
                let scale = scenarios::qr_scale(
                    desktops_at.address,
                    phones_at,
                    args.qr_desktops,
                    args.qr_phones.unwrap_or(args.connections),
                    args.qr_rate,
                    &desktops_at,
                )
                .await?;
                eprintln!(
                    "{} of {} desktops signed in",
                    scale.completed, scale.desktops
                );
                qr_rows.push(QrRow {
                    store,
                    instances: if two { 2 } else { 1 },
                    scale,
                });
                if let Some(second) = second {
                    second.stop().await;
                }
                desktops_at.stop().await;
                if let Some(schema) = &qr_schema {
                    drop_scratch_data(store, &qr_url, schema);
                }
                continue;
            }
            if scenario == Scenario::SessionFlat {
                let Some(seeder) = Seeder::for_store(store, &database_url, schema.as_deref())
                else {
                    eprintln!("skipped (SQLite and PostgreSQL only)");
                    continue;
                };
                for (round, target) in [1_000u64, 100_000, 1_000_000].into_iter().enumerate() {
                    let stored = seeder.fill_to(round, target)?;
                    // Fresh connections after each seeding: a long one outlasts the
                    // server's idle timeout, which closes the previous round's.
                    let workers = workers(args.connections, |_| {
                        scenarios::GetSession::new(server.address)
                    })
                    .await?;
                    let (measured, cpu, _) = timed_again(&server, &args, workers).await?;
                    eprint!("{stored} stored: {:.0} ops/s; ", measured.rate());
                    rows.push(Row {
                        store,
                        scenario,
                        detail: Some(format!("{stored} sessions stored")),
                        measured,
                        cpu,
                    });
                }
                eprintln!();
                continue;
            }
            let (measured, cpu) = measure(&server, scenario, &args).await?;
            eprintln!("{:.0} ops/s", measured.rate());
            if let Some(error) = &measured.first_error {
                eprintln!("    first error: {error}");
            }
            rows.push(Row {
                store,
                scenario,
                detail: None,
                measured,
                cpu,
            });
        }
        server.stop().await;
        if let Some(schema) = &schema {
            drop_scratch_data(store, &database_url, schema);
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);

    let load = format!("{load_before} before the run, {} after", load_average());
    let report = report(&args, &load, verify_micros, &rows, &qr_rows);
    println!("{report}");
    if args.output != "-" {
        std::fs::write(&args.output, &report)
            .with_context(|| format!("writing {}", args.output))?;
        eprintln!("wrote {}", args.output);
    }
    Ok(())
}

/// Where a run keeps its data: `memory:`, a SQLite file in `scratch`, or a PostgreSQL
/// schema / Redis key prefix of its own (`tag` tells runs apart).
fn store_location(
    store: StoreKind,
    args: &Args,
    scratch: &std::path::Path,
    tag: &str,
) -> (String, Option<String>) {
    let tag = tag.to_lowercase();
    match store {
        StoreKind::Memory => ("memory:".to_owned(), None),
        StoreKind::Sqlite => (
            format!(
                "sqlite://{}",
                scratch.join(format!("bench-{tag}.db")).display()
            ),
            None,
        ),
        StoreKind::Postgres => (
            args.postgres_url.clone(),
            Some(format!("bench_{}_{tag}", std::process::id()).replace('-', "_")),
        ),
        StoreKind::Redis => (
            args.redis_url.clone(),
            Some(format!("pm-bench-{}-{tag}", std::process::id())),
        ),
    }
}

/// `--database-max-connections` for `store`: PostgreSQL's only.
fn max_connections(store: StoreKind, args: &Args) -> Option<u16> {
    args.postgres_connections
        .filter(|_| store == StoreKind::Postgres)
}

/// Rate limits off (a benchmark is one client sending far more than any budget), the
/// software browser's origin allowed, and the connection caps raised: every load comes
/// from 127.0.0.1, and the QR scenario alone holds 10 000 connections.
fn bench_config() -> String {
    let mut config = format!(
        "rp_id = \"localhost\"\norigins = [\"{}\"]\n\n\
         [server]\nmax_connections = 100000\nmax_connections_per_address = 0\n\n\
         [rate_limit.rules]\n",
        scenarios::ORIGIN
    );
    for rule in RateLimitRule::ALL {
        let _ = writeln!(config, "\"{}\" = false", rule.name());
    }
    config
}

/// Builds the workers of `scenario`, warms up, then measures.
async fn measure(
    server: &ServerProcess,
    scenario: Scenario,
    args: &Args,
) -> anyhow::Result<(Measured, CpuUse)> {
    let address = server.address;
    let n = args.connections;
    match scenario {
        Scenario::Session => {
            timed(
                server,
                args,
                workers(n, |_| scenarios::GetSession::new(address)).await?,
            )
            .await
        }
        Scenario::AuthenticateOptions => {
            timed(
                server,
                args,
                workers(n, |_| scenarios::AuthenticateOptions::new(address)).await?,
            )
            .await
        }
        Scenario::QrStatus => {
            timed(
                server,
                args,
                workers(n, |_| scenarios::QrStatus::new(address)).await?,
            )
            .await
        }
        Scenario::SignIn => {
            timed(
                server,
                args,
                workers(n, |_| scenarios::SignIn::new(address)).await?,
            )
            .await
        }
        Scenario::SignUp => {
            timed(
                server,
                args,
                workers(n, |_| scenarios::SignUp::new(address)).await?,
            )
            .await
        }
        Scenario::MagicLink => {
            timed(
                server,
                args,
                workers(n, |index| scenarios::MagicLink::new(address, index)).await?,
            )
            .await
        }
        Scenario::QrScale | Scenario::QrScaleTwo | Scenario::SessionFlat => {
            unreachable!("measured in main")
        }
    }
}

/// `count` workers, set up one after another (set-up is not measured).
async fn workers<W, F, Fut>(count: usize, make: F) -> anyhow::Result<Vec<W>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<W>>,
{
    let mut workers = Vec::with_capacity(count);
    for index in 0..count {
        workers.push(make(index).await?);
    }
    Ok(workers)
}

/// Warm-up, then the measured window with the CPU spent around it.
async fn timed<W: Worker>(
    server: &ServerProcess,
    args: &Args,
    workers: Vec<W>,
) -> anyhow::Result<(Measured, CpuUse)> {
    let (measured, cpu, _) = timed_again(server, args, workers).await?;
    Ok((measured, cpu))
}

/// Like [`timed`], handing the workers back for the next round.
async fn timed_again<W: Worker>(
    server: &ServerProcess,
    args: &Args,
    workers: Vec<W>,
) -> anyhow::Result<(Measured, CpuUse, Vec<W>)> {
    let (_, workers) = load::run(workers, Duration::from_secs(args.warmup_seconds)).await;
    let before = CpuSample::take(server)?;
    let (measured, workers) = load::run(workers, Duration::from_secs(args.seconds)).await;
    let cpu = CpuSample::take(server)?.since(&before);
    Ok((measured, cpu, workers))
}

/// Bulk-inserts sessions of one seeding user straight into the database, with the
/// database's own command-line client (`sqlite3`, `psql`): a million rows in seconds,
/// where the HTTP API would take minutes. Both then checkpoint, so the rows are in the
/// database file (not in SQLite's WAL, a hundred megabytes at 10⁶, which the server's
/// checkpoint thread would otherwise copy back during the measurement) and the
/// measurement sees the steady state.
enum Seeder {
    Sqlite(PathBuf),
    Postgres { url: String, schema: String },
}

impl Seeder {
    fn for_store(store: StoreKind, database_url: &str, schema: Option<&str>) -> Option<Self> {
        match store {
            StoreKind::Sqlite => database_url
                .strip_prefix("sqlite://")
                .map(|path| Seeder::Sqlite(PathBuf::from(path))),
            StoreKind::Postgres => Some(Seeder::Postgres {
                url: database_url.to_owned(),
                schema: schema?.to_owned(),
            }),
            StoreKind::Memory | StoreKind::Redis => None,
        }
    }

    /// Inserts sessions until `target` are stored (none if there are more); how many
    /// are stored then. `round` keeps the seeded ids of each call distinct.
    fn fill_to(&self, round: usize, target: u64) -> anyhow::Result<u64> {
        // Tokens are random 32-byte hashes, as real ones; the sessions never expire
        // during the run (year 2100).
        let output = match self {
            Seeder::Sqlite(path) => std::process::Command::new("sqlite3")
                .args(["-cmd", ".timeout 60000"])
                .arg(path)
                .arg(format!(
                    "INSERT OR IGNORE INTO users (id, user_handle, created_at) \
                     VALUES ('bench-seed', randomblob(16), 0); \
                     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                     INSERT INTO sessions (id, token_hash, user_id, auth_method, created_at, \
                     expires_at) SELECT 'seed-{round}-' || i, randomblob(32), 'bench-seed', \
                     'passkey', 0, 4102444800000 FROM n \
                     LIMIT max(0, {target} - (SELECT count(*) FROM sessions)); \
                     PRAGMA wal_checkpoint(TRUNCATE); \
                     SELECT count(*) FROM sessions;"
                ))
                .output()?,
            Seeder::Postgres { url, schema } => std::process::Command::new("psql")
                .args([url.as_str(), "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!(
                    "SET search_path TO \"{schema}\"; \
                     INSERT INTO users (id, user_handle, created_at) \
                     VALUES ('bench-seed', '\\x00', 0) ON CONFLICT DO NOTHING; \
                     INSERT INTO sessions (id, token_hash, user_id, auth_method, created_at, \
                     expires_at) SELECT 'seed-{round}-' || i, \
                     sha256(('seed-{round}-' || i)::bytea), 'bench-seed', 'passkey', 0, \
                     4102444800000 FROM generate_series(1, \
                     GREATEST(0, {target} - (SELECT count(*) FROM sessions))) AS i;"
                ))
                // Separate commands: VACUUM cannot run in the block above. The
                // checkpoint writes the new rows out now, not during the measurement.
                .args(["-c", "VACUUM ANALYZE sessions", "-c", "CHECKPOINT", "-c"])
                .arg("SELECT count(*) FROM sessions")
                .output()?,
        };
        if !output.status.success() {
            anyhow::bail!(
                "seeding sessions failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let text = String::from_utf8_lossy(&output.stdout);
        text.lines()
            .filter_map(|line| line.trim().parse().ok())
            .next_back()
            .context("no session count from the seeding client")
    }
}

/// Removes what a run left in PostgreSQL (its schema) or Redis (its keys), with the
/// databases' own command-line clients; a run without them leaves the data and says so.
fn drop_scratch_data(store: StoreKind, database_url: &str, schema: &str) {
    let status = match store {
        StoreKind::Postgres => std::process::Command::new("psql")
            .args([database_url, "-q", "-c"])
            .arg(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .status(),
        StoreKind::Redis => std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"redis-cli -u "$1" --scan --pattern "$2*" | xargs -r -n 500 redis-cli -u "$1" DEL >/dev/null"#)
            .args(["sh", database_url, schema])
            .status(),
        StoreKind::Memory | StoreKind::Sqlite => return,
    };
    if !status.is_ok_and(|status| status.success()) {
        eprintln!("could not remove the bench data {schema} from {database_url}");
    }
}

/// Lets this process, and so the server it starts, hold as many descriptors as the hard
/// limit allows (10 000 desktops need 10 000 connections on each side).
fn raise_file_limit() {
    if let Ok((_, hard)) = rlimit::Resource::NOFILE.get() {
        let _ = rlimit::Resource::NOFILE.set(hard, hard);
    }
}

fn millis(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}

/// The 1, 5 and 15 minute load averages (`uptime`): how busy the machine was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

/// Verifications timed for the sign-in ceiling (about a second of one core).
const VERIFY_ROUNDS: u32 = 4_000;

fn report(args: &Args, load: &str, verify_micros: f64, rows: &[Row], qr_rows: &[QrRow]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "Produced by `passkey-magic-bench` (`tests/bench/`): the release `passkey-magic` \
         binary, driven over loopback HTTP/1.1 keep-alive connections by a closed-loop load \
         generator **on the same machine** (it competes with the server for the cores). \
         Rate limits are off. CPU is user + system time per 1 000 operations: of the \
         server process, of the load generator, and of the database server's processes \
         (PostgreSQL's backends, `redis-server`; none for the in-process stores); idle is \
         the share of both cores nobody used.\n"
    );
    let _ = writeln!(
        out,
        "- Date: {}",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
    );
    let _ = writeln!(out, "- Machine: {}", machine());
    let _ = writeln!(out, "- Load average (1/5/15 min): {load}");
    let _ = writeln!(out, "- {}", sign_in_ceiling(verify_micros, rows));
    let _ = writeln!(
        out,
        "- Command: `cargo run --release -p passkey-magic-bench -- {}`",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    );
    let _ = writeln!(
        out,
        "- {} connections, {} s warm-up, {} s measured per row\n",
        args.connections, args.warmup_seconds, args.seconds
    );
    if !rows.is_empty() {
        let _ = writeln!(
            out,
            "| store | operation | ops/s | p50 ms | p99 ms | max ms | server CPU-s / 1 000 ops | generator | database | idle % | errors |"
        );
        let _ = writeln!(
            out,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for row in rows {
            let latency = &row.measured.latency;
            let per_thousand = |seconds: f64| {
                if row.measured.operations > 0 {
                    seconds / row.measured.operations as f64 * 1000.0
                } else {
                    f64::NAN
                }
            };
            let label = match &row.detail {
                Some(detail) => format!("GET /session, {detail}"),
                None => row.scenario.label().to_owned(),
            };
            let _ = writeln!(
                out,
                "| {:?} | {} | {:.0} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.0} | {} |",
                row.store,
                label,
                row.measured.rate(),
                millis(latency.value_at_quantile(0.5)),
                millis(latency.value_at_quantile(0.99)),
                millis(latency.max()),
                per_thousand(row.cpu.server),
                per_thousand(row.cpu.generator),
                per_thousand(row.cpu.database),
                row.cpu.idle * 100.0,
                row.measured.errors,
            );
        }
        let _ = writeln!(out);
    }
    if !qr_rows.is_empty() {
        let _ = writeln!(
            out,
            "QR at scale: every desktop long-polls `GET /qr/{{id}}/status?token=…&wait=30` on \
             its own connection; {phones} phones then scan and complete the logins with their \
             passkeys. The first half of the logins is **paced** at {rate:.0} logins a second \
             in all (each login starts at its set time; {desktops} → {half} desktops \
             waiting): the wake-up path on a server with room to spare. The second half runs \
             **flat out** (each phone starts its next login as soon as the last is done; \
             {half} → 0 waiting): every core of the machine is busy and the delay is mostly the queue \
             that builds up — {phones} phones in a closed loop wait about {phones} ÷ logins/s \
             per login. Delay: from a phone sending `complete` to its desktop's status \
             reply. With two instances the desktops wait on one and the phones complete on \
             the other (RSS and CPU are the desktops' instance). Each run starts its \
             instances afresh on an empty store of its own, so RSS is the desktops' and not \
             what the other scenarios left in the allocator.\n",
            phones = args.qr_phones.unwrap_or(args.connections),
            rate = args.qr_rate,
            desktops = args.qr_desktops,
            half = args.qr_desktops - args.qr_desktops / 2,
        );
        let _ = writeln!(
            out,
            "| store | instances | desktops | signed in | server RSS idle MB | RSS waiting MB | CPU while waiting (cores) | paced: logins/s | delay p50 ms | p99 ms | max ms | flat out: logins/s | delay p50 ms | p99 ms | max ms |"
        );
        let _ = writeln!(
            out,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for row in qr_rows {
            let scale = &row.scale;
            let _ = writeln!(
                out,
                "| {:?} | {} | {} | {} | {:.1} | {:.1} | {:.3} | {} | {} |",
                row.store,
                row.instances,
                scale.desktops,
                scale.completed,
                scale.rss_idle as f64 / 1e6,
                scale.rss_waiting as f64 / 1e6,
                scale.cpu_waiting,
                phase_cells(&scale.paced),
                phase_cells(&scale.flat_out),
            );
        }
    }
    out
}

/// A QR phase's logins/s and delay p50, p99 and max, as table cells.
fn phase_cells(phase: &QrPhase) -> String {
    format!(
        "{:.0} | {} | {} | {}",
        phase.logins_per_second,
        millis(phase.delay.value_at_quantile(0.5)),
        millis(phase.delay.value_at_quantile(0.99)),
        millis(phase.delay.max()),
    )
}

/// The ES256 line: what a verify costs, the sign-ins per second the cores could verify at
/// most, and each store's measured sign-ins as a share of that.
fn sign_in_ceiling(verify_micros: f64, rows: &[Row]) -> String {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let ceiling = 1e6 / verify_micros * cores as f64;
    let mut line = format!(
        "Sign-in ceiling: one ES256 verify (RustCrypto `p256` 0.14, as webauthn-rs) takes \
         {verify_micros:.0} µs of CPU here, so {cores} cores verify at most {ceiling:.0} \
         sign-ins/s"
    );
    let shares: Vec<String> = rows
        .iter()
        .filter(|row| row.scenario == Scenario::SignIn)
        .map(|row| {
            format!(
                "{:?} {:.0} %",
                row.store,
                row.measured.rate() / ceiling * 100.0
            )
        })
        .collect();
    if !shares.is_empty() {
        line.push_str(&format!(" (measured below: {})", shares.join(", ")));
    }
    line
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU");
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|meminfo| {
            meminfo
                .lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!(
        "{} cores of {model}, {memory}, Linux {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        command_output("uname", &["-r"])
    )
}

fn command_output(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_turns_every_rate_limit_off() {
        let config = bench_config();
        for rule in RateLimitRule::ALL {
            assert!(config.contains(&format!("\"{}\" = false", rule.name())));
        }
    }

    #[test]
    fn the_config_lifts_the_connection_caps() {
        let config = bench_config();
        assert!(
            config
                .contains("[server]\nmax_connections = 100000\nmax_connections_per_address = 0\n")
        );
    }

    #[test]
    fn a_qr_rate_is_a_positive_finite_number() {
        assert_eq!(positive_rate("500"), Ok(500.0));
        assert_eq!(positive_rate("0.5"), Ok(0.5));
        for refused in ["0", "-3", "inf", "NaN", "fast", ""] {
            assert!(positive_rate(refused).is_err(), "{refused}");
        }
    }
}
