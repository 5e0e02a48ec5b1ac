//! DSSE envelopes (github.com/secure-systems-lab/dsse): the payload in base64, its type,
//! and signatures over PAE(type, payload), never over the raw payload.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::keys::{PublicKey, SigningKey};

/// Why an envelope's payload or a signature could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DsseError {
    #[error("the payload is not valid base64 ({0})")]
    Payload(#[source] base64::DecodeError),
    #[error("the signature is not valid base64 ({0})")]
    Signature(#[source] base64::DecodeError),
    #[error("no such signature")]
    NoSuchSignature { index: usize },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signing key's id (lowercase hex sha256 of its DER SubjectPublicKeyInfo). A
    /// signature verifies only with the trusted key of exactly this id, as securesystemslib's
    /// DSSE verifier has it (docs/signing.md).
    pub keyid: String,
    pub sig: String,
}

/// What checking one signature found.
#[derive(Debug, PartialEq, Eq)]
pub enum SignatureCheck<'k> {
    /// The key its `keyid` names verifies it.
    Verified(&'k PublicKey),
    /// Its `keyid` names none of the keys given.
    UnknownKey,
    /// The key its `keyid` names does not verify it: the envelope changed after signing.
    Invalid(&'k PublicKey),
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

    pub fn payload_bytes(&self) -> Result<Vec<u8>, DsseError> {
        STANDARD.decode(self.payload.as_bytes()).map_err(DsseError::Payload)
    }

    /// Adds `key`'s signature (once per key).
    pub fn sign(&mut self, key: &SigningKey) -> Result<(), DsseError> {
        if self.signatures.iter().any(|s| s.keyid == key.public.keyid) {
            return Ok(());
        }
        let message = pae(&self.payload_type, &self.payload_bytes()?);
        self.signatures.push(Signature { keyid: key.public.keyid.clone(), sig: STANDARD.encode(key.sign(&message)) });
        Ok(())
    }

    /// Checks signature `index` with the one of `keys` its `keyid` names.
    pub fn check_signature<'k>(&self, index: usize, keys: &[&'k PublicKey]) -> Result<SignatureCheck<'k>, DsseError> {
        let signature = self.signatures.get(index).ok_or(DsseError::NoSuchSignature { index })?;
        let sig = STANDARD.decode(signature.sig.as_bytes()).map_err(DsseError::Signature)?;
        let message = pae(&self.payload_type, &self.payload_bytes()?);
        Ok(match keys.iter().copied().find(|k| k.keyid == signature.keyid) {
            None => SignatureCheck::UnknownKey,
            Some(key) if key.verify(&message, &sig) => SignatureCheck::Verified(key),
            Some(key) => SignatureCheck::Invalid(key),
        })
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
        assert_eq!(env.check_signature(0, &[&key.public]).unwrap(), SignatureCheck::Verified(&key.public));
        let mut other = env.clone();
        other.payload_type = "application/json".into();
        assert_eq!(other.check_signature(0, &[&key.public]).unwrap(), SignatureCheck::Invalid(&key.public));
        let mut renamed = env.clone();
        renamed.signatures[0].keyid = "0".repeat(64);
        assert_eq!(renamed.check_signature(0, &[&key.public]).unwrap(), SignatureCheck::UnknownKey, "a changed key id");
        assert!(matches!(env.check_signature(1, &[&key.public]), Err(DsseError::NoSuchSignature { index: 1 })));
        env.signatures[0].sig = "not base64!".into();
        let e = env.check_signature(0, &[&key.public]).unwrap_err();
        assert!(e.to_string().starts_with("the signature is not valid base64 ("), "{e}");
        env.payload = "%%%".into();
        assert!(matches!(env.payload_bytes(), Err(DsseError::Payload(_))));
    }
}
