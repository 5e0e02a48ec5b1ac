//! Stage 2, vars: merge the `[vars]` of every file (a file's own vars over those of the files
//! it includes; two included files disagreeing is an error, `--var` settles anything), then
//! resolve `${name}` and `${env:NAME}` references for the later stages. Resolution is
//! memoised and iterative (an explicit stack, so a chain of 50,000 vars cannot overflow the
//! thread's stack), a cycle is reported once, and no value may expand past
//! `MAX_VALUE_BYTES` nor all expansions together past `MAX_TOTAL_BYTES`: vars that double
//! at every level end in a diagnostic, not in an out-of-memory abort. Environment values
//! are secrets: they go to the redactor and reports show `${env:NAME}` instead.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use foldhash::{HashMap, HashMapExt, HashSet};

use super::ctx::{Ctx, LoadMode};
use super::files::FileSet;
use super::interp::{self, Interpolated, Ref};
use super::keys::{loc_of_key, unknown_key, wrong_type};
use crate::diag::{Code, Diagnostic, FileId, Level, Loc, did_you_mean};
use crate::lang::tree::{SKey, SKind, SValue};

/// The longest value one string may expand to: 1 MiB.
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// All expansions of one load together: 64 MiB.
pub const MAX_TOTAL_BYTES: usize = 64 << 20;

#[derive(Clone, Debug)]
pub struct VarDef {
    /// The template, not yet interpolated; `None` when declared without a value.
    pub value: Option<String>,
    pub loc: Loc,
}

/// A problem was found and reported where it was found; the caller has nothing to add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reported;

/// The vars visible inside one use of a catalogue check: its own, set on the item or
/// defaulted by the check, before the checklist's.
#[derive(Clone, Debug)]
pub struct LocalScope {
    pub check: String,
    pub values: BTreeMap<String, VarDef>,
}

/// Var definitions of a `[vars]` table: `name = value` or `name = { description, default }`.
pub fn var_defs(cx: &mut Ctx, file: FileId, table: &[(SKey, SValue)]) -> Vec<(String, VarDef)> {
    let mut out = Vec::new();
    for (key, value) in table {
        let loc = loc_of_key(file, key);
        let text = match &value.kind {
            SKind::Table(entries) => {
                let mut default = None;
                for (k, v) in entries {
                    match k.name.as_str() {
                        "description" if v.as_str().is_none() => {
                            cx.diags.push(wrong_type(v, "description", "a string"))
                        }
                        "description" => {}
                        "default" => match scalar_text(v) {
                            Some(s) => default = Some(s),
                            None => cx.diags.push(wrong_type(v, "default", "a string, number or boolean")),
                        },
                        _ => cx.diags.push(unknown_key(
                            file,
                            k,
                            &format!("var `{}`", key.name),
                            &["description", "default"],
                        )),
                    }
                }
                default
            }
            _ => {
                let text = scalar_text(value);
                if text.is_none() {
                    cx.diags.push(wrong_type(
                        value,
                        &key.name,
                        "a string, number, boolean or { description, default }",
                    ));
                }
                text
            }
        };
        out.push((key.name.clone(), VarDef { value: text, loc }));
    }
    out
}

