//! QR cross-device login: a desktop without a passkey shows a QR code; a phone that holds
//! a passkey scans it and signs the desktop in.
//!
//! [`state`] is the state machine; the store applies its transitions as compare-and-set.

pub mod state;
