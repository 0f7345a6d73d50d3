//! The client's address: the socket peer, unless the peer is a configured trusted proxy,
//! in which case the forwarding headers it adds are believed (v0.4 believed
//! `X-Forwarded-For` from anyone, which let clients dodge every rate limit).
//!
//! Order: `Forwarded` (RFC 7239), then `X-Forwarded-For`, then `X-Real-IP`. In a chain,
//! the client is the right-most address that is not itself a trusted proxy.

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Resolves the client address of a request that arrived from `peer`.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let chain = forwarded_chain(headers)
        .or_else(|| x_forwarded_for_chain(headers))
        .or_else(|| {
            header_text(headers, "x-real-ip")
                .and_then(parse_address)
                .map(|a| vec![a])
        });
    match chain {
        Some(chain) if !chain.is_empty() => Some(
            chain
                .iter()
                .rev()
                .find(|address| !is_trusted(address))
                .or(chain.first())
                .copied()
                .unwrap_or(peer),
        ),
        _ => Some(peer),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// An address as it appears in forwarding headers: `1.2.3.4`, `1.2.3.4:80`, `::1`,
/// `[::1]`, `[::1]:80`, optionally quoted.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')
                .and_then(|rest| rest.split(']').next())
                .and_then(|inner| inner.parse().ok())
        })
}

/// All `for=` addresses of every `Forwarded` header, in order. `None` when absent;
/// a malformed or obfuscated entry (`for=unknown`) ends the usable chain.
fn forwarded_chain(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    let mut present = false;
    for value in headers.get_all("forwarded") {
        present = true;
        let Ok(text) = value.to_str() else {
            return Some(Vec::new());
        };
        for element in text.split(',') {
            let address = element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then_some(value)
            });
            match address.and_then(parse_address) {
                Some(address) => chain.push(address),
                None => chain.clear(),
            }
        }
    }
    present.then_some(chain)
}

fn x_forwarded_for_chain(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    let mut present = false;
    for value in headers.get_all("x-forwarded-for") {
        present = true;
        let text = value.to_str().unwrap_or_default();
        for item in text.split(',') {
            match parse_address(item) {
                Some(address) => chain.push(address),
                None => chain.clear(),
            }
        }
    }
    present.then_some(chain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.5";

    fn trusted() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap()]
    }

    #[test]
    fn untrusted_peers_cannot_spoof_their_address() {
        let spoof = headers(&[("x-forwarded-for", "1.2.3.4"), ("x-real-ip", "1.2.3.4")]);
        let peer = Some(ip("203.0.113.9"));
        assert_eq!(client_address(peer, &spoof, &trusted()), peer);
        assert_eq!(client_address(peer, &spoof, &[]), peer);
    }

    #[test]
    fn trusted_proxies_forward_the_client() {
        let peer = Some(ip(PROXY));
        let xff = headers(&[("x-forwarded-for", "198.51.100.1, 10.0.0.7")]);
        assert_eq!(
            client_address(peer, &xff, &trusted()),
            Some(ip("198.51.100.1"))
        );
        // A client-supplied first hop cannot hide the real one the proxy appended.
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.1")]);
        assert_eq!(
            client_address(peer, &spoofed, &trusted()),
            Some(ip("198.51.100.1"))
        );
        let real = headers(&[("x-real-ip", "198.51.100.2")]);
        assert_eq!(
            client_address(peer, &real, &trusted()),
            Some(ip("198.51.100.2"))
        );
        let none = HeaderMap::new();
        assert_eq!(client_address(peer, &none, &trusted()), peer);
    }

    #[test]
    fn forwarded_header_takes_precedence_and_parses_rfc7239() {
        let peer = Some(ip(PROXY));
        let both = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http;by=10.0.0.5, for=\"[2001:db8:cafe::17]:4711\"",
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            client_address(peer, &both, &trusted()),
            Some(ip("2001:db8:cafe::17"))
        );
        let obfuscated = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(client_address(peer, &obfuscated, &trusted()), peer);
    }
}
