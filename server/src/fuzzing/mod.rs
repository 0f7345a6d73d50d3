//! Entry points of the fuzz targets in `tests/fuzz/` (feature `fuzzing`; not an API).
//!
//! Each function takes the fuzzer's bytes, drives the real code with them and **panics
//! when a property fails**, which is how a fuzzer learns of a bug. The targets of
//! `tests/fuzz/fuzz_targets/` are one line each, and the regression test
//! (`tests/fuzz_regressions.rs`) replays the committed inputs through the same
//! functions on stable Rust, so a fixed crash stays fixed.
//!
//! - `request_body`: every route's request body type through the HTTP layer's body
//!   extractor; parse → serialise → parse gives the same value; refusals are 4xx.
//! - `magic_link_url`: taking a token out of any URL never yields a token the server
//!   would refuse; a link built from a valid configured URL gives back its token, both
//!   to `passkey_magic_shared::magic_link::extract_token` and to a WHATWG URL parser
//!   (what the browser SDK uses).
//! - `webauthn_response`: registration and sign-in answers, built around the real
//!   challenge and signed by a software authenticator, or raw JSON, fed to a fresh
//!   engine: it answers, never panics, and accepts only answers that are valid by
//!   construction.
//! - `qr_state`: sequences of QR login operations and clock moves on the real engine;
//!   after each step the stored state moved only along the state machine, a completed
//!   login gave exactly one session and a cancelled or expired one none, and attempts
//!   stay bounded.
// A fuzz oracle fails by panicking; this module is built only for the fuzz targets and
// their regression test (feature `fuzzing`).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod authenticator;
mod magic_link_url;
mod qr_state;
mod request_body;
mod webauthn_response;

pub use magic_link_url::magic_link_url;
pub use qr_state::qr_state;
pub use request_body::request_body;
pub use webauthn_response::webauthn_response;

/// A fuzz target: takes the fuzzer's bytes, panics when a property fails.
pub type Target = fn(&[u8]);

/// Every target by name (the names of `tests/fuzz/fuzz_targets/*.rs` and of the corpus
/// and regression folders).
pub const TARGETS: [(&str, Target); 4] = [
    ("request_body", request_body),
    ("magic_link_url", magic_link_url),
    ("webauthn_response", webauthn_response),
    ("qr_state", qr_state),
];

/// Runs a future to completion on this thread's runtime (one per thread, reused across
/// inputs: building a runtime per input would dominate the fuzzer's time).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread Tokio runtime");
    }
    RUNTIME.with(|runtime| runtime.block_on(future))
}
