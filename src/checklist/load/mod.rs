//! Loading a checklist, as a pipeline of small stages that each take and return plain data:
//!
//! files → uses (the catalogue) → vars → defaults → per item: [uses] → item → params →
//! exec → expect → targets → graph → waivers → signoff → attestations.
//!
//! Every problem in every file is collected as a located diagnostic with a stable code
//! (`sink` caps each code's count); nothing stops at the first one. Every stage shares a
//! `Ctx` (sources, diagnostics, secrets, mode) and the leaf helpers in `keys`; no stage
//! imports a later one. This module only runs the stages in order. docs/architecture.md
//! explains the design.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::checklist::model::{Checklist, Item};
use crate::diag::{Diagnostic, Loc, Sources};
use crate::lang::tree::{SKind, SValue, whole_document_error};
use crate::probe;
use crate::redact::Redactor;

mod attestations;
mod ctx;
mod defaults;
mod exec;
mod expect;
mod files;
mod graph;
mod interp;
mod item;
mod keys;
mod params;
mod signoff;
mod sink;
mod targets;
mod uses;
mod vars;
mod waivers;

#[cfg(test)]
mod tests;

pub use ctx::LoadMode;
pub use defaults::{DEFAULT_SECTION, DEFAULT_SEVERITY, DEFAULT_TIMEOUT};
pub use files::{MAX_INCLUDE_DEPTH, MAX_TOTAL_BYTES as MAX_FILES_BYTES};
pub use sink::MAX_PER_CODE;
pub use targets::name_problem as target_name_problem;
pub use vars::{MAX_TOTAL_BYTES as MAX_EXPANDED_BYTES, MAX_VALUE_BYTES};

use ctx::Ctx;
use defaults::Defaults;
use uses::Checks;
use vars::Vars;

#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// `--var name=value` overrides, in order.
    pub vars: Vec<(String, String)>,
    pub mode: LoadMode,
    /// `--attestations FILE`: overrides `[checklist] attestations` and the default
    /// `NAME.attestations.toml` beside the first checklist file.
    pub attestations: Option<PathBuf>,
    /// `--target` and `--inventory` machines, after the checklist's `[[target]]` tables.
    pub targets: Vec<crate::checklist::model::Target>,
}

pub struct Loaded {
    /// `None` when any diagnostic is an error.
    pub checklist: Option<Checklist>,
    pub sources: Sources,
    pub diagnostics: Vec<Diagnostic>,
    /// The secrets met while loading, to mask diagnostics that quote values.
    pub redactor: Redactor,
    /// Every var a loaded file or a used catalogue check declares: what `--var` may set.
    pub declared_vars: BTreeSet<String>,
}

impl Loaded {
    /// The checklist alone: the sources, diagnostics and the rest are let go here, not kept
    /// for the whole run (the sources are the text of every file, 10 MB for 50,000 items).
    pub fn into_checklist(self) -> Option<Checklist> {
        self.checklist
    }
}

pub fn load(paths: &[PathBuf], opts: &LoadOptions) -> Loaded {
    let mut cx = Ctx::new(opts.mode);
    let mut files = files::read(&mut cx, paths);
    let mut checks = uses::catalogue(&mut cx, &files);
    let declared: Vec<String> = files
        .docs
        .iter()
        .filter_map(|d| d.root.get("vars")?.as_table())
        .flat_map(|t| t.iter().map(|(k, _)| k.name.clone()))
        .collect();
    let merged = vars::merge(&mut cx, &files, &opts.vars);
    let mut vars = Vars::new(merged, declared);
    let defaults = defaults::per_file(&mut cx, &files);

    let mut ids: Vec<(String, Loc)> = Vec::new();
    let mut items: Vec<Arc<Item>> = Vec::new();
    for (index, doc_defaults) in defaults.iter().enumerate() {
        // Each item table is taken out of the tree (or parsed only now), read once and
        // dropped.
        let file = files.docs[index].id;
        let eager = take_items(&mut files.docs[index].root);
        let segments = std::mem::take(&mut files.docs[index].items);
        let mark = (cx.diags.mark(), ids.len(), items.len());
        let mut build = |cx: &mut Ctx, table: SValue| {
            let (id, item) = build_item(cx, &mut vars, &mut checks, &table, doc_defaults);
            ids.extend(id);
            items.extend(item.map(Arc::new));
        };
        eager.into_iter().for_each(|table| build(&mut cx, table));
        if !files::each_item(&mut cx, file, segments, &mut build) {
            // As if the file had been parsed whole: its syntax error, and nothing of its
            // items.
            let (diags, n_ids, n_items) = mark;
            cx.diags.rollback(diags);
            ids.truncate(n_ids);
            items.truncate(n_items);
            let text = cx.sources.shared_text(file);
            cx.diags.push(whole_document_error(file, &text));
        }
    }
    vars.check_cli_names(&mut cx, &opts.vars);
    let run_targets = targets::read(&mut cx, &mut vars, &files, &opts.targets);
    let written: Vec<String> = ids.iter().map(|(id, _)| id.clone()).collect();
    let (ids, items) = targets::place(&mut cx, &run_targets, ids, items);
    let order = graph::check(&mut cx, &ids, &items);
    // A waiver names an item as written (every target's copy) or one copy, `ID@TARGET`.
    let known: foldhash::HashSet<&str> =
        ids.iter().map(|(id, _)| id.as_str()).chain(written.iter().map(String::as_str)).collect();
    let waivers = waivers::read(&mut cx, &files, &known);
    let signoff_roles = signoff::read(&mut cx, &files);
    let manual: Vec<&str> = items.iter().filter(|i| i.is_manual()).map(|i| i.id.as_str()).collect();
    let attestations = attestations::read(&mut cx, &files, opts.attestations.as_deref(), &manual);

    let checklist = (!cx.diags.has_errors()).then(|| {
        let name = files.meta("name").or_else(|| {
            let first = files.roots.first()?;
            Some(cx.sources.path(files.docs[*first].id).file_stem()?.to_string_lossy().into_owned())
        });
        Checklist {
            name: name.unwrap_or_else(|| "checklist".into()),
            version: files.meta("version"),
            description: files.meta("description"),
            files: files
                .docs
                .iter()
                .map(|d| crate::checklist::model::LoadedFile {
                    path: cx.sources.path(d.id).to_path_buf(),
                    sha256: d.sha256.clone(),
                })
                .chain(checks.files.iter().cloned())
                .collect(),
            items,
            order,
            waivers,
            signoff_roles,
            attestations,
            redactor: cx.redactor.clone(),
            targets: run_targets,
        }
    });
    // Masked here, before any form cuts a long message short: a cut through a secret would
    // leave a prefix the redactor no longer recognises.
    let diagnostics = cx
        .diags
        .finish()
        .into_iter()
        .map(|d| Diagnostic {
            message: cx.redactor.redact(&d.message).into_owned(),
            hint: d.hint.as_deref().map(|h| cx.redactor.redact(h).into_owned()),
            related: d.related.into_iter().map(|(loc, what)| (loc, cx.redactor.redact(&what).into_owned())).collect(),
            ..d
        })
        .collect();
    Loaded {
        checklist,
        sources: cx.sources,
        diagnostics,
        redactor: cx.redactor,
        declared_vars: vars.declared().cloned().collect(),
    }
}

