//! The signed-report file: one JSON document holding the report envelope (its payload an
//! in-toto Statement whose predicate is the JSON report, signed by every signer) and one
//! sign-off envelope per signer (a Statement about the report payload's sha256 with the
//! signer's role, name and time, signed by that signer).

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::dsse::{DsseError, Envelope};
use super::keys::SigningKey;
use super::{PAYLOAD_TYPE, REPORT_PREDICATE, SIGNED_SCHEMA, SIGNOFF_PREDICATE, STATEMENT_TYPE};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedReport {
    pub schema: String,
    pub report: Envelope,
    pub signoffs: Vec<Envelope>,
}

/// A subject of a Statement: a name and its sha256.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub name: String,
    pub sha256: String,
}

/// Why a `--subject` is not `NAME=sha256:HEX`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("`{text}` is not NAME=sha256:HEX")]
    Form { text: String },
    #[error("`{text}`: the digest must start with sha256:")]
    NotSha256 { text: String },
    #[error("`{text}`: the subject needs a name")]
    NoName { text: String },
    #[error("`{text}`: a sha256 digest is 64 hex digits")]
    BadDigest { text: String },
}

/// Why an envelope could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("cannot serialise the statement: {0}")]
    Serialise(#[source] serde_json::Error),
    #[error(transparent)]
    Dsse(#[from] DsseError),
    #[error("the report payload is not JSON ({0})")]
    ReportNotJson(#[source] serde_json::Error),
    #[error("the payload is not JSON ({0})")]
    PayloadNotJson(#[source] serde_json::Error),
    #[error("the predicate is not a golive sign-off ({0})")]
    NotSignoff(#[source] serde_json::Error),
}

/// `--subject NAME=sha256:HEX`
pub fn parse_subject(s: &str) -> Result<Subject, SubjectError> {
    let text = || s.to_string();
    let (name, digest) = s.rsplit_once('=').ok_or_else(|| SubjectError::Form { text: text() })?;
    let hex = digest.strip_prefix("sha256:").ok_or_else(|| SubjectError::NotSha256 { text: text() })?;
    if name.trim().is_empty() {
        return Err(SubjectError::NoName { text: text() });
    }
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(SubjectError::BadDigest { text: text() });
    }
    Ok(Subject { name: name.trim().to_string(), sha256: hex.to_ascii_lowercase() })
}

/// The sign-off predicate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Signoff {
    pub role: String,
    pub name: String,
    pub signed_at: String,
    pub acknowledged_failed_gate: bool,
}

fn statement(subjects: &[Subject], predicate_type: &str, predicate: Json) -> Json {
    let subjects: Vec<Json> =
        subjects.iter().map(|s| json!({ "name": s.name, "digest": { "sha256": s.sha256 } })).collect();
    json!({ "_type": STATEMENT_TYPE, "subject": subjects, "predicateType": predicate_type, "predicate": predicate })
}

/// The subjects of a report: every checklist file it records, its attestations file when it
/// existed, and `extra` (e.g. the release artifact).
pub fn report_subjects(report: &Json, extra: &[Subject]) -> Vec<Subject> {
    let mut out = Vec::new();
    for file in report["checklist"]["files"].as_array().into_iter().flatten() {
        if let (Some(path), Some(sha)) = (file["path"].as_str(), file["sha256"].as_str()) {
            out.push(Subject { name: path.to_string(), sha256: sha.to_string() });
        }
    }
    let attestations = &report["checklist"]["attestations"];
    if let (Some(path), Some(sha)) = (attestations["path"].as_str(), attestations["sha256"].as_str()) {
        out.push(Subject { name: path.to_string(), sha256: sha.to_string() });
    }
    for s in extra {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// The report envelope for a JSON report, not yet signed.
pub fn report_envelope(report: &Json, subjects: &[Subject]) -> Result<Envelope, EnvelopeError> {
    let payload =
        serde_json::to_vec(&statement(subjects, REPORT_PREDICATE, report.clone())).map_err(EnvelopeError::Serialise)?;
    Ok(Envelope::new(PAYLOAD_TYPE, &payload))
}

/// The hex sha256 of the report envelope's payload bytes: what sign-offs refer to.
pub fn payload_digest(report: &Envelope) -> Result<String, DsseError> {
    Ok(hex::encode(Sha256::digest(report.payload_bytes()?)))
}

/// A sign-off envelope, signed by `key`.
pub fn signoff_envelope(
    report: &Envelope,
    run_id: &str,
    signoff: &Signoff,
    key: &SigningKey,
) -> Result<Envelope, EnvelopeError> {
    let subject = Subject { name: format!("golive-report:{run_id}"), sha256: payload_digest(report)? };
    let predicate = serde_json::to_value(signoff).map_err(EnvelopeError::Serialise)?;
    let payload =
        serde_json::to_vec(&statement(&[subject], SIGNOFF_PREDICATE, predicate)).map_err(EnvelopeError::Serialise)?;
    let mut env = Envelope::new(PAYLOAD_TYPE, &payload);
    env.sign(key)?;
    Ok(env)
}

impl SignedReport {
    pub fn new(report: Envelope) -> SignedReport {
        SignedReport { schema: SIGNED_SCHEMA.to_string(), report, signoffs: Vec::new() }
    }

    /// The report envelope's Statement, parsed.
    pub fn statement(&self) -> Result<Json, EnvelopeError> {
        serde_json::from_slice(&self.report.payload_bytes()?).map_err(EnvelopeError::ReportNotJson)
    }
}

/// A sign-off envelope's Statement and predicate, parsed.
pub fn read_signoff(env: &Envelope) -> Result<(Json, Signoff), EnvelopeError> {
    let statement: Json = serde_json::from_slice(&env.payload_bytes()?).map_err(EnvelopeError::PayloadNotJson)?;
    let signoff: Signoff = serde_json::from_value(statement["predicate"].clone()).map_err(EnvelopeError::NotSignoff)?;
    Ok((statement, signoff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_name_and_sha256() {
        let hex = "ab".repeat(32);
        let s = parse_subject(&format!("app.tar.gz=sha256:{}", hex.to_uppercase())).unwrap();
        assert_eq!(s, Subject { name: "app.tar.gz".into(), sha256: hex.clone() });
        assert_eq!(parse_subject("app"), Err(SubjectError::Form { text: "app".into() }));
        assert_eq!(
            parse_subject("app=md5:00").unwrap_err().to_string(),
            "`app=md5:00`: the digest must start with sha256:"
        );
        assert!(matches!(parse_subject(&format!(" =sha256:{hex}")), Err(SubjectError::NoName { .. })));
        assert!(matches!(parse_subject("a=sha256:12"), Err(SubjectError::BadDigest { .. })));
    }

    #[test]
    fn a_payload_that_is_not_a_signoff_says_so() {
        let env = Envelope::new(PAYLOAD_TYPE, b"{\"predicate\": 1}");
        assert!(matches!(read_signoff(&env), Err(EnvelopeError::NotSignoff(_))));
        let env = Envelope::new(PAYLOAD_TYPE, b"not json");
        let e = read_signoff(&env).unwrap_err();
        assert!(e.to_string().starts_with("the payload is not JSON ("), "{e}");
    }
}
