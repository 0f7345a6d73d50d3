//! Any bytes as the body of every route: 4xx refusals, parse → serialise → parse is stable.
//! The properties are documented on `passkey_magic_server::fuzzing::request_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| passkey_magic_server::fuzzing::request_body(data));
