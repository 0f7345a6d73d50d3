//! Cookie sessions: the session token in an `HttpOnly` cookie instead of JavaScript, and
//! the origin check that keeps other sites from using it (CSRF).
//!
//! # The cookie
//!
//! `Set-Cookie: <name>=<token>; Path=<path>[; Domain=<domain>]; Max-Age=<session TTL>;
//! HttpOnly; Secure; SameSite=Lax` on every sign-in (passkey registration and sign-in,
//! magic link, the desktop's QR status once authenticated); the same with `Max-Age=0`
//! when the session is signed out or revoked. The default name is `__Host-passkey-magic`
//! (`__Secure-passkey-magic` with a domain or a path other than `/`; `passkey-magic`
//! without `Secure`). `Secure` is dropped only by [`CookieConfig::danger_insecure_http`],
//! and only when every configured origin is `http://localhost` (or a loopback address).
//!
//! # The CSRF defence
//!
//! Browsers attach cookies to requests that other sites start, so a cookie alone does
//! not prove the request came from your pages. `SameSite=Lax` already keeps the cookie
//! off cross-site `POST`s in current browsers; on top of that, a request that is
//! authenticated **by the cookie** and uses an unsafe method (anything but `GET`, `HEAD`,
//! `OPTIONS`) must come from one of the configured origins:
//!
//! - with an `Origin` header, it must equal one of the origins exactly;
//! - without one, `Sec-Fetch-Site` must be `same-origin`;
//! - with neither, it is refused.
//!
//! A refused request is treated as carrying no session: `401 {"error":"Unauthorized"}`
//! on protected routes, `None` for `Option<CurrentSession>`. Requests authenticated by
//! `Authorization: Bearer` are not checked: a page cannot make a browser add that header
//! to another site's request. Sign-ins whose `Origin` is a foreign origin do not set the
//! cookie (login CSRF: another site signing the browser into the attacker's account).

use axum::http::{HeaderMap, HeaderValue, Method, header};
use std::time::Duration;
use url::Url;

/// The default cookie name, before its prefix.
const BASE_NAME: &str = "passkey-magic";

/// Cookie settings, validated when given to
/// [`super::PasskeyMagic::cookies`].
///
/// ```
/// use passkey_magic_server::axum::CookieConfig;
/// let secure = CookieConfig::new(); // __Host-passkey-magic, Path=/, Secure
/// let scoped = CookieConfig::new().name("my-session").path("/app");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieConfig {
    name: Option<String>,
    domain: Option<String>,
    path: String,
    secure: bool,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig::new()
    }
}

/// Why cookie settings were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieConfigError {
    /// The name is empty or has characters a cookie name cannot have.
    #[error("invalid cookie name {0:?}")]
    InvalidName(String),
    /// The domain or path has characters a cookie attribute cannot have.
    #[error("invalid cookie {0} attribute")]
    InvalidAttribute(&'static str),
    /// `__Host-` names need `Secure`, `Path=/` and no domain; `__Secure-` names need
    /// `Secure`.
    #[error("cookie name {0:?} breaks the rules of its prefix")]
    PrefixRules(String),
    /// `Secure` can only be dropped when every origin is `http://` on a loopback host.
    #[error("cookies without Secure are only allowed for http://localhost origins, not {0}")]
    InsecureOrigin(String),
}

/// Validated cookie settings in force.
#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    pub(crate) name: String,
    domain: Option<String>,
    path: String,
    secure: bool,
    max_age: Duration,
}

impl CookieConfig {
    /// `Secure`, `Path=/`, no domain, the default name.
    pub fn new() -> Self {
        CookieConfig {
            name: None,
            domain: None,
            path: "/".to_owned(),
            secure: true,
        }
    }

    /// The cookie's name (default `__Host-passkey-magic`, see the module docs).
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The cookie's `Domain` (default: none, the exact host only).
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The cookie's `Path` (default `/`).
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Drops `Secure`, so the cookie travels over plain HTTP. Only for development on
    /// `http://localhost`: validation refuses it for any other origin.
    #[must_use]
    pub fn danger_insecure_http(mut self) -> Self {
        self.secure = false;
        self
    }

