//! Unit tests per loader stage: each module below calls one stage directly, with input built
//! in memory (text added to `cx.sources` and parsed, as `files` does) or written to a
//! temporary directory, and checks what the stage produces and the diagnostics it collects.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ctx::{Ctx, LoadMode};
use super::defaults::Defaults;
use super::files::{FileDoc, FileSet};
use super::vars::Vars;
use crate::checklist::load;
use crate::checklist::model::Item;
use crate::diag::{Code, Diagnostic, Level, Loc};
use crate::lang::tree::{SKind, SValue, Segment, parse_document, parse_items};
use crate::probe::ParamMap;

fn validate() -> Ctx {
    Ctx::new(LoadMode::Validate)
}

fn run() -> Ctx {
    Ctx::new(LoadMode::Run)
}

/// The diagnostics collected so far; the sink starts again empty.
fn take(cx: &mut Ctx) -> Vec<Diagnostic> {
    std::mem::take(&mut cx.diags).finish()
}

fn codes(ds: &[Diagnostic]) -> Vec<Code> {
    ds.iter().map(|d| d.code).collect()
}

fn of(ds: &[Diagnostic], code: Code) -> Vec<&Diagnostic> {
    ds.iter().filter(|d| d.code == code).collect()
}

/// `NAME:line:col` of a location: the file's name only, so temporary directories do not
/// matter.
fn pos(cx: &Ctx, loc: &Loc) -> String {
    let full = cx.sources.position(loc);
    let path = cx.sources.path(loc.file).display().to_string();
    let name = cx.sources.path(loc.file).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    full.replacen(&path, &name, 1)
}

fn pos_of(cx: &Ctx, d: &Diagnostic) -> String {
    pos(cx, d.loc.as_ref().expect("the diagnostic has a location"))
}

/// A document added to `cx.sources` as `path` and parsed.
fn doc(cx: &mut Ctx, path: &str, text: &str) -> SValue {
    let id = cx.sources.add(PathBuf::from(path), text.to_string());
    parse_document(id, cx.sources.text(id)).expect("valid TOML")
}

/// The `[[item]]` tables of a document.
fn tables(root: &SValue) -> Vec<SValue> {
    match root.get("item").map(|v| &v.kind) {
        Some(SKind::Array(tables)) => tables.clone(),
        _ => Vec::new(),
    }
}

/// The `[[item]]` tables of a file read by the files stage: those in its tree and those
/// of its segments (parsed here, as the loader parses them when it reaches them).
fn doc_tables(cx: &Ctx, doc: &FileDoc) -> Vec<SValue> {
    let text = cx.sources.text(doc.id);
    let mut out = tables(&doc.root);
    for segment in &doc.items {
        match segment {
            Segment::Parsed(t) => out.extend(t.iter().cloned()),
            Segment::Lazy(r) => out.extend(parse_items(doc.id, text, r.clone()).expect("a segment parses")),
        }
    }
    out
}

/// The first `[[item]]` of a text, added as `items.toml`.
fn item_table(cx: &mut Ctx, text: &str) -> SValue {
    let root = doc(cx, "items.toml", text);
    tables(&root).into_iter().next().expect("one [[item]]")
}

/// Every `[[item]]` of a text (added as `path`) through the item stage, as `load` runs it:
/// the valid ids, and the items whose probe is known.
fn item_stage(cx: &mut Ctx, path: &str, text: &str) -> (Vec<(String, Loc)>, Vec<Arc<Item>>) {
    let root = doc(cx, path, text);
    let mut vars = no_vars();
    let (mut ids, mut items) = (Vec::new(), Vec::new());
    for table in tables(&root) {
        let keys = load::item::read(cx, &mut vars, &table, &Defaults::default());
        ids.extend(keys.id);
        items.extend(keys.draft.filter(|d| d.probe.is_some()).map(|d| Arc::new(d.item)));
    }
    (ids, items)
}

/// In-memory files: (path, text, the indexes it includes). The first is the root; a file's
/// parent is the first file that includes it, as `files::read` sets it.
fn set(cx: &mut Ctx, specs: &[(&str, &str, &[usize])]) -> FileSet {
    let mut out = FileSet::default();
    for (index, (path, text, includes)) in specs.iter().enumerate() {
        let root = doc(cx, path, text);
        let parent = specs.iter().position(|(_, _, inc)| inc.contains(&index));
        out.docs.push(FileDoc {
            id: root.file,
            root,
            items: Vec::new(),
            sha256: String::new(),
            includes: includes.to_vec(),
            parent,
        });
    }
    out.roots.push(0);
    out
}

/// The vars of a file set as `load` builds them.
fn vars_for(cx: &mut Ctx, files: &FileSet, cli: &[(&str, &str)]) -> Vars {
    let cli: Vec<(String, String)> = cli.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    let merged = load::vars::merge(cx, files, &cli);
    let declared: Vec<String> = files
        .docs
        .iter()
        .filter_map(|d| d.root.get("vars")?.as_table())
        .flat_map(|t| t.iter().map(|(k, _)| k.name.clone()))
        .collect();
    Vars::new(merged, declared)
}

/// Vars from one `[vars]` text.
fn vars_from(cx: &mut Ctx, text: &str) -> Vars {
    let files = set(cx, &[("vars.toml", text, &[])]);
    vars_for(cx, &files, &[])
}

fn no_vars() -> Vars {
    Vars::new(BTreeMap::new(), Vec::<String>::new())
}

/// Expands a template written at a value of its own file (`ref.toml`).
fn expand(cx: &mut Ctx, vars: &mut Vars, template: &str) -> Option<super::interp::Interpolated> {
    let root = doc(cx, "ref.toml", &format!("t = '{template}'"));
    let v = root.get("t").expect("t").clone();
    vars.interpolate(cx, &v, template)
}

/// One item through the item, params and expect stages, as `load` runs them; the item and
/// the parameters as shown.
fn build(cx: &mut Ctx, vars: &mut Vars, text: &str) -> Option<(Item, ParamMap)> {
    let table = item_table(cx, text);
    build_table(cx, vars, &table, &Defaults::default())
}

fn build_table(cx: &mut Ctx, vars: &mut Vars, table: &SValue, defaults: &Defaults) -> Option<(Item, ParamMap)> {
    let keys = load::item::read(cx, vars, table, defaults);
    let mut draft = keys.draft?;
    let spec = draft.probe?;
    load::params::read(cx, vars, spec, &mut draft);
    let header = draft.item.loc.clone();
    draft.item.expect = load::expect::read(cx, vars, spec, draft.expect, &draft.what, &header);
    Some((draft.item, draft.shown))
}

/// Files written into a new temporary directory (parent directories created).
fn tree(specs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (name, text) in specs {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

fn read(cx: &mut Ctx, dir: &Path, roots: &[&str]) -> FileSet {
    let paths: Vec<PathBuf> = roots.iter().map(|r| dir.join(r)).collect();
    load::files::read(cx, &paths)
}

fn name_of(cx: &Ctx, files: &FileSet, index: usize) -> String {
    let path = cx.sources.path(files.docs[index].id);
    match path.file_name() {
        Some(n) if !path.to_string_lossy().starts_with("golive:") => n.to_string_lossy().into_owned(),
        _ => path.display().to_string(),
    }
}

fn str_value(s: &str) -> crate::value::Value {
    crate::value::Value::Str(s.to_string())
}

mod attestations;
mod defaults;
mod expect;
mod files;
mod graph;
mod item;
mod params;
mod signoff;
mod targets;
mod uses;
mod vars;
mod waivers;
