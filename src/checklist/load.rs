//! Loading: read the root files and their includes, merge vars and defaults, interpolate,
//! and turn every `[[item]]` into a validated `Item`. Every problem in every file is
//! collected as a diagnostic with its exact position; nothing stops at the first one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::catalogue::{BUILTIN_PREFIX, Catalogue, builtin_checklist, builtin_checklist_names};
use super::interp::{self, Interpolated, Ref};
use crate::lang::tree::{SKey, SKind, SValue, parse_document};
use super::{AttestationFile, Checklist, Expectation, Item, LoadedFile, Severity, Waiver, attestation, waiver};
use crate::diag::{Code, Diagnostic, FileId, Level, Loc, Sources, did_you_mean};
use crate::lang::matcher;
use crate::probe::ports::parse_port_range;
use crate::probe::{self, ParamSpec, ParamType, Params, ProbeSpec};
use crate::redact::{MASK, Redactor, mask_url_password, url_password};
use crate::value::{Value, parse_duration};

/// `Run` needs every value; `Validate` checks structure and only warns about values that
/// come from the environment or the command line at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadMode {
    Run,
    Validate,
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// `--var name=value` overrides, in order.
    pub vars: Vec<(String, String)>,
    pub mode: LoadMode,
    /// `--attestations FILE`: overrides `[checklist] attestations` and the default
    /// `NAME.attestations.toml` beside the first checklist file.
    pub attestations: Option<PathBuf>,
}

pub struct Loaded {
    /// `None` when any diagnostic is an error.
    pub checklist: Option<Checklist>,
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    /// The secrets met while loading, to mask diagnostics that quote values.
    pub redactor: Redactor,
}

const TOP_KEYS: &[&str] = &["checklist", "vars", "defaults", "item", "waiver", "signoff"];
const CHECKLIST_KEYS: &[&str] = &["name", "version", "description", "include", "attestations", "checks"];
const SIGNOFF_KEYS: &[&str] = &["roles"];
const DEFAULT_KEYS: &[&str] = &["timeout", "retries", "retry_delay", "severity", "section"];
const ITEM_KEYS: &[&str] = &[
    "id",
    "title",
    "section",
    "severity",
    "tags",
    "depends_on",
    "timeout",
    "retries",
    "retry_delay",
    "description",
    "rationale",
    "references",
    "owner",
    "probe",
    "expect",
];

#[path = "uses.rs"]
mod uses;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_SEVERITY: Severity = Severity::High;
pub const DEFAULT_SECTION: &str = "general";

struct FileDoc {
    id: FileId,
    root: SValue,
    bytes_sha256: String,
    includes: Vec<usize>,
    parent: Option<usize>,
}

#[derive(Clone, Debug)]
struct VarDef {
    /// The template, not yet interpolated; `None` when declared without a value.
    value: Option<String>,
    loc: Loc,
}

#[derive(Clone, Default)]
struct Defaults {
    timeout: Option<Duration>,
    retries: Option<u32>,
    retry_delay: Option<Duration>,
    severity: Option<Severity>,
    section: Option<String>,
}

struct Loader<'o> {
    opts: &'o LoadOptions,
    sources: Sources,
    diags: Vec<Diagnostic>,
    docs: Vec<FileDoc>,
    by_path: HashMap<PathBuf, usize>,
    /// Files being loaded: (canonical path, path as written), for include cycles.
    stack: Vec<(PathBuf, PathBuf)>,
    vars: BTreeMap<String, VarDef>,
    resolved: HashMap<String, Result<Interpolated, ()>>,
    resolving: Vec<String>,
    warned: BTreeSet<String>,
    redactor: Redactor,
    /// Each file's effective defaults, computed once (so a problem is reported once).
    defaults: HashMap<usize, Defaults>,
    /// The checks items can `use`: shipped ones and `[checklist] checks` directories.
    catalogue: Catalogue,
    /// Check files parsed so far, by check id (`None`: unreadable or invalid, reported).
    checks: HashMap<String, Option<uses::CheckDef>>,
    /// The check files used, for the report's list of files.
    check_files: Vec<LoadedFile>,
    /// The vars of the catalogue check being expanded into an item.
    local: Option<uses::LocalScope>,
}

pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Loaded {
    let mut l = Loader {
        opts,
        sources: Sources::default(),
        diags: Vec::new(),
        docs: Vec::new(),
        by_path: HashMap::new(),
        stack: Vec::new(),
        vars: BTreeMap::new(),
        resolved: HashMap::new(),
        resolving: Vec::new(),
        warned: BTreeSet::new(),
        redactor: Redactor::default(),
        defaults: HashMap::new(),
        catalogue: Catalogue::builtin(),
        checks: HashMap::new(),
        check_files: Vec::new(),
        local: None,
    };
    let roots: Vec<usize> = paths.iter().filter_map(|p| l.load_file(p, None, None)).collect();
    if !roots.is_empty() {
        // A --var settles a conflict between included files as an including file would.
        let settled: BTreeSet<String> = opts.vars.iter().map(|(name, _)| name.clone()).collect();
        l.vars = l.merge_vars_of(&roots, &settled);
        for (name, value) in &opts.vars {
            let loc = Loc { file: l.docs[roots[0]].id, span: 0..0 };
            l.vars.insert(name.clone(), VarDef { value: Some(value.replace("${", "$${")), loc });
        }
    }
    l.add_check_dirs();
    let mut items = Vec::new();
    for index in 0..l.docs.len() {
        let defaults = l.defaults_for(index);
        let Some(SKind::Array(tables)) = l.docs[index].root.get("item").map(|v| v.kind.clone()) else {
            continue;
        };
        for table in &tables {
            if let Some(item) = l.item(table, &defaults) {
                items.push(item);
            }
        }
    }
    l.check_ids_and_dependencies(&items);
    let waivers = l.waivers(&items);
    let signoff_roles = l.signoff_roles();
    let attestations = l.attestations(&roots, &items);

    let first = roots.first().map(|&r| &l.docs[r]);
    let meta = |key: &str| -> Option<String> {
        roots.iter().find_map(|&r| l.docs[r].root.get("checklist")?.get(key)?.as_str().map(str::to_string))
    };
    let name = meta("name")
        .or_else(|| first.and_then(|d| l.sources.path(d.id).file_stem().map(|s| s.to_string_lossy().into_owned())));
    let checklist = if l.diags.iter().any(|d| d.level == Level::Error) {
        None
    } else {
        Some(Checklist {
            name: name.unwrap_or_else(|| "checklist".into()),
            version: meta("version"),
            description: meta("description"),
            files: l
                .docs
                .iter()
                .map(|d| LoadedFile { path: l.sources.path(d.id).to_path_buf(), sha256: d.bytes_sha256.clone() })
                .chain(l.check_files.iter().cloned())
                .collect(),
            items: items.into_iter().map(Arc::new).collect(),
            waivers,
            signoff_roles,
            attestations,
            redactor: l.redactor.clone(),
        })
    };
    Loaded { checklist, sources: l.sources, diagnostics: l.diags, redactor: l.redactor }
}

