//! # passkey-magic-client
//!
//! The client of passkey-magic: passkey sign-up and sign-in through
//! `navigator.credentials`, QR cross-device login, magic links and session observation.
//! In the browser it is a WebAssembly module published as an npm package (see
//! `pkg-template/`); natively (feature `native`) its typed core calls a server with
//! reqwest, for Rust apps and tests.
//!
//! ## Layout
//!
//! - [`client`]: [`Client`], typed calls over a [`Transport`], keeping the session token.
//! - [`transport`]: how calls reach the server: `fetch` in the browser, reqwest natively.
//! - [`error`]: [`ClientError`] `{status, code, message}`.
//! - `capabilities` (wasm32): what the browser supports (passkeys, autofill, platform
//!   authenticator).
//! - `webauthn` (wasm32): WebAuthn JSON ↔ `navigator.credentials`.
//! - `js` (wasm32): the JavaScript API exported with wasm-bindgen (`createClient`).
//!
//! The protocol itself (routes, JSON shapes) comes from [`passkey_magic_shared`].

pub mod client;
pub mod error;
pub mod transport;

#[cfg(target_arch = "wasm32")]
pub mod capabilities;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
mod webauthn;

pub use client::Client;
pub use error::ClientError;
pub use passkey_magic_shared as shared;
pub use transport::Transport;
