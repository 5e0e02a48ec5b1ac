//! Signed reports: Ed25519 keys (PKCS#8 / SubjectPublicKeyInfo PEM), DSSE envelopes signed
//! over DSSE's PAE encoding, in-toto Statements v1, the signed-report file that holds them,
//! the keyring that says which keys may sign for which role, and verification.
//! Layout and rationale: docs/signing.md.

pub mod dsse;
pub mod keyring;
pub mod keys;
pub mod signed;
pub mod verify;

/// DSSE payload type of every envelope golive writes.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate of the report envelope: a golive JSON report (golive.report/v1).
pub const REPORT_PREDICATE: &str = "https://golive.example/predicate/report/v1";
/// The predicate of a sign-off envelope: role, name, time, acknowledged_failed_gate.
pub const SIGNOFF_PREDICATE: &str = "https://golive.example/predicate/signoff/v1";
/// The `schema` of a signed-report file.
pub const SIGNED_SCHEMA: &str = "golive.signed-report/v1";
