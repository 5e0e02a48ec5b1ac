//! The attestations file: a human-readable TOML file beside the checklist to which
//! `golive attest` appends one `[[attestation]]` table per confirmation of a manual item.
//! golive only ever appends to it; a run reads every entry and uses each item's latest
//! (the loader's attestations stage reads it).

use std::path::{Path, PathBuf};

use super::model::{Attestation, format_date};
use crate::value::format_time;

/// The default attestations file of a checklist: `NAME.attestations.toml` beside `NAME.toml`.
pub fn default_path(checklist: &Path) -> PathBuf {
    let stem = checklist.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "golive".into());
    checklist.with_file_name(format!("{stem}.attestations.toml"))
}

/// Appends one entry to the attestations file (creating it with a header comment). The
/// directory is locked from reading the file to replacing it, and the new file (the old
/// bytes exactly, then the entry) replaces the old one in one rename: two `golive attest`
/// at once both end up in it, and a run reading it sees it before or after, never half.
pub fn append(path: &Path, a: &Attestation, checklist_name: &str) -> Result<(), crate::fswrite::WriteError> {
    let _lock = crate::fswrite::lock_dir_of(path)?;
    let existing = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let mut block = String::new();
    match &existing {
        None => block.push_str(&format!(
            "# Attestations of manual items for the golive checklist {}.\n\
             # Recorded by `golive attest`, which only ever appends: do not edit earlier entries.\n",
            toml_string(checklist_name)
        )),
        Some(bytes) if !bytes.is_empty() && !bytes.ends_with(b"\n") => block.push('\n'),
        Some(_) => {}
    }
    block.push_str("\n[[attestation]]\n");
    block.push_str(&format!("item = {}\n", toml_string(&a.item)));
    block.push_str(&format!("by = {}\n", toml_string(&a.by)));
    block.push_str(&format!("at = {}\n", format_time(a.at.replace_nanosecond(0).unwrap_or(a.at))));
    block.push_str(&format!("evidence = {}\n", toml_string(&a.evidence)));
    if let Some(note) = &a.note {
        block.push_str(&format!("note = {}\n", toml_string(note)));
    }
    if let Some(until) = a.until {
        block.push_str(&format!("until = {}\n", format_date(until)));
    }
    let mut bytes = existing.unwrap_or_default();
    bytes.extend_from_slice(block.as_bytes());
    crate::fswrite::write_atomically(path, &bytes)
}

/// A TOML basic string with everything that needs it escaped.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
