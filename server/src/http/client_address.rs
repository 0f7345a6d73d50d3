//! The client's address: the socket peer, unless the peer is a configured trusted proxy,
//! in which case the one forwarding header the operator names is believed (v0.4 believed
//! `X-Forwarded-For` from anyone, which let clients dodge every rate limit).
//!
//! Only that header is read ([`ForwardedHeader`], default `X-Forwarded-For`); the others
//! are ignored, since a proxy that only appends to `X-Forwarded-For` passes a
//! client's own `Forwarded` or `X-Real-IP` through untouched. In a chain, the client is the
//! right-most entry that is not itself a trusted proxy: everything left of it was written
//! by the client. An unparsable entry stops the walk there (the last trusted hop is used).

use axum::http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// The forwarding header a trusted proxy sets, the only one believed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, ...` (appended to by each proxy). The default.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
    /// `X-Real-IP: client`, set (not appended to) by the proxy in front.
    XRealIp,
}

/// Resolves the client address of a request that arrived from `peer`, believing only
/// `header`, and only when `peer` is a trusted proxy.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: ForwardedHeader,
) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |address: &IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let chain = match header {
        ForwardedHeader::Forwarded => forwarded_chain(headers),
        ForwardedHeader::XForwardedFor => x_forwarded_for_chain(headers),
        ForwardedHeader::XRealIp => {
            // One value only: several headers mean someone else added one.
            let mut values = headers.get_all("x-real-ip").iter();
            match (values.next(), values.next()) {
                (Some(value), None) => vec![value.to_str().ok().and_then(parse_address)],
                _ => Vec::new(),
            }
        }
    };
    let mut client = peer;
    for entry in chain.iter().rev() {
        match entry {
            Some(address) if is_trusted(address) => client = *address,
            Some(address) => return Some(*address),
            None => break,
        }
    }
    Some(client)
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

/// The `for=` entries of every `Forwarded` header, in order (`None` for an entry that is
/// not an address, such as `for=unknown`).
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut chain = Vec::new();
    for value in headers.get_all("forwarded") {
        let Ok(text) = value.to_str() else {
            chain.push(None);
            continue;
        };
        for element in text.split(',') {
            let address = element.split(';').find_map(|pair| {
                let (key, value) = pair.split_once('=')?;
                key.trim().eq_ignore_ascii_case("for").then_some(value)
            });
            chain.push(address.and_then(parse_address));
        }
    }
    chain
}

/// The entries of every `X-Forwarded-For` header, in order.
fn x_forwarded_for_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut chain = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(text) = value.to_str() else {
            chain.push(None);
            continue;
        };
        chain.extend(text.split(',').map(parse_address));
    }
    chain
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
        assert_eq!(
            client_address(peer, &spoof, &trusted(), ForwardedHeader::XForwardedFor),
            peer
        );
        assert_eq!(
            client_address(peer, &spoof, &[], ForwardedHeader::XRealIp),
            peer
        );
    }

    #[test]
    fn trusted_proxies_forward_the_client() {
        let peer = Some(ip(PROXY));
        let xff = headers(&[("x-forwarded-for", "198.51.100.1, 10.0.0.7")]);
        assert_eq!(
            client_address(peer, &xff, &trusted(), ForwardedHeader::XForwardedFor),
            Some(ip("198.51.100.1"))
        );
        // A client-supplied first hop cannot hide the real one the proxy appended.
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1, 198.51.100.1")]);
        assert_eq!(
            client_address(peer, &spoofed, &trusted(), ForwardedHeader::XForwardedFor),
            Some(ip("198.51.100.1"))
        );
        let real = headers(&[("x-real-ip", "198.51.100.2")]);
        assert_eq!(
            client_address(peer, &real, &trusted(), ForwardedHeader::XRealIp),
            Some(ip("198.51.100.2"))
        );
        let none = HeaderMap::new();
        assert_eq!(
            client_address(peer, &none, &trusted(), ForwardedHeader::XForwardedFor),
            peer
        );
    }

    #[test]
    fn the_forwarded_header_parses_rfc7239() {
        let peer = Some(ip(PROXY));
        let both = headers(&[
            (
                "forwarded",
                "for=192.0.2.60;proto=http;by=10.0.0.5, for=\"[2001:db8:cafe::17]:4711\"",
            ),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            client_address(peer, &both, &trusted(), ForwardedHeader::Forwarded),
            Some(ip("2001:db8:cafe::17"))
        );
        let obfuscated = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(
            client_address(peer, &obfuscated, &trusted(), ForwardedHeader::Forwarded),
            peer
        );
    }

    /// Behind a proxy that only appends to `X-Forwarded-For`, a client's own `Forwarded`
    /// and `X-Real-IP` headers pass through: they must not be believed.
    #[test]
    fn only_the_configured_header_is_believed() {
        let peer = Some(ip(PROXY));
        let request = headers(&[
            ("forwarded", "for=1.1.1.1"),
            ("x-real-ip", "2.2.2.2"),
            ("x-forwarded-for", "3.3.3.3, 198.51.100.1"),
        ]);
        assert_eq!(
            client_address(peer, &request, &trusted(), ForwardedHeader::XForwardedFor),
            Some(ip("198.51.100.1"))
        );
        let only_spoofs = headers(&[("forwarded", "for=1.1.1.1"), ("x-real-ip", "2.2.2.2")]);
        assert_eq!(
            client_address(
                peer,
                &only_spoofs,
                &trusted(),
                ForwardedHeader::XForwardedFor
            ),
            peer
        );
    }

    /// The right-most entry that is not a trusted proxy is the client; garbage to its
    /// left is ignored, garbage to its right stops the walk at the last trusted hop.
    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let peer = Some(ip(PROXY));
        let chain = headers(&[(
            "x-forwarded-for",
            "junk, 9.9.9.9, 198.51.100.1, 10.0.0.7, 10.0.0.6",
        )]);
        assert_eq!(
            client_address(peer, &chain, &trusted(), ForwardedHeader::XForwardedFor),
            Some(ip("198.51.100.1"))
        );
        let garbage_right = headers(&[("x-forwarded-for", "198.51.100.1, junk, 10.0.0.7")]);
        assert_eq!(
            client_address(
                peer,
                &garbage_right,
                &trusted(),
                ForwardedHeader::XForwardedFor
            ),
            Some(ip("10.0.0.7"))
        );
        let two_real_ips = headers(&[("x-real-ip", "1.1.1.1"), ("x-real-ip", "2.2.2.2")]);
        assert_eq!(
            client_address(peer, &two_real_ips, &trusted(), ForwardedHeader::XRealIp),
            peer
        );
    }
}