/// A string, number or boolean as the text a var holds.
pub fn scalar_text(v: &SValue) -> Option<String> {
    match &v.kind {
        SKind::Str(s) => Some(s.clone()),
        SKind::Int(i) => Some(i.to_string()),
        SKind::Float(f) => Some(f.to_string()),
        SKind::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The vars of the whole load: every root's, merged, then `--var` values over them.
pub fn merge(cx: &mut Ctx, files: &FileSet, cli: &[(String, String)]) -> BTreeMap<String, VarDef> {
    if files.roots.is_empty() {
        return BTreeMap::new();
    }
    // A --var settles a conflict between included files as an including file would.
    let settled: BTreeSet<String> = cli.iter().map(|(name, _)| name.clone()).collect();
    let mut merged = merge_of(cx, files, &files.roots, &settled);
    for (name, value) in cli {
        let loc = Loc { file: files.docs[files.roots[0]].id, span: 0..0 };
        // A --var is a value, never a template.
        merged.insert(name.clone(), VarDef { value: Some(value.replace("${", "$${")), loc });
    }
    merged
}

/// The vars visible from these files. `settled` holds names an including file gives a
/// value, which decides any conflict below it. Recursion follows includes, which nest at
/// most `files::MAX_INCLUDE_DEPTH` deep.
fn merge_of(cx: &mut Ctx, files: &FileSet, docs: &[usize], settled: &BTreeSet<String>) -> BTreeMap<String, VarDef> {
    let mut merged: BTreeMap<String, VarDef> = BTreeMap::new();
    for &doc in docs {
        let own = match files.docs[doc].root.get("vars").and_then(|v| v.as_table()) {
            Some(table) => var_defs(cx, files.docs[doc].id, table),
            None => Vec::new(),
        };
        let mut settled_here = settled.clone();
        settled_here.extend(own.iter().filter(|(_, d)| d.value.is_some()).map(|(n, _)| n.clone()));
        let mut visible = merge_of(cx, files, &files.docs[doc].includes, &settled_here);
        for (name, def) in own {
            match (&def.value, visible.get(&name)) {
                (None, Some(existing)) if existing.value.is_some() => {}
                _ => {
                    visible.insert(name, def);
                }
            }
        }
        for (name, def) in visible {
            match merged.get(&name) {
                Some(existing)
                    if !settled.contains(&name)
                        && existing.loc != def.loc
                        && existing.value.is_some()
                        && def.value.is_some()
                        && existing.value != def.value =>
                {
                    let d = Diagnostic::error(Code::VarConflict, format!("var `{name}` is given two different values"))
                        .at(def.loc.clone())
                        .related(existing.loc.clone(), "also given here")
                        .hint(format!("set `{name}` once, in the file that includes both, or with --var {name}=…"));
                    cx.diags.push(d);
                }
                Some(existing) if existing.value.is_some() && def.value.is_none() => {}
                _ => {
                    merged.insert(name, def);
                }
            }
        }
    }
    merged
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Layer {
    /// The vars of the catalogue check being expanded.
    Local,
    /// The checklist's vars.
    Global,
}

type Resolved = Result<Rc<Interpolated>, Reported>;

/// Resolves references for the stages after this one.
pub struct Vars {
    global: BTreeMap<String, VarDef>,
    memo: HashMap<String, Resolved>,
    local: Option<LocalScope>,
    /// Per use of a check: its vars are set per item.
    local_memo: HashMap<String, Resolved>,
    /// Every var name a loaded file or a used check declares (for `--var` names).
    declared: HashSet<String>,
    /// Bytes produced by expansion so far, against `MAX_TOTAL_BYTES`.
    total: usize,
}

impl Vars {
    pub fn new(global: BTreeMap<String, VarDef>, declared: impl IntoIterator<Item = String>) -> Self {
        Vars {
            global,
            memo: HashMap::new(),
            local: None,
            local_memo: HashMap::new(),
            declared: declared.into_iter().collect(),
            total: 0,
        }
    }

    /// True when the checklist (or `--var`) gives this var.
    pub fn is_global(&self, name: &str) -> bool {
        self.global.contains_key(name)
    }

    /// Records var names a catalogue check declares.
    pub fn declare<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        for name in names {
            if !self.declared.contains(name) {
                self.declared.insert(name.to_string());
            }
        }
    }

    /// Every var name a loaded file or a used check declares.
    pub fn declared(&self) -> impl Iterator<Item = &String> {
        self.declared.iter()
    }

    /// `--var` names that no loaded file and no used check declares: setting them would do
    /// nothing, so each is an error, with a "did you mean" among the declared names.
    pub fn check_cli_names(&self, cx: &mut Ctx, cli: &[(String, String)]) {
        for (name, _) in cli {
            if self.declared.contains(name) {
                continue;
            }
            let d = Diagnostic::error(
                Code::UnknownVar,
                format!("--var {name}=…: no checklist file or check declares var `{name}`"),
            );
            let d = match did_you_mean(name, self.declared.iter().map(String::as_str)) {
                Some(s) => d.hint(format!("did you mean `{s}`? (a --var sets a var declared under [vars])")),
                None => d.hint(format!(
                    "declare it under [vars] (e.g. {name} = {{ description = \"…\" }}) or drop the --var"
                )),
            };
            cx.diags.push(d);
        }
    }

    /// Makes a check's vars visible until `leave`.
    pub fn enter(&mut self, scope: LocalScope) {
        self.local = Some(scope);
        self.local_memo.clear();
    }

    pub fn leave(&mut self) {
        self.local = None;
        self.local_memo.clear();
    }

    /// Expands `${…}` in a string value; problems become diagnostics at the value, and
    /// secrets met go to the redactor.
    pub fn interpolate(&mut self, cx: &mut Ctx, v: &SValue, template: &str) -> Option<Interpolated> {
        if !template.contains('$') {
            return Some(Interpolated::plain(template));
        }
        let parts = match interp::parse(template) {
            Ok(parts) => parts,
            Err(e) => {
                cx.diags.push(Diagnostic::error(Code::InvalidValue, e.to_string()).at(v.loc()));
                return None;
            }
        };
        let layer = if self.local.is_some() { Layer::Local } else { Layer::Global };
        let out = self.expand(cx, &parts, layer, &v.loc()).ok()?;
        if !self.spend(cx, out.value.len(), &v.loc()) {
            return None;
        }
        for s in &out.secrets {
            cx.redactor.add(s);
        }
        Some(Rc::unwrap_or_clone(out))
    }

    /// Counts expanded bytes against the load's total; false (reported once) past it.
    fn spend(&mut self, cx: &mut Ctx, bytes: usize, at: &Loc) -> bool {
        let before = self.total;
        self.total = self.total.saturating_add(bytes);
        if self.total <= MAX_TOTAL_BYTES {
            return true;
        }
        if before <= MAX_TOTAL_BYTES {
            cx.diags.push(
                Diagnostic::error(
                    Code::Limit,
                    format!("the checklist's values expand to more than {} MiB in all", MAX_TOTAL_BYTES >> 20),
                )
                .at(at.clone())
                .hint("vars that repeat other vars grow fast; write the values out or shorten them"),
            );
        }
        false
    }

    fn def(&self, layer: Layer, name: &str) -> Option<&VarDef> {
        match layer {
            Layer::Local => self.local.as_ref()?.values.get(name),
            Layer::Global => self.global.get(name),
        }
    }

    /// Where a reference from `from` finds `name`: a check's own vars before the
    /// checklist's; the checklist's vars see only each other.
    fn find(&self, from: Layer, name: &str) -> Option<Layer> {
        if from == Layer::Local && self.def(Layer::Local, name).is_some() {
            return Some(Layer::Local);
        }
        self.global.contains_key(name).then_some(Layer::Global)
    }

    fn memo(&self, layer: Layer, name: &str) -> Option<&Resolved> {
        match layer {
            Layer::Local => self.local_memo.get(name),
            Layer::Global => self.memo.get(name),
        }
    }

    fn remember(&mut self, layer: Layer, name: String, r: Resolved) {
        match layer {
            Layer::Local => self.local_memo.insert(name, r),
            Layer::Global => self.memo.insert(name, r),
        };
    }

    /// The value of var `name` of `layer`, resolving the vars it refers to first, depth
    /// first on an explicit stack. `at` is where the reference is written.
    fn resolve(&mut self, cx: &mut Ctx, layer: Layer, name: &str, at: &Loc) -> Resolved {
        if let Some(done) = self.memo(layer, name) {
            return done.clone();
        }
        // (layer, name, where it is referred to), and the same as a set for cycle checks.
        let mut stack: Vec<(Layer, String, Loc)> = vec![(layer, name.to_string(), at.clone())];
        let mut on_stack: HashSet<(Layer, String)> = HashSet::from_iter([(layer, name.to_string())]);
        while let Some((layer, name, at)) = stack.last().cloned() {
            if self.memo(layer, &name).is_some() {
                on_stack.remove(&(layer, name));
                stack.pop();
                continue;
            }
            let def = self.def(layer, &name).cloned().expect("only declared vars are resolved");
            let Some(template) = &def.value else {
                let r = self.missing(cx, layer, &name, &def, &at);
                self.remember(layer, name, r);
                continue;
            };
            let parts = match interp::parse(template) {
                Ok(parts) => parts,
                Err(e) => {
                    cx.diags.push(Diagnostic::error(Code::InvalidValue, e.to_string()).at(def.loc.clone()));
                    self.remember(layer, name, Err(Reported));
                    continue;
                }
            };
            // The first var this one refers to that is not resolved yet.
            let mut next = None;
            for part in &parts {
                let Err(Ref::Var(dep)) = part else { continue };
                let Some(dep_layer) = self.find(layer, dep) else { continue };
                if self.memo(dep_layer, dep).is_some() {
                    continue;
                }
                if on_stack.contains(&(dep_layer, dep.clone())) {
                    let pos = stack.iter().position(|(l, n, _)| *l == dep_layer && n == dep).unwrap_or(0);
                    let cycle: Vec<&str> =
                        stack[pos..].iter().map(|(_, n, _)| n.as_str()).chain([dep.as_str()]).collect();
                    cx.diags.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            format!("vars refer to each other in a cycle: {}", cycle.join(" → ")),
                        )
                        .at(def.loc.clone()),
                    );
                    self.remember(layer, name.clone(), Err(Reported));
                    break;
                }
                next = Some((dep_layer, dep.clone()));
                break;
            }
            if self.memo(layer, &name).is_some() {
                // A cycle, reported above.
                continue;
            }
            if let Some((dep_layer, dep)) = next {
                on_stack.insert((dep_layer, dep.clone()));
                stack.push((dep_layer, dep, def.loc.clone()));
                continue;
            }
            let r = self.expand(cx, &parts, layer, &def.loc);
            let r = match r {
                Ok(v) if self.spend(cx, v.value.len(), &def.loc) => Ok(v),
                Ok(_) => Err(Reported),
                Err(e) => Err(e),
            };
            self.remember(layer, name, r);
        }
        self.memo(layer, name).cloned().expect("resolved above")
    }

    /// A var declared without a value: an error in `run`, a warning (once) in `validate`,
    /// where the reference stays unexpanded.
    fn missing(&mut self, cx: &mut Ctx, layer: Layer, name: &str, def: &VarDef, at: &Loc) -> Resolved {
        let check = match layer {
            Layer::Local => self.local.as_ref().map(|s| s.check.clone()),
            Layer::Global => None,
        };
        let (message, hint) = match &check {
            Some(check) => (
                format!("check `{check}` needs var `{name}`"),
                format!("set it on the item, vars = {{ {name} = \"…\" }}, or in [vars], or pass --var {name}=…"),
            ),
            None => {
                (format!("var `{name}` has no value"), format!("pass --var {name}=… or give it a default in [vars]"))
            }
        };
        let d = Diagnostic::error(Code::VarMissing, message)
            .at(at.clone())
            .related(def.loc.clone(), "declared here")
            .hint(hint);
        match cx.mode {
            LoadMode::Run => {
                cx.diags.push(d);
                Err(Reported)
            }
            LoadMode::Validate => {
                cx.diags.warn_once(format!("var:{}:{name}", check.unwrap_or_default()), d);
                Ok(Rc::new(Interpolated { shown: format!("${{{name}}}"), incomplete: true, ..Default::default() }))
            }
        }
    }

    /// Joins the parts of a template whose var references are resolved (or resolvable).
    fn expand(&mut self, cx: &mut Ctx, parts: &[Result<String, Ref>], layer: Layer, at: &Loc) -> Resolved {
        if let [Err(Ref::Var(name))] = parts
            && let Some(found) = self.find(layer, name)
        {
            // A value that is one reference shares the referred value.
            return self.resolve(cx, found, name, at);
        }
        let mut out = Interpolated::default();
        for part in parts {
            match part {
                Ok(text) => {
                    out.value.push_str(text);
                    out.shown.push_str(text);
                }
                Err(Ref::Env(name)) => out.push(&env(cx, name, at)?),
                Err(Ref::File(path)) => out.push(&file_secret(cx, path, at)?),
                Err(Ref::Var(name)) => match self.find(layer, name) {
                    Some(found) => {
                        let v = self.resolve(cx, found, name, at)?;
                        out.push(&v);
                    }
                    None => {
                        self.unknown(cx, name, at);
                        return Err(Reported);
                    }
                },
            }
            if out.value.len() > MAX_VALUE_BYTES || out.shown.len() > MAX_VALUE_BYTES {
                cx.diags.push(
                    Diagnostic::error(
                        Code::Limit,
                        format!("this value expands to more than {} MiB", MAX_VALUE_BYTES >> 20),
                    )
                    .at(at.clone())
                    .hint("vars that repeat other vars grow fast; write the value out or shorten it"),
                );
                return Err(Reported);
            }
        }
        Ok(Rc::new(out))
    }

    fn unknown(&self, cx: &mut Ctx, name: &str, at: &Loc) {
        if cx.diags.full(Code::UnknownVar, Level::Error) {
            cx.diags.count_only(Code::UnknownVar, Level::Error);
            return;
        }
        let local = self.local.iter().flat_map(|s| s.values.keys());
        let names: Vec<&str> = self.global.keys().chain(local).map(String::as_str).collect();
        let d = Diagnostic::error(Code::UnknownVar, format!("unknown var `{name}`")).at(at.clone());
        let d = match did_you_mean(name, names.iter().copied()) {
            Some(s) => d.hint(format!("did you mean `{s}`?")),
            None => d.hint(format!("declare it under [vars] or pass --var {name}=…")),
        };
        cx.diags.push(d);
    }
}

