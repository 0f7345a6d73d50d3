//! The physical ceiling of passkey sign-ins: each one verifies one ES256 signature, with
//! the implementation webauthn-rs uses (RustCrypto `p256` 0.14, default features, as
//! `crypto-glue` enables them), so no server can sign in more users per second than the
//! cores can verify signatures.

use anyhow::Context;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey};

/// Bytes a WebAuthn assertion signs: 37 of authenticator data and the 32-byte hash of the
/// client data.
const SIGNED_BYTES: usize = 69;

/// CPU microseconds one ES256 verification takes on this thread, over `rounds` of them.
pub(crate) fn es256_verify_micros(rounds: u32) -> anyhow::Result<f64> {
    let key = SigningKey::from_slice(&[7; 32]).context("signing key")?;
    let message = [0x5a; SIGNED_BYTES];
    let signature: Signature = key.sign(&message);
    let verifying = key.verifying_key();
    // Whatever the first verify sets up lazily (if anything) stays out of the timing.
    verifying.verify(&message, &signature)?;
    let start = thread_cpu_seconds()?;
    for _ in 0..rounds {
        verifying.verify(
            std::hint::black_box(&message),
            std::hint::black_box(&signature),
        )?;
    }
    let spent = thread_cpu_seconds()? - start;
    Ok(spent * 1e6 / f64::from(rounds.max(1)))
}

/// User + system CPU seconds of the calling thread.
fn thread_cpu_seconds() -> anyhow::Result<f64> {
    crate::server::cpu_seconds(
        "/proc/thread-self/stat",
        crate::server::clock_ticks_per_second(),
    )
}
