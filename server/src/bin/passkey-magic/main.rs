//! `passkey-magic`: the passkey-magic authentication server.
//!
//! Thin by design: parse settings, install the log subscriber, call the library.

mod config;
mod exporter;
mod logging;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::{
    EmailLinkingSetting, FailureModeSetting, ForwardedHeaderSetting, ServeArgs, Settings,
    SmtpSettings,
};
use passkey_magic_server::axum::PasskeyMagic;
use passkey_magic_server::config::EmailLinking;
use passkey_magic_server::http::client_address::ForwardedHeader;
use passkey_magic_server::magic_links::MagicLinkConfig;
use passkey_magic_server::mail::{DevOutbox, EmailSender};
use passkey_magic_server::rate_limit::FailureMode;
use passkey_magic_server::store::Store;
use passkey_magic_server::{Auth, AuthBuilder, demo, http, serve};
use std::sync::Arc;
use std::time::Duration;

/// With feature `mimalloc`: mimalloc instead of the system allocator. A request
/// allocates a few dozen small objects, and glibc's malloc/free were a quarter of the
/// instructions of a `GET /session`; but each open connection costs more memory
/// (docs/BENCHMARKS.md), so it is opt-in.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Passkey-first authentication with QR cross-device login and magic-link fallback.
#[derive(Debug, Parser)]
#[command(name = "passkey-magic", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up: the size difference between the variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP API (and, with --demo-dir, the demo web app).
    Serve(ServeArgs),
    /// Create or update the database schema, then exit (`serve` also does this on start).
    Migrate(ServeArgs),
    /// Print a QR code of a URL: text for this terminal, or SVG with --svg.
    Qr(QrArgs),
}

/// `passkey-magic qr URL [--svg] [--border N]`.
#[derive(Debug, clap::Args)]
struct QrArgs {
    /// What the code holds, usually the phone page of a QR login.
    url: String,
    /// Print an SVG image instead of terminal text.
    #[arg(long)]
    svg: bool,
    /// Quiet zone in modules [default: 4 for SVG, 2 for text].
    #[arg(long)]
    border: Option<u32>,
    /// Draw dark modules as blocks (for dark-on-light terminals or printing).
    #[arg(long)]
    light_terminal: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Settings are read before the subscriber exists (it needs the log format); their
    // errors reach stderr through `main`'s error return.
    let (run, format) = match Cli::parse().command {
        Command::Serve(args) => {
            let settings = args.settings()?;
            let format = settings.log_format;
            (Run::Serve(settings), format)
        }
        Command::Migrate(args) => {
            let settings = args.settings()?;
            let format = settings.log_format;
            (Run::Migrate(settings), format)
        }
        Command::Qr(args) => (Run::Qr(args), logging::LogFormat::default()),
    };
    logging::init(format);
    // The connection cap, not the descriptor table, should be what refuses connections.
    match serve::raise_open_files_limit() {
        Ok(limit) => tracing::debug!(limit, "open files limit"),
        Err(error) => tracing::warn!(%error, "cannot raise the open files limit"),
    }
    match run {
        Run::Serve(settings) => serve_command(settings).await,
        Run::Migrate(settings) => {
            open_store(&settings).await?;
            println!("database schema is up to date");
            Ok(())
        }
        Run::Qr(args) => qr_command(&args),
    }
}

/// A command with its settings read.
#[allow(clippy::large_enum_variant)] // one value, at start-up
enum Run {
    Serve(Settings),
    Migrate(Settings),
    Qr(QrArgs),
}

fn qr_command(args: &QrArgs) -> anyhow::Result<()> {
    use passkey_magic_server::qr::render::{self, SvgOptions, TextOptions};
    let output = if args.svg {
        let defaults = SvgOptions::default();
        render::svg(
            &args.url,
            &SvgOptions {
                border: args.border.unwrap_or(defaults.border),
                ..defaults
            },
        )? + "\n"
    } else {
        render::text(
            &args.url,
            &TextOptions {
                border: args.border.unwrap_or(TextOptions::default().border),
                invert: !args.light_terminal,
            },
        )?
    };
    print!("{output}");
    Ok(())
}

