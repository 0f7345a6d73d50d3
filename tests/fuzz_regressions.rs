//! Replays every saved input of the fuzz targets (`tests/fuzz/`) through the same entry
//! points the targets call (`passkey_magic_server::fuzzing`), on stable Rust and in the
//! normal test run: the seed corpora (`tests/fuzz/corpus/<target>/`) and the minimised
//! inputs of every crash found and fixed (`tests/fuzz/regressions/<target>/`). A failing
//! input is named in the failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

use passkey_magic_server::fuzzing::TARGETS;
use std::path::{Path, PathBuf};

/// The saved inputs of `target`, from both folders, in a stable order.
fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for folder in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(folder).join(target)) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn replay(target: &str) {
    let (_, run) = TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .unwrap_or_else(|| panic!("no fuzz target {target}"));
    let files = inputs(target);
    assert!(!files.is_empty(), "no saved inputs for {target}");
    for path in files {
        let data = match std::fs::read(&path) {
            Ok(data) => data,
            // A fuzzer running meanwhile replaced it (scripts/fuzz rewrites the corpus).
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => panic!("{}: {error}", path.display()),
        };
        if std::panic::catch_unwind(|| run(&data)).is_err() {
            panic!("{target} fails on {}", path.display());
        }
    }
}

#[test]
fn request_body_inputs_pass() {
    replay("request_body");
}

#[test]
fn magic_link_url_inputs_pass() {
    replay("magic_link_url");
}

#[test]
fn webauthn_response_inputs_pass() {
    replay("webauthn_response");
}

#[test]
fn qr_state_inputs_pass() {
    replay("qr_state");
}

#[test]
fn every_target_is_replayed() {
    let names: Vec<&str> = TARGETS.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "request_body",
            "magic_link_url",
            "webauthn_response",
            "qr_state"
        ]
    );
}
