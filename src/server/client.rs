//! The address a request comes from. Directly, the TCP peer. Through a trusted reverse proxy
//! (`trusted_proxies`), the address the proxies name: the list of `Forwarded` (RFC 7239) or,
//! without it, `X-Forwarded-For` is read from the right, each hop a trusted proxy vouches for,
//! until an address that is not a trusted proxy: that is the client. Headers from any other
//! peer are ignored, so no client can choose its own address.

use std::net::IpAddr;

use axum::http::{HeaderMap, header};

use crate::config::Config;

/// The addresses a request's forwarding headers name, nearest last.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, v)| node_ip(v))
            })
            .collect();
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(node_ip)
        .collect()
}

/// An address of a `Forwarded` node or an `X-Forwarded-For` entry: quotes, brackets and a port
/// taken off; `None` for `unknown` or an obfuscated name.
fn node_ip(raw: &str) -> Option<IpAddr> {
    let v = raw.trim().trim_matches('"');
    if let Ok(ip) = v.parse() {
        return Some(ip);
    }
    if let Some(rest) = v.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    v.rsplit_once(':')?.0.parse().ok()
}

/// Whether the request names forwarding headers at all (it came through some proxy, trusted or
/// not).
pub fn is_forwarded(headers: &HeaderMap) -> bool {
    headers.contains_key(header::FORWARDED)
        || headers.contains_key("x-forwarded-for")
        || headers.contains_key("x-real-ip")
}

/// The client's address: see the module's documentation.
pub fn client_ip(cfg: &Config, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    let mut current = peer;
    if !cfg.is_trusted_proxy(current) {
        return current;
    }
    for hop in forwarded_chain(headers).into_iter().rev() {
        match hop {
            Some(ip) => current = ip,
            None => return current,
        }
        if !cfg.is_trusted_proxy(current) {
            return current;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(proxies: &[&str]) -> Config {
        let mut c = Config {
            trusted_proxies: proxies.iter().map(|s| s.to_string()).collect(),
            ..Config::default()
        };
        c.validate().unwrap();
        c
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_a_trusted_proxy_is_believed_and_the_rightmost_untrusted_hop_is_the_client() {
        let c = cfg(&["127.0.0.1", "10.0.0.0/8"]);
        let xff = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.2.3")]);
        // Through two trusted proxies: the client is the first untrusted from the right; what
        // the client wrote itself (6.6.6.6) is not believed.
        assert_eq!(client_ip(&c, ip("127.0.0.1"), &xff), ip("203.0.113.9"));
        // From an untrusted peer, the headers are ignored.
        assert_eq!(client_ip(&c, ip("198.51.100.1"), &xff), ip("198.51.100.1"));
        // Without trusted proxies, nothing is believed.
        assert_eq!(client_ip(&cfg(&[]), ip("127.0.0.1"), &xff), ip("127.0.0.1"));
        // Forwarded wins over X-Forwarded-For; IPv6 in brackets with a port; several headers.
        let fwd = headers(&[
            ("forwarded", r#"for="[2001:db8:cafe::17]:4711";proto=https"#),
            ("forwarded", "for=10.0.0.5"),
            ("x-forwarded-for", "1.1.1.1"),
        ]);
        assert_eq!(
            client_ip(&c, ip("127.0.0.1"), &fwd),
            ip("2001:db8:cafe::17")
        );
        // An entry that is not an address stops the walk at the last proxy that named it.
        let junk = headers(&[("x-forwarded-for", "unknown, 10.9.9.9")]);
        assert_eq!(client_ip(&c, ip("127.0.0.1"), &junk), ip("10.9.9.9"));
        // An address with a port.
        let port = headers(&[("x-forwarded-for", "203.0.113.4:5555")]);
        assert_eq!(client_ip(&c, ip("127.0.0.1"), &port), ip("203.0.113.4"));
        assert!(is_forwarded(&xff) && !is_forwarded(&HeaderMap::new()));
    }

    #[test]
    fn bad_proxy_settings_are_refused() {
        let mut c = Config {
            trusted_proxies: vec!["10.0.0.0/33".into()],
            ..Config::default()
        };
        assert!(c.validate().is_err());
    }
}
