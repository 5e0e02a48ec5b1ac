//! Verification of a signed report against a keyring: every signature of every envelope,
//! each sign-off's reference to this report's payload and its signer's role, the presence
//! of every required role, and the consistency of the statements. Every problem is
//! collected (not only the first), each in words an auditor can act on.

use serde_json::Value as Json;

use super::dsse::{Envelope, SignatureCheck};
use super::keyring::Keyring;
use super::keys::PublicKey;
use super::signed::{SignedReport, Subject, payload_digest, read_signoff, report_subjects};
use super::{PAYLOAD_TYPE, REPORT_PREDICATE, SIGNED_SCHEMA, SIGNOFF_PREDICATE, STATEMENT_TYPE};
use crate::report::{SignatureState, SignoffView};

#[derive(Debug, Default)]
pub struct Verification {
    /// Whether a keyring was given (signatures checked).
    pub checked: bool,
    /// The JSON report (the report statement's predicate), when it could be read.
    pub report: Option<Json>,
    pub subjects: Vec<Subject>,
    /// One line per signature of the report envelope.
    pub report_signatures: Vec<SignatureLine>,
    pub signoffs: Vec<SignoffView>,
    pub problems: Vec<String>,
}

#[derive(Debug)]
pub struct SignatureLine {
    /// The key id the signature names.
    pub keyid: String,
    /// The keyring key that verifies it and the roles the keyring gives that key.
    pub verified_by: Option<(String, Vec<String>)>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.checked && self.problems.is_empty()
    }
}

fn short(keyid: &str) -> &str {
    &keyid[..keyid.len().min(16)]
}

/// Verifies a signed-report file's bytes. Without a keyring only the structure is checked
/// and every signature state is `Unchecked`.
pub fn verify(bytes: &[u8], keyring: Option<&Keyring>) -> Verification {
    let mut v = Verification { checked: keyring.is_some(), ..Default::default() };
    let signed: SignedReport = match serde_json::from_slice::<Json>(bytes) {
        Err(e) => {
            v.problems.push(format!("the file is not JSON ({e})"));
            return v;
        }
        Ok(json) => {
            if json.get("schema").and_then(|s| s.as_str()) != Some(SIGNED_SCHEMA) {
                v.problems.push(format!("not a golive signed report (its `schema` is not {SIGNED_SCHEMA:?})"));
                return v;
            }
            match serde_json::from_value(json) {
                Ok(s) => s,
                Err(e) => {
                    v.problems.push(format!("the signed report is malformed ({e})"));
                    return v;
                }
            }
        }
    };
    let all_keys: Vec<&PublicKey> = keyring.map(|k| k.all_keys()).unwrap_or_default();

    // The report envelope and its statement.
    check_type(&signed.report, "the report envelope", &mut v.problems);
    let statement = match signed.statement() {
        Ok(s) => Some(s),
        Err(e) => {
            v.problems.push(format!("the report envelope: {e}"));
            None
        }
    };
    let digest = payload_digest(&signed.report).ok();
    if signed.report.signatures.is_empty() {
        v.problems.push("the report envelope has no signature".into());
    }
    let mut report_signers: Vec<&PublicKey> = Vec::new();
    let checked =
        check_signatures(&signed.report, "the report envelope", "the report", keyring, &all_keys, &mut v.problems);
    for (sig, verified) in signed.report.signatures.iter().zip(checked) {
        let mut line = SignatureLine { keyid: sig.keyid.clone(), verified_by: None };
        if let (Some(ring), Some(key)) = (keyring, verified) {
            report_signers.push(key);
            let roles = ring.roles_of(key).into_iter().map(str::to_string).collect();
            line.verified_by = Some((key.keyid.clone(), roles));
        }
        v.report_signatures.push(line);
    }
    if let Some(st) = &statement {
        if st["_type"] != STATEMENT_TYPE {
            v.problems.push(format!("the report statement's _type is not {STATEMENT_TYPE}"));
        }
        if st["predicateType"] != REPORT_PREDICATE {
            v.problems.push(format!("the report statement's predicateType is not {REPORT_PREDICATE}"));
        }
        let subjects: Vec<Subject> = st["subject"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                Some(Subject {
                    name: s["name"].as_str()?.to_string(),
                    sha256: s["digest"]["sha256"].as_str()?.to_string(),
                })
            })
            .collect();
        let predicate = st["predicate"].clone();
        if predicate.get("schema").and_then(|s| s.as_str()) != Some(crate::report::SCHEMA) {
            v.problems.push("the report statement's predicate is not a golive report".into());
        }
        for needed in report_subjects(&predicate, &[]) {
            if !subjects.contains(&needed) {
                v.problems.push(format!(
                    "the report records {} with sha256 {}, but the statement's subjects do not",
                    needed.name, needed.sha256
                ));
            }
        }
        v.subjects = subjects;
        v.report = Some(predicate);
    }
    let gate_passed = v.report.as_ref().and_then(|r| r["gate"]["passed"].as_bool()).unwrap_or(false);

    // The sign-offs.
    for (i, env) in signed.signoffs.iter().enumerate() {
        let what = format!("sign-off {}", i + 1);
        let mut problems = Vec::new();
        check_type(env, &what, &mut problems);
        let (statement, signoff) = match read_signoff(env) {
            Ok(x) => x,
            Err(e) => {
                v.problems.push(format!("{what}: {e}"));
                continue;
            }
        };
        let what = format!("sign-off {} ({}: {})", i + 1, signoff.role, signoff.name);
        if statement["_type"] != STATEMENT_TYPE || statement["predicateType"] != SIGNOFF_PREDICATE {
            problems.push(format!("{what}: not a golive sign-off statement"));
        }
        let refers_to: Vec<&str> = statement["subject"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["digest"]["sha256"].as_str())
            .collect();
        if digest.as_deref().is_none_or(|d| refers_to != [d]) {
            problems.push(format!(
                "{what}: refers to another report (sha256 {}), not to this report's payload (sha256 {})",
                refers_to.first().copied().unwrap_or("none"),
                digest.as_deref().unwrap_or("unknown")
            ));
        }
        if !gate_passed && !signoff.acknowledged_failed_gate {
            problems.push(format!("{what}: the gate failed, but the sign-off does not acknowledge it"));
        }
        if env.signatures.is_empty() {
            problems.push(format!("{what}: has no signature"));
        }
        let mut state = SignatureState::Unchecked;
        if let Some(ring) = keyring {
            let role_keys: Vec<&PublicKey> =
                ring.roles.get(&signoff.role).map(|k| k.iter().collect()).unwrap_or_default();
            let verified = check_signatures(env, &what, "the sign-off", keyring, &all_keys, &mut problems);
            let role_key: Option<&PublicKey> = verified.into_iter().flatten().find(|k| role_keys.contains(k));
            match role_key {
                None if role_keys.is_empty() => {
                    problems.push(format!("{what}: the keyring gives the role {:?} no key", signoff.role))
                }
                None => {
                    problems.push(format!("{what}: not signed by a key the keyring gives the role {:?}", signoff.role))
                }
                Some(k) if !report_signers.contains(&k) => problems
                    .push(format!("{what}: the signer's key {} has not signed the report envelope", short(&k.keyid))),
                Some(_) => {}
            }
            state = match (role_key, problems.is_empty()) {
                (Some(k), true) => SignatureState::Verified { keyid: k.keyid.clone() },
                _ => SignatureState::Invalid(problems.first().cloned().unwrap_or_default()),
            };
        } else if !problems.is_empty() {
            state = SignatureState::Invalid(problems[0].clone());
        }
        v.problems.extend(problems);
        v.signoffs.push(SignoffView {
            role: signoff.role,
            name: signoff.name,
            signed_at: signoff.signed_at,
            acknowledged_failed_gate: signoff.acknowledged_failed_gate,
            state,
        });
    }

    // Every required role.
    let roles: Vec<String> = v
        .report
        .as_ref()
        .and_then(|r| r["signoff"]["roles"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_str().map(str::to_string))
        .collect();
    for role in roles {
        let mine: Vec<&SignoffView> = v.signoffs.iter().filter(|s| s.role == role).collect();
        if mine.is_empty() {
            v.problems.push(format!("role {role:?} has not signed"));
        } else if keyring.is_some() && !mine.iter().any(|s| matches!(s.state, SignatureState::Verified { .. })) {
            v.problems.push(format!("role {role:?} has no sign-off that verifies"));
        }
    }
    v
}

