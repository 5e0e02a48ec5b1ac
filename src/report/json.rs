//! The JSON report: the canonical machine-readable form (schema in docs/report-json.md and
//! docs/report.schema.json). Secrets are masked in the JSON tree itself, so a secret that
//! JSON escaping would alter is still found.

use super::Report;
use crate::redact::Redactor;

pub fn render(report: &Report, redactor: &Redactor) -> Result<String, String> {
    let mut tree = serde_json::to_value(report).map_err(|e| format!("cannot serialise the report: {e}"))?;
    redactor.redact_json(&mut tree);
    let mut text = serde_json::to_string_pretty(&tree).map_err(|e| format!("cannot serialise the report: {e}"))?;
    text.push('\n');
    Ok(text)
}