    /// Checks the settings against the origins the server runs on; `session_ttl` becomes
    /// the cookie's `Max-Age`.
    ///
    /// # Errors
    /// See [`CookieConfigError`].
    pub(crate) fn validate(
        &self,
        origins: &[Url],
        session_ttl: Duration,
    ) -> Result<CookieSettings, CookieConfigError> {
        let valid_attribute = |text: &str| {
            !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_graphic() && c != ';' && c != ',')
        };
        if let Some(domain) = &self.domain
            && !valid_attribute(domain)
        {
            return Err(CookieConfigError::InvalidAttribute("domain"));
        }
        if !valid_attribute(&self.path) || !self.path.starts_with('/') {
            return Err(CookieConfigError::InvalidAttribute("path"));
        }
        if !self.secure
            && let Some(origin) = origins.iter().find(|origin| !is_local_http(origin))
        {
            return Err(CookieConfigError::InsecureOrigin(
                origin.origin().ascii_serialization(),
            ));
        }
        let host_prefix_fits = self.secure && self.domain.is_none() && self.path == "/";
        let name = match &self.name {
            Some(name) => name.clone(),
            None if host_prefix_fits => format!("__Host-{BASE_NAME}"),
            None if self.secure => format!("__Secure-{BASE_NAME}"),
            None => BASE_NAME.to_owned(),
        };
        let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
        if name.is_empty() || !name.chars().all(token_char) {
            return Err(CookieConfigError::InvalidName(name));
        }
        let lower = name.to_ascii_lowercase();
        if (lower.starts_with("__host-") && !host_prefix_fits)
            || (lower.starts_with("__secure-") && !self.secure)
        {
            return Err(CookieConfigError::PrefixRules(name));
        }
        Ok(CookieSettings {
            name,
            domain: self.domain.clone(),
            path: self.path.clone(),
            secure: self.secure,
            max_age: session_ttl,
        })
    }
}

fn is_local_http(origin: &Url) -> bool {
    origin.scheme() == "http"
        && match origin.host() {
            Some(url::Host::Domain(domain)) => domain == "localhost",
            Some(url::Host::Ipv4(address)) => address.is_loopback(),
            Some(url::Host::Ipv6(address)) => address.is_loopback(),
            None => false,
        }
}

impl CookieSettings {
    /// The `Set-Cookie` value that stores `token`.
    pub(crate) fn set(&self, token: &str) -> Option<HeaderValue> {
        self.header(token, self.max_age.as_secs())
    }

    /// The `Set-Cookie` value that deletes the cookie.
    pub(crate) fn clear(&self) -> Option<HeaderValue> {
        self.header("", 0)
    }

    fn header(&self, value: &str, max_age: u64) -> Option<HeaderValue> {
        let mut text = format!("{}={value}; Path={}", self.name, self.path);
        if let Some(domain) = &self.domain {
            text.push_str("; Domain=");
            text.push_str(domain);
        }
        text.push_str(&format!("; Max-Age={max_age}; HttpOnly"));
        if self.secure {
            text.push_str("; Secure");
        }
        text.push_str("; SameSite=Lax");
        HeaderValue::from_str(&text).ok()
    }

    /// The session token of the request's cookie, if any.
    pub(crate) fn token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == self.name)
            .map(|(_, value)| value.trim_matches('"'))
            .filter(|value| !value.is_empty())
    }
}

/// Whether a cookie-authenticated request with `method` may use its cookie (the CSRF
/// defence of the module docs). `origins` are ASCII-serialized origins.
pub(crate) fn cookie_allowed(method: &Method, headers: &HeaderMap, origins: &[String]) -> bool {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return true;
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin
            .to_str()
            .is_ok_and(|origin| origins.iter().any(|allowed| allowed == origin));
    }
    headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"same-origin")
}

