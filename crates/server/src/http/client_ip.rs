//! Which client a request comes from, behind reverse proxies we trust.

use std::net::IpAddr;

pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Walks the `X-Forwarded-For` chain from the nearest hop back while the hop
/// is a trusted proxy: the first address that is not is the client. Each
/// proxy appends the address it heard from, so only the entries our own
/// proxies added can be believed; anything a client wrote sits to their
/// left. A malformed entry ends the walk at the last proxy that was trusted.
pub fn behind_proxies<'h>(
    peer: IpAddr,
    forwarded: impl DoubleEndedIterator<Item = &'h str>,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|network| network.contains(ip));
    let mut client = peer;
    if !is_trusted(&client) {
        return client;
    }
    let hops = forwarded.rev().flat_map(|value| value.rsplit(','));
    for hop in hops {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::behind_proxies;
    use std::net::IpAddr;

    fn networks(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn client(peer: &str, headers: &[&str], trusted: &[&str]) -> IpAddr {
        behind_proxies(
            peer.parse().unwrap(),
            headers.iter().copied(),
            &networks(trusted),
        )
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says() {
        let ip = client("203.0.113.9", &["198.51.100.1"], &[]);
        assert_eq!(ip.to_string(), "203.0.113.9");
        let ip = client("203.0.113.9", &["198.51.100.1"], &["127.0.0.1/32"]);
        assert_eq!(ip.to_string(), "203.0.113.9", "not from our proxy");
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let proxy = ["127.0.0.1/32"];
        assert_eq!(
            client("127.0.0.1", &["198.51.100.1"], &proxy).to_string(),
            "198.51.100.1"
        );
        // A client's own claim sits left of what our proxy appended.
        assert_eq!(
            client("127.0.0.1", &["1.2.3.4, 198.51.100.1"], &proxy).to_string(),
            "198.51.100.1"
        );
        // Two proxies of ours, and the header split over two lines.
        let ours = ["127.0.0.1/32", "10.0.0.0/8"];
        assert_eq!(
            client("127.0.0.1", &["1.2.3.4, 198.51.100.7", "10.1.2.3"], &ours).to_string(),
            "198.51.100.7"
        );
        assert_eq!(
            client("127.0.0.1", &[" 2001:db8::1 "], &proxy).to_string(),
            "2001:db8::1"
        );
    }

    #[test]
    fn a_missing_or_malformed_header_leaves_the_last_trusted_hop() {
        let ours = ["127.0.0.1/32", "10.0.0.0/8"];
        assert_eq!(client("127.0.0.1", &[], &ours).to_string(), "127.0.0.1");
        assert_eq!(
            client("127.0.0.1", &["198.51.100.1, not-an-ip, 10.0.0.2"], &ours).to_string(),
            "10.0.0.2"
        );
    }
}
