//! The binary's settings: defaults < config file (TOML) < environment < flags.

use anyhow::Context;
use ipnet::IpNet;
use passkey_magic_server::qr::{DEFAULT_CODE_LENGTH, QrConfirmation};
use passkey_magic_server::rate_limit::Budget;
use passkey_magic_shared::RateLimitRule;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A setting that may carry a credential — a password, or a URL with one in it — kept out
/// of `Debug` output, so that no log line or panic message can show it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct Secret(String);

impl Secret {
    /// The value itself, for the code that uses it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(value.into())
    }
}

/// `passkey-magic serve` flags; each also reads `PASSKEY_MAGIC_*` from the environment.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ServeArgs {
    /// TOML config file (flags and environment variables override it).
    #[arg(long, env = "PASSKEY_MAGIC_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Log output on stderr: `text` (coloured only on a terminal) or `json` (one object per
    /// line) [default: text].
    #[arg(long, env = "PASSKEY_MAGIC_LOG_FORMAT")]
    pub(crate) log_format: Option<crate::logging::LogFormat>,
    /// Address to listen on [default: 127.0.0.1:8787].
    #[arg(long, env = "PASSKEY_MAGIC_LISTEN")]
    pub(crate) listen: Option<SocketAddr>,
    /// Serve Prometheus metrics on this separate address (any path) [default: off].
    #[arg(long, env = "PASSKEY_MAGIC_METRICS_LISTEN")]
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// Path prefix of the API [default: /auth].
    #[arg(long, env = "PASSKEY_MAGIC_PREFIX")]
    pub(crate) prefix: Option<String>,
    /// Relying-party id: the domain passkeys are bound to [default: localhost].
    #[arg(long, env = "PASSKEY_MAGIC_RP_ID")]
    pub(crate) rp_id: Option<String>,
    /// Name shown in passkey prompts [default: the rp id].
    #[arg(long, env = "PASSKEY_MAGIC_RP_NAME")]
    pub(crate) rp_name: Option<String>,
    /// Allowed origin; repeat for several (comma-separated in the environment)
    /// [default: http://localhost:PORT].
    #[arg(long = "origin", env = "PASSKEY_MAGIC_ORIGINS", value_delimiter = ',')]
    pub(crate) origins: Vec<String>,
    /// Session lifetime in seconds [default: 604800 = 7 days].
    #[arg(long, env = "PASSKEY_MAGIC_SESSION_TTL")]
    pub(crate) session_ttl_seconds: Option<u64>,
    /// Challenge lifetime in seconds [default: 60].
    #[arg(long, env = "PASSKEY_MAGIC_CHALLENGE_TTL")]
    pub(crate) challenge_ttl_seconds: Option<u64>,
    /// Days security events (the audit log) are kept, 1 to 3650 [default: 90].
    #[arg(long, env = "PASSKEY_MAGIC_SECURITY_EVENT_RETENTION_DAYS")]
    pub(crate) security_event_retention_days: Option<u64>,
    /// Serve this directory (the www-example demo) for paths outside the API.
    #[arg(long, env = "PASSKEY_MAGIC_DEMO_DIR")]
    pub(crate) demo_dir: Option<PathBuf>,
    /// Storage: `sqlite://FILE` (created if missing), `postgres://USER@HOST/DB` (feature
    /// `postgres`), `redis://HOST:PORT` (feature `redis`) or `memory:`
    /// [default: sqlite://passkey-magic.db].
    #[arg(long, env = "PASSKEY_MAGIC_DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<Secret>,
    /// PostgreSQL schema for the tables (created if missing), or the Redis key prefix, so
    /// several deployments can share a database [default: the connection's search_path,
    /// usually `public`; for Redis `passkey-magic`].
    #[arg(long, env = "PASSKEY_MAGIC_DATABASE_SCHEMA")]
    pub(crate) database_schema: Option<String>,
    /// PostgreSQL connections for single statements, 1 to 1000: more for a distant
    /// database, fewer when it shares this machine's cores [default: 4 per CPU core].
    #[arg(long, env = "PASSKEY_MAGIC_DATABASE_MAX_CONNECTIONS")]
    pub(crate) database_max_connections: Option<u16>,
    /// Reverse proxy whose forwarding headers are believed (IP or CIDR); repeat for several
    /// (comma-separated in the environment) [default: none].
    #[arg(
        long = "trusted-proxy",
        env = "PASSKEY_MAGIC_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub(crate) trusted_proxies: Vec<String>,
    /// The one forwarding header trusted proxies set: `x-forwarded-for`, `forwarded` or
    /// `x-real-ip`; the others are ignored [default: x-forwarded-for].
    #[arg(long, env = "PASSKEY_MAGIC_FORWARDED_HEADER")]
    pub(crate) forwarded_header: Option<ForwardedHeaderSetting>,
    /// Share rate limits across instances through this Redis (`redis://host:6379`).
    #[arg(
        long,
        env = "PASSKEY_MAGIC_RATE_LIMIT_REDIS_URL",
        hide_env_values = true
    )]
    pub(crate) rate_limit_redis_url: Option<Secret>,
    /// When the rate limiter is unreachable: `closed` (503) or `open` (allow)
    /// [default: closed].
    #[arg(long, env = "PASSKEY_MAGIC_RATE_LIMIT_FAILURE_MODE")]
    pub(crate) rate_limit_failure_mode: Option<FailureModeSetting>,
    /// IPv6 clients share a rate-limit budget per network of this prefix length
    /// (1 to 128) [default: 64].
    #[arg(long, env = "PASSKEY_MAGIC_RATE_LIMIT_IPV6_PREFIX")]
    pub(crate) rate_limit_ipv6_prefix: Option<u8>,
    /// Lifetime of a QR login in seconds [default: 300].
    #[arg(long = "qr-ttl", env = "PASSKEY_MAGIC_QR_TTL")]
    pub(crate) qr_ttl_seconds: Option<u64>,
    /// Ask the phone for a code shown on the desktop (`true`/`false`) [default: false].
    #[arg(long, env = "PASSKEY_MAGIC_QR_CONFIRMATION")]
    pub(crate) qr_confirmation: Option<bool>,
    /// Cookie sessions (`true`/`false`): sign-ins also set an HttpOnly session cookie,
    /// and cookie-authenticated changes must come from an allowed origin [default: false].
    #[arg(long, env = "PASSKEY_MAGIC_COOKIES")]
    pub(crate) cookies: Option<bool>,
    /// Name of the session cookie [default: __Host-passkey-magic].
    #[arg(long, env = "PASSKEY_MAGIC_COOKIE_NAME")]
    pub(crate) cookie_name: Option<String>,
    /// `Domain` of the session cookie [default: none, this host only].
    #[arg(long, env = "PASSKEY_MAGIC_COOKIE_DOMAIN")]
    pub(crate) cookie_domain: Option<String>,
    /// `Path` of the session cookie [default: /].
    #[arg(long, env = "PASSKEY_MAGIC_COOKIE_PATH")]
    pub(crate) cookie_path: Option<String>,
    /// Drop `Secure` from the cookie (`true`/`false`); only allowed when every origin is
    /// http://localhost [default: false].
    #[arg(long, env = "PASSKEY_MAGIC_COOKIE_INSECURE")]
    pub(crate) cookie_insecure: Option<bool>,
    /// CORS for front-ends on other origins (`true`/`false`): exactly the allowed
    /// origins, with credentials [default: false].
    #[arg(long, env = "PASSKEY_MAGIC_CORS")]
    pub(crate) cors: Option<bool>,
    /// Digits of the QR confirmation code, 4 to 8 [default: 6].
    #[arg(long, env = "PASSKEY_MAGIC_QR_CODE_LENGTH")]
    pub(crate) qr_code_length: Option<u8>,
    /// Most status long-polls held at once on one QR login; more are answered at once
    /// [default: 4].
    #[arg(long, env = "PASSKEY_MAGIC_QR_MAX_WAITERS_PER_LOGIN")]
    pub(crate) qr_max_waiters_per_login: Option<usize>,
    /// Most QR status long-polls held at once in all; more are answered at once
    /// [default: 16384].
    #[arg(long, env = "PASSKEY_MAGIC_QR_MAX_WAITERS")]
    pub(crate) qr_max_waiters: Option<usize>,

    /// How `link-email` attaches an address: `verified` (a confirmation link is sent;
    /// the address is attached when it is used) or `immediate` (v0.4: attached at once,
    /// without proof of ownership, so a user can claim someone else's address; only for
    /// compatibility) [default: verified].
    #[arg(long, env = "PASSKEY_MAGIC_EMAIL_LINKING")]
    pub(crate) email_linking: Option<EmailLinkingSetting>,
    /// Answer the public `POST /account/email-available` route, which tells anyone
    /// whether an address has an account (`false`: 404) [default: true].
    #[arg(long, env = "PASSKEY_MAGIC_EMAIL_AVAILABLE_ROUTE")]
    pub(crate) email_available_route: Option<bool>,

    // ---- connections (a hostile network) ----
    /// Seconds to receive a request's line and headers, counted from when the server
    /// starts waiting for it (also bounds a silent new connection) [default: 10].
    #[arg(
        long = "header-read-timeout",
        env = "PASSKEY_MAGIC_HEADER_READ_TIMEOUT"
    )]
    pub(crate) header_read_timeout_seconds: Option<u64>,
    /// Seconds to receive a whole request body after its headers (else 408) [default: 10].
    #[arg(long = "body-read-timeout", env = "PASSKEY_MAGIC_BODY_READ_TIMEOUT")]
    pub(crate) body_read_timeout_seconds: Option<u64>,
    /// Seconds a connection may sit idle (no request in progress, nothing sent or
    /// received) before it is closed [default: 60].
    #[arg(long = "idle-timeout", env = "PASSKEY_MAGIC_IDLE_TIMEOUT")]
    pub(crate) idle_timeout_seconds: Option<u64>,
    /// Most connections open at once; more are closed on accept [default: 8192].
    #[arg(long, env = "PASSKEY_MAGIC_MAX_CONNECTIONS")]
    pub(crate) max_connections: Option<usize>,
    /// Most connections open at once from one IP address, 0 for no cap (use 0 or a large
    /// value behind a reverse proxy) [default: 256].
    #[arg(long, env = "PASSKEY_MAGIC_MAX_CONNECTIONS_PER_ADDRESS")]
    pub(crate) max_connections_per_address: Option<usize>,

    // ---- magic links and email ----
    /// Page magic links point to (absolute http/https URL; `?token=…` is added)
    /// [default: none, magic links off; with --dev: the first origin + "/"].
    #[arg(long, env = "PASSKEY_MAGIC_MAGIC_LINK_URL")]
    pub(crate) magic_link_url: Option<String>,
    /// Magic-link lifetime in seconds [default: 900 = 15 minutes].
    #[arg(long = "magic-link-ttl", env = "PASSKEY_MAGIC_MAGIC_LINK_TTL")]
    pub(crate) magic_link_ttl_seconds: Option<u64>,
    /// Development mode: log magic links, serve GET /dev/outbox under the prefix, and
    /// derive a magic-link URL when none is set. Never in production.
    #[arg(long, env = "PASSKEY_MAGIC_DEV")]
    pub(crate) dev: bool,
    /// Append every message of the dev outbox (used when no SMTP host is set) to this file,
    /// one JSON line `{email, url, token, sentAt, subject}` each.
    #[arg(long, env = "PASSKEY_MAGIC_OUTBOX_FILE")]
    pub(crate) outbox_file: Option<PathBuf>,
    /// SMTP server for magic-link emails [default: none, the dev outbox].
    #[arg(long, env = "PASSKEY_MAGIC_SMTP_HOST")]
    pub(crate) smtp_host: Option<String>,
    /// SMTP port [default: 587 for starttls, 465 for tls, 25 for none].
    #[arg(long, env = "PASSKEY_MAGIC_SMTP_PORT")]
    pub(crate) smtp_port: Option<u16>,
    /// SMTP connection security: `starttls`, `tls` or `none` [default: starttls].
    #[arg(long, env = "PASSKEY_MAGIC_SMTP_SECURITY")]
    pub(crate) smtp_security: Option<SmtpSecuritySetting>,
    /// SMTP user name (with a password).
    #[arg(long, env = "PASSKEY_MAGIC_SMTP_USERNAME")]
    pub(crate) smtp_username: Option<String>,
    /// SMTP password; prefer the environment variable or the config file to the flag.
    #[arg(long, env = "PASSKEY_MAGIC_SMTP_PASSWORD", hide_env_values = true)]
    pub(crate) smtp_password: Option<Secret>,
    /// Sender of magic-link emails, e.g. "Example <no-reply@example.com>" (required with
    /// an SMTP host).
    #[arg(long, env = "PASSKEY_MAGIC_SMTP_FROM")]
    pub(crate) smtp_from: Option<String>,
    /// Bound on connecting to and talking with the SMTP server, in seconds [default: 10].
    #[arg(long = "smtp-timeout", env = "PASSKEY_MAGIC_SMTP_TIMEOUT")]
    pub(crate) smtp_timeout_seconds: Option<u64>,
}

