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
    /// The template, not yet interpolated; `None` when declared without a value (or with a
    /// `command`).
    pub value: Option<String>,
    /// `{ command = [...] }`: the value is what a program prints, a secret.
    pub command: Option<Rc<SecretCommand>>,
    pub loc: Loc,
}

impl VarDef {
    pub fn new(value: Option<String>, loc: Loc) -> Self {
        VarDef { value, command: None, loc }
    }

    /// Has a value (a template or a command), so a var without one does not override it.
    pub fn has_value(&self) -> bool {
        self.value.is_some() || self.command.is_some()
    }

    fn same_value(&self, other: &VarDef) -> bool {
        self.value == other.value && self.command == other.command
    }
}

/// A var whose value a program prints: a secret manager's client (`vault kv get`, `op read`,
/// `aws secretsmanager get-secret-value`). Run by [`Vars`] in `run` only, at most once per
/// load, when a value that uses the var is first resolved; see docs/secrets.md.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretCommand {
    /// The program and its arguments, templates (`${…}` expanded before it runs); no shell.
    pub argv: Vec<String>,
    /// Names (or `NAME_*` prefixes) of golive's environment variables it gets.
    pub pass_env: Vec<String>,
    pub timeout: std::time::Duration,
}

/// How long a secret command may run, unless its var sets `timeout`.
pub const SECRET_COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The most a secret command may print: 64 KiB.
pub const SECRET_COMMAND_MAX_OUTPUT: usize = 64 << 10;

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

/// Var definitions of a `[vars]` table: `name = value`, `name = { description, default }` or
/// `name = { description, command, pass_env, timeout }`.
pub fn var_defs(cx: &mut Ctx, file: FileId, table: &[(SKey, SValue)]) -> Vec<(String, VarDef)> {
    let mut out = Vec::new();
    for (key, value) in table {
        let loc = loc_of_key(file, key);
        let mut def = VarDef::new(None, loc);
        match &value.kind {
            SKind::Table(entries) => {
                let mut command: Option<SecretCommand> = None;
                let mut pass_env = Vec::new();
                let mut timeout = None;
                for (k, v) in entries {
                    match k.name.as_str() {
                        "description" if v.as_str().is_none() => {
                            cx.diags.push(wrong_type(v, "description", "a string"))
                        }
                        "description" => {}
                        "default" => match scalar_text(v) {
                            Some(s) => def.value = Some(s),
                            None => cx.diags.push(wrong_type(v, "default", "a string, number or boolean")),
                        },
                        "command" => match string_list(v) {
                            Some(argv) if !argv.is_empty() && !argv[0].trim().is_empty() => {
                                command = Some(SecretCommand { argv, pass_env: Vec::new(), timeout: SECRET_COMMAND_TIMEOUT })
                            }
                            _ => cx.diags.push(
                                wrong_type(v, "command", "a non-empty list of strings: the program, then its arguments")
                                    .hint("e.g. command = [\"vault\", \"kv\", \"get\", \"-field=password\", \"secret/db\"] (no shell: write each argument as one string)"),
                            ),
                        },
                        "pass_env" => match string_list(v) {
                            Some(names) => {
                                for entry in &names {
                                    match crate::probe::process::env_names(entry) {
                                        Ok(found) => pass_env.extend(found.into_iter().map(str::to_string)),
                                        Err(e) => cx.diags.push(
                                            Diagnostic::error(Code::InvalidValue, e.to_string()).at(v.loc()),
                                        ),
                                    }
                                }
                            }
                            None => cx.diags.push(wrong_type(v, "pass_env", "a list of environment variable names")),
                        },
                        "timeout" => match v.as_str().map(crate::value::try_parse_duration) {
                            Some(Ok(d)) if !d.is_zero() => timeout = Some(d),
                            _ => cx.diags.push(wrong_type(v, "timeout", "a duration such as \"10s\"")),
                        },
                        _ => cx.diags.push(unknown_key(
                            file,
                            k,
                            &format!("var `{}`", key.name),
                            &["description", "default", "command", "pass_env", "timeout"],
                        )),
                    }
                }
                let has = |name: &str| entries.iter().find(|(k, _)| k.name == name);
                if let Some(mut command) = command {
                    if let Some((k, _)) = has("default") {
                        cx.diags.push(
                            Diagnostic::error(
                                Code::InvalidValue,
                                format!("var `{}` has both `command` and `default`", key.name),
                            )
                            .at(loc_of_key(file, k))
                            .hint("a var's value comes from its command or from its default, not both: drop one"),
                        );
                    }
                    command.pass_env = pass_env;
                    command.timeout = timeout.unwrap_or(SECRET_COMMAND_TIMEOUT);
                    def.value = None;
                    def.command = Some(Rc::new(command));
                } else if let Some((k, _)) = has("pass_env").or_else(|| has("timeout")) {
                    cx.diags.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            format!("`{}` only applies to a var with a `command`", k.name),
                        )
                        .at(loc_of_key(file, k))
                        .hint("add command = [\"program\", \"arg\", …], or drop it"),
                    );
                }
            }
            _ => {
                def.value = scalar_text(value);
                if def.value.is_none() {
                    cx.diags.push(wrong_type(
                        value,
                        &key.name,
                        "a string, number, boolean or { description, default }",
                    ));
                }
            }
        }
        out.push((key.name.clone(), def));
    }
    out
}

