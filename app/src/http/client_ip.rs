//! Who the client is, by address: sets [`kernel::ClientIp`] on every request. The TCP peer,
//! unless the peer is a configured trusted proxy: then the nearest untrusted address in
//! `X-Forwarded-For`, read from the right (entries further left are whatever the client
//! chose to send, so they are never believed). A malformed header counts for nothing.
//!
//! Also whether the client is on HTTPS ([`kernel::caller::SecureTransport`], which the
//! dashboard's cookies follow): the connection is TLS, or the peer is a trusted proxy whose
//! `X-Forwarded-Proto` (its last entry: the one the nearest proxy wrote) is `https`.

use crate::config::Cidr;
use kernel::ClientIp;
use poem::http::uri::Scheme;
use poem::http::HeaderMap;
use poem::{Addr, Endpoint, Middleware, Request, Result};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

const X_FORWARDED_FOR: &str = "x-forwarded-for";
const X_FORWARDED_PROTO: &str = "x-forwarded-proto";

pub struct ClientIps {
    trusted: Arc<[Cidr]>,
}

impl ClientIps {
    /// `trusted`: the proxies whose `X-Forwarded-For` is believed; empty believes none.
    pub fn new(trusted: Vec<Cidr>) -> Self {
        ClientIps {
            trusted: trusted.into(),
        }
    }
}

impl<E: Endpoint> Middleware<E> for ClientIps {
    type Output = ClientIpEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        ClientIpEndpoint {
            inner: ep,
            trusted: self.trusted.clone(),
        }
    }
}

pub struct ClientIpEndpoint<E> {
    inner: E,
    trusted: Arc<[Cidr]>,
}

impl<E: Endpoint> Endpoint for ClientIpEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> Result<Self::Output> {
        // Every request the server accepts comes over TCP; only an in-process test
        // client has no peer address, and then no address is claimed.
        let mut https = *req.scheme() == Scheme::HTTPS;
        if let Addr::SocketAddr(peer) = req.remote_addr().0 {
            let ip = client_ip(peer.ip(), req.headers(), &self.trusted);
            req.extensions_mut().insert(ClientIp(ip));
            let by_proxy = self
                .trusted
                .iter()
                .any(|c| c.contains(peer.ip().to_canonical()));
            https |= by_proxy && forwarded_https(req.headers());
        }
        if https {
            req.extensions_mut().insert(kernel::caller::SecureTransport);
        }
        self.inner.call(req).await
    }
}

/// The nearest proxy's `X-Forwarded-Proto` says `https`.
fn forwarded_https(headers: &HeaderMap) -> bool {
    headers
        .get_all(X_FORWARDED_PROTO)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The client address for a request from `peer` with these headers.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    // Repeated headers form one list, in order (RFC 9110 section 5.3).
    let mut entries = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        let Ok(value) = value.to_str() else {
            return peer;
        };
        for entry in value.split(',') {
            match parse_entry(entry) {
                Some(ip) => entries.push(ip),
                None => return peer,
            }
        }
    }
    let mut client = peer;
    for ip in entries.into_iter().rev() {
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    // Every hop trusted: the client sits inside the trusted network; the leftmost it is.
    client
}

/// One `X-Forwarded-For` entry: an address, tolerating the port some proxies append.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|s| Cidr::parse(s).unwrap()).collect()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        headers
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_the_header_says() {
        let headers = xff(&["203.0.113.7"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &[]),
            ip("198.51.100.1")
        );
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("198.51.100.1"), &headers, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn trusted_peer_without_header_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn walks_from_the_right_skipping_trusted_hops() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.10"]);
        // The client forged the first entry; the proxies appended the rest.
        let headers = xff(&["1.1.1.1, 203.0.113.7, 192.0.2.10"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &trusted),
            ip("203.0.113.7")
        );
        // The same list spread over repeated headers.
        let headers = xff(&["1.1.1.1", "203.0.113.7", "192.0.2.10"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn all_hops_trusted_gives_the_leftmost() {
        let trusted = nets(&["10.0.0.0/8"]);
        let headers = xff(&["10.1.1.1, 10.2.2.2"]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &trusted),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn malformed_header_falls_back_to_the_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        for bad in [
            "203.0.113.7, nonsense",
            "",
            "203.0.113.7,,10.0.0.3",
            "unknown",
        ] {
            assert_eq!(
                client_ip(ip("10.0.0.2"), &xff(&[bad]), &trusted),
                ip("10.0.0.2"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ports_and_v4_mapped_addresses_are_understood() {
        let trusted = nets(&["127.0.0.1"]);
        let headers = xff(&["203.0.113.7:51000"]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &headers, &trusted),
            ip("203.0.113.7")
        );
        let headers = xff(&["[2001:db8::1]:443"]);
        assert_eq!(
            client_ip(ip("127.0.0.1"), &headers, &trusted),
            ip("2001:db8::1")
        );
        // An untrusted v4-mapped peer is reported in its plain v4 form.
        assert_eq!(
            client_ip(ip("::ffff:198.51.100.1"), &HeaderMap::new(), &[]),
            ip("198.51.100.1")
        );
    }
}