/// Checks every signature of an envelope: each names its key by `keyid` (once per
/// envelope), and with a keyring that key must be in it and verify the signature. Returns,
/// per signature, the key that verified it.
fn check_signatures<'k>(
    env: &Envelope,
    what: &str,
    thing: &str,
    keyring: Option<&Keyring>,
    keys: &[&'k PublicKey],
    problems: &mut Vec<String>,
) -> Vec<Option<&'k PublicKey>> {
    let mut out = Vec::new();
    for (i, sig) in env.signatures.iter().enumerate() {
        let n = i + 1;
        if let Some(first) = env.signatures[..i].iter().position(|s| s.keyid == sig.keyid) {
            problems.push(format!(
                "{what}: signatures {} and {n} both name key id {}: an envelope holds one signature per key",
                first + 1,
                short(&sig.keyid)
            ));
            out.push(None);
            continue;
        }
        if keyring.is_none() {
            out.push(None);
            continue;
        }
        out.push(match env.check_signature(i, keys) {
            Ok(SignatureCheck::Verified(key)) => Some(key),
            Ok(SignatureCheck::UnknownKey) => {
                problems.push(format!(
                    "{what}: signature {n} names key id {}, which is not a key of the keyring: the signer is not trusted, or the key id was changed",
                    short(&sig.keyid)
                ));
                None
            }
            Ok(SignatureCheck::Invalid(_)) => {
                problems.push(format!(
                    "{what}: signature {n} (key {}) does not verify with that key of the keyring: {thing} was changed after signing",
                    short(&sig.keyid)
                ));
                None
            }
            Err(e) => {
                problems.push(format!("{what}: signature {n}: {e}"));
                None
            }
        });
    }
    out
}

fn check_type(env: &Envelope, what: &str, problems: &mut Vec<String>) {
    if env.payload_type != PAYLOAD_TYPE {
        problems.push(format!("{what}: payloadType is {:?}, not {PAYLOAD_TYPE:?}", env.payload_type));
    }
}