/// `${file:PATH}`: the file's contents, without one trailing newline, are a secret; reports
/// show the reference. A relative PATH is relative to the file the reference is written in.
/// Read when the value is used, while loading (never by a probe), through `fsread` (regular
/// files only, size-capped). Like an unset `${env:…}`, an unreadable file is an error in
/// `run` and a warning in `validate`.
fn file_secret(cx: &mut Ctx, path: &str, at: &Loc) -> Result<Interpolated, Reported> {
    let shown = format!("${{file:{path}}}");
    let mut full = std::path::PathBuf::from(path);
    if full.is_relative() {
        let written_in = cx.sources.path(at.file);
        if !written_in.to_string_lossy().starts_with("golive:")
            && let Some(dir) = written_in.parent()
        {
            full = dir.join(&full);
        }
    }
    match crate::fsread::read_bounded(&full) {
        Ok(bytes) => {
            let mut value = String::from_utf8_lossy(&bytes).into_owned();
            if value.ends_with('\n') {
                value.pop();
                if value.ends_with('\r') {
                    value.pop();
                }
            }
            Ok(Interpolated { secrets: vec![value.clone()], value, shown, incomplete: false })
        }
        Err(e) => {
            let d = Diagnostic::error(Code::EnvNotSet, format!("secret file `{}` cannot be read: {e}", full.display()))
                .at(at.clone())
                .hint("${file:PATH} reads a secret from a file (relative to this checklist file); check the path and its permissions");
            match cx.mode {
                LoadMode::Run => {
                    cx.diags.push(d);
                    Err(Reported)
                }
                LoadMode::Validate => {
                    cx.diags.warn_once(format!("file:{}", full.display()), d);
                    Ok(Interpolated { shown, incomplete: true, ..Default::default() })
                }
            }
        }
    }
}

/// `${env:NAME}`: its value is a secret; reports show the reference.
fn env(cx: &mut Ctx, name: &str, at: &Loc) -> Result<Interpolated, Reported> {
    let shown = format!("${{env:{name}}}");
    match std::env::var(name) {
        Ok(value) => Ok(Interpolated { secrets: vec![value.clone()], value, shown, incomplete: false }),
        Err(_) => {
            let d = Diagnostic::error(Code::EnvNotSet, format!("environment variable `{name}` is not set"))
                .at(at.clone())
                .hint(format!("export {name}=… before running golive (its value is treated as a secret)"));
            match cx.mode {
                LoadMode::Run => {
                    cx.diags.push(d);
                    Err(Reported)
                }
                LoadMode::Validate => {
                    cx.diags.warn_once(format!("env:{name}"), d);
                    Ok(Interpolated { shown, incomplete: true, ..Default::default() })
                }
            }
        }
    }
}
