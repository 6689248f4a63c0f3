//! Keys, join codes and signed device tokens.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::domain::DeviceId;

type HmacSha256 = Hmac<Sha256>;

/// The join code alphabet of the contract (docs/protocol.md; no 0/O, 1/I/L).
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";

/// A fresh unguessable key: 192 bits from the OS's CSPRNG, URL-safe.
pub fn new_key() -> String {
    let mut b = [0u8; 24];
    os_random(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// A fresh 6-character join code.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..6)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

/// Whether `s` could be a join code (any letter case).
pub fn looks_like_code(s: &str) -> bool {
    s.len() == 6
        && s.bytes()
            .all(|b| CODE_ALPHABET.contains(&b.to_ascii_uppercase()))
}

/// Constant-time comparison of a presented secret with the expected one.
pub fn same_secret(presented: &str, expected: &str) -> bool {
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// Fills `b` from the operating system's CSPRNG.
pub fn os_random(b: &mut [u8]) {
    use rand::TryRngCore;
    // Without the OS generator no secret can be made: stopping is the only safe answer.
    #[allow(clippy::expect_used)]
    rand::rngs::OsRng
        .try_fill_bytes(b)
        .expect("the operating system's random generator failed");
}

/// Signs and checks device tokens; derives per-session author salts.
#[derive(Clone)]
pub struct DeviceSigner {
    key: Vec<u8>,
}

impl std::fmt::Debug for DeviceSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeviceSigner(..)")
    }
}

impl DeviceSigner {
    /// A signer with the hub's secret.
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        #[allow(clippy::expect_used)]
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes().into()
    }

    /// A new device and its token.
    pub fn issue(&self) -> (DeviceId, String) {
        let d = Uuid::new_v4();
        (d, self.token(d))
    }

    /// The token of a device: its id and a MAC, URL-safe.
    pub fn token(&self, d: DeviceId) -> String {
        let mac = self.mac(&[b"device", d.as_bytes()]);
        let mut b = Vec::with_capacity(32);
        b.extend_from_slice(d.as_bytes());
        b.extend_from_slice(&mac[..16]);
        URL_SAFE_NO_PAD.encode(b)
    }

    /// The device a token names, when this hub issued it.
    pub fn verify(&self, token: &str) -> Option<DeviceId> {
        if token.len() > 64 {
            return None;
        }
        let b = URL_SAFE_NO_PAD.decode(token).ok()?;
        if b.len() != 32 {
            return None;
        }
        let d = Uuid::from_slice(&b[..16]).ok()?;
        let mac = self.mac(&[b"device", d.as_bytes()]);
        bool::from(mac[..16].ct_eq(&b[16..])).then_some(d)
    }

    /// The per-session salt of author ids.
    pub fn author_salt(&self, session: Uuid) -> [u8; 32] {
        self.mac(&[b"author", session.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_when_issued_here() {
        let s = DeviceSigner::new(b"secret one");
        let (d, t) = s.issue();
        assert_eq!(s.verify(&t), Some(d));
        assert_eq!(DeviceSigner::new(b"secret two").verify(&t), None);
        let mut forged = t.clone().into_bytes();
        forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.verify(&String::from_utf8(forged).unwrap()), None);
        assert_eq!(s.verify("nonsense"), None);
    }

    #[test]
    fn keys_and_codes() {
        let k = new_key();
        assert_eq!(k.len(), 32);
        assert_ne!(k, new_key());
        let c = new_code();
        assert!(looks_like_code(&c) && looks_like_code(&c.to_lowercase()));
        assert!(!looks_like_code("ABCDE0"));
        assert!(
            same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("ab", "abc")
        );
    }
}
