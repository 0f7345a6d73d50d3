//! Sequences of QR login operations and clock moves, with the state machine's invariants.
//! The properties are documented on `passkey_magic_server::fuzzing::qr_state`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| passkey_magic_server::fuzzing::qr_state(data));
