//! Magic-link URLs: building them on the server, taking the token out in the browser.
//!
//! A link is the configured magic-link URL with `token=<token>` added to its query
//! (`https://example.com/auth/verify?token=…`); an existing query and fragment are kept.

use crate::limits::MAX_TOKEN_LEN;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// The query parameter that carries the token.
pub const TOKEN_PARAM: &str = "token";

/// Why no token could be taken from a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractTokenError {
    /// The URL has no `token` query parameter.
    #[error("The link has no token")]
    Missing,
    /// `token=` is present but empty.
    #[error("The link's token is empty")]
    Empty,
    /// The token is longer than any token we issue.
    #[error("The link's token is too long")]
    TooLong,
    /// The token is not valid percent-encoded UTF-8.
    #[error("The link's token is malformed")]
    Malformed,
}

/// Takes the magic-link token out of a URL, absolute (`https://x/verify?token=…`) or
/// relative (`/verify?token=…`, `?token=…`). Values are decoded as
/// `URLSearchParams` does (`%XX` escapes, `+` for space); the fragment is ignored.
///
/// # Errors
/// [`ExtractTokenError`] when the token is missing, empty, too long or malformed.
///
/// ```
/// use passkey_magic_shared::magic_link::{extract_token, ExtractTokenError};
/// assert_eq!(extract_token("https://app.example/verify?a=1&token=abc%2D1#x").unwrap(), "abc-1");
/// assert_eq!(extract_token("/verify?next=%2F").unwrap_err(), ExtractTokenError::Missing);
/// ```
pub fn extract_token(url: &str) -> Result<String, ExtractTokenError> {
    let without_fragment = url.split_once('#').map_or(url, |(before, _)| before);
    let query = without_fragment
        .split_once('?')
        .map(|(_, query)| query)
        .ok_or(ExtractTokenError::Missing)?;
    let raw = query
        .split('&')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(key).as_deref() == Some(TOKEN_PARAM)).then_some(value)
        })
        .next()
        .ok_or(ExtractTokenError::Missing)?;
    let token = decode_component(raw).ok_or(ExtractTokenError::Malformed)?;
    if token.is_empty() {
        return Err(ExtractTokenError::Empty);
    }
    if token.chars().count() > MAX_TOKEN_LEN {
        return Err(ExtractTokenError::TooLong);
    }
    Ok(token)
}

/// Decodes one `application/x-www-form-urlencoded` component.
fn decode_component(component: &str) -> Option<String> {
    let spaced = component.replace('+', " ");
    percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|text| text.into_owned())
}

/// Characters escaped in a query value (form-urlencoded rules, conservatively).
const QUERY_VALUE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Builds the link sent by email: `base` with `token=<token>` added to its query.
///
/// ```
/// use passkey_magic_shared::magic_link::{build_url, extract_token};
/// let url = build_url("https://example.com/verify?lang=fr#top", "t0k");
/// assert_eq!(url, "https://example.com/verify?lang=fr&token=t0k#top");
/// assert_eq!(extract_token(&url).unwrap(), "t0k");
/// ```
pub fn build_url(base: &str, token: &str) -> String {
    let (before_fragment, fragment) = match base.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (base, None),
    };
    let separator = match before_fragment.split_once('?') {
        None => "?",
        Some((_, "")) => "",
        Some((_, query)) if query.ends_with('&') => "",
        Some(_) => "&",
    };
    let mut url = format!(
        "{before_fragment}{separator}{TOKEN_PARAM}={}",
        utf8_percent_encode(token, QUERY_VALUE)
    );
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_from_absolute_and_relative_urls() {
        for url in [
            "https://example.com/auth/verify?token=abc",
            "http://localhost:8787/verify?x=1&token=abc&y=2",
            "/verify?token=abc",
            "?token=abc",
            "verify?token=abc#fragment",
            "/verify?%74oken=abc",
        ] {
            assert_eq!(extract_token(url).as_deref(), Ok("abc"), "{url}");
        }
    }

    #[test]
    fn decodes_like_url_search_params() {
        assert_eq!(extract_token("/v?token=a%20b").unwrap(), "a b");
        assert_eq!(extract_token("/v?token=a+b").unwrap(), "a b");
        assert_eq!(extract_token("/v?token=%E2%9C%93").unwrap(), "✓");
        // The first occurrence wins, as URLSearchParams.get does.
        assert_eq!(extract_token("/v?token=one&token=two").unwrap(), "one");
    }

    #[test]
    fn reports_missing_empty_and_bad_tokens() {
        use ExtractTokenError::*;
        assert_eq!(extract_token("https://example.com/verify"), Err(Missing));
        assert_eq!(
            extract_token("https://example.com/verify?tok=1"),
            Err(Missing)
        );
        assert_eq!(
            extract_token("https://example.com/#?token=abc"),
            Err(Missing)
        );
        assert_eq!(extract_token("/v?token="), Err(Empty));
        assert_eq!(extract_token("/v?token"), Err(Empty));
        assert_eq!(extract_token("/v?token=%FF"), Err(Malformed));
        let long = format!("/v?token={}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert_eq!(extract_token(&long), Err(TooLong));
    }

    #[test]
    fn builds_links_that_round_trip() {
        assert_eq!(build_url("https://e.com/v", "t"), "https://e.com/v?token=t");
        assert_eq!(
            build_url("https://e.com/v?", "t"),
            "https://e.com/v?token=t"
        );
        assert_eq!(
            build_url("https://e.com/v?a=1&", "t"),
            "https://e.com/v?a=1&token=t"
        );
        for token in ["plain", "with space", "a&b=c#d", "ünï", "x+y%z"] {
            let url = build_url("https://e.com/v?keep=1#frag", token);
            assert!(url.starts_with("https://e.com/v?keep=1&token="), "{url}");
            assert!(url.ends_with("#frag"), "{url}");
            assert_eq!(extract_token(&url).unwrap(), token, "{url}");
        }
    }
}
