//! Which addresses a webhook may reach: the public internet only. Everything a tenant could
//! use to reach the service's own network is refused: loopback, private and shared (CGNAT)
//! ranges, link-local (the cloud metadata address 169.254.169.254 among them), multicast and
//! broadcast, unspecified, reserved and documentation ranges, IPv6 unique-local and
//! site-local, and every IPv6 form that embeds an IPv4 address (mapped, compatible, NAT64,
//! 6to4, Teredo), since the host behind it could be any of the above.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is a public unicast address a webhook may be delivered to.
///
/// ```
/// # use adapters_webhooks::is_public;
/// assert!(is_public("93.184.215.14".parse().unwrap()));
/// assert!(!is_public("169.254.169.254".parse().unwrap()));
/// assert!(!is_public("::ffff:127.0.0.1".parse().unwrap()));
/// ```
#[must_use]
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// `(network, prefix length)` of every IPv4 range refused.
const V4_REFUSED: [([u8; 4], u8); 16] = [
    ([0, 0, 0, 0], 8),          // "this network", unspecified
    ([10, 0, 0, 0], 8),         // private
    ([100, 64, 0, 0], 10),      // shared address space (CGNAT)
    ([127, 0, 0, 0], 8),        // loopback
    ([169, 254, 0, 0], 16),     // link-local, cloud metadata
    ([172, 16, 0, 0], 12),      // private
    ([192, 0, 0, 0], 24),       // IETF protocol assignments
    ([192, 0, 2, 0], 24),       // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),     // 6to4 relay anycast
    ([192, 168, 0, 0], 16),     // private
    ([198, 18, 0, 0], 15),      // benchmarking
    ([198, 51, 100, 0], 24),    // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),     // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),        // multicast
    ([240, 0, 0, 0], 4),        // reserved, broadcast included
    ([255, 255, 255, 255], 32), // broadcast
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !V4_REFUSED.iter().any(|(network, len)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
        bits & mask == u32::from(Ipv4Addr::from(*network)) & mask
    })
}

/// `(network, prefix length)` of every IPv6 range refused.
const V6_REFUSED: [(u128, u8); 12] = [
    (0, 96),                                         // unspecified, loopback, IPv4-compatible
    (0xffff_0000_0000, 96),                          // IPv4-mapped
    (0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96), // NAT64
    (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48), // local-use NAT64
    (0x0100_0000_0000_0000_0000_0000_0000_0000, 64), // discard-only
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 32), // Teredo
    (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // documentation
    (0x2002_0000_0000_0000_0000_0000_0000_0000, 16), // 6to4
    (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),  // unique-local
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10), // link-local
    (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10), // site-local (deprecated)
    (0xff00_0000_0000_0000_0000_0000_0000_0000, 8),  // multicast
];

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    !V6_REFUSED.iter().any(|(network, len)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
        bits & mask == network & mask
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(raw: &str) -> bool {
        is_public(raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}")))
    }

    #[test]
    fn refuses_every_non_public_ipv4_range() {
        let refused = [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.1.2.3",
            "169.254.169.254",
            "169.254.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ];
        for raw in refused {
            assert!(!public(raw), "{raw} must be refused");
        }
    }

    #[test]
    fn admits_public_ipv4_just_outside_the_ranges() {
        let admitted = [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.167.255.255",
            "192.169.0.1",
            "169.253.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "11.0.0.1",
        ];
        for raw in admitted {
            assert!(public(raw), "{raw} is public");
        }
    }

    #[test]
    fn refuses_non_public_ipv6_and_every_embedded_ipv4() {
        let refused = [
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:8.8.8.8",
            "::127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:7f00:1::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff05::2",
        ];
        for raw in refused {
            assert!(!public(raw), "{raw} must be refused");
        }
    }

    #[test]
    fn admits_global_unicast_ipv6() {
        for raw in ["2606:4700:4700::1111", "2001:4860:4860::8888", "2a00:1450:4001::200e"] {
            assert!(public(raw), "{raw} is public");
        }
    }
}