fn string_list(v: &SValue) -> Option<Vec<String>> {
    match &v.kind {
        SKind::Array(items) => items.iter().map(|i| i.as_str().map(str::to_string)).collect(),
        _ => None,
    }
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
        merged.insert(name.clone(), VarDef::new(Some(value.replace("${", "$${")), loc));
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
        settled_here.extend(own.iter().filter(|(_, d)| d.has_value()).map(|(n, _)| n.clone()));
        let mut visible = merge_of(cx, files, &files.docs[doc].includes, &settled_here);
        for (name, def) in own {
            // A declaration without a value does not hide an included file's value.
            if def.has_value() || !visible.get(&name).is_some_and(VarDef::has_value) {
                visible.insert(name, def);
            }
        }
        for (name, def) in visible {
            match merged.get(&name) {
                Some(existing)
                    if !settled.contains(&name)
                        && existing.loc != def.loc
                        && existing.has_value()
                        && def.has_value()
                        && !existing.same_value(&def) =>
                {
                    let d = Diagnostic::error(Code::VarConflict, format!("var `{name}` is given two different values"))
                        .at(def.loc.clone())
                        .related(existing.loc.clone(), "also given here")
                        .hint(format!("set `{name}` once, in the file that includes both, or with --var {name}=…"));
                    cx.diags.push(d);
                }
                Some(existing) if existing.has_value() && !def.has_value() => {}
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
            // The templates to expand: the value, or the command's program and arguments.
            let templates: Vec<&str> = match (&def.value, &def.command) {
                (Some(template), _) => vec![template.as_str()],
                (None, Some(command)) => command.argv.iter().map(String::as_str).collect(),
                (None, None) => {
                    let r = self.missing(cx, layer, &name, &def, &at);
                    self.remember(layer, name, r);
                    continue;
                }
            };
            let parsed: Result<Vec<_>, _> = templates.iter().map(|t| interp::parse(t)).collect();
            let parsed = match parsed {
                Ok(parsed) => parsed,
                Err(e) => {
                    cx.diags.push(Diagnostic::error(Code::InvalidValue, e.to_string()).at(def.loc.clone()));
                    self.remember(layer, name, Err(Reported));
                    continue;
                }
            };
            // The first var this one refers to that is not resolved yet.
            let mut next = None;
            for part in parsed.iter().flatten() {
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
            let r = match &def.command {
                Some(command) => self.run_command(cx, layer, &name, command, &parsed, &def.loc),
                None => self.expand(cx, &parsed[0], layer, &def.loc),
            };
            let r = match r {
                Ok(v) if self.spend(cx, v.value.len(), &def.loc) => Ok(v),
                Ok(_) => Err(Reported),
                Err(e) => Err(e),
            };
            self.remember(layer, name, r);
        }
        self.memo(layer, name).cloned().expect("resolved above")
    }

    /// The value of a `{ command = [...] }` var: what the program prints on stdout, one
    /// trailing newline removed, a secret. In `validate` the program never runs and the
    /// var stays unexpanded (like a var without a value, without a warning: nothing is
    /// wrong). In `run` it runs here, once (the result is memoised like any var's), with
    /// the base environment plus its `pass_env`, in the directory of the file that
    /// declares it, with no stdin; a failure is GL014 at the var.
    fn run_command(
        &mut self,
        cx: &mut Ctx,
        layer: Layer,
        name: &str,
        command: &SecretCommand,
        argv: &[Vec<Result<String, Ref>>],
        at: &Loc,
    ) -> Resolved {
        let shown = format!("${{{name}}}");
        if cx.mode == LoadMode::Validate {
            return Ok(Rc::new(Interpolated { shown, incomplete: true, ..Default::default() }));
        }
        let mut args = Vec::with_capacity(argv.len());
        let mut secrets = Vec::new();
        for parts in argv {
            let arg = self.expand(cx, parts, layer, at)?;
            secrets.extend(arg.secrets.iter().cloned());
            args.push(arg.value.clone());
        }
        for s in &secrets {
            cx.redactor.add(s);
        }
        let program = args[0].clone();
        let written_in = cx.sources.path(at.file);
        let dir = Some(written_in)
            .filter(|p| !p.to_string_lossy().starts_with("golive:"))
            .and_then(|p| p.parent())
            .filter(|d| !d.as_os_str().is_empty())
            .and_then(|d| std::path::absolute(d).ok());
        // `./vault.sh` is relative to the declaring file's directory, like `${file:…}`; a bare
        // name is looked up on PATH.
        let mut child = match &dir {
            Some(dir) if program.contains('/') && std::path::Path::new(&program).is_relative() => {
                std::process::Command::new(dir.join(&program))
            }
            _ => std::process::Command::new(&program),
        };
        child.args(&args[1..]);
        if let Some(dir) = &dir {
            child.current_dir(dir);
        }
        let env = crate::probe::process::ChildEnv { pass: command.pass_env.clone(), ..Default::default() };
        let ours = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        let given = env.resolve(ours);
        // Its pass_env values are secrets, as for every program a checklist runs.
        for (k, v) in &given {
            if !crate::probe::process::is_base_env(k) {
                cx.redactor.add(v);
            }
        }
        child.env_clear().envs(given);
        let fail = |cx: &mut Ctx, why: String| {
            let why = cx.redactor.redact(&why).into_owned();
            cx.diags.push(
                Diagnostic::error(Code::EnvNotSet, format!("var `{name}`: its command `{program}`: {why}"))
                    .at(at.clone())
                    .hint("run the command by hand to see why (it gets PATH, HOME, USER, LANG, TZ, TMPDIR and its pass_env only); its output is the var's value"),
            );
            Err(Reported)
        };
        let done = match crate::probe::process::run_blocking(child, command.timeout, SECRET_COMMAND_MAX_OUTPUT + 1) {
            Ok(done) => done,
            Err(e) => return fail(cx, e.to_string()),
        };
        if !done.status.success() {
            let code = crate::probe::process::exit_code_text(&done.status);
            let stderr = crate::probe::process::first_line(&done.stderr).map(|l| format!(": {l}")).unwrap_or_default();
            return fail(cx, format!("exited with {code}{stderr}"));
        }
        if done.stdout.len() > SECRET_COMMAND_MAX_OUTPUT {
            return fail(cx, format!("printed more than {} KiB", SECRET_COMMAND_MAX_OUTPUT >> 10));
        }
        let mut value = String::from_utf8_lossy(&done.stdout).into_owned();
        if value.ends_with('\n') {
            value.pop();
            if value.ends_with('\r') {
                value.pop();
            }
        }
        if value.is_empty() {
            return fail(cx, "printed nothing".to_string());
        }
        secrets.insert(0, value.clone());
        Ok(Rc::new(Interpolated { value, shown, secrets, incomplete: false }))
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
