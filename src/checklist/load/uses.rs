//! Stage 4, uses: `use = "area.name"` makes an item from a catalogue check. The check's
//! `[check]` table gives the item's keys; the item overrides any of them, merges `expect`
//! fact by fact, and sets the check's vars with `vars = { … }`. A check var not set on the
//! item takes the checklist's var of the same name, then the check's default. The
//! catalogue is the shipped checks plus the `[checklist] checks` directories; each check
//! file is read and parsed once per load.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::ctx::Ctx;
use super::files::FileSet;
use super::keys::{loc_of_key, unknown_key, wrong_type};
use super::vars::{LocalScope, VarDef, Vars, scalar_text, var_defs};
use crate::checklist::catalogue::Catalogue;
use crate::checklist::model::LoadedFile;
use crate::diag::{Code, Diagnostic, Level, Loc, did_you_mean};
use crate::lang::tree::{SKey, SKind, SValue, parse_document};

const CHECK_FILE_KEYS: &[&str] = &["check", "vars"];

/// A parsed check file.
#[derive(Clone, Debug)]
struct CheckDef {
    /// The `[check]` table: item keys.
    check: SValue,
    /// The check's `[vars]`, parsed.
    vars: Vec<(String, VarDef)>,
}

/// The catalogue of one load and the check files read from it.
pub struct Checks {
    catalogue: Catalogue,
    /// By check id; `None`: unreadable or invalid (reported once).
    parsed: HashMap<String, Option<CheckDef>>,
    /// The check files used, for the report's list of files.
    pub files: Vec<LoadedFile>,
}

/// The catalogue: shipped checks plus the `[checklist] checks` directories of every file
/// (relative to the file that names them).
pub fn catalogue(cx: &mut Ctx, files: &FileSet) -> Checks {
    let mut catalogue = Catalogue::builtin();
    for (index, doc) in files.docs.iter().enumerate() {
        let Some(dirs) = files.checklist_key(index, "checks") else { continue };
        let base = cx.sources.path(doc.id).parent().map(Path::to_path_buf).unwrap_or_default();
        let SKind::Array(entries) = &dirs.kind else {
            cx.diags.push(wrong_type(dirs, "checks", "a list of directories"));
            continue;
        };
        for entry in entries {
            let Some(dir) = entry.as_str() else {
                cx.diags.push(wrong_type(entry, "checks", "a list of directories"));
                continue;
            };
            if let Err(e) = catalogue.add_dir(&base.join(dir)) {
                cx.diags.push(
                    Diagnostic::error(Code::IncludeNotFound, format!("cannot read check directory {dir}: {e}"))
                        .at(entry.loc())
                        .hint("`checks` lists directories of AREA/NAME.toml check files, relative to this file"),
                );
            }
        }
    }
    Checks { catalogue, parsed: HashMap::new(), files: Vec::new() }
}

impl Checks {
    /// The definition of a check, read and parsed once.
    fn get(&mut self, cx: &mut Ctx, id: &str, at: &SValue) -> Option<CheckDef> {
        if let Some(done) = self.parsed.get(id) {
            return done.clone();
        }
        let def = self.read(cx, id, at);
        self.parsed.insert(id.to_string(), def.clone());
        def
    }