/// `starttls`, `tls` or `none`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SmtpSecuritySetting {
    /// Plain TCP upgraded with STARTTLS, which is required.
    #[default]
    Starttls,
    /// TLS from the first byte.
    Tls,
    /// No encryption (a relay on the same host).
    None,
}

/// `[smtp]` of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SmtpFile {
    host: Option<String>,
    port: Option<u16>,
    security: Option<SmtpSecuritySetting>,
    username: Option<String>,
    password: Option<Secret>,
    from: Option<String>,
    timeout_seconds: Option<u64>,
}

/// SMTP delivery settings, present when a host is configured.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "smtp"), allow(dead_code))]
pub(crate) struct SmtpSettings {
    pub(crate) host: String,
    pub(crate) port: Option<u16>,
    pub(crate) security: SmtpSecuritySetting,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Secret>,
    pub(crate) from: String,
    pub(crate) timeout_seconds: Option<u64>,
}

/// `x-forwarded-for`, `forwarded` or `x-real-ip`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ForwardedHeaderSetting {
    /// `X-Forwarded-For`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded`.
    Forwarded,
    /// `X-Real-IP`.
    XRealIp,
}

/// `verified` or `immediate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EmailLinkingSetting {
    /// Attach an address only when its confirmation link is used.
    #[default]
    Verified,
    /// v0.4: attach at once, without proof of ownership.
    Immediate,
}