async fn serve_command(settings: Settings) -> anyhow::Result<()> {
    if let Some(dir) = &settings.demo_dir
        && !dir.join("index.html").is_file()
    {
        anyhow::bail!("--demo-dir {} has no index.html", dir.display());
    }
    // Before the engine exists, so every metric it emits is recorded.
    if let Some(metrics_listen) = settings.metrics_listen {
        let bound = exporter::start(metrics_listen).await?;
        tracing::info!(address = %bound, "metrics listening");
        println!("passkey-magic metrics on http://{bound}");
    }
    let listener = serve::bind(settings.listen)
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
    if let Some(days) = settings.security_event_retention_days {
        let seconds = days.saturating_mul(24 * 60 * 60);
        builder = builder.security_event_retention(Duration::from_secs(seconds));
    }
    if let Some(seconds) = settings.qr_ttl_seconds {
        builder = builder.qr_ttl(Duration::from_secs(seconds));
    }
    builder = builder.qr_confirmation(settings.qr_confirmation);
    builder = builder
        .email_linking(match settings.email_linking {
            EmailLinkingSetting::Verified => EmailLinking::Verified,
            EmailLinkingSetting::Immediate => {
                tracing::warn!(
                    "email_linking = \"immediate\": addresses are linked without proof of \
                     ownership (v0.4 behaviour; a user can claim someone else's address)"
                );
                EmailLinking::Immediate
            }
        })
        .email_available_route(settings.email_available_route);
    builder = builder.qr_long_poll_caps(
        settings
            .qr_max_waiters
            .0
            .unwrap_or(passkey_magic_server::config::DEFAULT_MAX_WAITERS_PER_LOGIN),
        settings
            .qr_max_waiters
            .1
            .unwrap_or(passkey_magic_server::config::DEFAULT_MAX_WAITERS),
    );
    builder = builder
        .trusted_proxies(settings.trusted_proxies.iter().copied())
        .forwarded_header(match settings.forwarded_header {
            ForwardedHeaderSetting::XForwardedFor => ForwardedHeader::XForwardedFor,
            ForwardedHeaderSetting::Forwarded => ForwardedHeader::Forwarded,
            ForwardedHeaderSetting::XRealIp => ForwardedHeader::XRealIp,
        })
        .rate_limit_failure_mode(match settings.rate_limit_failure_mode {
            FailureModeSetting::Closed => FailureMode::Closed,
            FailureModeSetting::Open => FailureMode::Open,
        });
    if let Some(prefix_len) = settings.rate_limit_ipv6_prefix {
        builder = builder.rate_limit_ipv6_prefix(prefix_len);
    }
    for (rule, budget) in &settings.rate_limit_rules {
        builder = builder.rate_limit(*rule, *budget);
    }
    if let Some(url) = &settings.rate_limit_redis_url {
        builder = with_redis_limiter(builder, url.expose()).await?;
    }
    let (sender, outbox) = email_sender(&settings)?;
    // In dev mode magic links work out of the box: they point at the (demo) site.
    let magic_link_url = settings.magic_link_url.clone().or_else(|| {
        settings
            .dev
            .then(|| format!("{}/", origins[0].trim_end_matches('/')))
    });
    match &magic_link_url {
        Some(url) => {
            let mut config = MagicLinkConfig::new(url);
            if let Some(seconds) = settings.magic_link_ttl_seconds {
                config = config.ttl(Duration::from_secs(seconds));
            }
            builder = builder.magic_links(config).shared_email_sender(sender);
            if outbox.is_some() && !settings.dev {
                tracing::warn!(
                    "no SMTP host configured: magic-link emails go to the dev outbox and are \
                     not delivered"
                );
            }
        }
        None => tracing::info!("magic links are off (set --magic-link-url to turn them on)"),
    }
    builder = builder.shared_store(open_store(&settings).await?);
    let auth: Auth = builder.build()?;
    let _purge = auth.spawn_purge_task(Duration::from_secs(60));
    let magic_links = auth.magic_links().is_enabled();

    let probes = http::health::router(auth.clone());
    let mut mount = PasskeyMagic::new(auth);
    if let Some(cookies) = &settings.cookies {
        mount = mount.cookies(cookies.clone())?;
    }
    if settings.cors {
        mount = mount.cors();
    }
    let mut api = mount.router();
    if let (true, Some(outbox)) = (settings.dev, &outbox) {
        tracing::warn!(
            path = %format!("{}/dev/outbox", settings.prefix),
            "dev mode: the outbox route hands out sign-in links; never use --dev in production"
        );
        api = api.merge(http::dev::outbox_router(outbox.clone()));
    }
    let mut app = axum::Router::new().nest_service(&settings.prefix, api);
    if !settings.prefix.is_empty() {
        // Probes at the root too, where load balancers look by default.
        app = app.merge(probes);
    }
    if let Some(dir) = &settings.demo_dir {
        app = demo::with_static_site(app, dir);
    } else {
        // Paths outside the API answer like unknown API paths: 404 with a JSON body.
        app = app.fallback(|| async {
            let mut response =
                axum::response::IntoResponse::into_response(passkey_magic_server::Error::NotFound);
            http::security_headers(response.headers_mut());
            response
        });
    }
    // One span per request with a request id and the route template (never the path or
    // query string, which can carry bearer secrets); health probes are not logged.
    // Around the whole app as one service, not per route (`Router::layer`), which would
    // clone the boxed route stack on every request.
    let app = logging::LogRequests::new(
        logging::RequestLog::new(&settings.prefix, &settings.trusted_proxies),
        app,
    );
    tracing::info!(
        %address,
        prefix = %settings.prefix,
        rp_id = %settings.rp_id,
        origins = ?origins,
        demo = settings.demo_dir.is_some(),
        dev = settings.dev,
        magic_links,
        "listening"
    );
    println!("passkey-magic listening on http://{address}");
    serve::run_with(
        listener,
        app,
        settings.serve.clone(),
        serve::shutdown_signal(),
    )
    .await?;
    Ok(())
}

