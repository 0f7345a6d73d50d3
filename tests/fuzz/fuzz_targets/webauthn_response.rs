//! Registration and sign-in answers around the real challenge, fed to a fresh engine.
//! The properties are documented on `passkey_magic_server::fuzzing::webauthn_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| passkey_magic_server::fuzzing::webauthn_response(data));
