//! The JSON report: the canonical machine-readable form (schema in docs/report-json.md and
//! docs/report.schema.json). The report it writes is already masked, value by value
//! (`Report::mask`), so keys and fixed values (`"outcome": "error"`) are never touched.

use super::{RenderError, Report};

pub fn render(report: &Report) -> Result<String, RenderError> {
    let mut text = serde_json::to_string_pretty(report)?;
    text.push('\n');
    Ok(text)
}

/// The same bytes as [`render`], serialised straight into `out`, through a buffer of its
/// own: serde_json writes every token (a quote, a colon, an indent) separately, and each
/// went through `out`'s dynamic `write_all`.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut out, report)
        .map_err(|e| if e.is_io() { RenderError::Io(e.into()) } else { RenderError::Json(e) })?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
