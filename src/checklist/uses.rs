//! `use = "area.name"`: an item made from a catalogue check. The check's `[check]` table
//! gives the item's keys; the item overrides any of them, merges `expect` fact by fact, and
//! sets the check's vars with `vars = { … }`. A check var not set on the item takes the
//! checklist's var of the same name, then the check's default.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{LoadedFile, Loader, VarDef, loc_of_key, unknown_key, wrong_type};
use crate::lang::tree::{SKey, SKind, SValue, parse_document};
use crate::diag::{Code, Diagnostic, FileId, Loc, did_you_mean};

/// A parsed check file.
#[derive(Clone, Debug)]
pub(crate) struct CheckDef {
    file: FileId,
    /// The `[check]` table: item keys.
    check: SValue,
    /// The check's `[vars]`.
    vars: Vec<(SKey, SValue)>,
}

/// The vars visible inside one use of a check.
#[derive(Clone, Debug)]
pub(crate) struct LocalScope {
    pub check: String,
    pub values: BTreeMap<String, VarDef>,
}

const CHECK_FILE_KEYS: &[&str] = &["check", "vars"];

impl Loader<'_> {
    /// Adds the catalogue directories named by `[checklist] checks` (relative to their file).
    pub(super) fn add_check_dirs(&mut self) {
        for index in 0..self.docs.len() {
            let Some(dirs) = self.docs[index].root.get("checklist").and_then(|c| c.get("checks")).cloned() else {
                continue;
            };
            let file = self.docs[index].id;
            let base = self.sources.path(file).parent().map(Path::to_path_buf).unwrap_or_default();
            let SKind::Array(entries) = &dirs.kind else {
                self.error(wrong_type(&dirs, "checks", "a list of directories"));
                continue;
            };
            for entry in entries {
                let Some(dir) = entry.as_str() else {
                    self.error(wrong_type(entry, "checks", "a list of directories"));
                    continue;
                };
                if let Err(e) = self.catalogue.add_dir(&base.join(dir)) {
                    self.error(
                        Diagnostic::error(Code::IncludeNotFound, format!("cannot read check directory {dir}: {e}"))
                            .at(entry.loc())
                            .hint("`checks` lists directories of AREA/NAME.toml check files, relative to this file"),
                    );
                }
            }
        }
    }

    /// The definition of a check, parsed once.
    fn check_def(&mut self, id: &str, at: &SValue) -> Option<CheckDef> {
        if let Some(done) = self.checks.get(id) {
            return done.clone();
        }
        let def = self.read_check(id, at);
        self.checks.insert(id.to_string(), def.clone());
        def
    }

    fn read_check(&mut self, id: &str, at: &SValue) -> Option<CheckDef> {
        let Some(source) = self.catalogue.get(id).cloned() else {
            let ids: Vec<String> = self.catalogue.ids().map(str::to_string).collect();
            let mut d = Diagnostic::error(Code::UnknownCheck, format!("no check `{id}` in the catalogue")).at(at.loc());
            d = match did_you_mean(id, ids.iter().map(String::as_str)) {
                Some(s) => d.hint(format!("did you mean `{s}`? `golive checks` lists the catalogue")),
                None => d.hint("`golive checks` lists the catalogue; add your own with [checklist] checks = [\"dir\"]"),
            };
            self.error(d);
            return None;
        };
        let path = source.display_path();
        let bytes = match source.read() {
            Ok(b) => b,
            Err(e) => {
                self.error(
                    Diagnostic::error(Code::UnknownCheck, format!("cannot read check {}: {e}", path.display()))
                        .at(at.loc()),
                );
                return None;
            }
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.check_files.push(LoadedFile { path: path.clone(), sha256: hex::encode(Sha256::digest(&bytes)) });
        let file = self.sources.add(path, text);
        let root = match parse_document(file, self.sources.text(file)) {
            Ok(root) => root,
            Err(d) => {
                self.error(d);
                return None;
            }
        };
        for (key, _) in root.as_table().unwrap_or_default() {
            if !CHECK_FILE_KEYS.contains(&key.name.as_str()) {
                self.error(unknown_key(file, key, "the check file", CHECK_FILE_KEYS));
            }
        }
        let Some(check) = root.get("check").filter(|c| c.as_table().is_some()).cloned() else {
            self.error(
                Diagnostic::error(Code::UnknownCheck, format!("check file for `{id}` has no [check] table"))
                    .at(Loc { file, span: 0..0 })
                    .hint("a check file holds [check] (the item's keys) and optionally [vars]"),
            );
            return None;
        };
        if let Some(written) = check.get("id")
            && written.as_str() != Some(id)
        {
            self.error(
                    Diagnostic::error(Code::UnknownCheck, format!("check id {} does not match its file, `{id}`", written.describe()))
                        .at(written.loc())
                        .hint("a check's id is its area folder and file name: security/tls-not-expiring.toml is security.tls-not-expiring"),
                );
            return None;
        }
        let vars = match root.get("vars") {
            Some(v) => match v.as_table() {
                Some(t) => t.to_vec(),
                None => {
                    self.error(wrong_type(v, "vars", "a table"));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        Some(CheckDef { file, check, vars })
    }

    /// The item table a `use` stands for, and the vars its check sees.
    pub(super) fn expand_use(&mut self, table: &SValue) -> Option<(SValue, LocalScope)> {
        let use_value = table.get("use")?;
        let Some(id) = use_value.as_str().map(str::to_string) else {
            self.error(wrong_type(use_value, "use", "a check id such as \"security.tls-not-expiring\""));
            return None;
        };
        let def = self.check_def(&id, use_value)?;

        // Keys: the check's, then the item's over them; `expect` merged fact by fact.
        let mut entries: Vec<(SKey, SValue)> = def.check.as_table().unwrap_or_default().to_vec();
        for (key, value) in table.as_table().unwrap_or_default() {
            match key.name.as_str() {
                "use" | "vars" => {}
                "expect" => {
                    let merged = match (entries.iter().find(|(k, _)| k.name == "expect"), value.as_table()) {
                        (Some((_, base)), Some(over)) if base.as_table().is_some() => {
                            let mut facts: Vec<(SKey, SValue)> = base.as_table().unwrap_or_default().to_vec();
                            for (fact, matcher) in over {
                                match facts.iter_mut().find(|(k, _)| k.name == fact.name) {
                                    Some(slot) => *slot = (fact.clone(), matcher.clone()),
                                    None => facts.push((fact.clone(), matcher.clone())),
                                }
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

        if !entries.iter().any(|(k, _)| k.name == "id") {
            let key = SKey { name: "id".into(), span: use_value.span.clone() };
            entries.insert(0, (key, SValue { kind: SKind::Str(id.clone()), ..use_value.clone() }));
        }

        // Vars: the item's `vars`, else the checklist's, else the check's default.
        let declared = self.var_defs(def.file, &def.vars);
        let mut values: BTreeMap<String, VarDef> = BTreeMap::new();
        let given: Vec<(SKey, SValue)> = match table.get("vars") {
            Some(v) => match v.as_table() {
                Some(t) => t.to_vec(),
                None => {
                    self.error(wrong_type(v, "vars", "a table of the check's vars"));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        for (key, value) in &given {
            if !declared.iter().any(|(name, _)| *name == key.name) {
                let names: Vec<&str> = declared.iter().map(|(n, _)| n.as_str()).collect();
                let mut d = Diagnostic::error(Code::UnknownKey, format!("check `{id}` has no var `{}`", key.name))
                    .at(loc_of_key(table.file, key));
                d = match did_you_mean(&key.name, names.iter().copied()) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint(format!(
                        "its vars are: {}",
                        if names.is_empty() { "none".into() } else { names.join(", ") }
                    )),
                };
                self.error(d);
                continue;
            }
            match value.as_str().map(str::to_string).or_else(|| scalar_text(value)) {
                Some(text) => {
                    values.insert(key.name.clone(), VarDef { value: Some(text), loc: value.loc() });
                }
                None => self.error(wrong_type(value, &key.name, "a string, number or boolean")),
            }
        }
        for (name, def) in declared {
            if !values.contains_key(&name) && !self.vars.contains_key(&name) {
                values.insert(name, def);
            }
        }
        let merged = SValue { kind: SKind::Table(entries), span: table.span.clone(), file: table.file };
        Some((merged, LocalScope { check: id, values }))
    }
}

fn set(entries: &mut Vec<(SKey, SValue)>, key: &SKey, value: SValue) {
    match entries.iter_mut().find(|(k, _)| k.name == key.name) {
        Some(slot) => *slot = (key.clone(), value),
        None => entries.push((key.clone(), value)),
    }
}

fn scalar_text(v: &SValue) -> Option<String> {
    match &v.kind {
        SKind::Int(i) => Some(i.to_string()),
        SKind::Float(f) => Some(f.to_string()),
        SKind::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
