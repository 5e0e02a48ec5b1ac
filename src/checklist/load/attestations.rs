//! Stage 11, attestations: the attestations file of the run (`--attestations`, else
//! `[checklist] attestations` of the first root file that sets it, relative to that file,
//! else `NAME.attestations.toml` beside the first root file), read like every input
//! (regular files only, size-capped) and parsed with exact positions. A missing file holds
//! no attestations.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ctx::Ctx;
use super::files::FileSet;
use super::keys::{date, header_loc, instant, unknown_key, wrong_type};
use super::sink::Diags;
use crate::checklist::attestation::default_path;
use crate::checklist::model::{Attestation, AttestationFile};
use crate::diag::{Code, Diagnostic, Level, Sources};
use crate::fsread::read_bounded;
use crate::lang::tree::{SKind, SValue, parse_document};

pub const ATTESTATION_KEYS: &[&str] = &["item", "by", "at", "evidence", "note", "until"];

/// Reads the attestations file; `manual` are the ids of the checklist's manual items.
pub fn read(cx: &mut Ctx, files: &FileSet, option: Option<&Path>, manual: &[&str]) -> AttestationFile {
    let configured = files.roots.iter().find_map(|&r| {
        let path = files.checklist_key(r, "attestations")?.as_str()?;
        let base = cx.sources.path(files.docs[r].id).parent().unwrap_or(Path::new("."));
        Some(base.join(path))
    });
    let Some(path): Option<PathBuf> = option
        .map(Path::to_path_buf)
        .or(configured)
        .or_else(|| files.roots.first().map(|&r| default_path(cx.sources.path(files.docs[r].id))))
    else {
        return AttestationFile::default();
    };
    let bytes = match read_bounded(&path) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return AttestationFile { path, sha256: None, entries: Vec::new() },
        Err(e) => {
            cx.diags.push(
                Diagnostic::error(
                    Code::FileNotFound,
                    format!("cannot read the attestations file {}: {e}", path.display()),
                )
                .hint("fix its permissions, or point --attestations at another file"),
            );
            return AttestationFile { path, sha256: None, entries: Vec::new() };
        }
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    let file = cx.sources.add(path.clone(), text);
    let entries = parse(file, &cx.sources, manual, &mut cx.diags);
    AttestationFile { path, sha256: Some(sha256), entries }
}

/// Parses the text of an attestations file (already added to `sources` as `file`). Entries
/// that name no manual item of the checklist (it may have changed since they were recorded)
/// are ignored, with a warning.
fn parse(file: usize, sources: &Sources, manual: &[&str], diags: &mut Diags) -> Vec<Attestation> {
    let root = match parse_document(file, sources.text(file)) {
        Ok(root) => root,
        Err(d) => {
            diags.push(d);
            return Vec::new();
        }
    };
    let known: HashSet<&str> = manual.iter().copied().collect();
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
            if known.contains(a.item.as_str()) {
                out.push(a);
                continue;
            }
            if diags.full(Code::AttestationItem, Level::Warning) {
                diags.count_only(Code::AttestationItem, Level::Warning);
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
                    let shown: Vec<&str> = manual.iter().copied().take(10).collect();
                    let more = if manual.len() > shown.len() { ", …" } else { "" };
                    format!("manual items: {}{more}", shown.join(", "))
                })
            });
        }
    }
    out
}

fn entry(table: &SValue, sources: &Sources, diags: &mut Diags) -> Option<Attestation> {
    let Some(entries) = table.as_table() else {
        diags.push(wrong_type(table, "attestation", "a table"));
        return None;
    };
    let header = header_loc(table);
    let before = diags.total();
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
    if diags.total() > before {
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