/// `closed` or `open`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FailureModeSetting {
    /// Refuse requests (503).
    Closed,
    /// Allow requests, log a warning.
    Open,
}

/// One rule in the config file: a budget, or `false` to disable it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub(crate) enum RuleSetting {
    /// `{ limit = 5, window_seconds = 900 }`.
    Budget {
        /// Requests per window.
        limit: u32,
        /// Window length.
        window_seconds: u64,
    },
    /// `false` disables the rule (`true` keeps the default).
    Enabled(bool),
}

/// `[rate_limit]` of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimitFile {
    redis_url: Option<Secret>,
    failure_mode: Option<FailureModeSetting>,
    ipv6_prefix: Option<u8>,
    #[serde(default)]
    rules: BTreeMap<String, RuleSetting>,
}

/// `[server]` of the config file: connection timeouts and caps.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerFile {
    header_read_timeout_seconds: Option<u64>,
    body_read_timeout_seconds: Option<u64>,
    idle_timeout_seconds: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
}

/// `[cookies]` of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CookiesFile {
    enabled: Option<bool>,
    name: Option<String>,
    domain: Option<String>,
    path: Option<String>,
    insecure: Option<bool>,
}

/// `[qr]` of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QrFile {
    ttl_seconds: Option<u64>,
    confirmation: Option<bool>,
    code_length: Option<u8>,
    max_waiters_per_login: Option<usize>,
    max_waiters: Option<usize>,
}

