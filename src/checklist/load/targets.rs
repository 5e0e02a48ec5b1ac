//! Stage 8, targets: the machines of the run (`[[target]]` of every file, then the command
//! line's `--target` and `--inventory` hosts), and the items placed on them. An item of a
//! host-level kind (`probe::runs_on_targets`) runs on every target, or on those its
//! `targets` names; any other item runs where golive runs unless its `targets` says
//! otherwise. An item placed on targets becomes one item per target, `ID@TARGET`, and its
//! `depends_on` and `when` are pointed at the same target's copies. Runs before the graph
//! stage, which then checks the placed items.

use std::collections::HashMap;
use std::sync::Arc;

use super::ctx::{Ctx, LoadMode};
use super::files::FileSet;
use super::keys::{header_loc, strings, text, unknown_key};
use super::vars::Vars;
use crate::checklist::model::{Item, Subject, Target};
use crate::diag::{Code, Diagnostic, Level, Loc};
use crate::lang::tree::SKind;

pub const TARGET_KEYS: &[&str] = &["name", "ssh", "groups", "password", "passphrase"];

/// The name `targets` uses for the machine golive runs on.
pub const LOCAL: &str = "local";

/// Every `[[target]]` of every file, then `extra` (the command line's), each name once.
pub fn read(cx: &mut Ctx, vars: &mut Vars, files: &FileSet, extra: &[Target]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    let mut first: HashMap<String, String> = HashMap::new();
    for doc in &files.docs {
        let Some(SKind::Array(tables)) = doc.root.get("target").map(|v| &v.kind) else { continue };
        for table in tables {
            let header = header_loc(table);
            let mut name = None;
            let mut ssh = None;
            let mut groups = Vec::new();
            let mut password = None;
            let mut passphrase = None;
            for (key, value) in table.as_table().unwrap_or_default() {
                match key.name.as_str() {
                    "name" => name = text(&mut cx.diags, value, "name").map(|n| (n, value.loc())),
                    "ssh" => {
                        ssh = text(&mut cx.diags, value, "ssh")
                            .and_then(|t| vars.interpolate(cx, value, &t))
                            .map(|i| (i.value, value.loc()))
                    }
                    "groups" => groups = strings(&mut cx.diags, value, "groups"),
                    "password" | "passphrase" => {
                        let Some(t) = text(&mut cx.diags, value, &key.name) else { continue };
                        let Some(i) = vars.interpolate(cx, value, &t) else { continue };
                        // The whole value is a secret, wherever it came from.
                        if !i.value.is_empty() {
                            cx.redactor.add(&i.value);
                        }
                        if key.name == "password" {
                            password = Some(i.value);
                        } else {
                            passphrase = Some(i.value);
                        }
                    }
                    _ => cx.diags.push(unknown_key(table.file, key, "[[target]]", TARGET_KEYS)),
                }
            }
            let Some((name, name_loc)) = name else {
                cx.diags.push(
                    Diagnostic::error(Code::MissingKey, "[[target]] has no `name`")
                        .at(header)
                        .hint("name = \"web-1\": items and reports call the machine by it"),
                );
                continue;
            };
            if let Some(problem) = name_problem(&name) {
                cx.diags.push(Diagnostic::error(Code::InvalidValue, problem).at(name_loc));
                continue;
            }
            let Some((ssh, ssh_loc)) = ssh else {
                cx.diags.push(
                    Diagnostic::error(Code::MissingKey, format!("target `{name}` has no `ssh`"))
                        .at(header)
                        .hint("ssh = \"deploy@10.0.0.11\", \"host:2222\", or a Host alias of your OpenSSH config"),
                );
                continue;
            };
            // While validating, a `${env:…}` that is not set leaves the value empty.
            if ssh.is_empty() && cx.mode == LoadMode::Validate {
                continue;
            }
            let (user, host, port) = match Target::parse_ssh(&ssh) {
                Ok(parts) => parts,
                Err(e) => {
                    cx.diags.push(
                        Diagnostic::error(Code::InvalidValue, format!("target `{name}`: `ssh` {e}"))
                            .at(ssh_loc)
                            .hint("write [user@]host[:port], or a Host alias of your OpenSSH config"),
                    );
                    continue;
                }
            };
            let source = cx.sources.position(&header);
            if let Some(prev) = first.get(&name) {
                cx.diags.push(
                    Diagnostic::error(Code::DuplicateId, format!("duplicate target `{name}` (first at {prev})"))
                        .at(name_loc)
                        .hint("target names are unique across every file"),
                );
                continue;
            }
            first.insert(name.clone(), source.clone());
            out.push(Target { name, ssh, host, user, port, groups, password, passphrase, source });
        }
    }
    for target in extra {
        if let Some(prev) = first.get(&target.name) {
            cx.diags.push(
                Diagnostic::error(
                    Code::DuplicateId,
                    format!("target `{}` from {} is also defined at {prev}", target.name, target.source),
                )
                .hint("rename one of them: target names are unique in a run"),
            );
            continue;
        }
        first.insert(target.name.clone(), target.source.clone());
        out.push(target.clone());
    }
    out
}

/// Why a target name cannot be used, if it cannot.
pub fn name_problem(name: &str) -> Option<String> {
    if name == LOCAL {
        return Some(format!("`{LOCAL}` is the machine golive runs on; give the target another name"));
    }
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    (!valid).then(|| format!("target name {name:?} is not valid: use letters, digits, `.`, `-` and `_`"))
}

