//! Ed25519 keys with ring. Private keys are PKCS#8 v1 in PEM (`-----BEGIN PRIVATE KEY-----`,
//! as `openssl genpkey -algorithm ed25519` writes them; v2 is read too), public keys SubjectPublicKeyInfo in PEM
//! (`-----BEGIN PUBLIC KEY-----`). A key id is the lowercase hex SHA-256 of the public key's
//! DER SubjectPublicKeyInfo (`openssl pkey -pubin -in KEY.pub -outform DER | sha256sum`).

use std::path::Path;

use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use sha2::{Digest, Sha256};

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

    pub fn from_pem(text: &str) -> Result<PublicKey, String> {
        let block = pem::parse(text.trim()).map_err(|e| format!("not a PEM public key ({e})"))?;
        if block.tag() != "PUBLIC KEY" {
            return Err(format!("expected a PEM `PUBLIC KEY`, found `{}`", block.tag()));
        }
        let der = block.contents();
        if der.len() != 44 || der[..12] != SPKI_PREFIX {
            return Err("not an Ed25519 public key (SubjectPublicKeyInfo with OID 1.3.101.112)".into());
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
    pub fn generate() -> Result<(String, SigningKey), String> {
        use ring::rand::SecureRandom;
        let mut seed = [0u8; 32];
        ring::rand::SystemRandom::new().fill(&mut seed).map_err(|_| "no system randomness for a key".to_string())?;
        let mut der = PKCS8_V1_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let key = SigningKey::from_pkcs8(&der)?;
        Ok((to_pem("PRIVATE KEY", der), key))
    }

    fn from_pkcs8(der: &[u8]) -> Result<SigningKey, String> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der))
            .map_err(|e| format!("not an Ed25519 PKCS#8 private key ({e})"))?;
        let mut raw = [0u8; 32];
        raw.copy_from_slice(pair.public_key().as_ref());
        Ok(SigningKey { pair, public: PublicKey::from_raw(raw) })
    }

    pub fn from_pem(text: &str) -> Result<SigningKey, String> {
        let block = pem::parse(text.trim()).map_err(|e| format!("not a PEM private key ({e})"))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(format!("expected a PEM `PRIVATE KEY` (PKCS#8), found `{}`", block.tag()));
        }
        SigningKey::from_pkcs8(block.contents())
    }

    pub fn load(path: &Path) -> Result<SigningKey, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the key {}: {e}", path.display()))?;
        SigningKey::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
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
}
