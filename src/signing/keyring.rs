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
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::keys::{KeyError, PublicKey};
use crate::fsread::{ReadError, read_bounded};

/// Why a keyring could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot read the keyring {}: {source}", path.display())]
    Read { path: PathBuf, source: ReadError },
    #[error("{}: invalid keyring: {source}", path.display())]
    Invalid { path: PathBuf, source: toml::de::Error },
    #[error("{}: role {role:?}: cannot read {}: {source}", keyring.display(), file.display())]
    ReadKey { keyring: PathBuf, role: String, file: PathBuf, source: ReadError },
    #[error("{}: role {role:?}: {source}", keyring.display())]
    Key { keyring: PathBuf, role: String, source: KeyError },
}

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
    /// Reads a keyring file and the key files it names (regular files only, via `fsread`).
    pub fn load(path: &Path) -> Result<Keyring, KeyringError> {
        let bytes = read_bounded(path).map_err(|source| KeyringError::Read { path: path.to_path_buf(), source })?;
        let raw: RawKeyring = toml::from_str(&String::from_utf8_lossy(&bytes))
            .map_err(|source| KeyringError::Invalid { path: path.to_path_buf(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut roles = BTreeMap::new();
        for (role, entries) in raw.roles {
            let mut keys = Vec::new();
            for entry in entries {
                let text = if entry.contains("-----BEGIN") {
                    entry
                } else {
                    let file = base.join(&entry);
                    let bytes = read_bounded(&file).map_err(|source| KeyringError::ReadKey {
                        keyring: path.to_path_buf(),
                        role: role.clone(),
                        file,
                        source,
                    })?;
                    String::from_utf8_lossy(&bytes).into_owned()
                };
                let key = PublicKey::from_pem(&text).map_err(|source| KeyringError::Key {
                    keyring: path.to_path_buf(),
                    role: role.clone(),
                    source,
                })?;
                keys.push(key);
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
