//! Where a request came from: IP networks (an allow-list, the merchant's own proxies) and the
//! client address behind the merchant's reverse proxies. Shared by the provider crates whose
//! webhooks are guarded by source address (Paylican) and by web-framework adapters; std only.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::Error;

/// An IP network (`10.0.0.0/8`, `2001:db8::/32`) or one address, for the trusted-proxy list.
/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.7`) match IPv4 networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The network of `addr` with `prefix` leading bits (host bits cleared).
    ///
    /// # Errors
    /// [`Error::Config`] when the prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, Error> {
        let addr = addr.to_canonical();
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(Error::Config(format!(
                "prefix /{prefix} is longer than /{max}"
            )));
        }
        let addr = match addr {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & mask_v4(prefix)).into()),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & mask_v6(prefix)).into()),
        };
        Ok(IpNet { addr, prefix })
    }

    /// True when `ip` is in the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask_v4(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask_v6(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

fn mask_v4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for IpNet {
    type Err = Error;

    /// `a.b.c.d`, `a.b.c.d/n`, an IPv6 address, or IPv6 `/n`.
    fn from_str(text: &str) -> Result<Self, Error> {
        let bad = || Error::Config(format!("not an IP address or network: {text:?}"));
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (
                addr.parse::<IpAddr>().map_err(|_| bad())?,
                Some(prefix.parse::<u8>().map_err(|_| bad())?),
            ),
            None => (text.trim().parse::<IpAddr>().map_err(|_| bad())?, None),
        };
        let addr = addr.to_canonical();
        IpNet::new(
            addr,
            prefix.unwrap_or(if addr.is_ipv4() { 32 } else { 128 }),
        )
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The client address of a request: `peer` (the TCP peer) unless it is one of the
/// `trusted_proxies`; then `X-Forwarded-For` (every value of the header, in order) read from
/// the right, skipping trusted proxies, and the first other address. `None` when the peer is a
/// trusted proxy and the header is missing or holds an entry that is not an address: nobody can
/// say who sent the request.
///
/// Anyone can write `X-Forwarded-For`; only the entries appended by proxies the merchant runs
/// mean anything, which is why the header is read only from a trusted peer, and from the right.
pub fn client_address(
    peer: IpAddr,
    x_forwarded_for: &[&str],
    trusted_proxies: &[IpNet],
) -> Option<IpAddr> {
    let trusted = |ip: IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(peer) {
        return Some(peer.to_canonical());
    }
    let mut last = None;
    for entry in x_forwarded_for.iter().rev().flat_map(|v| v.rsplit(',')) {
        let ip = parse_entry(entry.trim())?;
        if !trusted(ip) {
            return Some(ip);
        }
        last = Some(ip);
    }
    // Every hop is one of the merchant's proxies: the leftmost is the origin.
    last
}

fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    entry
        .parse::<std::net::SocketAddr>()
        .ok()
        .map(|s| s.ip().to_canonical())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_match() {
        let net: IpNet = "10.1.2.3/8".parse().unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(net.contains(ip("10.200.0.1")));
        assert!(net.contains(ip("::ffff:10.0.0.9")), "IPv4-mapped IPv6");
        assert!(!net.contains(ip("11.0.0.1")));
        let one: IpNet = "2001:db8::1".parse().unwrap();
        assert!(one.contains(ip("2001:db8::1")));
        assert!(!one.contains(ip("2001:db8::2")));
        for bad in ["", "10.0.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_header_counts_only_behind_a_trusted_proxy_and_from_the_right() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // A direct sender: its own address, whatever it wrote in the header.
        assert_eq!(
            client_address(ip("203.0.113.9"), &["198.51.100.1"], &proxies),
            Some(ip("203.0.113.9"))
        );
        // Behind the proxy: the rightmost address that is not one of ours.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                &["198.51.100.1, 203.0.113.9", "10.0.0.5"],
                &proxies
            ),
            Some(ip("203.0.113.9")),
            "a client-written leftmost entry is never taken"
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &["203.0.113.9:4711"], &proxies),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(client_address(ip("10.0.0.2"), &[], &proxies), None);
        assert_eq!(
            client_address(ip("10.0.0.2"), &["garbage, 203.0.113.9"], &proxies),
            Some(ip("203.0.113.9")),
            "what lies left of the first untrusted address is not read"
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &["203.0.113.9, garbage"], &proxies),
            None
        );
        assert_eq!(
            client_address(ip("10.0.0.2"), &["10.0.0.7"], &proxies),
            Some(ip("10.0.0.7")),
            "only proxies: the leftmost"
        );
    }
}
