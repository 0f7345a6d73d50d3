//! The JavaScript API, exported with wasm-bindgen. The ESM entry of the npm package
//! (`pkg-template/index.js`) only names, groups and aliases what is exported here:
//!
//! - [`Core`]: one `createClient` object's state; `run(op, a, b, c)` is the one
//!   dispatcher of every asynchronous member (see `client.rs` for the numbering),
//!   `poll` makes a [`Poller`], `observe` starts `observeSession`.
//! - [`sync`]: the synchronous members (QR rendering, magic-link token, capability
//!   checks, `normalizeAuthClientError`).
//!
//! Member behaviour follows the v0.4 client API spec: the transport is called with its
//! exact endpoint strings, bodies and third argument; results are handed back as-is.

mod abort;
mod capabilities;
mod client;
mod magic_link;
mod observe;
mod poll;
mod render;
mod transport;
mod value;
pub mod webauthn;

pub use capabilities::sync;
pub use client::Core;
pub use poll::Poller;
