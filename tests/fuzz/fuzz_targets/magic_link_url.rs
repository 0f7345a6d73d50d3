//! Tokens taken out of any URL, and links built around tokens, read back by two URL parsers.
//! The properties are documented on `passkey_magic_server::fuzzing::magic_link_url`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| passkey_magic_server::fuzzing::magic_link_url(data));
