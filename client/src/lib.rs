//! # passkey-magic-client
//!
//! The client of passkey-magic: passkey sign-up and sign-in through
//! `navigator.credentials`, QR cross-device login, magic links and session observation.
//! In the browser it is a WebAssembly module published as the npm package
//! `passkey-magic-wasm` (built by wasm-pack, completed by `pkg-template/`), call-compatible
//! with passkey-magic v0.4's JavaScript client; natively (feature `native`) its typed core
//! calls a server with reqwest, for Rust apps and tests.
//!
//! ## Layout
//!
//! - [`client`]: [`Client`], typed calls over a [`Transport`], keeping the session token.
//! - [`transport`]: how typed calls reach the server (reqwest natively).
//! - [`error`]: [`ClientError`] `{status, code, msg}`.
//! - [`qr_code`]: QR codes as SVG and terminal text, identical to v0.4's.
//! - [`polling`]: the delays between QR status polls (backoff, cap, jitter).
//! - [`base64url`]: the binary encoding of WebAuthn JSON.
//! - `js` (wasm32): the JavaScript API exported with wasm-bindgen — the v0.4 transport
//!   contract and our `fetch` transport, WebAuthn JSON ↔ `navigator.credentials`, QR
//!   polling, magic-link URLs, `observeSession`, capability checks.
//!
//! The protocol itself (routes, JSON shapes) comes from [`passkey_magic_shared`].

pub mod base64url;
pub mod client;
pub mod error;
pub mod polling;
pub mod qr_code;
pub mod transport;

#[cfg(target_arch = "wasm32")]
pub mod js;

/// The npm package's allocator: a free list, a fraction of dlmalloc's size (feature `npm`).
#[cfg(all(target_arch = "wasm32", feature = "npm"))]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

pub use client::Client;
pub use error::ClientError;
pub use passkey_magic_shared as shared;
pub use transport::Transport;
