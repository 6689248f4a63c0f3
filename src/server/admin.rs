//! The admin token: set in the settings (`admin_token`, `TANYA_ADMIN_TOKEN`), or generated at the
//! first start, printed once and kept in the store as its SHA-256 only, so the database file never
//! holds it. `tanya admin reset-token` makes a new one when it is lost; a running hub takes it at
//! once (a generated token is checked against the store on each admin request).

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::hub::secrets::{new_key, same_secret};
use crate::hub::{Hub, HubError};
use crate::store::{Store, StoreError};

/// The store setting holding the SHA-256 (hex) of a generated admin token.
pub const HASH_KEY: &str = "admin_token_sha256";
/// Where versions before the hash kept a generated token in clear (moved to the hash at start).
const CLEAR_KEY: &str = "admin_token";

/// How admin requests are checked.
#[derive(Debug, Clone)]
pub enum AdminToken {
    /// Set in the settings: compared as it is.
    Configured(String),
    /// Generated: compared by its SHA-256 with the one in the store.
    Stored,
}

impl From<String> for AdminToken {
    fn from(t: String) -> Self {
        Self::Configured(t)
    }
}

impl From<&str> for AdminToken {
    fn from(t: &str) -> Self {
        Self::Configured(t.to_string())
    }
}

/// The SHA-256 of a token, hex.
pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl AdminToken {
    /// Whether `presented` is the admin token (compared in constant time).
    pub async fn accepts(&self, hub: &Hub, presented: &str) -> bool {
        match self {
            Self::Configured(t) => same_secret(presented, t),
            Self::Stored => match hub.setting(HASH_KEY).await {
                Ok(Some(h)) => same_secret(&hash(presented), &h),
                Ok(None) => false,
                Err(e) => {
                    tracing::error!(error = %e, "admin token: the store failed");
                    false
                }
            },
        }
    }
}

/// At start: the configured token, or the stored one; generates one at the first start (the
/// token is returned then, to be printed once). A token an earlier version kept in clear is
/// replaced by its hash.
pub async fn prepare(cfg: &Config, hub: &Hub) -> Result<(AdminToken, Option<String>), HubError> {
    if let Some(t) = &cfg.admin_token {
        return Ok((AdminToken::Configured(t.clone()), None));
    }
    if let Some(clear) = hub.setting(CLEAR_KEY).await? {
        if hub.setting(HASH_KEY).await?.is_none() {
            hub.set_setting(HASH_KEY, Some(&hash(&clear))).await?;
        }
        hub.set_setting(CLEAR_KEY, None).await?;
        tracing::info!("admin token: now kept as its hash only");
        return Ok((AdminToken::Stored, None));
    }
    let fresh = new_key();
    let fresh_hash = hash(&fresh);
    let stored = hub.setting_or_insert(HASH_KEY, &fresh_hash).await?;
    let generated = (stored == fresh_hash).then_some(fresh);
    Ok((AdminToken::Stored, generated))
}

/// Makes a new admin token in `store` and returns it; the old one stops working at once.
pub async fn reset(store: &dyn Store) -> Result<String, StoreError> {
    let fresh = new_key();
    store.set_setting(HASH_KEY, Some(&hash(&fresh))).await?;
    store.set_setting(CLEAR_KEY, None).await?;
    Ok(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
