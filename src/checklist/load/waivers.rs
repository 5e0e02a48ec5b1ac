//! Stage 10, waivers: every `[[waiver]]` of every file, an approved exception for one item
//! (reason, approver, end date), read with exact positions; each must name a known item,
//! and an item has at most one.

use std::collections::HashMap;

use foldhash::HashSet;

use super::ctx::Ctx;
use super::files::FileSet;
use super::keys::{date, header_loc, unknown_key, wrong_type};
use super::sink::Diags;
use crate::checklist::model::Waiver;
use crate::diag::{Code, Diagnostic, Level, Loc, Sources, did_you_mean};
use crate::lang::tree::{SKind, SValue};

pub const WAIVER_KEYS: &[&str] = &["item", "reason", "approved_by", "until"];

/// A waiver and where its `item` is written (for the unknown-item diagnostic).
struct ParsedWaiver {
    waiver: Waiver,
    item_loc: Loc,
}

/// The waivers of every file, in load order. `items` are the ids of the checklist's items.
pub fn read(cx: &mut Ctx, files: &FileSet, items: &HashSet<&str>) -> Vec<Waiver> {
    let mut out: Vec<Waiver> = Vec::new();
    let mut first: HashMap<String, Loc> = HashMap::new();
    for doc in &files.docs {
        let Some(SKind::Array(tables)) = doc.root.get("waiver").map(|v| &v.kind) else { continue };
        for table in tables {
            let Some(parsed) = parse(table, &cx.sources, &mut cx.diags) else { continue };
            let id = parsed.waiver.item.as_str();
            // `ID@TARGET` of a target the command line gives at run time: while validating
            // without it, the item is known and the target is not yet.
            let later_target = cx.mode == super::ctx::LoadMode::Validate
                && id.split_once('@').is_some_and(|(base, _)| items.contains(base));
            if later_target && !items.contains(id) {
                cx.diags.push(
                    Diagnostic::warning(
                        Code::UnknownWaiverItem,
                        format!("waiver names `{id}`, a copy of its item on a target this check does not know"),
                    )
                    .at(parsed.item_loc.clone())
                    .hint("pass the run's --target/--inventory to check it; at run time an unknown target is an error"),
                );
                out.push(parsed.waiver);
                continue;
            }
            if !items.contains(id) {
                if cx.diags.full(Code::UnknownWaiverItem, Level::Error) {
                    cx.diags.count_only(Code::UnknownWaiverItem, Level::Error);
                    continue;
                }
                let d = Diagnostic::error(Code::UnknownWaiverItem, format!("waiver names unknown item `{id}`"))
                    .at(parsed.item_loc.clone());
                cx.diags.push(match did_you_mean(id, items.iter().copied()) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint("a waiver's `item` is the id of an item in this checklist or its includes"),
                });
                continue;
            }
            if let Some(first) = first.get(id) {
                cx.diags.push(
                    Diagnostic::error(Code::DuplicateWaiver, format!("item `{id}` has two waivers"))
                        .at(parsed.item_loc.clone())
                        .related(first.clone(), "first waiver here")
                        .hint("keep one waiver per item; change its `until` or `reason` instead"),
                );
                continue;
            }
            first.insert(id.to_string(), header_loc(table));
            out.push(parsed.waiver);
        }
    }
    out
}

/// Parses one `[[waiver]]` table; every problem becomes a diagnostic.
fn parse(table: &SValue, sources: &Sources, diags: &mut Diags) -> Option<ParsedWaiver> {
    let header = header_loc(table);
    let entries = table.as_table()?;
    let before = diags.total();
    for (key, _) in entries {
        if !WAIVER_KEYS.contains(&key.name.as_str()) {
            diags.push(unknown_key(table.file, key, "[[waiver]]", WAIVER_KEYS));
        }
    }
    let mut text = |key: &str, example: &str| -> Option<String> {
        match table.get(key) {
            Some(v) => match v.as_str() {
                Some(s) if !s.trim().is_empty() => Some(s.to_string()),
                Some(_) => {
                    diags.push(
                        Diagnostic::error(Code::InvalidValue, format!("waiver: `{key}` is empty"))
                            .at(v.loc())
                            .hint(format!("write e.g. {key} = {example}")),
                    );
                    None
                }
                None => {
                    diags.push(wrong_type(v, key, "a string"));
                    None
                }
            },
            None => {
                diags.push(
                    Diagnostic::error(Code::MissingKey, format!("waiver has no `{key}`")).at(header.clone()).hint(
                        format!("every waiver needs item, reason, approved_by and until; e.g. {key} = {example}"),
                    ),
                );
                None
            }
        }
    };
    let item = text("item", "\"infra.cdn\"");
    let reason = text("reason", "\"no CDN in phase 1\"");
    let approved_by = text("approved_by", "\"CTO\"");
    let until = match table.get("until") {
        Some(v) => match date(v, "until") {
            Ok(d) => Some(d),
            Err(d) => {
                diags.push(d);
                None
            }
        },
        None => {
            diags.push(
                Diagnostic::error(Code::MissingKey, "waiver has no `until`")
                    .at(header.clone())
                    .hint("a waiver must end: until = 2026-12-31 (the last day it applies, UTC)"),
            );
            None
        }
    };
    if diags.total() > before {
        return None;
    }
    let item_loc = table.get("item").map(|v| v.loc()).unwrap_or_else(|| header.clone());
    Some(ParsedWaiver {
        waiver: Waiver {
            item: item?,
            reason: reason?,
            approved_by: approved_by?,
            until: until?,
            source: sources.position(&header),
        },
        item_loc,
    })
}
