//! # passkey-magic-shared — the wire protocol, written once
//!
//! This crate is the contract between the `passkey-magic` server, its browser/native client
//! and any third-party client. It is pure data and validation: no I/O, no async, and it
//! builds for `wasm32-unknown-unknown` as well as native targets.
//!
//! The HTTP protocol is compatible with passkey-magic v0.4 (see the project's
//! `spec/wire-protocol.md`); JSON field names appear only here, set by serde attributes.
//!
//! ## Layout
//!
//! - [`routes`]: the route table — every endpoint, its method(s), path, access rule and
//!   rate-limit rule. The server mounts it and the client calls it.
//! - [`entities`]: the JSON views of users, sessions, credentials and QR status.
//! - [`passkeys`], [`magic_links`], [`qr`], [`sessions`], [`accounts`]: request and response
//!   bodies, one module per group of routes.
//! - [`security_events`]: an account's security log (`GET /account/events`): the event,
//!   the page and its keyset cursor.
//! - [`request`]: strict parsing of request bodies with the spec's error messages.
//! - [`error`]: the error body every failure carries.
//! - [`secret`]: [`BearerToken`], the one type of every bearer secret (redacted `Debug`).
//! - [`limits`], [`email`], [`magic_link`]: field limits, email syntax, magic-link URLs.
//! - [`time`]: the [`Timestamp`] type (ISO-8601 on the wire, Unix milliseconds inside).
//! - [`webauthn`]: the WebAuthn JSON types (from `webauthn-rs-proto`).
//! - `openapi` (feature `openapi`): the OpenAPI 3.1 document, built from the route table
//!   and these types.
//!
//! ## Example
//!
//! ```
//! use passkey_magic_shared::routes::{Endpoint, Method};
//!
//! let route = Endpoint::QrStatus.client_route();
//! assert_eq!(route.method, Method::Get);
//! assert_eq!(route.path_with_id("abc"), "/qr/abc/status");
//! ```

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod limits;
pub mod routes;
#[cfg(feature = "std")]
pub mod secret;

#[cfg(feature = "std")]
pub mod accounts;
#[cfg(feature = "std")]
pub mod email;
#[cfg(feature = "std")]
pub mod entities;
#[cfg(feature = "std")]
pub mod error;
#[cfg(feature = "std")]
pub mod magic_link;
#[cfg(feature = "std")]
pub mod magic_links;
#[cfg(feature = "openapi")]
pub mod openapi;
#[cfg(feature = "std")]
pub mod passkeys;
#[cfg(feature = "std")]
pub mod qr;
#[cfg(feature = "std")]
pub mod request;
#[cfg(feature = "std")]
pub mod security_events;
#[cfg(feature = "std")]
pub mod sessions;
#[cfg(feature = "std")]
pub mod time;
#[cfg(feature = "std")]
pub mod webauthn;

#[cfg(feature = "std")]
pub use entities::{
    AuthContext, AuthMethod, Credential, DeviceType, Metadata, QrState, QrStatus, Session,
    SessionGrant, User,
};
#[cfg(feature = "std")]
pub use error::{ErrorBody, ErrorCode, RequestError};
pub use routes::{Access, Endpoint, Method, RateLimitRule, Route};
#[cfg(feature = "std")]
pub use secret::BearerToken;
#[cfg(feature = "std")]
pub use time::Timestamp;
