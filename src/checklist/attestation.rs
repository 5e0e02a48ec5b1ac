//! The attestations file: a human-readable TOML file beside the checklist to which
//! `golive attest` appends one `[[attestation]]` table per confirmation of a manual item.
//! golive only ever appends to it; a run reads every entry and uses each item's latest.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Attestation;
use super::load::{unknown_key, wrong_type};
use crate::lang::tree::{SKind, SValue, parse_document};
use super::waiver::{date, format_date, header_loc, instant};
use crate::diag::{Code, Diagnostic, Level, Sources};
use crate::value::format_time;

pub const ATTESTATION_KEYS: &[&str] = &["item", "by", "at", "evidence", "note", "until"];

/// The default attestations file of a checklist: `NAME.attestations.toml` beside `NAME.toml`.
pub fn default_path(checklist: &Path) -> PathBuf {
    let stem = checklist.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "golive".into());
    checklist.with_file_name(format!("{stem}.attestations.toml"))
}

/// Parses the text of an attestations file (already added to `sources` as `file`). Entries
/// that name no manual item of the checklist (it may have changed since they were recorded)
/// are ignored, with a warning.
pub fn parse(file: usize, sources: &Sources, manual: &[&str], diags: &mut Vec<Diagnostic>) -> Vec<Attestation> {
    let root = match parse_document(file, sources.text(file)) {
        Ok(root) => root,
        Err(d) => {
            diags.push(d);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (key, value) in root.as_table().unwrap_or_default() {
        if key.name != "attestation" {
            diags.push(unknown_key(file, key, "the attestations file", &["attestation"]));
            continue;
        }
        let SKind::Array(tables) = &value.kind else {
            diags.push(wrong_type(value, "attestation", "an array of tables, written [[attestation]]"));
            continue;
        };
        for table in tables {
            let Some(a) = entry(table, sources, diags) else { continue };
            if manual.contains(&a.item.as_str()) {
                out.push(a);
                continue;
            }
            let at = table.get("item").map(|v| v.loc()).unwrap_or_else(|| header_loc(table));
            diags.push(Diagnostic {
                level: Level::Warning,
                ..Diagnostic::error(
                    Code::AttestationItem,
                    format!(
                        "attestation names `{}`, which is not a manual item of this checklist; it is ignored",
                        a.item
                    ),
                )
                .at(at)
                .hint(if manual.is_empty() {
                    "this checklist has no manual items".to_string()
                } else {
                    format!("manual items: {}", manual.join(", "))
                })
            });
        }
    }
    out
}

fn entry(table: &SValue, sources: &Sources, diags: &mut Vec<Diagnostic>) -> Option<Attestation> {
    let Some(entries) = table.as_table() else {
        diags.push(wrong_type(table, "attestation", "a table"));
        return None;
    };
    let header = header_loc(table);
    let before = diags.len();
    for (key, _) in entries {
        if !ATTESTATION_KEYS.contains(&key.name.as_str()) {
            diags.push(unknown_key(table.file, key, "[[attestation]]", ATTESTATION_KEYS));
        }
    }
    let mut text = |key: &str, required: bool| -> Option<String> {
        match table.get(key) {
            Some(v) => match v.as_str() {
                Some(s) => Some(s.to_string()),
                None => {
                    diags.push(wrong_type(v, key, "a string"));
                    None
                }
            },
            None if required => {
                diags.push(
                    Diagnostic::error(Code::MissingKey, format!("attestation has no `{key}`"))
                        .at(header.clone())
                        .hint("record attestations with `golive attest ITEM --by NAME --evidence …`"),
                );
                None
            }
            None => None,
        }
    };
    let item = text("item", true);
    let by = text("by", true);
    let evidence = text("evidence", true);
    let note = text("note", false);
    let at = match table.get("at") {
        Some(v) => instant(v, "at").map_err(|d| diags.push(d)).ok(),
        None => {
            diags.push(Diagnostic::error(Code::MissingKey, "attestation has no `at`").at(header.clone()));
            None
        }
    };
    let until = match table.get("until") {
        Some(v) => date(v, "until").map_err(|d| diags.push(d)).ok(),
        None => None,
    };
    if diags.len() > before {
        return None;
    }
    Some(Attestation {
        item: item?,
        by: by?,
        at: at?,
        evidence: evidence?,
        note,
        until,
        source: sources.position(&header),
    })
}

/// Appends one entry to the attestations file (creating it with a header comment), in a
/// single write to a file opened for appending: earlier entries are never rewritten.
pub fn append(path: &Path, a: &Attestation, checklist_name: &str) -> std::io::Result<()> {
    let existing = std::fs::read(path).ok();
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
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(block.as_bytes())?;
    file.sync_all()
}

/// A TOML basic string with everything that needs it escaped.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