    fn read(&mut self, cx: &mut Ctx, id: &str, at: &SValue) -> Option<CheckDef> {
        let Some(source) = self.catalogue.get(id).cloned() else {
            if cx.diags.full(Code::UnknownCheck, Level::Error) {
                cx.diags.count_only(Code::UnknownCheck, Level::Error);
                return None;
            }
            let mut d = Diagnostic::error(Code::UnknownCheck, format!("no check `{id}` in the catalogue")).at(at.loc());
            d = match did_you_mean(id, self.catalogue.ids()) {
                Some(s) => d.hint(format!("did you mean `{s}`? `golive checks` lists the catalogue")),
                None => d.hint("`golive checks` lists the catalogue; add your own with [checklist] checks = [\"dir\"]"),
            };
            cx.diags.push(d);
            return None;
        };
        let path = source.display_path();
        let bytes = match source.read() {
            Ok(b) => b,
            Err(e) => {
                cx.diags.push(
                    Diagnostic::error(Code::UnknownCheck, format!("cannot read check {}: {e}", path.display()))
                        .at(at.loc()),
                );
                return None;
            }
        };
        self.files.push(LoadedFile { path: path.clone(), sha256: hex::encode(Sha256::digest(&bytes)) });
        let text = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let file = cx.sources.add(path, text);
        let root = match parse_document(file, cx.sources.text(file)) {
            Ok(root) => root,
            Err(d) => {
                cx.diags.push(d);
                return None;
            }
        };
        for (key, _) in root.as_table().unwrap_or_default() {
            if !CHECK_FILE_KEYS.contains(&key.name.as_str()) {
                cx.diags.push(unknown_key(file, key, "the check file", CHECK_FILE_KEYS));
            }
        }
        let Some(check) = root.get("check").filter(|c| c.as_table().is_some()).cloned() else {
            cx.diags.push(
                Diagnostic::error(Code::UnknownCheck, format!("check file for `{id}` has no [check] table"))
                    .at(Loc { file, span: 0..0 })
                    .hint("a check file holds [check] (the item's keys) and optionally [vars]"),
            );
            return None;
        };
        if let Some(written) = check.get("id")
            && written.as_str() != Some(id)
        {
            cx.diags.push(
                Diagnostic::error(
                    Code::UnknownCheck,
                    format!("check id {} does not match its file, `{id}`", written.describe()),
                )
                .at(written.loc())
                .hint("a check's id is its area folder and file name: security/tls-not-expiring.toml is security.tls-not-expiring"),
            );
            return None;
        }
        let vars = match root.get("vars") {
            Some(v) => match v.as_table() {
                Some(t) => var_defs(cx, file, t),
                None => {
                    cx.diags.push(wrong_type(v, "vars", "a table"));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        Some(CheckDef { check, vars })
    }
}

/// The item table a `use` stands for, and the vars its check sees. `None` when the check
/// cannot be used (reported).
pub fn expand(cx: &mut Ctx, checks: &mut Checks, vars: &mut Vars, table: &SValue) -> Option<(SValue, LocalScope)> {
    let use_value = table.get("use")?;
    let Some(id) = use_value.as_str() else {
        cx.diags.push(wrong_type(use_value, "use", "a check id such as \"security.tls-not-expiring\""));
        return None;
    };
    let def = checks.get(cx, id, use_value)?;
    vars.declare(def.vars.iter().map(|(name, _)| name.as_str()));

    // Keys: the check's, then the item's over them; `expect` merged fact by fact.
    let mut entries: Vec<(SKey, SValue)> = def.check.as_table().unwrap_or_default().to_vec();
    let mut dropped: Option<&SValue> = None;
    for (key, value) in table.as_table().unwrap_or_default() {
        match key.name.as_str() {
            "use" | "vars" => {}
            "drop_expect" => dropped = Some(value),
            "expect" => {
                let merged = match (entries.iter().find(|(k, _)| k.name == "expect"), value.as_table()) {
                    (Some((_, base)), Some(over)) if base.as_table().is_some() => {
                        let mut facts: Vec<(SKey, SValue)> = base.as_table().unwrap_or_default().to_vec();
                        for (fact, matcher) in over {
                            set(&mut facts, fact, matcher.clone());
                        }
                        SValue { kind: SKind::Table(facts), span: value.span.clone(), file: value.file }
                    }
                    _ => value.clone(),
                };
                set(&mut entries, key, merged);
            }
            _ => set(&mut entries, key, value.clone()),
        }
    }
    if let Some(names) = dropped {
        drop_expectations(cx, id, &mut entries, names);
    }
    if !entries.iter().any(|(k, _)| k.name == "id") {
        let key = SKey { name: "id".into(), span: use_value.span.clone() };
        entries.insert(0, (key, SValue { kind: SKind::Str(id.to_string()), ..use_value.clone() }));
    }

    // Vars: the item's `vars`, else the checklist's, else the check's default.
    let mut values: BTreeMap<String, VarDef> = BTreeMap::new();
    let given: &[(SKey, SValue)] = match table.get("vars") {
        Some(v) => match v.as_table() {
            Some(t) => t,
            None => {
                cx.diags.push(wrong_type(v, "vars", "a table of the check's vars"));
                &[]
            }
        },
        None => &[],
    };
    for (key, value) in given {
        if !def.vars.iter().any(|(name, _)| *name == key.name) {
            let names: Vec<&str> = def.vars.iter().map(|(n, _)| n.as_str()).collect();
            let mut d = Diagnostic::error(Code::UnknownKey, format!("check `{id}` has no var `{}`", key.name))
                .at(loc_of_key(table.file, key));
            d = match did_you_mean(&key.name, names.iter().copied()) {
                Some(s) => d.hint(format!("did you mean `{s}`?")),
                None => {
                    d.hint(format!("its vars are: {}", if names.is_empty() { "none".into() } else { names.join(", ") }))
                }
            };
            cx.diags.push(d);
            continue;
        }
        match scalar_text(value) {
            Some(text) => {
                values.insert(key.name.clone(), VarDef::new(Some(text), value.loc()));
            }
            None => cx.diags.push(wrong_type(value, &key.name, "a string, number or boolean")),
        }
    }
    for (name, var) in &def.vars {
        if !values.contains_key(name) && !vars.is_global(name) {
            values.insert(name.clone(), var.clone());
        }
    }
    let merged = SValue { kind: SKind::Table(entries), span: table.span.clone(), file: table.file };
    Some((merged, LocalScope { check: id.to_string(), values }))
}

/// `drop_expect = ["latency"]`: removes facts from the merged `expect`, so an item can give
/// up an expectation the check makes (not only replace it). Each name must be one the
/// check (or the item) expects; dropping every one leaves `expect = {}`.
fn drop_expectations(cx: &mut Ctx, id: &str, entries: &mut [(SKey, SValue)], names: &SValue) {
    let SKind::Array(list) = &names.kind else {
        cx.diags.push(wrong_type(names, "drop_expect", "a list of fact names, e.g. [\"latency\"]"));
        return;
    };
    let Some(SKind::Table(facts)) = entries.iter_mut().find(|(k, _)| k.name == "expect").map(|(_, v)| &mut v.kind)
    else {
        cx.diags.push(
            Diagnostic::error(Code::InvalidValue, format!("drop_expect: check `{id}` writes no `expect` to drop from"))
                .at(names.loc())
                .hint("it uses its probe's default expectations: write the item's own expect = { … } instead"),
        );
        return;
    };
    for name in list {
        let Some(fact) = name.as_str() else {
            cx.diags.push(wrong_type(name, "drop_expect", "a list of fact names"));
            continue;
        };
        match facts.iter().position(|(k, _)| k.name == fact) {
            Some(at) => {
                facts.remove(at);
            }
            None => {
                let known: Vec<&str> = facts.iter().map(|(k, _)| k.name.as_str()).collect();
                let d = Diagnostic::error(
                    Code::UnknownFact,
                    format!("drop_expect: check `{id}` has no expectation on `{fact}`"),
                )
                .at(name.loc());
                cx.diags.push(match did_you_mean(fact, known.iter().copied()) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None if known.is_empty() => d.hint("it expects nothing here"),
                    None => d.hint(format!("its expectations: {}", known.join(", "))),
                });
            }
        }
    }
}

fn set(entries: &mut Vec<(SKey, SValue)>, key: &SKey, value: SValue) {
    match entries.iter_mut().find(|(k, _)| k.name == key.name) {
        Some(slot) => *slot = (key.clone(), value),
        None => entries.push((key.clone(), value)),
    }
}
