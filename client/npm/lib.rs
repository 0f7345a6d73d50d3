//! The WebAssembly module of the npm package `passkey-magic-wasm`: the JavaScript API of
//! [`passkey_magic_client`] (its `js` module, built `no_std` with the `npm` feature),
//! linked as a cdylib. wasm-pack builds this crate (`scripts/lib.sh`); everything it
//! exports is defined in the client crate.

// The client brings the panic handler and allocator of the `no_std` build.
#![cfg_attr(target_arch = "wasm32", no_std)]

#[cfg(target_arch = "wasm32")]
pub use passkey_magic_client::js::{Core, Poller, sync};
