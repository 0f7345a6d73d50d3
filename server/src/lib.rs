//! # passkey-magic-server
//!
//! Passkey-first authentication with QR cross-device login and magic-link fallback, as a
//! library you mount into [axum](https://docs.rs/axum) or as the standalone
//! `passkey-magic` binary. It speaks the HTTP protocol of passkey-magic v0.4, so the
//! original JavaScript client works against it; the protocol itself (routes, JSON shapes,
//! limits) lives in [`passkey_magic_shared`].
//!
//! ## Getting started
//!
//! ```no_run
//! use passkey_magic_server::{Auth, http, serve};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Passkeys are bound to the rp id (your domain) and used from these origins.
//! let auth: Auth = Auth::builder("example.com", "https://example.com")?
//!     .rp_name("Example")
//!     .build()?;
//! let _purge = auth.spawn_purge_task(std::time::Duration::from_secs(60));
//! let app = axum::Router::new().nest("/auth", http::router(auth));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8787").await?;
//! serve::run(listener, app, serve::shutdown_signal()).await?;
//! # Ok(()) }
//! ```
//!
//! ## Layout
//!
//! - [`auth`]: the [`Auth`] handle; [`config`]: every setting and the [`AuthBuilder`].
//! - [`passkeys`], [`sessions`], [`accounts`]: the passkey ceremonies, sessions and
//!   accounts (`auth.passkeys()`, `auth.sessions()`, `auth.accounts()`).
//! - [`audit`]: each account's security log (sign-ins, passkey, session, email and
//!   account changes), its retention, and what happens when recording fails.
//! - [`hooks`] (`before_*` may veto, `after_*` observe) and [`events`] (`auth.subscribe()`).
//! - [`rate_limit`]: per-rule budgets, in-process or shared through Redis.
//! - [`secrets`]: bearer tokens from the OS CSPRNG, stored as SHA-256, compared in constant
//!   time; [`clock`]: time as a dependency (tests move it instead of sleeping).
//! - [`http`]: the axum router that maps the wire protocol to the engine, and
//!   [`http::error`], the one place where errors become HTTP responses.
//! - [`error`]: the [`Error`] type every operation returns, with typed reasons.
//! - [`axum`]: using passkey-magic in your own axum app — one-call mount, the
//!   [`axum::CurrentSession`] / [`axum::CurrentUser`] extractors, cookie sessions with
//!   the CSRF origin check, host session systems (tower-sessions), QR-only mode, CORS.
//! - [`serve`]: running a router on a listener with graceful shutdown, header/body/idle
//!   timeouts and connection caps (a hostile network cannot starve the service).
//! - [`input`]: what text is accepted (no invisible characters, safe user ids).
//! - [`demo`]: serving the `www-example` demo app next to the API.
//! - [`store`]: the [`store::Store`] trait and its adapters (memory, SQLite, PostgreSQL,
//!   Redis), plus the conformance suite every adapter must pass (feature `testing`).
//! - [`qr`]: QR cross-device login — the state machine ([`qr::state`]), long-polling
//!   desktops, and drawing QR codes as SVG or terminal text ([`qr::render`]).
//! - [`magic_links`]: sign-in links by email (request, verify), and [`mail`]: the
//!   [`mail::EmailSender`] trait with the dev outbox and the SMTP sender (feature `smtp`).
//!
//! ## Layers
//!
//! Each module imports only from the layers below it, so there is no import circle:
//!
//! 1. **Foundation** — [`clock`], [`secrets`], [`qr::state`] and [`qr::render`] (plain
//!    data and drawing), and the settings of [`config`] ([`config::qr`],
//!    [`config::magic_links`], [`config::rate_limits`]), which know nothing of the
//!    engine.
//! 2. **Infrastructure** — [`store`] (and the long-poll wake-ups built on it), [`mail`],
//!    [`rate_limit`], [`hooks`], [`events`].
//! 3. **Errors** — [`error`], which folds the failures of the layers below into one type.
//! 4. **Core** — [`auth`]: the [`Auth`] handle over the layers below. It names no
//!    feature module.
//! 5. **Features** — [`audit`] (the security log every feature writes to), then
//!    [`sessions`] and [`accounts`], then [`passkeys`], [`magic_links`]
//!    and [`qr`], which may import those two; each adds its group of operations to
//!    [`Auth`] (records become wire entities in one private module of this layer).
//! 6. **Assembly and transport** — [`config::builder`] (builds the [`Auth`]), [`http`], [`axum`],
//!    [`serve`], [`demo`], and the `passkey-magic` binary.
//!
//! ## Feature flags
//!
//! | feature | effect | default |
//! |---|---|---|
//! | `cli` | the `passkey-magic` binary (clap, log output) | yes |
//! | `sqlite` | `store::SqliteStore`, the embedded SQL store (bundled SQLite) | yes |
//! | `postgres` | `store::PostgresStore`, for several instances on one database | no |
//! | `redis` | `store::RedisStore` and `rate_limit::RedisRateLimiter` | no |
//! | `testing` | `store::conformance`, the storage conformance suite for custom stores | no |
//! | `smtp` | `mail::SmtpSender`: magic-link emails over SMTP (lettre, rustls) | no |
//! | `tower-sessions` | `axum::host::TowerSessions`: sign-ins into the app's tower-sessions session | no |
//! | `fuzzing` | the entry points of the fuzz targets in `tests/fuzz/` (not an API) | no |

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod axum;
pub mod clock;
pub mod config;
pub mod demo;
mod entities;
pub mod error;
pub mod events;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod hooks;
pub mod http;
pub mod input;
pub mod magic_links;
pub mod mail;
pub mod passkeys;
pub mod qr;
pub mod rate_limit;
pub mod secrets;
pub mod serve;
pub mod sessions;
pub mod store;
pub mod telemetry;
mod watch;

pub use auth::Auth;

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
pub use config::AuthBuilder;
pub use error::{Error, Result};
