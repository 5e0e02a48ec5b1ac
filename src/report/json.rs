//! The JSON report: the canonical machine-readable form (schema in docs/report-json.md and
//! docs/report.schema.json). Secrets are masked in the JSON tree itself, so a secret that
//! JSON escaping would alter is still found.

use super::{RenderError, Report};
use crate::redact::Redactor;

pub fn render(report: &Report, redactor: &Redactor) -> Result<String, RenderError> {
    let mut tree = serde_json::to_value(report)?;
    redactor.redact_json(&mut tree);
    let mut text = serde_json::to_string_pretty(&tree)?;
    text.push('\n');
    Ok(text)
}
