//! `passkey-magic`: the passkey-magic authentication server.
//!
//! Thin by design: parse settings, install the log subscriber, call the library.

mod config;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{ServeArgs, Settings};
use passkey_magic_server::{Auth, demo, http, serve};
use std::time::Duration;
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve_command(args.settings()?).await,
    }
}

async fn serve_command(settings: Settings) -> anyhow::Result<()> {
    if let Some(dir) = &settings.demo_dir
        && !dir.join("index.html").is_file()
    {
        anyhow::bail!("--demo-dir {} has no index.html", dir.display());
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let origins = if settings.origins.is_empty() {
        vec![format!("http://localhost:{}", address.port())]
    } else {
        settings.origins.clone()
    };

    let mut builder = Auth::builder(&settings.rp_id, &origins[0])?;
    for origin in &origins[1..] {
        builder = builder.origin(origin)?;
    }
    if let Some(name) = &settings.rp_name {
        builder = builder.rp_name(name);
    }
    if let Some(seconds) = settings.session_ttl_seconds {
        builder = builder.session_ttl(Duration::from_secs(seconds));
    }
    if let Some(seconds) = settings.challenge_ttl_seconds {
        builder = builder.challenge_ttl(Duration::from_secs(seconds));
    }
    let auth: Auth = builder.build()?;
    let _purge = auth.spawn_purge_task(Duration::from_secs(60));

    let mut app = axum::Router::new().nest(&settings.prefix, http::router(auth));
    if let Some(dir) = &settings.demo_dir {
        app = demo::with_static_site(app, dir);
    }
    tracing::info!(
        %address,
        prefix = %settings.prefix,
        rp_id = %settings.rp_id,
        origins = ?origins,
        demo = settings.demo_dir.is_some(),
        "listening"
    );
    println!("passkey-magic listening on http://{address}");
    serve::run(listener, app, serve::shutdown_signal()).await?;
    Ok(())
}
