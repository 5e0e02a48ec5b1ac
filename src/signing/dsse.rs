//! DSSE envelopes (github.com/secure-systems-lab/dsse): the payload in base64, its type,
//! and signatures over PAE(type, payload), never over the raw payload.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::keys::{PublicKey, SigningKey};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// A hint only: verification tries every key it trusts.
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// DSSE's Pre-Authentication Encoding: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    pub fn new(payload_type: &str, payload: &[u8]) -> Envelope {
        Envelope { payload: STANDARD.encode(payload), payload_type: payload_type.to_string(), signatures: Vec::new() }
    }

    pub fn payload_bytes(&self) -> Result<Vec<u8>, String> {
        STANDARD.decode(self.payload.as_bytes()).map_err(|e| format!("the payload is not valid base64 ({e})"))
    }

    /// Adds `key`'s signature (once per key).
    pub fn sign(&mut self, key: &SigningKey) -> Result<(), String> {
        if self.signatures.iter().any(|s| s.keyid == key.public.keyid) {
            return Ok(());
        }
        let message = pae(&self.payload_type, &self.payload_bytes()?);
        self.signatures.push(Signature { keyid: key.public.keyid.clone(), sig: STANDARD.encode(key.sign(&message)) });
        Ok(())
    }

    /// Which of `keys` verify signature `index` (the key id is never trusted, only tried first).
    pub fn verifying_keys<'k>(&self, index: usize, keys: &[&'k PublicKey]) -> Result<Vec<&'k PublicKey>, String> {
        let signature = self.signatures.get(index).ok_or("no such signature")?;
        let sig = STANDARD
            .decode(signature.sig.as_bytes())
            .map_err(|e| format!("the signature is not valid base64 ({e})"))?;
        let message = pae(&self.payload_type, &self.payload_bytes()?);
        Ok(keys.iter().copied().filter(|k| k.verify(&message, &sig)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_specification() {
        // The example from the DSSE protocol description.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }

    #[test]
    fn signatures_cover_type_and_payload() {
        let (_, key) = SigningKey::generate().unwrap();
        let mut env = Envelope::new("application/vnd.in-toto+json", b"{}");
        env.sign(&key).unwrap();
        env.sign(&key).unwrap();
        assert_eq!(env.signatures.len(), 1, "one signature per key");
        assert_eq!(env.verifying_keys(0, &[&key.public]).unwrap().len(), 1);
        let mut other = env.clone();
        other.payload_type = "application/json".into();
        assert!(other.verifying_keys(0, &[&key.public]).unwrap().is_empty());
    }
}