/// The config file's shape (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    log_format: Option<crate::logging::LogFormat>,
    listen: Option<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
    prefix: Option<String>,
    rp_id: Option<String>,
    rp_name: Option<String>,
    origins: Option<Vec<String>>,
    session_ttl_seconds: Option<u64>,
    challenge_ttl_seconds: Option<u64>,
    security_event_retention_days: Option<u64>,
    demo_dir: Option<PathBuf>,
    database_url: Option<Secret>,
    database_schema: Option<String>,
    database_max_connections: Option<u16>,
    trusted_proxies: Option<Vec<String>>,
    email_linking: Option<EmailLinkingSetting>,
    email_available_route: Option<bool>,
    forwarded_header: Option<ForwardedHeaderSetting>,
    #[serde(default)]
    rate_limit: RateLimitFile,
    #[serde(default)]
    qr: QrFile,
    #[serde(default)]
    server: ServerFile,
    #[serde(default)]
    cookies: CookiesFile,
    cors: Option<bool>,
    magic_link_url: Option<String>,
    magic_link_ttl_seconds: Option<u64>,
    dev: Option<bool>,
    outbox_file: Option<PathBuf>,
    #[serde(default)]
    smtp: SmtpFile,
}

/// Final settings.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) log_format: crate::logging::LogFormat,
    pub(crate) listen: SocketAddr,
    /// Where the Prometheus exporter listens; `None`: no metrics recorder.
    pub(crate) metrics_listen: Option<SocketAddr>,
    pub(crate) prefix: String,
    pub(crate) rp_id: String,
    pub(crate) rp_name: Option<String>,
    /// Empty: `http://localhost:<bound port>`.
    pub(crate) origins: Vec<String>,
    pub(crate) session_ttl_seconds: Option<u64>,
    pub(crate) challenge_ttl_seconds: Option<u64>,
    pub(crate) security_event_retention_days: Option<u64>,
    pub(crate) qr_ttl_seconds: Option<u64>,
    pub(crate) qr_confirmation: QrConfirmation,
    /// Long-poll caps: per QR login, overall.
    pub(crate) qr_max_waiters: (Option<usize>, Option<usize>),
    pub(crate) demo_dir: Option<PathBuf>,
    pub(crate) database_url: Secret,
    pub(crate) database_schema: Option<String>,
    /// PostgreSQL statement connections; `None`: the store's default.
    pub(crate) database_max_connections: Option<u16>,
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) rate_limit_redis_url: Option<Secret>,
    pub(crate) rate_limit_failure_mode: FailureModeSetting,
    pub(crate) rate_limit_ipv6_prefix: Option<u8>,
    pub(crate) rate_limit_rules: BTreeMap<RateLimitRule, Option<Budget>>,
    pub(crate) magic_link_url: Option<String>,
    pub(crate) magic_link_ttl_seconds: Option<u64>,
    pub(crate) dev: bool,
    pub(crate) outbox_file: Option<PathBuf>,
    /// `None`: no SMTP host, magic-link emails go to the dev outbox.
    pub(crate) smtp: Option<SmtpSettings>,
    /// Connection timeouts and caps.
    pub(crate) serve: passkey_magic_server::serve::ServeConfig,
    pub(crate) email_linking: EmailLinkingSetting,
    pub(crate) email_available_route: bool,
    pub(crate) forwarded_header: ForwardedHeaderSetting,
    /// `None`: bearer tokens only.
    pub(crate) cookies: Option<passkey_magic_server::axum::CookieConfig>,
    pub(crate) cors: bool,
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