fn loc_of_key(file: FileId, key: &SKey) -> Loc {
    Loc { file, span: key.span.clone() }
}

pub(super) fn unknown_key(file: FileId, key: &SKey, what: &str, known: &[&str]) -> Diagnostic {
    let d =
        Diagnostic::error(Code::UnknownKey, format!("unknown key `{}` in {what}", key.name)).at(loc_of_key(file, key));
    match did_you_mean(&key.name, known.iter().copied()) {
        Some(s) => d.hint(format!("did you mean `{s}`?")),
        None => d.hint(format!("known keys here: {}", known.join(", "))),
    }
}

pub(super) fn wrong_type(v: &SValue, key: &str, expected: &str) -> Diagnostic {
    Diagnostic::error(Code::InvalidValue, format!("`{key}` must be {expected}, found {}", v.describe())).at(v.loc())
}

impl Loader<'_> {
    fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Reads and parses one file and, depth first, the files it includes.
    fn load_file(&mut self, path: &Path, included_from: Option<Loc>, parent: Option<usize>) -> Option<usize> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(pos) = self.stack.iter().position(|(c, _)| *c == canonical) {
            let cycle: Vec<String> = self.stack[pos..]
                .iter()
                .map(|(_, shown)| shown.as_path())
                .chain([path])
                .map(|p| p.display().to_string())
                .collect();
            let mut d = Diagnostic::error(Code::IncludeCycle, format!("include cycle: {}", cycle.join(" → ")))
                .hint("remove one of these includes; a file may be included from several places but not from itself");
            if let Some(loc) = included_from {
                d = d.at(loc);
            }
            self.error(d);
            return None;
        }
        if let Some(&index) = self.by_path.get(&canonical) {
            return Some(index);
        }
        let builtin = path.to_str().and_then(|p| p.strip_prefix(BUILTIN_PREFIX));
        let read = match builtin {
            Some(name) => builtin_checklist(name).map(|(_, text)| text.as_bytes().to_vec()).ok_or_else(|| {
                std::io::Error::other(format!(
                    "golive has no built-in checklist `{name}`; built in: {}",
                    builtin_checklist_names().join(", ")
                ))
            }),
            None => std::fs::read(path),
        };
        let bytes = match read {
            Ok(b) => b,
            Err(e) => {
                let d = match included_from {
                    Some(loc) => Diagnostic::error(
                        Code::IncludeNotFound,
                        format!("cannot read included file {}: {e}", path.display()),
                    )
                    .at(loc)
                    .hint("include paths are relative to the file that includes them"),
                    None => {
                        Diagnostic::error(Code::FileNotFound, format!("cannot read checklist {}: {e}", path.display()))
                            .hint("give the path of a checklist TOML file (default: golive.toml)")
                    }
                };
                self.error(d);
                return None;
            }
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let id = self.sources.add(path.to_path_buf(), text);
        let root = match parse_document(id, self.sources.text(id)) {
            Ok(root) => root,
            Err(d) => {
                self.error(d);
                return None;
            }
        };
        let index = self.docs.len();
        self.docs.push(FileDoc {
            id,
            root,
            bytes_sha256: hex::encode(Sha256::digest(&bytes)),
            includes: Vec::new(),
            parent,
        });
        self.by_path.insert(canonical.clone(), index);
        self.check_top_level(index);

        let includes = self.docs[index].root.get("checklist").and_then(|c| c.get("include")).cloned();
        if let Some(includes) = includes {
            self.stack.push((canonical, path.to_path_buf()));
            let base = path.parent().unwrap_or(Path::new("."));
            match &includes.kind {
                SKind::Array(entries) => {
                    for entry in entries {
                        match entry.as_str() {
                            Some(rel) => {
                                // Built-in checklists include their siblings as built-ins too.
                                let target = if rel.starts_with(BUILTIN_PREFIX) {
                                    PathBuf::from(rel)
                                } else if builtin.is_some() {
                                    PathBuf::from(format!("{BUILTIN_PREFIX}{rel}"))
                                } else {
                                    base.join(rel)
                                };
                                if let Some(child) = self.load_file(&target, Some(entry.loc()), Some(index)) {
                                    self.docs[index].includes.push(child);
                                }
                            }
                            None => self.error(wrong_type(entry, "include", "a list of file paths")),
                        }
                    }
                }
                _ => self.error(wrong_type(&includes, "include", "a list of file paths")),
            }
            self.stack.pop();
        }
        Some(index)
    }

    fn check_top_level(&mut self, index: usize) {
        let file = self.docs[index].id;
        let root = self.docs[index].root.clone();
        for (key, value) in root.as_table().unwrap_or_default() {
            match key.name.as_str() {
                "checklist" => match value.as_table() {
                    Some(table) => {
                        for (k, v) in table {
                            if !CHECKLIST_KEYS.contains(&k.name.as_str()) {
                                self.error(unknown_key(file, k, "[checklist]", CHECKLIST_KEYS));
                            } else if k.name != "include" && k.name != "checks" && v.as_str().is_none() {
                                self.error(wrong_type(v, &k.name, "a string"));
                            }
                        }
                    }
                    None => self.error(wrong_type(value, "checklist", "a table")),
                },
                "vars" if value.as_table().is_none() => self.error(wrong_type(value, "vars", "a table")),
                "defaults" if value.as_table().is_none() => self.error(wrong_type(value, "defaults", "a table")),
                "item" => {
                    let is_tables =
                        matches!(&value.kind, SKind::Array(items) if items.iter().all(|i| i.as_table().is_some()));
                    if !is_tables {
                        self.error(wrong_type(value, "item", "an array of tables, written [[item]]"));
                    }
                }
                "waiver" => {
                    let is_tables =
                        matches!(&value.kind, SKind::Array(items) if items.iter().all(|i| i.as_table().is_some()));
                    if !is_tables {
                        self.error(wrong_type(value, "waiver", "an array of tables, written [[waiver]]"));
                    }
                }
                "signoff" => match value.as_table() {
                    Some(table) => {
                        for (k, v) in table {
                            if !SIGNOFF_KEYS.contains(&k.name.as_str()) {
                                self.error(unknown_key(file, k, "[signoff]", SIGNOFF_KEYS));
                            } else {
                                self.check_roles(v);
                            }
                        }
                    }
                    None => self.error(wrong_type(value, "signoff", "a table")),
                },
                "vars" | "defaults" => {}
                _ => self.error(unknown_key(file, key, "the checklist file", TOP_KEYS)),
            }
        }
    }

    /// The vars visible from these files: a file's own vars override those of the files it
    /// includes; two included files giving one var different values is an error, since
    /// neither silently wins.
    /// `settled` holds names an including file gives a value, which decides any conflict.
    fn merge_vars_of(&mut self, docs: &[usize], settled: &BTreeSet<String>) -> BTreeMap<String, VarDef> {
        let mut merged: BTreeMap<String, VarDef> = BTreeMap::new();
        for &doc in docs {
            let includes = self.docs[doc].includes.clone();
            let own = self.own_vars(doc);
            let mut settled_here = settled.clone();
            settled_here.extend(own.iter().filter(|(_, d)| d.value.is_some()).map(|(n, _)| n.clone()));
            let mut visible = self.merge_vars_of(&includes, &settled_here);
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
                        let d =
                            Diagnostic::error(Code::VarConflict, format!("var `{name}` is given two different values"))
                                .at(def.loc.clone())
                                .related(existing.loc.clone(), "also given here")
                                .hint(format!(
                                    "set `{name}` once, in the file that includes both, or with --var {name}=…"
                                ));
                        self.error(d);
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

    fn own_vars(&mut self, doc: usize) -> Vec<(String, VarDef)> {
        let file = self.docs[doc].id;
        let Some(table) = self.docs[doc].root.get("vars").and_then(|v| v.as_table()).map(|t| t.to_vec()) else {
            return Vec::new();
        };
        self.var_defs(file, &table)
    }

    /// Var definitions of a `[vars]` table: `name = value` or `name = { description, default }`.
    fn var_defs(&mut self, file: FileId, table: &[(SKey, SValue)]) -> Vec<(String, VarDef)> {
        let scalar = |v: &SValue| match &v.kind {
            SKind::Str(s) => Some(s.clone()),
            SKind::Int(i) => Some(i.to_string()),
            SKind::Float(f) => Some(f.to_string()),
            SKind::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let mut out = Vec::new();
        for (key, value) in table {
            let loc = loc_of_key(file, key);
            let text = match &value.kind {
                SKind::Table(entries) => {
                    let mut default = None;
                    for (k, v) in entries {
                        match k.name.as_str() {
                            "description" => {
                                if v.as_str().is_none() {
                                    self.error(wrong_type(v, "description", "a string"));
                                }
                            }
                            "default" => match scalar(v) {
                                Some(s) => default = Some(s),
                                None => self.error(wrong_type(v, "default", "a string, number or boolean")),
                            },
                            _ => self.error(unknown_key(
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
                    let text = scalar(value);
                    if text.is_none() {
                        self.error(wrong_type(
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

    /// A file's defaults: its own over those of the file that includes it.
    fn defaults_for(&mut self, index: usize) -> Defaults {
        if let Some(done) = self.defaults.get(&index) {
            return done.clone();
        }
        let d = self.compute_defaults(index);
        self.defaults.insert(index, d.clone());
        d
    }

    fn compute_defaults(&mut self, index: usize) -> Defaults {
        let mut d = match self.docs[index].parent {
            Some(parent) => self.defaults_for(parent),
            None => Defaults::default(),
        };
        let file = self.docs[index].id;
        let Some(table) = self.docs[index].root.get("defaults").and_then(|v| v.as_table()).map(|t| t.to_vec()) else {
            return d;
        };
        for (key, value) in &table {
            match key.name.as_str() {
                "timeout" => d.timeout = self.duration(value, "timeout").or(d.timeout),
                "retry_delay" => d.retry_delay = self.duration(value, "retry_delay").or(d.retry_delay),
                "retries" => d.retries = self.count(value, "retries").or(d.retries),
                "severity" => d.severity = self.severity(value).or(d.severity),
                "section" => match value.as_str() {
                    Some(s) => d.section = Some(s.to_string()),
                    None => self.error(wrong_type(value, "section", "a string")),
                },
                _ => self.error(unknown_key(file, key, "[defaults]", DEFAULT_KEYS)),
            }
        }
        d
    }

    fn duration(&mut self, v: &SValue, key: &str) -> Option<Duration> {
        match v.as_str().map(parse_duration) {
            Some(Ok(d)) => Some(d),
            Some(Err(msg)) => {
                self.error(Diagnostic::error(Code::InvalidValue, format!("`{key}`: {msg}")).at(v.loc()));
                None
            }
            None => {
                self.error(
                    wrong_type(v, key, "a duration such as \"5s\"")
                        .hint("durations are strings: \"500ms\", \"30s\", \"2m\", \"7d\""),
                );
                None
            }
        }
    }

    fn count(&mut self, v: &SValue, key: &str) -> Option<u32> {
        match v.kind {
            SKind::Int(i) if (0..=1000).contains(&i) => Some(i as u32),
            _ => {
                self.error(wrong_type(v, key, "a whole number from 0 to 1000"));
                None
            }
        }
    }

    fn severity(&mut self, v: &SValue) -> Option<Severity> {
        match v.as_str().and_then(Severity::parse) {
            Some(s) => Some(s),
            None => {
                let mut d = wrong_type(v, "severity", &format!("one of {}", Severity::NAMES.join(", ")));
                if let Some(s) = v.as_str().and_then(|s| did_you_mean(s, Severity::NAMES.iter().copied())) {
                    d = d.hint(format!("did you mean \"{s}\"?"));
                }
                self.error(d);
                None
            }
        }
    }

    fn strings(&mut self, v: &SValue, key: &str) -> Vec<String> {
        match &v.kind {
            SKind::Array(items) if items.iter().all(|i| i.as_str().is_some()) => {
                items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect()
            }
            _ => {
                self.error(wrong_type(v, key, "a list of strings"));
                Vec::new()
            }
        }
    }

    fn text(&mut self, v: &SValue, key: &str) -> Option<String> {
        match v.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                self.error(wrong_type(v, key, "a string"));
                None
            }
        }
    }

    /// Expands `${…}` in a string value; problems become diagnostics at the value.
    fn interpolate(&mut self, v: &SValue, template: &str) -> Option<Interpolated> {
        let result = interp::expand(template, &mut |r| self.resolve_ref(r, v));
        match result {
            Ok(i) => {
                for s in &i.secrets {
                    self.redactor.add(s);
                }
                Some(i)
            }
            Err(msg) if msg.is_empty() => None, // already reported
            Err(msg) => {
                self.error(Diagnostic::error(Code::InvalidValue, msg).at(v.loc()));
                None
            }
        }
    }

    /// The value of `${name}` or `${env:NAME}`. Errors are reported here; the empty error
    /// tells the caller so.
    fn resolve_ref(&mut self, r: &Ref, at: &SValue) -> Result<Interpolated, String> {
        match r {
            Ref::Env(name) => match std::env::var(name) {
                Ok(value) => Ok(Interpolated {
                    secrets: vec![value.clone()],
                    value,
                    shown: format!("${{env:{name}}}"),
                    incomplete: false,
                }),
                Err(_) => {
                    let placeholder =
                        Interpolated { shown: format!("${{env:{name}}}"), incomplete: true, ..Default::default() };
                    let d = Diagnostic::error(Code::EnvNotSet, format!("environment variable `{name}` is not set"))
                        .at(at.loc())
                        .hint(format!("export {name}=… before running golive (its value is treated as a secret)"));
                    match self.opts.mode {
                        LoadMode::Run => {
                            self.error(d);
                            Err(String::new())
                        }
                        LoadMode::Validate => {
                            if self.warned.insert(format!("env:{name}")) {
                                self.error(Diagnostic { level: Level::Warning, ..d });
                            }
                            Ok(placeholder)
                        }
                    }
                }
            },
            Ref::Var(name) => {
                // Inside a catalogue check, its own vars come first (item `vars`, then the
                // check's defaults); they are per item, so never memoised.
                let local =
                    self.local.as_ref().and_then(|scope| Some((scope.check.clone(), scope.values.get(name)?.clone())));
                if let Some((check, def)) = local {
                    return self.resolve_def(name, &def, at, Some(&check)).map_err(|_| String::new());
                }
                if let Some(done) = self.resolved.get(name) {
                    return done.clone().map_err(|_| String::new());
                }
                let Some(def) = self.vars.get(name).cloned() else {
                    let mut d = Diagnostic::error(Code::UnknownVar, format!("unknown var `{name}`")).at(at.loc());
                    d = match did_you_mean(name, self.vars.keys().map(String::as_str)) {
                        Some(s) => d.hint(format!("did you mean `{s}`?")),
                        None => d.hint(format!("declare it under [vars] or pass --var {name}=…")),
                    };
                    self.error(d);
                    return Err(String::new());
                };
                let result = self.resolve_def(name, &def, at, None);
                self.resolved.insert(name.clone(), result.clone());
                result.map_err(|_| String::new())
            }
        }
    }

    /// The value of one var definition, interpolated; `check` names the catalogue check
    /// whose var it is. Problems are reported here.
    fn resolve_def(&mut self, name: &str, def: &VarDef, at: &SValue, check: Option<&str>) -> Result<Interpolated, ()> {
        if self.resolving.iter().any(|r| r == name) {
            let cycle = format!("{} → {name}", self.resolving.join(" → "));
            self.error(
                Diagnostic::error(Code::InvalidValue, format!("vars refer to each other in a cycle: {cycle}"))
                    .at(def.loc.clone()),
            );
            return Err(());
        }
        let Some(template) = &def.value else {
            let (message, hint) = match check {
                Some(check) => (
                    format!("check `{check}` needs var `{name}`"),
                    format!("set it on the item, vars = {{ {name} = \"…\" }}, or in [vars], or pass --var {name}=…"),
                ),
                None => (
                    format!("var `{name}` has no value"),
                    format!("pass --var {name}=… or give it a default in [vars]"),
                ),
            };
            let d = Diagnostic::error(Code::VarMissing, message)
                .at(at.loc())
                .related(def.loc.clone(), "declared here")
                .hint(hint);
            return match self.opts.mode {
                LoadMode::Run => {
                    self.error(d);
                    Err(())
                }
                LoadMode::Validate => {
                    if self.warned.insert(format!("var:{}:{name}", check.unwrap_or_default())) {
                        self.error(Diagnostic { level: Level::Warning, ..d });
                    }
                    Ok(Interpolated { shown: format!("${{{name}}}"), incomplete: true, ..Default::default() })
                }
            };
        };
        self.resolving.push(name.to_string());
        let holder = SValue { kind: SKind::Str(template.clone()), span: def.loc.span.clone(), file: def.loc.file };
        let r = interp::expand(template, &mut |r| self.resolve_ref(r, &holder));
        self.resolving.pop();
        r.map_err(|msg| {
            if !msg.is_empty() {
                self.error(Diagnostic::error(Code::InvalidValue, msg).at(def.loc.clone()));
            }
        })
    }

    /// An item table, expanded from the catalogue check it uses, if any.
    fn item(&mut self, table: &SValue, defaults: &Defaults) -> Option<Item> {
        if table.get("use").is_none() {
            return self.plain_item(table, defaults);
        }
        let (merged, scope) = self.expand_use(table)?;
        let outer = self.local.replace(scope);
        let item = self.plain_item(&merged, defaults);
        self.local = outer;
        item
    }

    fn plain_item(&mut self, table: &SValue, defaults: &Defaults) -> Option<Item> {
        let file = table.file;
        let entries = table.as_table()?.to_vec();
        let header = Loc { file, span: table.span.start..table.span.start };
        let header = if table.span.is_empty() {
            header
        } else {
            Loc { file, span: table.span.start..(table.span.start + 1).min(table.span.end) }
        };
        let id = match table.get("id") {
            Some(v) => match v.as_str() {
                Some(s) if valid_id(s) => s.to_string(),
                Some(s) => {
                    self.error(
                        Diagnostic::error(Code::InvalidValue, format!("item id {s:?} is not valid"))
                            .at(v.loc())
                            .hint("ids use letters, digits, `.`, `-` and `_`, e.g. \"infra.health\""),
                    );
                    return None;
                }
                None => {
                    self.error(wrong_type(v, "id", "a string"));
                    return None;
                }
            },
            None => {
                self.error(
                    Diagnostic::error(Code::MissingKey, "item has no `id`")
                        .at(header)
                        .hint("give every item a unique, stable id, e.g. id = \"infra.health\""),
                );
                return None;
            }
        };
        let what = format!("item `{id}`");
        let probe: Option<&'static ProbeSpec> = match table.get("probe") {
            Some(v) => match v.as_str() {
                Some(kind) => match probe::find(kind) {
                    Some(p) => Some(p),
                    None => {
                        let kinds: Vec<&str> = probe::registry().iter().map(|p| p.kind).collect();
                        let mut d = Diagnostic::error(Code::UnknownProbe, format!("{what}: unknown probe `{kind}`"))
                            .at(v.loc());
                        d = match did_you_mean(kind, kinds.iter().copied()) {
                            Some(s) => d.hint(format!("did you mean `{s}`?")),
                            None => d.hint(format!("probes are: {} (see `golive probes`)", kinds.join(", "))),
                        };
                        self.error(d);
                        None
                    }
                },
                None => {
                    self.error(wrong_type(v, "probe", "a string"));
                    None
                }
            },
            None => {
                let kinds: Vec<&str> = probe::registry().iter().map(|p| p.kind).collect();
                self.error(
                    Diagnostic::error(Code::MissingKey, format!("{what} has no `probe`"))
                        .at(header.clone())
                        .hint(format!("set probe = one of: {}", kinds.join(", "))),
                );
                None
            }
        };

        let mut item = Item {
            id: id.clone(),
            title: id.clone(),
            section: defaults.section.clone().unwrap_or_else(|| DEFAULT_SECTION.into()),
            severity: defaults.severity.unwrap_or(DEFAULT_SEVERITY),
            tags: Vec::new(),
            depends_on: Vec::new(),
            depends_on_loc: None,
            timeout: defaults.timeout.unwrap_or(DEFAULT_TIMEOUT),
            retries: defaults.retries.unwrap_or(0),
            retry_delay: defaults.retry_delay.unwrap_or(Duration::from_secs(1)),
            description: None,
            references: Vec::new(),
            owner: None,
            probe: probe.unwrap_or(&probe::manual::SPEC),
            params: Params::default(),
            params_shown: BTreeMap::new(),
            expect: Vec::new(),
            source: self.sources.position(&header),
            loc: header.clone(),
        };
        let mut expect_value = None;
        let mut seen_params = BTreeSet::new();
        for (key, value) in &entries {
            match key.name.as_str() {
                "id" | "probe" => {}
                "title" => {
                    if let Some(t) = self.text(value, "title") {
                        item.title = self.interpolate(value, &t).map(|i| i.shown).unwrap_or(t);
                    }
                }
                "section" => item.section = self.text(value, "section").unwrap_or(item.section),
                "severity" => item.severity = self.severity(value).unwrap_or(item.severity),
                "tags" => item.tags = self.strings(value, "tags"),
                "depends_on" => {
                    item.depends_on = self.strings(value, "depends_on");
                    item.depends_on_loc = Some(value.loc());
                }
                "references" => item.references = self.strings(value, "references"),
                "timeout" => item.timeout = self.duration(value, "timeout").unwrap_or(item.timeout),
                "retry_delay" => item.retry_delay = self.duration(value, "retry_delay").unwrap_or(item.retry_delay),
                "retries" => item.retries = self.count(value, "retries").unwrap_or(item.retries),
                "description" | "rationale" => {
                    if let Some(t) = self.text(value, &key.name) {
                        item.description = Some(match item.description.take() {
                            Some(existing) => format!("{existing}\n{t}"),
                            None => t,
                        });
                    }
                }
                "owner" => item.owner = self.text(value, "owner"),
                "expect" => expect_value = Some(value.clone()),
                name => {
                    let Some(spec) = probe else { continue };
                    match spec.param(name) {
                        Some(param) => {
                            seen_params.insert(name.to_string());
                            if let Some((real, shown)) = self.param(param, value, &what) {
                                item.params.values.insert(name.to_string(), real);
                                item.params_shown.insert(name.to_string(), shown);
                            }
                        }
                        None => {
                            let known: Vec<&str> =
                                ITEM_KEYS.iter().copied().chain(spec.params.iter().map(|p| p.name)).collect();
                            let mut d = unknown_key(file, key, &what, &known);
                            if d.hint.as_deref().is_some_and(|h| h.starts_with("known keys")) {
                                let params: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                                d = d.hint(format!(
                                    "probe `{}` takes: {}; every item takes: {}",
                                    spec.kind,
                                    if params.is_empty() { "no parameters".to_string() } else { params.join(", ") },
                                    ITEM_KEYS.join(", ")
                                ));
                            }
                            self.error(d);
                        }
                    }
                }
            }
        }
        let spec = probe?;
        for param in spec.params {
            if seen_params.contains(param.name) {
                continue;
            }
            if param.required {
                self.error(
                    Diagnostic::error(
                        Code::MissingKey,
                        format!("{what}: probe `{}` needs `{}`", spec.kind, param.name),
                    )
                    .at(header.clone())
                    .hint(format!(
                        "add {} = … ({}: {})",
                        param.name,
                        param.ty.describe(),
                        param.doc
                    )),
                );
            } else if let Some(default) = param.default {
                let v = SValue { kind: default_kind(param.ty, default), span: header.span.clone(), file };
                if let Some((real, shown)) = self.param(param, &v, &what) {
                    item.params.values.insert(param.name.to_string(), real);
                    item.params_shown.insert(param.name.to_string(), shown);
                }
            }
        }
        let facts_of = if spec.kind == probe::exec::SPEC.kind {
            match self.exec_item(table, &mut item, &what, &header) {
                Some(described) => described,
                // The program could not describe itself (reported): its facts are unknown.
                None => return Some(item),
            }
        } else {
            spec
        };
        item.expect = self.expectations(facts_of, expect_value.as_ref(), &what, &header);
        Some(item)
    }

    /// An `exec` item: finds its program (relative to the checklist file), runs
    /// `PROGRAM --describe` (once per program), checks `params` against the parameters it
    /// declares and fills in their defaults. Returns the declaration its expectations are
    /// checked against, or `None` when the program could not describe itself.
    fn exec_item(&mut self, table: &SValue, item: &mut Item, what: &str, header: &Loc) -> Option<&'static ProbeSpec> {
        let program_value = table.get("program")?;
        let template = program_value.as_str()?;
        let written = self.interpolate(program_value, template)?;
        if written.incomplete {
            // A var or environment variable missing in `validate`: already warned about.
            return Some(&probe::exec::SPEC);
        }
        let mut program = PathBuf::from(&written.value);
        if written.value.contains('/') && program.is_relative() {
            // Relative to the file where `program` is written (a catalogue check's file when
            // the item reuses one), as `include` paths are.
            let base = self.sources.path(program_value.file).parent().unwrap_or(Path::new("")).to_path_buf();
            program = base.join(&program);
        }
        item.params.values.insert("program".into(), Value::Str(program.display().to_string()));
        let described = match probe::exec::describe(&program) {
            Ok(d) => d,
            Err(why) => {
                self.error(
                    Diagnostic::error(
                        Code::PluginDescribe,
                        format!("{what}: `{} --describe` failed: {why}", written.shown),
                    )
                    .at(program_value.loc())
                    .hint("an exec program must print its parameters and facts as JSON when run with --describe (see docs/plugins.md)"),
                );
                return None;
            }
        };
        let given: Vec<(SKey, SValue)> =
            table.get("params").and_then(|p| p.as_table()).map(|t| t.to_vec()).unwrap_or_default();
        let (mut real, mut shown) = match (item.params.values.get("params"), item.params_shown.get("params")) {
            (Some(Value::Map(r)), Some(Value::Map(s))) => (r.clone(), s.clone()),
            _ => (BTreeMap::new(), BTreeMap::new()),
        };
        let names: Vec<&str> = described.params.iter().map(|p| p.name.as_str()).collect();
        for (key, value) in &given {
            let Some(param) = described.param(&key.name) else {
                let mut d = Diagnostic::error(
                    Code::UnknownKey,
                    format!("{what}: `{}` takes no parameter `{}`", written.shown, key.name),
                )
                .at(loc_of_key(value.file, key));
                d = match did_you_mean(&key.name, names.iter().copied()) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None if names.is_empty() => d.hint("its --describe declares no parameters"),
                    None => d.hint(format!("its parameters are: {}", names.join(", "))),
                };
                self.error(d);
                continue;
            };
            if let Some(v) = real.get(&key.name)
                && !param.ty.accepts(v)
            {
                self.error(wrong_type(value, &key.name, param.ty.name()));
                continue;
            }
            if param.secret {
                if let Some(v) = real.get(&key.name) {
                    self.redactor.add(&v.to_string());
                }
                shown.insert(key.name.clone(), Value::str(MASK));
            }
        }
        for param in &described.params {
            if given.iter().any(|(k, _)| k.name == param.name) {
                continue;
            }
            if let Some(default) = &param.default {
                real.insert(param.name.clone(), default.clone());
                shown.insert(param.name.clone(), if param.secret { Value::str(MASK) } else { default.clone() });
            } else if param.required {
                let at = table.get("params").map(|p| p.loc()).unwrap_or_else(|| header.clone());
                self.error(
                    Diagnostic::error(
                        Code::MissingKey,
                        format!("{what}: `{}` needs parameter `{}`", written.shown, param.name),
                    )
                    .at(at)
                    .hint(format!(
                        "add params = {{ {} = … }} ({}: {})",
                        param.name,
                        param.ty.name(),
                        param.doc
                    )),
                );
            }
        }
        item.params.values.insert("params".into(), Value::Map(real));
        item.params_shown.insert("params".into(), Value::Map(shown));
        Some(described.spec)
    }

    /// Converts and checks one probe parameter. Returns (real value, value shown in reports).
    fn param(&mut self, spec: &ParamSpec, v: &SValue, what: &str) -> Option<(Value, Value)> {
        let key = spec.name;
        match spec.ty {
            ParamType::String | ParamType::Path | ParamType::Url | ParamType::Choice(_) => {
                let Some(template) = v.as_str() else {
                    self.error(wrong_type(v, key, "a string"));
                    return None;
                };
                let i = self.interpolate(v, template)?;
                let mut shown = i.shown.clone();
                let mut value = i.value.clone();
                if let ParamType::Choice(words) = spec.ty {
                    match words.iter().find(|w| w.eq_ignore_ascii_case(&value)) {
                        Some(w) => {
                            value = w.to_string();
                            shown = value.clone();
                        }
                        None if !i.incomplete => {
                            self.error(
                                Diagnostic::error(
                                    Code::InvalidValue,
                                    format!("{what}: `{key}` must be one of {}, found {value:?}", words.join(", ")),
                                )
                                .at(v.loc()),
                            );
                            return None;
                        }
                        None => {}
                    }
                }
                if spec.ty == ParamType::Url {
                    if let Some(password) = url_password(&value) {
                        self.redactor.add(&password);
                    }
                    shown = mask_url_password(&shown);
                    if !i.incomplete && reqwest::Url::parse(&value).is_err() {
                        let msg = reqwest::Url::parse(&value).err().map(|e| e.to_string()).unwrap_or_default();
                        self.error(
                            Diagnostic::error(
                                Code::InvalidValue,
                                format!("{what}: `{key}` is not a valid URL ({msg})"),
                            )
                            .at(v.loc())
                            .hint("write a full URL such as \"https://api.example.com/health\""),
                        );
                        return None;
                    }
                }
                if spec.secret {
                    self.redactor.add(&value);
                    shown = MASK.to_string();
                }
                Some((Value::Str(value), Value::Str(shown)))
            }
            ParamType::Integer => match v.kind {
                SKind::Int(i) => Some((Value::Int(i), Value::Int(i))),
                _ => {
                    self.error(wrong_type(v, key, "a whole number"));
                    None
                }
            },
            ParamType::Bool => match v.kind {
                SKind::Bool(b) => Some((Value::Bool(b), Value::Bool(b))),
                _ => {
                    self.error(wrong_type(v, key, "true or false"));
                    None
                }
            },
            ParamType::Duration => self.duration(v, key).map(|d| (Value::Duration(d), Value::Duration(d))),
            ParamType::StringList => {
                let SKind::Array(items) = &v.kind else {
                    self.error(wrong_type(v, key, "a list of strings"));
                    return None;
                };
                let (mut real, mut shown) = (Vec::new(), Vec::new());
                for entry in items {
                    let Some(t) = entry.as_str() else {
                        self.error(wrong_type(entry, key, "a list of strings"));
                        return None;
                    };
                    let i = self.interpolate(entry, t)?;
                    real.push(Value::Str(i.value));
                    shown.push(Value::Str(i.shown));
                }
                Some((Value::List(real), Value::List(shown)))
            }
            ParamType::PortList => self.port_list(v, key),
            ParamType::Table => {
                if v.as_table().is_none() {
                    self.error(wrong_type(v, key, "a table"));
                    return None;
                }
                self.any_value(v)
            }
            ParamType::StringMap | ParamType::Headers => {
                let Some(entries) = v.as_table() else {
                    self.error(wrong_type(v, key, "a table"));
                    return None;
                };
                let (mut real, mut shown) = (BTreeMap::new(), BTreeMap::new());
                for (k, entry) in entries {
                    let (template, mut secret) = match (&entry.kind, spec.ty) {
                        (SKind::Str(s), _) => (s.clone(), false),
                        (SKind::Table(_), ParamType::Headers) => {
                            let value = entry.get("value").and_then(|x| x.as_str());
                            let secret = entry.get("secret").map(|x| matches!(x.kind, SKind::Bool(true)));
                            for (ek, _) in entry.as_table().unwrap_or_default() {
                                if ek.name != "value" && ek.name != "secret" {
                                    self.error(unknown_key(
                                        entry.file,
                                        ek,
                                        &format!("header `{}`", k.name),
                                        &["value", "secret"],
                                    ));
                                }
                            }
                            match value {
                                Some(s) => (s.to_string(), secret.unwrap_or(false)),
                                None => {
                                    self.error(wrong_type(
                                        entry,
                                        &k.name,
                                        "a string or { value = \"…\", secret = true }",
                                    ));
                                    continue;
                                }
                            }
                        }
                        _ => {
                            self.error(wrong_type(entry, &k.name, "a string"));
                            continue;
                        }
                    };
                    if spec.ty == ParamType::Headers && SECRET_HEADERS.contains(&k.name.to_ascii_lowercase().as_str()) {
                        secret = true;
                    }
                    let Some(i) = self.interpolate(entry, &template) else {
                        continue;
                    };
                    if secret {
                        self.redactor.add(&i.value);
                    }
                    shown.insert(k.name.clone(), Value::Str(if secret { MASK.to_string() } else { i.shown }));
                    real.insert(k.name.clone(), Value::Str(i.value));
                }
                Some((Value::Map(real), Value::Map(shown)))
            }
        }
    }

    /// `[22, 443, "8000-8100"]`: ports as integers, ranges as "low-high" strings.
    fn port_list(&mut self, v: &SValue, key: &str) -> Option<(Value, Value)> {
        let SKind::Array(entries) = &v.kind else {
            self.error(wrong_type(v, key, "a list of ports and ranges, e.g. [22, 443, \"8000-8100\"]"));
            return None;
        };
        let mut out = Vec::new();
        let as_value = |(low, high): (u16, u16)| {
            if low == high { Value::Int(low.into()) } else { Value::Str(format!("{low}-{high}")) }
        };
        for entry in entries {
            let parsed = match &entry.kind {
                SKind::Int(port) => u16::try_from(*port).ok().filter(|p| *p > 0).map(|p| vec![Value::Int(p.into())]),
                // A string may use vars and list several ports: "${allowed_ports}" = "22, 80, 443".
                SKind::Str(text) => {
                    let i = self.interpolate(entry, text)?;
                    if i.incomplete {
                        // A var without a value while validating: nothing to check yet.
                        continue;
                    }
                    let pieces: Vec<&str> = i.value.split([',', ' ']).filter(|p| !p.trim().is_empty()).collect();
                    let ranges: Option<Vec<Value>> = pieces.iter().map(|p| parse_port_range(p).map(as_value)).collect();
                    ranges.filter(|r| !r.is_empty())
                }
                _ => None,
            };
            match parsed {
                Some(values) => out.extend(values),
                None => {
                    self.error(
                        Diagnostic::error(
                            Code::InvalidValue,
                            format!("`{key}`: {} is not a port (1-65535) or a range \"low-high\"", entry.describe()),
                        )
                        .at(entry.loc()),
                    );
                    return None;
                }
            }
        }
        Some((Value::List(out.clone()), Value::List(out)))
    }

    /// Any TOML value, strings interpolated: (real value, value shown in reports).
    fn any_value(&mut self, v: &SValue) -> Option<(Value, Value)> {
        Some(match &v.kind {
            SKind::Str(template) => {
                let i = self.interpolate(v, template)?;
                (Value::Str(i.value), Value::Str(i.shown))
            }
            SKind::Int(i) => (Value::Int(*i), Value::Int(*i)),
            SKind::Float(f) => (Value::Float(*f), Value::Float(*f)),
            SKind::Bool(b) => (Value::Bool(*b), Value::Bool(*b)),
            SKind::Datetime(d) => (Value::Str(d.clone()), Value::Str(d.clone())),
            SKind::Array(items) => {
                let (mut real, mut shown) = (Vec::new(), Vec::new());
                for entry in items {
                    let (r, s) = self.any_value(entry)?;
                    real.push(r);
                    shown.push(s);
                }
                (Value::List(real), Value::List(shown))
            }
            SKind::Table(entries) => {
                let (mut real, mut shown) = (BTreeMap::new(), BTreeMap::new());
                for (k, entry) in entries {
                    let (r, s) = self.any_value(entry)?;
                    real.insert(k.name.clone(), r);
                    shown.insert(k.name.clone(), s);
                }
                (Value::Map(real), Value::Map(shown))
            }
        })
    }

    fn expectations(
        &mut self,
        spec: &'static ProbeSpec,
        expect: Option<&SValue>,
        what: &str,
        header: &Loc,
    ) -> Vec<Expectation> {
        let mut out = Vec::new();
        match expect {
            None => {
                for (fact, text) in spec.default_expect {
                    let fact_spec = spec.fact(fact).expect("default expectations name declared facts");
                    let doc = parse_document(header.file, &format!("x = {text}"))
                        .expect("default expectations are valid TOML");
                    let mut v = doc.get("x").cloned().expect("parsed");
                    v.span = header.span.clone();
                    match matcher::parse(&v, fact_spec.ty) {
                        Ok(matcher) => out.push(Expectation { fact: fact.to_string(), matcher }),
                        Err(d) => self.error(d),
                    }
                }
            }
            Some(v) if spec.observe.is_none() => {
                self.error(
                    Diagnostic::error(Code::UnknownKey, format!("{what}: a manual item has no `expect`"))
                        .at(v.loc())
                        .hint("a person attests a manual item; use an automated probe to check facts"),
                );
            }
            Some(v) => match v.as_table() {
                Some(entries) => {
                    for (key, value) in entries {
                        self.expectation(spec, &key.name, key, value, what, &mut out);
                    }
                }
                None => self.error(wrong_type(v, "expect", "a table of fact = matcher")),
            },
        }
        out
    }

    fn expectation(
        &mut self,
        spec: &'static ProbeSpec,
        fact: &str,
        key: &SKey,
        value: &SValue,
        what: &str,
        out: &mut Vec<Expectation>,
    ) {
        if let Some(f) = spec.fact(fact) {
            let value = self.interpolate_tree(value);
            match matcher::parse(&value, f.ty) {
                Ok(m) => out.push(Expectation { fact: fact.to_string(), matcher: m }),
                Err(d) => {
                    let d = Diagnostic { message: format!("{what}: `{fact}` ({}): {}", f.ty.name(), d.message), ..d };
                    self.error(d);
                }
            }
            return;
        }
        // A table that is not a matcher names facts below this one: `headers = { server = … }`.
        let family = spec.facts.iter().any(|f| f.dynamic_prefix().is_some_and(|p| p.starts_with(&format!("{fact}."))));
        if let (Some(entries), true) = (value.as_table(), family)
            && !matcher::is_operator_table(entries)
        {
            for (k, v) in entries {
                self.expectation(spec, &format!("{fact}.{}", k.name), k, v, what, out);
            }
            return;
        }
        let names: Vec<&str> = spec.facts.iter().map(|f| f.name).collect();
        let mut d = Diagnostic::error(Code::UnknownFact, format!("{what}: probe `{}` has no fact `{fact}`", spec.kind))
            .at(Loc { file: value.file, span: key.span.clone() });
        d = match did_you_mean(fact, names.iter().copied()) {
            Some(s) => d.hint(format!("did you mean `{s}`? its facts are: {}", names.join(", "))),
            None => d.hint(format!("its facts are: {}", names.join(", "))),
        };
        self.error(d);
    }

    /// A copy of a value with `${…}` expanded in every string.
    fn interpolate_tree(&mut self, v: &SValue) -> SValue {
        let kind = match &v.kind {
            SKind::Str(s) => SKind::Str(self.interpolate(v, s).map(|i| i.value).unwrap_or_default()),
            SKind::Array(items) => SKind::Array(items.iter().map(|i| self.interpolate_tree(i)).collect()),
            SKind::Table(entries) => {
                SKind::Table(entries.iter().map(|(k, x)| (k.clone(), self.interpolate_tree(x))).collect())
            }
            other => other.clone(),
        };
        SValue { kind, span: v.span.clone(), file: v.file }
    }

    fn check_roles(&mut self, v: &SValue) {
        let SKind::Array(roles) = &v.kind else {
            self.error(
                wrong_type(v, "roles", "a list of role names").hint(
                    "e.g. roles = [\"Technical Lead\", \"Operations Lead\", \"Security Lead\", \"Product Owner\"]",
                ),
            );
            return;
        };
        let mut seen: Vec<&str> = Vec::new();
        for role in roles {
            match role.as_str() {
                Some(r) if r.trim().is_empty() => {
                    self.error(Diagnostic::error(Code::InvalidValue, "a sign-off role is empty").at(role.loc()))
                }
                Some(r) if seen.contains(&r) => self.error(
                    Diagnostic::error(Code::InvalidValue, format!("sign-off role {r:?} is listed twice"))
                        .at(role.loc()),
                ),
                Some(r) => seen.push(r),
                None => self.error(wrong_type(role, "roles", "a list of role names")),
            }
        }
    }

    /// The sign-off roles of every loaded file, in load order, each once.
    fn signoff_roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = Vec::new();
        for doc in &self.docs {
            let Some(SKind::Array(list)) = doc.root.get("signoff").and_then(|s| s.get("roles")).map(|r| &r.kind) else {
                continue;
            };
            for role in list.iter().filter_map(|r| r.as_str()) {
                if !role.trim().is_empty() && !roles.iter().any(|r| r == role) {
                    roles.push(role.to_string());
                }
            }
        }
        roles
    }

    /// Every `[[waiver]]` of every file: each must name a known item, and at most once.
    fn waivers(&mut self, items: &[Item]) -> Vec<Waiver> {
        let mut out: Vec<(Waiver, Loc)> = Vec::new();
        for index in 0..self.docs.len() {
            let Some(SKind::Array(tables)) = self.docs[index].root.get("waiver").map(|v| v.kind.clone()) else {
                continue;
            };
            for table in &tables {
                let Some(parsed) = waiver::parse(table, &self.sources, &mut self.diags) else { continue };
                let id = parsed.waiver.item.as_str();
                if !items.iter().any(|i| i.id == id) {
                    let mut d = Diagnostic::error(Code::UnknownWaiverItem, format!("waiver names unknown item `{id}`"))
                        .at(parsed.item_loc.clone());
                    d = match did_you_mean(id, items.iter().map(|i| i.id.as_str())) {
                        Some(s) => d.hint(format!("did you mean `{s}`?")),
                        None => d.hint("a waiver's `item` is the id of an item in this checklist or its includes"),
                    };
                    self.error(d);
                    continue;
                }
                if let Some((_, first)) = out.iter().find(|(w, _)| w.item == id) {
                    let first = first.clone();
                    self.error(
                        Diagnostic::error(Code::DuplicateWaiver, format!("item `{id}` has two waivers"))
                            .at(parsed.item_loc.clone())
                            .related(first, "first waiver here")
                            .hint("keep one waiver per item; change its `until` or `reason` instead"),
                    );
                    continue;
                }
                out.push((parsed.waiver, parsed.loc));
            }
        }
        out.into_iter().map(|(w, _)| w).collect()
    }

    /// Reads the attestations file: `--attestations`, else `[checklist] attestations` of the
    /// first root file that sets it (relative to that file), else `NAME.attestations.toml`
    /// beside the first root file. A missing file holds no attestations.
    fn attestations(&mut self, roots: &[usize], items: &[Item]) -> AttestationFile {
        let configured = roots.iter().find_map(|&r| {
            let path = self.docs[r].root.get("checklist")?.get("attestations")?.as_str()?;
            let base = self.sources.path(self.docs[r].id).parent().unwrap_or(Path::new("."));
            Some(base.join(path))
        });
        let Some(path) = self
            .opts
            .attestations
            .clone()
            .or(configured)
            .or_else(|| roots.first().map(|&r| attestation::default_path(self.sources.path(self.docs[r].id))))
        else {
            return AttestationFile::default();
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return AttestationFile { path, sha256: None, entries: Vec::new() };
            }
            Err(e) => {
                self.error(
                    Diagnostic::error(
                        Code::FileNotFound,
                        format!("cannot read the attestations file {}: {e}", path.display()),
                    )
                    .hint("fix its permissions, or point --attestations at another file"),
                );
                return AttestationFile { path, sha256: None, entries: Vec::new() };
            }
        };
        let file = self.sources.add(path.clone(), String::from_utf8_lossy(&bytes).into_owned());
        let manual: Vec<&str> = items.iter().filter(|i| i.is_manual()).map(|i| i.id.as_str()).collect();
        let entries = attestation::parse(file, &self.sources, &manual, &mut self.diags);
        AttestationFile { path, sha256: Some(hex::encode(Sha256::digest(&bytes))), entries }
    }

    fn check_ids_and_dependencies(&mut self, items: &[Item]) {
        let mut first: HashMap<&str, &Item> = HashMap::new();
        for item in items {
            if let Some(prev) = first.get(item.id.as_str()) {
                self.error(
                    Diagnostic::error(Code::DuplicateId, format!("duplicate item id `{}`", item.id))
                        .at(item.loc.clone())
                        .related(prev.loc.clone(), "first defined here")
                        .hint("ids must be unique across all included files; rename one of them"),
                );
            } else {
                first.insert(&item.id, item);
            }
        }
        for item in items {
            for dep in &item.depends_on {
                if !first.contains_key(dep.as_str()) {
                    let mut d = Diagnostic::error(
                        Code::UnknownDependency,
                        format!("item `{}`: `depends_on` names unknown item `{dep}`", item.id),
                    )
                    .at(item.depends_on_loc.clone().unwrap_or_else(|| item.loc.clone()));
                    d = match did_you_mean(dep, first.keys().copied()) {
                        Some(s) => d.hint(format!("did you mean `{s}`?")),
                        None => d.hint("depends_on lists ids of items in this checklist or its includes"),
                    };
                    self.error(d);
                }
            }
        }
        // Dependency cycles: depth-first search, reporting each cycle once.
        let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on the path, 2 = done
        let mut reported = BTreeSet::new();
        for item in items {
            let mut path = Vec::new();
            self.visit(item.id.as_str(), &first, &mut state, &mut path, &mut reported);
        }
    }

    fn visit<'a>(
        &mut self,
        id: &'a str,
        items: &HashMap<&'a str, &'a Item>,
        state: &mut HashMap<&'a str, u8>,
        path: &mut Vec<&'a str>,
        reported: &mut BTreeSet<Vec<String>>,
    ) {
        match state.get(id) {
            Some(2) => return,
            Some(1) => {
                let start = path.iter().position(|p| *p == id).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                let mut key = cycle.clone();
                key.sort();
                if reported.insert(key) {
                    cycle.push(id.to_string());
                    let item = items[id];
                    self.error(
                        Diagnostic::error(Code::DependencyCycle, format!("dependency cycle: {}", cycle.join(" → ")))
                            .at(item.loc.clone())
                            .hint("remove one `depends_on` entry so the items can run in order"),
                    );
                }
                return;
            }
            _ => {}
        }
        let Some(item) = items.get(id) else { return };
        state.insert(id, 1);
        path.push(id);
        for dep in &item.depends_on {
            if let Some((k, _)) = items.get_key_value(dep.as_str()) {
                self.visit(k, items, state, path, reported);
            }
        }
        path.pop();
        state.insert(id, 2);
    }
}

/// Headers whose values are secret even when not marked so.
const SECRET_HEADERS: &[&str] =
    &["authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"];

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// A declared default written as in a checklist, as a value to convert like user input.
fn default_kind(ty: ParamType, text: &str) -> SKind {
    match ty {
        ParamType::Bool => SKind::Bool(text == "true"),
        ParamType::Integer => SKind::Int(text.parse().expect("integer defaults are numbers")),
        ParamType::StringList | ParamType::PortList => SKind::Array(Vec::new()),
        ParamType::StringMap | ParamType::Headers | ParamType::Table => SKind::Table(Vec::new()),
        _ => SKind::Str(text.to_string()),
    }
}
