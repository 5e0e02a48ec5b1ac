//! Stage 9, graph: item ids are unique across every file (counted over every `[[item]]`
//! with a valid id, even one that is otherwise invalid), `depends_on` names known items,
//! `when` reads facts known items observe, and dependencies (with `when`'s items) have no
//! cycle. The result is a topological order (dependencies first)
//! handed to the engine. Every walk is iterative: a chain of 20,000 dependencies is a
//! long loop, not a deep recursion.

use std::collections::BTreeSet;

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use super::ctx::Ctx;
use crate::checklist::model::{Item, Subject};
use crate::diag::{Code, Diagnostic, Level, Loc, did_you_mean};

/// Checks ids and dependencies; returns the items' indexes in an order in which every
/// item comes after the items it depends on (checklist order where nothing constrains it).
pub fn check(cx: &mut Ctx, ids: &[(String, Loc)], items: &[Arc<Item>]) -> Vec<usize> {
    let mut first: HashMap<&str, &Loc> = HashMap::with_capacity(ids.len());
    for (id, loc) in ids {
        match first.get(id.as_str()) {
            Some(prev) => cx.diags.push(
                Diagnostic::error(Code::DuplicateId, format!("duplicate item id `{id}`"))
                    .at(loc.clone())
                    .related((*prev).clone(), "first defined here")
                    .hint("ids must be unique across all included files; rename one of them"),
            ),
            None => {
                first.insert(id, loc);
            }
        }
    }
    for item in items {
        for dep in &item.depends_on {
            if first.contains_key(dep.as_str()) {
                continue;
            }
            if cx.diags.full(Code::UnknownDependency, Level::Error) {
                cx.diags.count_only(Code::UnknownDependency, Level::Error);
                continue;
            }
            let d = Diagnostic::error(
                Code::UnknownDependency,
                format!("item `{}`: `depends_on` names unknown item `{dep}`", item.id),
            )
            .at(item.depends_on_loc.clone().unwrap_or_else(|| item.loc.clone()));
            cx.diags.push(match did_you_mean(dep, first.keys().copied()) {
                Some(s) => d.hint(format!("did you mean `{s}`?")),
                None => d.hint("depends_on lists ids of items in this checklist or its includes"),
            });
        }
    }
    let mut by_id: HashMap<&str, &Item> = HashMap::with_capacity(items.len());
    for item in items {
        by_id.entry(item.id.as_str()).or_insert(item);
    }
    for item in items {
        for c in &item.when {
            let Subject::Fact { item: watched, fact } = &c.subject else { continue };
            let d = match first.get(watched.as_str()) {
                None => {
                    let d = Diagnostic::error(
                        Code::UnknownDependency,
                        format!("item `{}`: `when` reads unknown item `{watched}`", item.id),
                    )
                    .at(c.loc.clone());
                    match did_you_mean(watched, first.keys().copied()) {
                        Some(s) => d.hint(format!("did you mean `{s}`?")),
                        None => d.hint("`item` names an item of this checklist or its includes"),
                    }
                }
                Some(_) if watched == &item.id => Diagnostic::error(
                    Code::DependencyCycle,
                    format!("item `{}`: `when` reads the item itself", item.id),
                )
                .at(c.loc.clone())
                .hint("a condition reads another item's facts, observed before this item runs"),
                Some(_) => {
                    let Some(spec) = by_id.get(watched.as_str()).map(|i| i.probe) else { continue };
                    if spec.fact(fact).is_some() {
                        continue;
                    }
                    let d = Diagnostic::error(
                        Code::UnknownFact,
                        format!(
                            "item `{}`: `when` reads fact `{fact}`, which `{watched}` (probe `{}`) does not observe",
                            item.id, spec.kind
                        ),
                    )
                    .at(c.loc.clone());
                    match did_you_mean(fact, spec.facts.iter().map(|f| f.name)) {
                        Some(s) => d.hint(format!("did you mean `{s}`?")),
                        None if spec.facts.is_empty() => {
                            d.hint(format!("`{watched}` observes no facts (a manual item is attested, not observed)"))
                        }
                        None => d.hint(format!("its facts: see `golive probes {}`", spec.kind)),
                    }
                }
            };
            cx.diags.push(d);
        }
    }
    order(cx, items)
}

/// Depth-first over `depends_on` with an explicit stack, reporting each cycle once and
/// emitting items after their dependencies (post-order).
fn order(cx: &mut Ctx, items: &[Arc<Item>]) -> Vec<usize> {
    // The first item with each id (a duplicate is reported above).
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        index.entry(item.id.as_str()).or_insert(i);
    }
    let deps: Vec<Vec<usize>> =
        items.iter().map(|i| i.waits_for().filter_map(|d| index.get(d).copied()).collect()).collect();
    const NEW: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; items.len()];
    // Where an item on the current path sits in `path`.
    let mut position = vec![0usize; items.len()];
    let mut reported: BTreeSet<Vec<usize>> = BTreeSet::new();
    let mut out = Vec::with_capacity(items.len());
    // (item, how many of its dependencies were visited)
    let mut path: Vec<(usize, usize)> = Vec::new();
    for start in 0..items.len() {
        if state[start] != NEW {
            continue;
        }
        state[start] = ON_PATH;
        position[start] = 0;
        path.push((start, 0));
        while let Some(top) = path.last_mut() {
            let node = top.0;
            if let Some(&dep) = deps[node].get(top.1) {
                top.1 += 1;
                match state[dep] {
                    NEW => {
                        state[dep] = ON_PATH;
                        position[dep] = path.len();
                        path.push((dep, 0));
                    }
                    ON_PATH => {
                        let cycle: Vec<usize> = path[position[dep]..].iter().map(|(n, _)| *n).collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if reported.insert(key) {
                            let names: Vec<&str> = cycle.iter().chain([&dep]).map(|&n| items[n].id.as_str()).collect();
                            cx.diags.push(
                                Diagnostic::error(
                                    Code::DependencyCycle,
                                    format!("dependency cycle: {}", names.join(" → ")),
                                )
                                .at(items[dep].loc.clone())
                                .hint("remove one `depends_on` entry (or `when` on an item) so the items can run in order"),
                            );
                        }
                    }
                    _ => {}
                }
            } else {
                state[node] = DONE;
                out.push(node);
                path.pop();
            }
        }
    }
    out
}
