//! The keyring: which public keys may sign for which role. A TOML file:
//!
//! ```toml
//! [roles]
//! "Technical Lead" = ["keys/ann.pub"]            # a PEM file, relative to the keyring
//! "Security Lead" = ["""-----BEGIN PUBLIC KEY-----
//! MCowBQYDK2VwAyEA…
//! -----END PUBLIC KEY-----"""]                     # or the PEM itself
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::keys::PublicKey;

#[derive(Debug, Default)]
pub struct Keyring {
    /// Role → its keys, in the order written.
    pub roles: BTreeMap<String, Vec<PublicKey>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeyring {
    roles: BTreeMap<String, Vec<String>>,
}

impl Keyring {
    pub fn load(path: &Path) -> Result<Keyring, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read the keyring {}: {e}", path.display()))?;
        let raw: RawKeyring = toml::from_str(&text).map_err(|e| format!("{}: invalid keyring: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut roles = BTreeMap::new();
        for (role, entries) in raw.roles {
            let mut keys = Vec::new();
            for entry in entries {
                let key = if entry.contains("-----BEGIN") {
                    PublicKey::from_pem(&entry)
                } else {
                    let file = base.join(&entry);
                    std::fs::read_to_string(&file)
                        .map_err(|e| format!("cannot read {}: {e}", file.display()))
                        .and_then(|t| PublicKey::from_pem(&t))
                };
                keys.push(key.map_err(|e| format!("{}: role {role:?}: {e}", path.display()))?);
            }
            roles.insert(role, keys);
        }
        Ok(Keyring { roles })
    }

    /// Every key of every role, each once.
    pub fn all_keys(&self) -> Vec<&PublicKey> {
        let mut out: Vec<&PublicKey> = Vec::new();
        for key in self.roles.values().flatten() {
            if !out.iter().any(|k| k.keyid == key.keyid) {
                out.push(key);
            }
        }
        out
    }

    /// The roles a key may sign for.
    pub fn roles_of(&self, key: &PublicKey) -> Vec<&str> {
        self.roles.iter().filter(|(_, keys)| keys.contains(key)).map(|(r, _)| r.as_str()).collect()
    }
}
