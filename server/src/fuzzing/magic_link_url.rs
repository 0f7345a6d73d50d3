//! Target `magic_link_url`: taking tokens out of URLs, and links built around tokens.

use crate::config::MagicLinkConfig;
use crate::secrets::base64url;
use passkey_magic_shared::limits::MAX_TOKEN_LEN;
use passkey_magic_shared::magic_link::{TOKEN_PARAM, build_url, extract_token};
use passkey_magic_shared::magic_links::VerifyMagicLinkRequest;
use passkey_magic_shared::request::parse_body;
use sha2::{Digest, Sha256};
use url::Url;

/// The three texts of an input, separated by NUL bytes (so saved inputs stay readable):
/// a URL a user opens, a magic-link URL an operator configures, and a token.
struct Input<'a> {
    opened: &'a str,
    configured: &'a str,
    token: &'a str,
}

impl<'a> Input<'a> {
    fn parse(data: &'a [u8]) -> Option<Self> {
        let text = std::str::from_utf8(data).ok()?;
        let mut parts = text.splitn(3, '\0');
        Some(Input {
            opened: parts.next()?,
            configured: parts.next().unwrap_or_default(),
            token: parts.next().unwrap_or_default(),
        })
    }
}

/// Checks magic-link token extraction and link building on `data` (three texts
/// separated by NUL bytes: an opened URL, a configured URL, a token):
///
/// - a token extracted from any URL is one the verify route accepts as it is
///   (non-empty, within the length limit);
/// - a link built from a configured URL the server accepts and a token gives that token
///   back, to `extract_token` and to a WHATWG URL parser (the browser SDK's
///   `URL.searchParams`), and stays on the configured URL's origin.
///
/// # Panics
/// When a property fails (that is the fuzzer's signal).
pub fn magic_link_url(data: &[u8]) {
    let Some(input) = Input::parse(data) else {
        return;
    };
    if let Ok(token) = extract_token(input.opened) {
        check_accepted_by_verify(&token);
    }
    // What the server issues (32 random bytes, base64url) and any other text.
    let issued = base64url(&Sha256::digest(input.token.as_bytes()));
    for token in [issued.as_str(), input.token] {
        if !token.is_empty()
            && token.chars().count() <= MAX_TOKEN_LEN
            && MagicLinkConfig::new(input.configured).validate().is_ok()
        {
            check_link_round_trip(input.configured, token);
        }
    }
}

/// The verify route takes the extracted token unchanged.
fn check_accepted_by_verify(token: &str) {
    assert!(!token.is_empty(), "an extracted token is never empty");
    assert!(
        token.chars().count() <= MAX_TOKEN_LEN,
        "an extracted token is within the limit"
    );
    let body = serde_json::to_vec(&serde_json::json!({ "token": token })).expect("JSON");
    let request: VerifyMagicLinkRequest = parse_body(&body)
        .unwrap_or_else(|error| panic!("the verify route refuses an extracted token: {error}"));
    assert_eq!(request.token.expose(), token);
}

/// A link built around `token` gives it back to both parsers.
fn check_link_round_trip(configured: &str, token: &str) {
    let link = build_url(configured, token);
    assert_eq!(
        extract_token(&link).as_deref(),
        Ok(token),
        "extract_token(build_url({configured:?}, {token:?})) = extract_token({link:?})"
    );
    let parsed =
        Url::parse(&link).unwrap_or_else(|error| panic!("the link {link:?} is not a URL: {error}"));
    let seen = parsed
        .query_pairs()
        .find(|(name, _)| name == TOKEN_PARAM)
        .map(|(_, value)| value.into_owned());
    assert_eq!(
        seen.as_deref(),
        Some(token),
        "a browser reads another token from {link:?} (configured {configured:?})"
    );
    let configured_origin = Url::parse(configured).expect("validated").origin();
    assert_eq!(
        parsed.origin(),
        configured_origin,
        "the link {link:?} left the configured origin"
    );
}
