//! The network a client writes from, as per-address bounds and address bans see it: an IPv4
//! address, or an IPv6 /64 (a household or one phone gets a whole /64, so a single address
//! within it means nothing). An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is the IPv4
//! address.
//!
//! A network is private: it is journaled with the questions asked from it (so an address ban
//! holds across restarts) and never sent to any client.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Net(IpAddr);

impl Net {
    /// The network of an address.
    pub fn of(ip: IpAddr) -> Self {
        Self(match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
            },
            v4 => v4,
        })
    }

    /// Whether `ip` is in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        Self::of(ip) == *self
    }
}

impl fmt::Display for Net {
    /// `203.0.113.7` or `2001:db8:1:2::/64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

impl FromStr for Net {
    type Err = String;

    /// Reads what `Display` writes (and any address, which it masks).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let addr = s.strip_suffix("/64").unwrap_or(s);
        addr.parse::<IpAddr>()
            .map(Self::of)
            .map_err(|_| format!("not an IPv4 address or IPv6 /64: {s:?}"))
    }
}

impl Serialize for Net {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn net(s: &str) -> Net {
        Net::of(s.parse().unwrap())
    }

    #[test]
    fn ipv4_is_itself_and_ipv6_is_its_64() {
        assert_eq!(net("203.0.113.7").to_string(), "203.0.113.7");
        assert_ne!(net("203.0.113.7"), net("203.0.113.8"));
        assert_eq!(net("::ffff:203.0.113.7"), net("203.0.113.7"));
        assert_eq!(net("2001:db8:1:2::1"), net("2001:db8:1:2:ffff::9"));
        assert_ne!(net("2001:db8:1:2::1"), net("2001:db8:1:3::1"));
        assert_eq!(net("2001:db8:1:2:aaaa::1").to_string(), "2001:db8:1:2::/64");
        assert!(net("2001:db8:1:2::1").contains("2001:db8:1:2:5::5".parse().unwrap()));
        assert!(!net("2001:db8:1:2::1").contains("2001:db8:1:9::1".parse().unwrap()));
    }

    #[test]
    fn reads_what_it_writes_and_refuses_the_rest() {
        for s in ["203.0.113.7", "2001:db8:1:2::/64", "::/64"] {
            assert_eq!(s.parse::<Net>().unwrap().to_string(), s);
        }
        assert_eq!(
            serde_json::to_string(&net("2001:db8::1")).unwrap(),
            "\"2001:db8::/64\""
        );
        let back: Net = serde_json::from_str("\"2001:db8::/64\"").unwrap();
        assert_eq!(back, net("2001:db8::77"));
        for bad in ["", "example.org", "203.0.113.7/24", "1.2.3"] {
            assert!(bad.parse::<Net>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_address_is_in_its_network_and_round_trips(bits: u128, v4: u32, six: bool) {
            let ip: IpAddr = if six { IpAddr::V6(bits.into()) } else { IpAddr::V4(v4.into()) };
            let n = Net::of(ip);
            prop_assert!(n.contains(ip));
            prop_assert_eq!(n.to_string().parse::<Net>().unwrap(), n);
        }
    }
}
