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
//! use passkey_magic_server::{http, serve};
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = axum::Router::new().nest("/auth", http::router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8787").await?;
//! serve::run(listener, app, serve::shutdown_signal()).await
//! # }
//! ```
//!
//! ## Layout
//!
//! - [`http`]: the axum router that maps the wire protocol to the engine, and
//!   [`http::error`], the one place where errors become HTTP responses.
//! - [`error`]: the [`Error`] type every operation returns.
//! - [`serve`]: running a router on a listener with graceful shutdown.
//! - [`demo`]: serving the `www-example` demo app next to the API.
//!
//! ## Feature flags
//!
//! | feature | effect | default |
//! |---|---|---|
//! | `cli` | the `passkey-magic` binary (clap, log output) | yes |

pub mod clock;
pub mod demo;
pub mod error;
pub mod http;
pub mod secrets;
pub mod serve;
pub mod store;

pub use error::{Error, Result};