/// Where each item runs, as item copies: an item placed on targets becomes one item per
/// target. `ids` (every valid id, for the graph stage's duplicate check) is placed the
/// same way.
pub fn place(
    cx: &mut Ctx,
    targets: &[Target],
    ids: Vec<(String, Loc)>,
    items: Vec<Arc<Item>>,
) -> (Vec<(String, Loc)>, Vec<Arc<Item>>) {
    let any_target = items.iter().any(|i| !i.targets.is_empty());
    if targets.is_empty() && !any_target {
        return (ids, items);
    }
    // An id given twice is left as it is, for the graph stage to report.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (id, _) in &ids {
        *seen.entry(id.as_str()).or_default() += 1;
    }
    let strict = cx.mode == LoadMode::Run;
    let level = if strict { Level::Error } else { Level::Warning };
    // Where each item runs: `None` is where golive runs.
    let mut placement: HashMap<String, Vec<Option<String>>> = HashMap::new();
    for item in &items {
        if seen.get(item.id.as_str()).copied().unwrap_or(0) > 1 {
            continue;
        }
        let at = item.targets_loc.clone().unwrap_or_else(|| item.loc.clone());
        let on: Vec<Option<String>> = if item.targets.is_empty() {
            if crate::probe::runs_on_targets(item.probe.kind) && !targets.is_empty() {
                targets.iter().map(|t| Some(t.name.clone())).collect()
            } else {
                vec![None]
            }
        } else if item.is_manual() {
            cx.diags.push(
                Diagnostic::error(Code::InvalidValue, format!("item `{}`: a manual item has no `targets`", item.id))
                    .at(at)
                    .hint("a person attests a manual item; write one item per machine if each needs its own"),
            );
            continue;
        } else {
            let mut on = Vec::new();
            let mut placed_on = std::collections::HashSet::new();
            for pattern in &item.targets {
                let before = on.len();
                if pattern == LOCAL {
                    if placed_on.insert(None) {
                        on.push(None);
                    }
                    continue;
                }
                for t in targets.iter().filter(|t| t.matches(pattern)) {
                    if placed_on.insert(Some(t.name.as_str())) {
                        on.push(Some(t.name.clone()));
                    }
                }
                if on.len() == before && !targets.iter().any(|t| t.matches(pattern)) {
                    let mut known: Vec<&str> = targets.iter().take(10).map(|t| t.name.as_str()).collect();
                    let more = targets.len().saturating_sub(known.len());
                    let and_more = format!("and {more} more");
                    if more > 0 {
                        known.push(&and_more);
                    }
                    let message =
                        format!("item `{}`: `targets` entry `{pattern}` names no target of this run", item.id);
                    let d = Diagnostic { level, ..Diagnostic::error(Code::InvalidValue, message) }.at(at.clone());
                    cx.diags.push(if known.is_empty() {
                        d.hint("declare [[target]] tables, or pass --target NAME=SSH or --inventory FILE")
                    } else {
                        d.hint(format!(
                            "the run's targets are {}; `group:NAME` selects a group, `local` where golive runs",
                            known.join(", ")
                        ))
                    });
                }
            }
            // While validating (the targets may come at run time), an item placed nowhere
            // stays as written, so `list` and `attest` still see it.
            if on.is_empty() && !strict {
                on.push(None);
            }
            on
        };
        placement.insert(item.id.clone(), on);
    }
    let key = |id: &str, target: &Option<String>| match target {
        Some(t) => format!("{id}@{t}"),
        None => id.to_string(),
    };
    let mut placed_ids = Vec::with_capacity(ids.len());
    for (id, loc) in ids {
        match placement.get(&id) {
            Some(on) => placed_ids.extend(on.iter().map(|t| (key(&id, t), loc.clone()))),
            None => placed_ids.push((id, loc)),
        }
    }
    // Each item's targets as a set too: a dependency's "placed there as well?" is one lookup.
    let on_sets: HashMap<&str, std::collections::HashSet<Option<&str>>> =
        placement.iter().map(|(id, on)| (id.as_str(), on.iter().map(|t| t.as_deref()).collect())).collect();
    let mut placed = Vec::with_capacity(items.len());
    for item in items {
        let Some(on) = placement.get(&item.id) else {
            placed.push(item);
            continue;
        };
        for target in on {
            // What the copy on `target` waits for: the same target's copy of a dependency
            // placed there too, else every copy of it.
            let deps_of = |dep: &str| -> Vec<String> {
                match placement.get(dep) {
                    Some(_) if on_sets[dep].contains(&target.as_deref()) => vec![key(dep, target)],
                    Some(dep_on) => dep_on.iter().map(|t| key(dep, t)).collect(),
                    None => vec![dep.to_string()],
                }
            };
            let mut copy = (*item).clone();
            copy.depends_on = item.depends_on.iter().flat_map(|d| deps_of(d)).collect();
            for c in &mut copy.when {
                let Subject::Fact { item: watched, .. } = &mut c.subject else { continue };
                let mut of = deps_of(watched.as_str());
                if of.len() == 1 {
                    *watched = of.remove(0);
                } else if !of.is_empty() {
                    cx.diags.push(
                        Diagnostic::error(
                            Code::InvalidValue,
                            format!(
                                "item `{}`: `when` reads a fact of `{watched}`, which runs on {} targets, not on {}",
                                item.id,
                                of.len(),
                                target.as_deref().unwrap_or("the machine golive runs on")
                            ),
                        )
                        .at(c.loc.clone())
                        .hint("a condition reads the item on the same target: place both items on the same targets"),
                    );
                }
            }
            if target.is_some() || on.len() > 1 {
                copy.id = key(&item.id, target);
            }
            copy.target = target.clone();
            placed.push(Arc::new(copy));
        }
    }
    (placed_ids, placed)
}
