//! Ed25519 keys with ring. Private keys are PKCS#8 v1 in PEM (`-----BEGIN PRIVATE KEY-----`,
//! as `openssl genpkey -algorithm ed25519` writes them; v2 is read too), public keys SubjectPublicKeyInfo in PEM
//! (`-----BEGIN PUBLIC KEY-----`). A key id is the lowercase hex SHA-256 of the public key's
//! DER SubjectPublicKeyInfo (`openssl pkey -pubin -in KEY.pub -outform DER | sha256sum`).

use std::path::{Path, PathBuf};

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

use crate::fsread::{ReadError, read_bounded};

/// Why a key could not be made, read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a PEM public key ({0})")]
    PublicNotPem(#[source] pem::PemError),
    #[error("expected a PEM `PUBLIC KEY`, found `{found}`")]
    PublicWrongTag { found: String },
    #[error("not an Ed25519 public key (SubjectPublicKeyInfo with OID 1.3.101.112)")]
    PublicNotEd25519,
    #[error("not a PEM private key ({0})")]
    PrivateNotPem(#[source] pem::PemError),
    #[error("expected a PEM `PRIVATE KEY` (PKCS#8), found `{found}`")]
    PrivateWrongTag { found: String },
    #[error("not an Ed25519 PKCS#8 private key ({0})")]
    PrivateNotEd25519(ring::error::KeyRejected),
    #[error("no system randomness for a key")]
    NoRandomness,
    #[error("cannot read the key {}: {source}", path.display())]
    Read { path: PathBuf, source: ReadError },
    /// A key file that is not a key.
    #[error("{}: {source}", path.display())]
    InFile { path: PathBuf, source: Box<KeyError> },
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID
/// 1.3.101.112 }, BIT STRING of the 32 key bytes }.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// The DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410): version 0, the algorithm
/// 1.3.101.112, and the 32-byte seed as an OCTET STRING inside an OCTET STRING.
const PKCS8_V1_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

pub struct SigningKey {
    pair: Ed25519KeyPair,
    pub public: PublicKey,
}

/// Shows the public half only.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("keyid", &self.public.keyid).finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    pub raw: [u8; 32],
    pub keyid: String,
}

impl PublicKey {
    pub fn from_raw(raw: [u8; 32]) -> PublicKey {
        let keyid = hex::encode(Sha256::digest(spki_der(&raw)));
        PublicKey { raw, keyid }
    }

    pub fn to_pem(&self) -> String {
        to_pem("PUBLIC KEY", spki_der(&self.raw))
    }

    pub fn from_pem(text: &str) -> Result<PublicKey, KeyError> {
        let block = pem::parse(text.trim()).map_err(KeyError::PublicNotPem)?;
        if block.tag() != "PUBLIC KEY" {
            return Err(KeyError::PublicWrongTag { found: block.tag().to_string() });
        }
        let der = block.contents();
        if der.len() != 44 || der[..12] != SPKI_PREFIX {
            return Err(KeyError::PublicNotEd25519);
        }
        let mut raw = [0u8; 32];
        raw.copy_from_slice(&der[12..]);
        Ok(PublicKey::from_raw(raw))
    }

    /// Whether `sig` is this key's Ed25519 signature of `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.raw).verify(message, sig).is_ok()
    }
}

/// PEM with Unix line endings, as OpenSSL writes it.
fn to_pem(tag: &str, der: Vec<u8>) -> String {
    pem::encode_config(&pem::Pem::new(tag, der), pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF))
}

fn spki_der(raw: &[u8; 32]) -> Vec<u8> {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(raw);
    der
}

impl SigningKey {
    /// A new key pair: the private key as PKCS#8 v1 PEM (RFC 8410, what OpenSSL writes and
    /// every library reads), and the key.
    pub fn generate() -> Result<(String, SigningKey), KeyError> {
        use ring::rand::SecureRandom;
        let mut seed = [0u8; 32];
        ring::rand::SystemRandom::new().fill(&mut seed).map_err(|_| KeyError::NoRandomness)?;
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let key = SigningKey::from_pkcs8(&der)?;
        Ok((to_pem("PRIVATE KEY", der), key))
    }

    fn from_pkcs8(der: &[u8]) -> Result<SigningKey, KeyError> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der))
            .map_err(KeyError::PrivateNotEd25519)?;
        let mut raw = [0u8; 32];
        raw.copy_from_slice(pair.public_key().as_ref());
        Ok(SigningKey { pair, public: PublicKey::from_raw(raw) })
    }

    pub fn from_pem(text: &str) -> Result<SigningKey, KeyError> {
        let block = pem::parse(text.trim()).map_err(KeyError::PrivateNotPem)?;
        if block.tag() != "PRIVATE KEY" {
            return Err(KeyError::PrivateWrongTag { found: block.tag().to_string() });
        }
        SigningKey::from_pkcs8(block.contents())
    }

    /// Reads a private key file (a regular file; `fsread` refuses FIFOs and huge files).
    pub fn load(path: &Path) -> Result<SigningKey, KeyError> {
        let bytes = read_bounded(path).map_err(|source| KeyError::Read { path: path.to_path_buf(), source })?;
        SigningKey::from_pem(&String::from_utf8_lossy(&bytes))
            .map_err(|e| KeyError::InFile { path: path.to_path_buf(), source: Box::new(e) })
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_pem_and_sign() {
        let (pem, key) = SigningKey::generate().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(again.public, key.public);
        let public = PublicKey::from_pem(&key.public.to_pem()).unwrap();
        assert_eq!(public, key.public);
        assert_eq!(public.keyid.len(), 64);
        let sig = key.sign(b"message");
        assert!(public.verify(b"message", &sig));
        assert!(!public.verify(b"messagE", &sig));
    }

    #[test]
    fn reads_openssl_pkcs8_v1_keys() {
        // `openssl genpkey -algorithm ed25519` (PKCS#8 v1, no public key inside).
        let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFZwaZkdH7DCQK7w/eR254LMfBQ9TWhzOv9Setcj511T\n-----END PRIVATE KEY-----\n";
        let key = SigningKey::from_pem(pem).unwrap();
        assert!(key.public.verify(b"x", &key.sign(b"x")));
    }

    #[test]
    fn key_errors_say_what_was_found() {
        let (private, key) = SigningKey::generate().unwrap();
        let e = PublicKey::from_pem(&private).unwrap_err();
        assert!(matches!(&e, KeyError::PublicWrongTag { found } if found == "PRIVATE KEY"), "{e}");
        assert_eq!(e.to_string(), "expected a PEM `PUBLIC KEY`, found `PRIVATE KEY`");
        let e = SigningKey::from_pem(&key.public.to_pem()).unwrap_err();
        assert_eq!(e.to_string(), "expected a PEM `PRIVATE KEY` (PKCS#8), found `PUBLIC KEY`");
        assert!(SigningKey::from_pem("junk").unwrap_err().to_string().starts_with("not a PEM private key ("));

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.pub");
        std::fs::write(&file, key.public.to_pem()).unwrap();
        let e = SigningKey::load(&file).unwrap_err();
        assert!(matches!(&e, KeyError::InFile { path, .. } if *path == file), "{e}");
        assert!(e.to_string().starts_with(&format!("{}: expected a PEM `PRIVATE KEY`", file.display())), "{e}");
        let e = SigningKey::load(&dir.path().join("missing")).unwrap_err();
        assert!(e.to_string().starts_with("cannot read the key "), "{e}");
    }
}