impl ServeArgs {
    /// Merges flags/environment over the config file over defaults.
    pub(crate) fn settings(self) -> anyhow::Result<Settings> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let prefix = self
            .prefix
            .or(file.prefix)
            .unwrap_or_else(|| "/auth".into());
        if !prefix.starts_with('/') || prefix.len() < 2 || prefix.ends_with('/') {
            anyhow::bail!("prefix must start with '/' and not end with it (got {prefix:?})");
        }
        let smtp = SmtpFile {
            host: self.smtp_host.or(file.smtp.host),
            port: self.smtp_port.or(file.smtp.port),
            security: self.smtp_security.or(file.smtp.security),
            username: self.smtp_username.or(file.smtp.username),
            password: self.smtp_password.or(file.smtp.password),
            from: self.smtp_from.or(file.smtp.from),
            timeout_seconds: self.smtp_timeout_seconds.or(file.smtp.timeout_seconds),
        }
        .settings()?;
        let mut serve = passkey_magic_server::serve::ServeConfig::new();
        if let Some(seconds) = self
            .header_read_timeout_seconds
            .or(file.server.header_read_timeout_seconds)
        {
            serve = serve.header_read_timeout(Duration::from_secs(seconds));
        }
        if let Some(seconds) = self
            .body_read_timeout_seconds
            .or(file.server.body_read_timeout_seconds)
        {
            serve = serve.body_read_timeout(Duration::from_secs(seconds));
        }
        if let Some(seconds) = self
            .idle_timeout_seconds
            .or(file.server.idle_timeout_seconds)
        {
            serve = serve.idle_timeout(Duration::from_secs(seconds));
        }
        if let Some(max) = self.max_connections.or(file.server.max_connections) {
            serve = serve.max_connections(max);
        }
        if let Some(max) = self
            .max_connections_per_address
            .or(file.server.max_connections_per_address)
        {
            serve = serve.max_connections_per_address(max);
        }
        let cookies = self
            .cookies
            .or(file.cookies.enabled)
            .unwrap_or(false)
            .then(|| {
                let mut config = passkey_magic_server::axum::CookieConfig::new();
                if let Some(name) = self.cookie_name.or(file.cookies.name) {
                    config = config.name(name);
                }
                if let Some(domain) = self.cookie_domain.or(file.cookies.domain) {
                    config = config.domain(domain);
                }
                if let Some(path) = self.cookie_path.or(file.cookies.path) {
                    config = config.path(path);
                }
                if self
                    .cookie_insecure
                    .or(file.cookies.insecure)
                    .unwrap_or(false)
                {
                    config = config.danger_insecure_http();
                }
                config
            });
        let database_max_connections = self
            .database_max_connections
            .or(file.database_max_connections);
        if let Some(connections) = database_max_connections {
            anyhow::ensure!(
                (1..=1000).contains(&connections),
                "database_max_connections must be 1 to 1000 (got {connections})"
            );
        }
        Ok(Settings {
            cookies,
            cors: self.cors.or(file.cors).unwrap_or(false),
            log_format: self.log_format.or(file.log_format).unwrap_or_default(),
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            serve,
            forwarded_header: self
                .forwarded_header
                .or(file.forwarded_header)
                .unwrap_or_default(),
            email_linking: self
                .email_linking
                .or(file.email_linking)
                .unwrap_or_default(),
            email_available_route: self
                .email_available_route
                .or(file.email_available_route)
                .unwrap_or(true),
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787))),
            prefix,
            rp_id: self
                .rp_id
                .or(file.rp_id)
                .unwrap_or_else(|| "localhost".into()),
            rp_name: self.rp_name.or(file.rp_name),
            qr_ttl_seconds: self.qr_ttl_seconds.or(file.qr.ttl_seconds),
            qr_max_waiters: (
                self.qr_max_waiters_per_login
                    .or(file.qr.max_waiters_per_login),
                self.qr_max_waiters.or(file.qr.max_waiters),
            ),
            qr_confirmation: QrConfirmation {
                enabled: self
                    .qr_confirmation
                    .or(file.qr.confirmation)
                    .unwrap_or(false),
                code_length: self
                    .qr_code_length
                    .or(file.qr.code_length)
                    .unwrap_or(DEFAULT_CODE_LENGTH),
            },
            origins: if self.origins.is_empty() {
                file.origins.unwrap_or_default()
            } else {
                self.origins
            },
            session_ttl_seconds: self.session_ttl_seconds.or(file.session_ttl_seconds),
            challenge_ttl_seconds: self.challenge_ttl_seconds.or(file.challenge_ttl_seconds),
            security_event_retention_days: self
                .security_event_retention_days
                .or(file.security_event_retention_days),
            demo_dir: self.demo_dir.or(file.demo_dir),
            database_schema: self.database_schema.or(file.database_schema),
            database_max_connections,
            database_url: self
                .database_url
                .or(file.database_url)
                .unwrap_or_else(|| "sqlite://passkey-magic.db".into()),
            trusted_proxies: parse_proxies(if self.trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                self.trusted_proxies
            })?,
            rate_limit_redis_url: self.rate_limit_redis_url.or(file.rate_limit.redis_url),
            rate_limit_failure_mode: self
                .rate_limit_failure_mode
                .or(file.rate_limit.failure_mode)
                .unwrap_or(FailureModeSetting::Closed),
            rate_limit_ipv6_prefix: self.rate_limit_ipv6_prefix.or(file.rate_limit.ipv6_prefix),
            rate_limit_rules: parse_rules(file.rate_limit.rules)?,
            magic_link_url: self.magic_link_url.or(file.magic_link_url),
            magic_link_ttl_seconds: self.magic_link_ttl_seconds.or(file.magic_link_ttl_seconds),
            dev: self.dev || file.dev.unwrap_or(false),
            outbox_file: self.outbox_file.or(file.outbox_file),
            smtp,
        })
    }
}

