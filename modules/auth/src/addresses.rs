//! Client addresses as throttling keys: an IPv4 address as it is, an IPv6 address by its
//! /64 (one customer's network: a client holding a /64 must not get 2^64 budgets), as the
//! API's rate limiter does.

use std::net::IpAddr;

pub fn address_key(ip: Option<IpAddr>) -> String {
    match ip.map(kernel::caller::client_network) {
        Some(network @ IpAddr::V6(_)) => format!("{network}/64"),
        Some(v4) => v4.to_string(),
        // Only in-process callers (tests, the CLI) have no address.
        None => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_grouped_by_its_64() {
        let a = address_key(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = address_key(Some("2001:db8:1:2:bbbb::9".parse().unwrap()));
        let c = address_key(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            address_key(Some("::ffff:192.0.2.1".parse().unwrap())),
            "192.0.2.1"
        );
        assert_eq!(address_key(Some("192.0.2.1".parse().unwrap())), "192.0.2.1");
    }
}
