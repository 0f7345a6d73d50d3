//! `passkey-magic`: the passkey-magic authentication server.
//!
//! Thin by design: parse arguments, install the log subscriber, call the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use passkey_magic_server::{demo, http, serve};
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

/// Passkey-first authentication with QR cross-device login and magic-link fallback.
#[derive(Debug, Parser)]
#[command(name = "passkey-magic", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API (and, with --demo-dir, the demo web app).
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "PASSKEY_MAGIC_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Path prefix of the API.
    #[arg(long, env = "PASSKEY_MAGIC_PREFIX", default_value = "/auth")]
    prefix: String,
    /// Serve this directory (the www-example demo) for paths outside the API.
    #[arg(long, env = "PASSKEY_MAGIC_DEMO_DIR")]
    demo_dir: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve_command(args).await,
    }
}

async fn serve_command(args: ServeArgs) -> anyhow::Result<()> {
    if !args.prefix.starts_with('/') || args.prefix.len() < 2 || args.prefix.ends_with('/') {
        anyhow::bail!(
            "--prefix must start with '/' and not end with it (got {:?})",
            args.prefix
        );
    }
    let mut app = axum::Router::new().nest(&args.prefix, http::router());
    if let Some(dir) = &args.demo_dir {
        if !dir.join("index.html").is_file() {
            anyhow::bail!("--demo-dir {} has no index.html", dir.display());
        }
        app = demo::with_static_site(app, dir);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, prefix = %args.prefix, demo = args.demo_dir.is_some(), "listening");
    println!("passkey-magic listening on http://{address}");
    serve::run(listener, app, serve::shutdown_signal()).await?;
    Ok(())
}