/// Whether the request's `Origin`, when present, is a configured one (absent: not a
/// browser's cross-site request).
pub(crate) fn origin_absent_or_allowed(headers: &HeaderMap, origins: &[String]) -> bool {
    headers.get(header::ORIGIN).is_none_or(|origin| {
        origin
            .to_str()
            .is_ok_and(|origin| origins.iter().any(|allowed| allowed == origin))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(list: &[&str]) -> Vec<Url> {
        list.iter().map(|o| Url::parse(o).unwrap()).collect()
    }

    const TTL: Duration = Duration::from_secs(3600);

    #[test]
    fn default_cookie_is_host_prefixed_and_locked_down() {
        let settings = CookieConfig::new()
            .validate(&origins(&["https://example.com"]), TTL)
            .unwrap();
        assert_eq!(
            settings.set("abc").unwrap(),
            "__Host-passkey-magic=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(
            settings.clear().unwrap(),
            "__Host-passkey-magic=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"
        );
    }

    #[test]
    fn attributes_are_exactly_as_configured() {
        let settings = CookieConfig::new()
            .name("app_session")
            .domain("example.com")
            .path("/app")
            .validate(&origins(&["https://app.example.com"]), TTL)
            .unwrap();
        assert_eq!(
            settings.set("t").unwrap(),
            "app_session=t; Path=/app; Domain=example.com; Max-Age=3600; HttpOnly; Secure; SameSite=Lax"
        );
        let secure_prefixed = CookieConfig::new()
            .domain("example.com")
            .validate(&origins(&["https://example.com"]), TTL)
            .unwrap();
        assert_eq!(secure_prefixed.name, "__Secure-passkey-magic");
    }

    #[test]
    fn insecure_cookies_only_for_localhost() {
        let local = CookieConfig::new()
            .danger_insecure_http()
            .validate(
                &origins(&["http://localhost:8787", "http://127.0.0.1:8787"]),
                TTL,
            )
            .unwrap();
        assert_eq!(
            local.set("t").unwrap(),
            "passkey-magic=t; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
        );
        let refused = CookieConfig::new()
            .danger_insecure_http()
            .validate(&origins(&["http://localhost", "https://example.com"]), TTL);
        assert_eq!(
            refused.unwrap_err(),
            CookieConfigError::InsecureOrigin("https://example.com".into())
        );
    }

    #[test]
    fn prefix_rules_and_bad_names_are_refused() {
        let https = origins(&["https://example.com"]);
        for config in [
            CookieConfig::new().name("__Host-x").path("/app"),
            CookieConfig::new().name("__Host-x").domain("example.com"),
        ] {
            assert!(matches!(
                config.validate(&https, TTL),
                Err(CookieConfigError::PrefixRules(_))
            ));
        }
        assert!(matches!(
            CookieConfig::new().name("a b").validate(&https, TTL),
            Err(CookieConfigError::InvalidName(_))
        ));
        assert!(matches!(
            CookieConfig::new().path("/x;y").validate(&https, TTL),
            Err(CookieConfigError::InvalidAttribute("path"))
        ));
    }

    #[test]
    fn reads_the_token_from_the_cookie_header() {
        let settings = CookieConfig::new()
            .validate(&origins(&["https://example.com"]), TTL)
            .unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("other=1; __Host-passkey-magic=tok; x=2"),
        );
        assert_eq!(settings.token(&headers), Some("tok"));
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("passkey-magic=tok"),
        );
        assert_eq!(settings.token(&headers), None);
    }

    #[test]
    fn origin_check() {
        let allowed = vec!["https://example.com".to_owned()];
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            headers
        };
        let post = Method::POST;
        assert!(cookie_allowed(
            &post,
            &with(&[("origin", "https://example.com")]),
            &allowed
        ));
        assert!(!cookie_allowed(
            &post,
            &with(&[("origin", "https://evil.example")]),
            &allowed
        ));
        assert!(!cookie_allowed(
            &post,
            &with(&[("origin", "null")]),
            &allowed
        ));
        assert!(cookie_allowed(
            &post,
            &with(&[("sec-fetch-site", "same-origin")]),
            &allowed
        ));
        assert!(!cookie_allowed(
            &post,
            &with(&[("sec-fetch-site", "cross-site")]),
            &allowed
        ));
        assert!(!cookie_allowed(
            &post,
            &with(&[("sec-fetch-site", "same-site")]),
            &allowed
        ));
        assert!(!cookie_allowed(&post, &HeaderMap::new(), &allowed));
        assert!(!cookie_allowed(
            &Method::DELETE,
            &HeaderMap::new(),
            &allowed
        ));
        assert!(cookie_allowed(&Method::GET, &HeaderMap::new(), &allowed));
    }
}