impl SmtpFile {
    /// `None` without a host; with one, a sender address is required too.
    fn settings(self) -> anyhow::Result<Option<SmtpSettings>> {
        let Some(host) = self.host.filter(|host| !host.trim().is_empty()) else {
            let stray = [
                self.port.is_some(),
                self.security.is_some(),
                self.username.is_some(),
                self.password.is_some(),
                self.from.is_some(),
                self.timeout_seconds.is_some(),
            ];
            if stray.contains(&true) {
                anyhow::bail!("SMTP settings given without an SMTP host (smtp.host)");
            }
            return Ok(None);
        };
        let from = self
            .from
            .context("an SMTP host needs a sender address (smtp.from)")?;
        if self.timeout_seconds == Some(0) {
            anyhow::bail!("smtp.timeout_seconds must be > 0");
        }
        Ok(Some(SmtpSettings {
            host,
            port: self.port,
            security: self.security.unwrap_or_default(),
            username: self.username,
            password: self.password,
            from,
            timeout_seconds: self.timeout_seconds,
        }))
    }
}

/// `10.0.0.0/8` or a single address (`10.0.0.5` = `/32`).
fn parse_proxies(items: Vec<String>) -> anyhow::Result<Vec<IpNet>> {
    items
        .iter()
        .map(|item| {
            let item = item.trim();
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .with_context(|| format!("invalid trusted proxy {item:?} (expected IP or CIDR)"))
        })
        .collect()
}

