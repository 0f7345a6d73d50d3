//! Cross-crate tests for passkey-magic. The library is empty: the tests live beside it
//! (`storage.rs` runs the storage conformance suite against every built-in store).
