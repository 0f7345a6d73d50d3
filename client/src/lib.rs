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

// The npm package (`--no-default-features --features npm`, linked by the cdylib crate
// `client/npm`): no std, so no std panic machinery and its `core::fmt` in the download;
// a panic traps (see `panic` below).
#![cfg_attr(
    all(
        target_arch = "wasm32",
        feature = "npm",
        not(feature = "std"),
        not(test)
    ),
    no_std
)]

extern crate alloc;

pub mod base64url;
#[cfg(feature = "std")]
pub mod client;
#[cfg(feature = "std")]
pub mod error;
pub mod polling;
pub mod qr_code;
#[cfg(feature = "std")]
pub mod transport;

#[cfg(target_arch = "wasm32")]
pub mod js;

/// The npm package's allocator: a free list, a fraction of dlmalloc's size (feature `npm`).
#[cfg(all(target_arch = "wasm32", feature = "npm"))]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// The npm package's panic handler: trap. The JavaScript side sees a `RuntimeError`.
#[cfg(all(
    target_arch = "wasm32",
    feature = "npm",
    not(feature = "std"),
    not(test)
))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(feature = "std")]
pub use client::Client;
#[cfg(feature = "std")]
pub use error::ClientError;
pub use passkey_magic_shared as shared;
#[cfg(feature = "std")]
pub use transport::Transport;
