//! The `passkey-magic` binary under test: started on a free loopback port with a store,
//! watched for CPU time and memory through `/proc`, killed when dropped.

use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running server process.
pub(crate) struct ServerProcess {
    child: Child,
    pid: u32,
    /// Where it listens.
    pub(crate) address: SocketAddr,
    clock_ticks_per_second: f64,
}

/// How to start one server.
pub(crate) struct Launch<'a> {
    /// The binary.
    pub(crate) binary: &'a Path,
    /// `--database-url`.
    pub(crate) database_url: &'a str,
    /// `--database-schema`, for PostgreSQL and Redis.
    pub(crate) database_schema: Option<&'a str>,
    /// `--database-max-connections`, for PostgreSQL.
    pub(crate) database_max_connections: Option<u16>,
    /// The TOML config file (rate limits off, QR settings).
    pub(crate) config: &'a Path,
}

impl ServerProcess {
    /// Starts the binary and waits for its "listening on" line.
    pub(crate) async fn start(launch: &Launch<'_>) -> anyhow::Result<Self> {
        let mut command = Command::new(launch.binary);
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--dev"])
            .arg("--config")
            .arg(launch.config)
            .args(["--database-url", launch.database_url])
            // Warnings only: per-request logs would measure the terminal, not the server.
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(schema) = launch.database_schema {
            command.args(["--database-schema", schema]);
        }
        if let Some(connections) = launch.database_max_connections {
            command.args(["--database-max-connections", &connections.to_string()]);
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("start {}", launch.binary.display()))?;
        let pid = child.id().context("server exited at once")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let address: SocketAddr = rest.trim().parse()?;
                    return Ok(address);
                }
            }
            bail!("the server stopped before listening")
        })
        .await
        .context("the server did not start within 60 s")??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(ServerProcess {
            child,
            pid,
            address,
            clock_ticks_per_second: clock_ticks_per_second(),
        })
    }

    /// User + system CPU seconds the server has used so far.
    pub(crate) fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(
            &format!("/proc/{}/stat", self.pid),
            self.clock_ticks_per_second,
        )
    }

    /// Resident memory of the server, in bytes.
    pub(crate) fn rss_bytes(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let line = status
            .lines()
            .find(|line| line.starts_with("VmRSS:"))
            .context("no VmRSS")?;
        let kilobytes: u64 = line
            .split_whitespace()
            .nth(1)
            .context("odd VmRSS")?
            .parse()?;
        Ok(kilobytes * 1024)
    }

    /// Kills the server and waits for it.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// User + system CPU seconds in a `/proc/…/stat` file (a process's or a thread's).
pub(crate) fn cpu_seconds(stat_path: &str, clock_ticks_per_second: f64) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(stat_path)?;
    // Fields after the `(comm)` one: state is [0], utime [11], stime [12].
    let after_name = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11).context("no utime")?.parse::<f64>()?
        + fields.get(12).context("no stime")?.parse::<f64>()?;
    Ok(ticks / clock_ticks_per_second)
}

/// `getconf CLK_TCK` (100 on Linux unless the kernel says otherwise).
pub(crate) fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The release binary, built with every store, unless `given`.
pub(crate) fn server_binary(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(binary) = given {
        return Ok(binary);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    eprintln!("building the release server (cargo build --release --features postgres,redis)");
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "--release",
            "-p",
            "passkey-magic-server",
            "--features",
            "postgres,redis",
            "--bin",
            "passkey-magic",
        ])
        .status()?;
    if !status.success() {
        bail!("building the server failed");
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    Ok(target.join("release/passkey-magic"))
}