fn parse_rules(
    rules: BTreeMap<String, RuleSetting>,
) -> anyhow::Result<BTreeMap<RateLimitRule, Option<Budget>>> {
    rules
        .into_iter()
        .map(|(name, setting)| {
            let rule = RateLimitRule::from_name(&name)
                .with_context(|| format!("unknown rate-limit rule {name:?}"))?;
            let budget = match setting {
                RuleSetting::Budget {
                    limit,
                    window_seconds,
                } => {
                    if window_seconds == 0 {
                        anyhow::bail!("rate-limit rule {name:?}: window_seconds must be > 0");
                    }
                    Some(Budget::new(limit, Duration::from_secs(window_seconds)))
                }
                RuleSetting::Enabled(false) => None,
                RuleSetting::Enabled(true) => Some(Budget::default_for(rule)),
            };
            Ok((rule, budget))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A settings file for one test, removed when dropped (also when the test fails).
    struct ConfigFile(PathBuf);

    impl ConfigFile {
        fn new(name: &str, toml: &str) -> Self {
            let path =
                std::env::temp_dir().join(format!("pm-config-{name}-{}.toml", std::process::id()));
            std::fs::write(&path, toml).unwrap();
            ConfigFile(path)
        }

        /// Arguments that read this file, every flag at its default.
        fn args(&self) -> ServeArgs {
            ServeArgs {
                config: Some(self.0.clone()),
                ..ServeArgs::default()
            }
        }
    }

    impl Drop for ConfigFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn email_settings_come_from_the_file_and_flags() {
        assert_eq!(
            ServeArgs::default().settings().unwrap().email_linking,
            EmailLinkingSetting::Verified
        );
        let file = ConfigFile::new(
            "em",
            "email_linking = \"immediate\"\nemail_available_route = false\n\
             forwarded_header = \"x-real-ip\"\n",
        );
        let settings = file.args().settings().unwrap();
        assert_eq!(settings.email_linking, EmailLinkingSetting::Immediate);
        assert_eq!(settings.forwarded_header, ForwardedHeaderSetting::XRealIp);
        assert!(!settings.email_available_route);
    }

    #[test]
    fn cookie_and_cors_settings_come_from_the_file_and_flags() {
        let defaults = ServeArgs::default().settings().unwrap();
        assert_eq!((defaults.cookies, defaults.cors), (None, false));
        let file = ConfigFile::new(
            "ck",
            "cors = true\n[cookies]\nenabled = true\nname = \"sid\"\n\
             domain = \"example.com\"\npath = \"/app\"\n",
        );
        let from_file = file.args().settings().unwrap();
        use passkey_magic_server::axum::CookieConfig;
        assert_eq!(
            from_file.cookies,
            Some(
                CookieConfig::new()
                    .name("sid")
                    .domain("example.com")
                    .path("/app")
            )
        );
        assert!(from_file.cors);
        let flags = ServeArgs {
            cookie_name: Some("other".into()),
            cookie_insecure: Some(true),
            cors: Some(false),
            ..file.args()
        }
        .settings()
        .unwrap();
        assert_eq!(
            flags.cookies,
            Some(
                CookieConfig::new()
                    .name("other")
                    .domain("example.com")
                    .path("/app")
                    .danger_insecure_http()
            )
        );
        assert!(!flags.cors);
        let off = ServeArgs {
            cookies: Some(false),
            cookie_name: Some("ignored".into()),
            ..ServeArgs::default()
        };
        assert_eq!(off.settings().unwrap().cookies, None);
    }

    #[test]
    fn connection_limits_come_from_the_file_and_flags() {
        let file = ConfigFile::new(
            "srv",
            "[server]\nheader_read_timeout_seconds = 3\nbody_read_timeout_seconds = 4\n\
             idle_timeout_seconds = 5\nmax_connections = 100\nmax_connections_per_address = 7\n",
        );
        let args = ServeArgs {
            idle_timeout_seconds: Some(9),
            ..file.args()
        };
        let settings = args.settings().unwrap();
        let serve = format!("{:?}", settings.serve);
        for expected in [
            "header_read_timeout: 3s",
            "body_read_timeout: 4s",
            "idle_timeout: 9s",
            "max_connections: 100",
            "max_connections_per_address: 7",
        ] {
            assert!(serve.contains(expected), "{expected} in {serve}");
        }
    }

    #[test]
    fn database_connections_come_from_the_file_and_flags() {
        assert_eq!(
            ServeArgs::default()
                .settings()
                .unwrap()
                .database_max_connections,
            None
        );
        let file = ConfigFile::new("db", "database_max_connections = 6\n");
        let from_file = file.args().settings().unwrap();
        let from_flag = ServeArgs {
            database_max_connections: Some(24),
            ..file.args()
        }
        .settings()
        .unwrap();
        assert_eq!(from_file.database_max_connections, Some(6));
        assert_eq!(from_flag.database_max_connections, Some(24));
        for bad in [0, 1001] {
            let error = ServeArgs {
                database_max_connections: Some(bad),
                ..ServeArgs::default()
            }
            .settings()
            .unwrap_err();
            assert!(error.to_string().contains("1 to 1000"), "{error}");
        }
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let file = ConfigFile::new(
            "flags",
            "rp_id = \"example.com\"\norigins = [\"https://example.com\"]\nprefix = \"/id\"\n",
        );
        let args = ServeArgs {
            prefix: Some("/auth2".into()),
            ..file.args()
        };
        let settings = args.settings().unwrap();
        assert_eq!(settings.rp_id, "example.com");
        assert_eq!(settings.origins, ["https://example.com"]);
        assert_eq!(settings.prefix, "/auth2");
        assert_eq!(settings.listen.port(), 8787);
    }

    #[test]
    fn metrics_listen_is_off_by_default_and_read_from_file_and_flag() {
        assert_eq!(
            ServeArgs::default().settings().unwrap().metrics_listen,
            None
        );
        let file = ConfigFile::new("metrics", "metrics_listen = \"127.0.0.1:9464\"\n");
        let from_file = file.args().settings().unwrap();
        let from_flag = ServeArgs {
            metrics_listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..file.args()
        }
        .settings()
        .unwrap();
        assert_eq!(
            from_file.metrics_listen,
            Some("127.0.0.1:9464".parse().unwrap())
        );
        assert_eq!(
            from_flag.metrics_listen,
            Some("127.0.0.1:9100".parse().unwrap())
        );
    }

    #[test]
    fn rate_limits_and_proxies_come_from_the_file() {
        let file = ConfigFile::new(
            "rl",
            "trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]\n\
             [rate_limit]\nfailure_mode = \"open\"\nipv6_prefix = 56\n\
             [rate_limit.rules]\n\"magicLink.send\" = { limit = 3, window_seconds = 60 }\n\
             \"email.available\" = false\n",
        );
        let settings = file.args().settings().unwrap();
        assert_eq!(settings.trusted_proxies.len(), 2);
        assert_eq!(settings.rate_limit_failure_mode, FailureModeSetting::Open);
        assert_eq!(settings.rate_limit_ipv6_prefix, Some(56));
        assert_eq!(
            settings.rate_limit_rules[&RateLimitRule::MagicLinkSend],
            Some(Budget::new(3, Duration::from_secs(60)))
        );
        assert_eq!(
            settings.rate_limit_rules[&RateLimitRule::EmailAvailable],
            None
        );
        assert_eq!(settings.database_url.expose(), "sqlite://passkey-magic.db");
    }

    #[test]
    fn qr_settings_come_from_the_file_and_flags() {
        let file = ConfigFile::new(
            "qr",
            "[qr]\nttl_seconds = 120\nconfirmation = true\ncode_length = 8\n",
        );
        let settings = ServeArgs {
            qr_code_length: Some(4),
            ..file.args()
        }
        .settings()
        .unwrap();
        assert_eq!(settings.qr_ttl_seconds, Some(120));
        assert_eq!(
            settings.qr_confirmation,
            QrConfirmation {
                enabled: true,
                code_length: 4
            }
        );
        let defaults = ServeArgs::default().settings().unwrap();
        assert_eq!(defaults.qr_ttl_seconds, None);
        assert_eq!(defaults.qr_confirmation, QrConfirmation::default());
    }

    /// Settings and flags may carry credentials (SMTP password, database and Redis URLs):
    /// their `Debug` output shows none, while the values still reach the code that uses them.
    #[test]
    fn debug_output_shows_no_credentials() {
        let file = ConfigFile::new(
            "secret",
            "[smtp]\nhost = \"smtp.example.com\"\nusername = \"mailer\"\n\
             password = \"smtp-pass-file\"\nfrom = \"no-reply@example.com\"\n\
             [rate_limit]\nredis_url = \"redis://:redis-pass-file@127.0.0.1:6379\"\n",
        );
        let args = ServeArgs {
            database_url: Some("postgres://app:db-pass-flag@db.internal/auth".into()),
            smtp_password: Some("smtp-pass-flag".into()),
            ..file.args()
        };
        let printed_args = format!("{args:?}");
        let settings = args.settings().unwrap();
        let printed = format!("{settings:?} {:?}", file.args().settings().unwrap());
        for secret in [
            "db-pass-flag",
            "smtp-pass-flag",
            "smtp-pass-file",
            "redis-pass-file",
        ] {
            assert!(!printed_args.contains(secret), "{secret} in {printed_args}");
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
        assert!(printed.contains("Secret(<redacted>)"), "{printed}");
        assert_eq!(
            settings.database_url.expose(),
            "postgres://app:db-pass-flag@db.internal/auth"
        );
        assert_eq!(
            settings.rate_limit_redis_url.as_ref().map(Secret::expose),
            Some("redis://:redis-pass-file@127.0.0.1:6379")
        );
        let smtp = settings.smtp.unwrap();
        assert_eq!(
            smtp.password.as_ref().map(Secret::expose),
            Some("smtp-pass-flag")
        );
    }

    #[test]
    fn unknown_rules_and_bad_proxies_are_errors() {
        let mut rules = BTreeMap::new();
        rules.insert("magicLink.sned".to_owned(), RuleSetting::Enabled(false));
        assert!(parse_rules(rules).is_err());
        assert!(parse_proxies(vec!["10.0.0.0/33".into()]).is_err());
        assert!(parse_proxies(vec!["proxy.local".into()]).is_err());
    }

    #[test]
    fn magic_link_and_smtp_settings_come_from_the_file_and_flags() {
        let file = ConfigFile::new(
            "ml",
            "magic_link_url = \"https://example.com/verify\"\nmagic_link_ttl_seconds = 600\n\
             [smtp]\nhost = \"smtp.example.com\"\nsecurity = \"tls\"\n\
             username = \"mailer\"\npassword = \"from-file\"\n\
             from = \"Example <no-reply@example.com>\"\ntimeout_seconds = 5\n",
        );
        let settings = ServeArgs {
            smtp_password: Some("from-env".into()),
            smtp_port: Some(2465),
            ..file.args()
        }
        .settings()
        .unwrap();
        assert_eq!(
            settings.magic_link_url.as_deref(),
            Some("https://example.com/verify")
        );
        assert_eq!(settings.magic_link_ttl_seconds, Some(600));
        assert!(!settings.dev);
        assert_eq!(
            settings.smtp,
            Some(SmtpSettings {
                host: "smtp.example.com".into(),
                port: Some(2465),
                security: SmtpSecuritySetting::Tls,
                username: Some("mailer".into()),
                password: Some("from-env".into()),
                from: "Example <no-reply@example.com>".into(),
                timeout_seconds: Some(5),
            })
        );
    }

    #[test]
    fn without_an_smtp_host_the_dev_outbox_is_used() {
        let settings = ServeArgs {
            dev: true,
            outbox_file: Some("outbox.jsonl".into()),
            ..ServeArgs::default()
        }
        .settings()
        .unwrap();
        assert_eq!(settings.smtp, None);
        assert!(settings.dev);
        assert_eq!(settings.outbox_file, Some(PathBuf::from("outbox.jsonl")));
        assert_eq!(settings.magic_link_url, None);
    }

    #[test]
    fn incomplete_smtp_settings_are_errors() {
        let no_from = ServeArgs {
            smtp_host: Some("smtp.example.com".into()),
            ..ServeArgs::default()
        };
        assert!(format!("{:#}", no_from.settings().unwrap_err()).contains("smtp.from"));
        let no_host = ServeArgs {
            smtp_from: Some("no-reply@example.com".into()),
            ..ServeArgs::default()
        };
        assert!(format!("{:#}", no_host.settings().unwrap_err()).contains("smtp.host"));
    }

    #[test]
    fn unknown_keys_and_bad_prefixes_are_errors() {
        let file = ConfigFile::new("bad", "rpid = \"typo\"\n");
        let error = file.args().settings().unwrap_err();
        assert!(format!("{error:#}").contains("rpid"), "{error:#}");
        let bad_prefix = ServeArgs {
            prefix: Some("auth/".into()),
            ..ServeArgs::default()
        };
        assert!(bad_prefix.settings().is_err());
    }
}
