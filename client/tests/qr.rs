//! `qr_code` against the reference output of passkey-magic v0.4 (`render`/`renderText`
//! SHA-256 values from the client API spec §8.3).
#![cfg(not(target_arch = "wasm32"))]
#![allow(clippy::unwrap_used)] // tests fail by panicking

use passkey_magic_client::qr_code::{QrData, QrMatrix};
use sha2::{Digest, Sha256};

const U: &str = "https://example.com/auth/qr/3f2b8c1e-9d4a-4e7b-a1c2-5d6e7f8091a2";

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn svg(text: &str, border: usize) -> String {
    QrMatrix::encode(QrData::Text(text)).unwrap().to_svg(border)
}

fn terminal(text: &str, border: usize) -> String {
    QrMatrix::encode(QrData::Text(text))
        .unwrap()
        .to_text(border)
}

#[test]
fn svg_output_is_byte_identical_to_v04() {
    let cases = [
        (
            svg("hi", 2),
            "87dc322da3fc85fa355df05b8dbcb152e4ef78bebca33386ee1da59aeac00513",
        ),
        (
            svg(U, 2),
            "50b9b87f736e9c272ee8cd8f356fd7166411fa357b6c86a4cd7297d47a9f1371",
        ),
        (
            svg(U, 0),
            "3b5856d51960103f3dd0e48c49f45e56e12daaf9edc7212a6cbcf0e6b5428e57",
        ),
        (
            svg(U, 4),
            "2fa1a3f513b4ce38d3b9d0fe76cc0c9e3f98c7238f003077a4e2a79d262cf322",
        ),
        (
            svg("0123456789", 2),
            "271fc8118c4e05c2efcd058c0e78e7332f5cae1800ad8c44ed6fedf7686f61b7",
        ),
        (
            svg("HELLO WORLD", 2),
            "178b75d1391e0e19bfa79049febb5cd00cebbe1233fbef96cdd78bbe5a589cb7",
        ),
        (
            svg("héllo ✓", 2),
            "3d7f3c1fe17ac852497ee477944bf4dd497d3af0391f84c77f70f4f5244e82a1",
        ),
        (
            svg("", 2),
            "15928357272300c4f03656196378f84ea058070367350db3e3f655e4834978ce",
        ),
    ];
    for (index, (output, expected)) in cases.iter().enumerate() {
        assert_eq!(&sha256(output), expected, "case {index}");
    }
    assert_eq!(svg("hi", 2).chars().count(), 4179);
    assert_eq!(svg(U, 2).chars().count(), 10187);
}

#[test]
fn terminal_output_is_byte_identical_to_v04() {
    let cases = [
        (
            terminal(U, 1),
            "fc38e86bd6162e17cc87e4739c3a2aa35d1ff6b6acd8bcf26f429e94fe2424a3",
        ),
        (
            terminal(U, 0),
            "9759119cb4a41a15a2f14eed92ac0f37bb5292b7a2ce82afeef3c9a3cfd00b3b",
        ),
        (
            terminal(U, 2),
            "76cac8e99860db3ae728d57251bb06d3fb7c4d5046c2983eabcb6a208d24018a",
        ),
    ];
    for (index, (output, expected)) in cases.iter().enumerate() {
        assert_eq!(&sha256(output), expected, "case {index}");
    }
}

#[test]
fn bytes_encode_like_the_same_text_in_byte_mode() {
    let from_bytes = QrMatrix::encode(QrData::Bytes("héllo ✓".as_bytes())).unwrap();
    assert_eq!(from_bytes.to_svg(2), svg("héllo ✓", 2));
}