/// The `[[item]]` tables of a file, taken out of its tree.
fn take_items(root: &mut SValue) -> Vec<SValue> {
    let SKind::Table(entries) = &mut root.kind else { return Vec::new() };
    match entries.iter_mut().find(|(k, _)| k.name == "item") {
        Some((_, v)) => match std::mem::replace(&mut v.kind, SKind::Array(Vec::new())) {
            SKind::Array(tables) => tables.into_iter().filter(|t| t.as_table().is_some()).collect(),
            other => {
                v.kind = other;
                Vec::new()
            }
        },
        None => Vec::new(),
    }
}

/// One `[[item]]` through the item stages: its id whenever it is valid (for the graph
/// stage), and the item when nothing stopped it.
fn build_item(
    cx: &mut Ctx,
    vars: &mut Vars,
    checks: &mut Checks,
    table: &SValue,
    defaults: &Defaults,
) -> (Option<(String, Loc)>, Option<Item>) {
    if table.get("use").is_none() {
        return item_stages(cx, vars, table, defaults);
    }
    let Some((merged, scope)) = uses::expand(cx, checks, vars, table) else { return (None, None) };
    vars.enter(scope);
    let built = item_stages(cx, vars, &merged, defaults);
    vars.leave();
    built
}

fn item_stages(
    cx: &mut Ctx,
    vars: &mut Vars,
    table: &SValue,
    defaults: &Defaults,
) -> (Option<(String, Loc)>, Option<Item>) {
    let keys = item::read(cx, vars, table, defaults);
    let (id, Some(draft)) = (keys.id, keys.draft) else { return (None, None) };
    let Some(spec) = draft.probe else { return (id, None) };
    // An item a var condition already rules out will not run: its parameters and
    // expectations (vars only its own deployments set, a setting left empty) are not read
    // at all, so they cannot stop the checklist, run a secret command, or leave a var
    // resolved (or failed) for the items that do run. Its common keys and `when` are read.
    let ruled_out = draft.item.when.iter().any(|c| match &c.subject {
        crate::checklist::model::Subject::Var { value: Some(v), .. } => !c.matcher.eval(Some(v)),
        _ => false,
    });
    if ruled_out {
        return (id, Some(finish(draft)));
    }
    (id, Some(probe_stages(cx, vars, table, spec, draft)))
}

/// The stages after the item's common keys: parameters, a plugin's description, `expect`.
fn probe_stages(
    cx: &mut Ctx,
    vars: &mut Vars,
    table: &SValue,
    spec: &'static crate::probe::ProbeSpec,
    mut draft: item::Draft<'_>,
) -> Item {
    params::read(cx, vars, spec, &mut draft);
    let facts_of = if spec.kind == probe::exec::SPEC.kind {
        match exec::describe(cx, vars, table, &mut draft) {
            Some(described) => described,
            // The program could not describe itself (reported): its facts are unknown.
            None => return finish(draft),
        }
    } else {
        spec
    };
    let header = draft.item.loc.clone();
    draft.item.expect = expect::read(cx, vars, facts_of, draft.expect, &draft.what, &header);
    finish(draft)
}

/// The item of a draft, its shown parameters kept only where they differ (a masked
/// password, a `${env:…}` reference): most items share one map.
fn finish(draft: item::Draft<'_>) -> Item {
    let mut item = draft.item;
    item.params.values.shrink_to_fit();
    if draft.shown != item.params.values {
        let mut shown = draft.shown;
        shown.shrink_to_fit();
        item.params_shown = Some(shown);
    }
    item.expect.shrink_to_fit();
    item
}