/// The magic-link email sender: SMTP when a host is configured, else the dev outbox
/// (returned too, for the dev route).
fn email_sender(settings: &Settings) -> anyhow::Result<(Arc<dyn EmailSender>, Option<DevOutbox>)> {
    if let Some(smtp) = &settings.smtp {
        if settings.outbox_file.is_some() {
            tracing::warn!("--outbox-file is ignored: magic-link emails go to the SMTP server");
        }
        return Ok((smtp_sender(smtp)?, None));
    }
    let mut outbox = DevOutbox::new().log_links(settings.dev);
    if let Some(path) = &settings.outbox_file {
        outbox = outbox.file(path);
    }
    Ok((Arc::new(outbox.clone()), Some(outbox)))
}

#[cfg(feature = "smtp")]
fn smtp_sender(smtp: &SmtpSettings) -> anyhow::Result<Arc<dyn EmailSender>> {
    use config::SmtpSecuritySetting;
    use passkey_magic_server::mail::{SmtpConfig, SmtpSecurity, SmtpSender};
    let mut config = SmtpConfig::new(&smtp.host, &smtp.from);
    config.port = smtp.port;
    config.security = match smtp.security {
        SmtpSecuritySetting::Starttls => SmtpSecurity::StartTls,
        SmtpSecuritySetting::Tls => SmtpSecurity::Tls,
        SmtpSecuritySetting::None => SmtpSecurity::None,
    };
    config.username = smtp.username.clone();
    config.password = smtp
        .password
        .as_ref()
        .map(|password| password.expose().to_owned());
    if let Some(seconds) = smtp.timeout_seconds {
        config.timeout = Duration::from_secs(seconds);
    }
    let sender = SmtpSender::new(&config).context("invalid SMTP settings")?;
    tracing::info!(
        host = %config.host,
        port = config.effective_port(),
        security = config.security.as_str(),
        "magic-link emails go to an SMTP server"
    );
    Ok(Arc::new(sender))
}

#[cfg(not(feature = "smtp"))]
fn smtp_sender(_: &SmtpSettings) -> anyhow::Result<Arc<dyn EmailSender>> {
    anyhow::bail!(
        "an SMTP host is configured but this build has no SMTP support: rebuild with `--features smtp`"
    )
}

/// Opens the store named by a database URL (running its migrations).
async fn open_store(settings: &Settings) -> anyhow::Result<Arc<dyn Store>> {
    let url = settings.database_url.expose();
    let schema = settings.database_schema.as_deref();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            let mut builder = passkey_magic_server::store::PostgresStore::builder(url);
            if let Some(schema) = schema {
                builder = builder.schema(schema);
            }
            if let Some(connections) = settings.database_max_connections {
                builder = builder.max_connections(connections.into());
            }
            let store = builder
                .connect()
                .await
                .with_context(|| "cannot open the PostgreSQL database")?;
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "postgres"))]
        anyhow::bail!("this build has no PostgreSQL support: rebuild with `--features postgres`");
    }
    if settings.database_max_connections.is_some() {
        anyhow::bail!("--database-max-connections applies to PostgreSQL only");
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        #[cfg(feature = "redis")]
        {
            let store = passkey_magic_server::store::RedisStore::connect(
                url,
                schema.unwrap_or("passkey-magic"),
            )
            .await
            .with_context(|| "cannot connect the Redis store")?;
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "redis"))]
        anyhow::bail!("this build has no Redis support: rebuild with `--features redis`");
    }
    if schema.is_some() {
        anyhow::bail!("--database-schema applies to PostgreSQL and Redis (key prefix) only");
    }
    if url == "memory:" {
        tracing::warn!("using the in-memory store: everything is lost on restart");
        return Ok(Arc::new(passkey_magic_server::store::MemoryStore::new()));
    }
    if url.starts_with("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            let store = passkey_magic_server::store::SqliteStore::connect(url)
                .await
                .with_context(|| "cannot open the SQLite database")?;
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "sqlite"))]
        anyhow::bail!("this build has no SQLite support (feature `sqlite`)");
    }
    anyhow::bail!(
        "unsupported database URL (expected sqlite://FILE, postgres://…, redis://… or memory:)"
    )
}

#[cfg(feature = "redis")]
async fn with_redis_limiter(builder: AuthBuilder, url: &str) -> anyhow::Result<AuthBuilder> {
    let limiter = passkey_magic_server::rate_limit::RedisRateLimiter::connect(url, "passkey-magic")
        .await
        .with_context(|| "cannot connect the Redis rate limiter")?;
    Ok(builder.rate_limiter(limiter))
}

#[cfg(not(feature = "redis"))]
async fn with_redis_limiter(_: AuthBuilder, _: &str) -> anyhow::Result<AuthBuilder> {
    anyhow::bail!("this build has no Redis support: rebuild with `--features redis`")
}
