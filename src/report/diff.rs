//! What changed between two runs of a checklist, from their stored reports: items newly
//! failing and newly passing, other outcome changes, facts observed differently (before ->
//! after), items added and removed, checklist files whose SHA-256 changed. `golive diff`
//! prints it; `golive run --baseline` puts it into the report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Report;
use crate::engine::Outcome;
use crate::value::Value;

/// A run a diff compares.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRef {
    pub run_id: String,
    pub started_at: String,
    pub gate_passed: bool,
}

impl RunRef {
    pub fn of(report: &Report) -> RunRef {
        RunRef { run_id: report.run_id.clone(), started_at: report.started_at.clone(), gate_passed: report.gate.passed }
    }
}

/// An item whose outcome changed; `before` is `null` for an item the earlier run lacked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutcomeChange {
    pub id: String,
    pub before: Option<Outcome>,
    pub after: Outcome,
    /// Why it is as it is now (the later run's reason).
    pub reason: Option<String>,
}

/// A fact observed differently; `null` on the side that did not observe it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FactChange {
    pub id: String,
    pub fact: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// A checklist file whose content changed, or that only one run loaded.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Diff {
    pub before: RunRef,
    pub after: RunRef,
    /// Failing (`fail` or `error`) now, not before: items present in both runs, and new
    /// items that fail.
    pub newly_failing: Vec<OutcomeChange>,
    /// Passing now, not before (items present in both runs).
    pub newly_passing: Vec<OutcomeChange>,
    /// Every other change of outcome of an item present in both runs (e.g. pass -> skipped).
    pub other_changes: Vec<OutcomeChange>,
    pub changed_facts: Vec<FactChange>,
    /// Items only the later run has, with their outcome.
    pub new_items: Vec<OutcomeChange>,
    /// Ids of items only the earlier run had.
    pub removed_items: Vec<String>,
    pub changed_files: Vec<FileChange>,
}

pub fn is_failing(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Fail | Outcome::Error)
}

impl Diff {
    /// Compares two runs. Facts that change on every run (durations such as `latency`,
    /// instants such as `modified_age`'s timestamp kin) are compared only with `all_facts`.
    pub fn between(before: &Report, after: &Report, all_facts: bool) -> Diff {
        let earlier: BTreeMap<&str, &crate::report::ItemReport> =
            before.items.iter().map(|i| (i.id.as_str(), i)).collect();
        let later: BTreeMap<&str, ()> = after.items.iter().map(|i| (i.id.as_str(), ())).collect();
        let mut diff = Diff {
            before: RunRef::of(before),
            after: RunRef::of(after),
            newly_failing: Vec::new(),
            newly_passing: Vec::new(),
            other_changes: Vec::new(),
            changed_facts: Vec::new(),
            new_items: Vec::new(),
            removed_items: before
                .items
                .iter()
                .filter(|i| !later.contains_key(i.id.as_str()))
                .map(|i| i.id.clone())
                .collect(),
            changed_files: Vec::new(),
        };
        for item in &after.items {
            let change = |before: Option<Outcome>| OutcomeChange {
                id: item.id.clone(),
                before,
                after: item.outcome,
                reason: item.reason.clone(),
            };
            let Some(old) = earlier.get(item.id.as_str()) else {
                if is_failing(item.outcome) {
                    diff.newly_failing.push(change(None));
                }
                diff.new_items.push(change(None));
                continue;
            };
            if old.outcome != item.outcome {
                if is_failing(item.outcome) && !is_failing(old.outcome) {
                    diff.newly_failing.push(change(Some(old.outcome)));
                } else if item.outcome == Outcome::Pass {
                    diff.newly_passing.push(change(Some(old.outcome)));
                } else {
                    diff.other_changes.push(change(Some(old.outcome)));
                }
            }
            let names: std::collections::BTreeSet<&str> = old.facts.keys().chain(item.facts.keys()).collect();
            for name in names {
                let (a, b) = (old.facts.get(name), item.facts.get(name));
                let volatile = [a, b].into_iter().flatten().any(|v| matches!(v, Value::Duration(_) | Value::Time(_)));
                if a != b && (all_facts || !volatile) {
                    diff.changed_facts.push(FactChange {
                        id: item.id.clone(),
                        fact: name.to_string(),
                        before: a.cloned(),
                        after: b.cloned(),
                    });
                }
            }
        }
        let old_files: BTreeMap<String, &str> =
            before.checklist.files.iter().map(|f| (f.path.display().to_string(), f.sha256.as_str())).collect();
        let new_files: BTreeMap<String, &str> =
            after.checklist.files.iter().map(|f| (f.path.display().to_string(), f.sha256.as_str())).collect();
        let paths: std::collections::BTreeSet<&String> = old_files.keys().chain(new_files.keys()).collect();
        for path in paths {
            let (a, b) = (old_files.get(path), new_files.get(path));
            if a != b {
                diff.changed_files.push(FileChange {
                    path: path.clone(),
                    before: a.map(|s| s.to_string()),
                    after: b.map(|s| s.to_string()),
                });
            }
        }
        diff
    }

    pub fn is_empty(&self) -> bool {
        self.newly_failing.is_empty()
            && self.newly_passing.is_empty()
            && self.other_changes.is_empty()
            && self.changed_facts.is_empty()
            && self.new_items.is_empty()
            && self.removed_items.is_empty()
            && self.changed_files.is_empty()
    }

    /// The diff as text, one section per kind of change, each line bounded.
    pub fn render_text(&self) -> String {
        let mut out = format!(
            "{} ({}, gate {}) -> {} ({}, gate {})\n",
            self.before.run_id,
            self.before.started_at,
            gate_word(self.before.gate_passed),
            self.after.run_id,
            self.after.started_at,
            gate_word(self.after.gate_passed)
        );
        if self.is_empty() {
            out.push_str("\nNo change.\n");
            return out;
        }
        let outcome = |o: Option<Outcome>| o.map_or("(new)", Outcome::as_str);
        let sections: [(&str, &Vec<OutcomeChange>); 4] = [
            ("Newly failing", &self.newly_failing),
            ("Newly passing", &self.newly_passing),
            ("Other outcome changes", &self.other_changes),
            ("New items", &self.new_items),
        ];
        for (title, changes) in sections {
            if changes.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{title}:\n"));
            for c in changes {
                let why = c.reason.as_deref().map(|r| format!(": {}", one_line(r))).unwrap_or_default();
                out.push_str(&format!("  {} {} -> {}{why}\n", c.id, outcome(c.before), c.after.as_str()));
            }
        }
        if !self.removed_items.is_empty() {
            out.push_str("\nRemoved items:\n");
            for id in &self.removed_items {
                out.push_str(&format!("  {id}\n"));
            }
        }
        if !self.changed_facts.is_empty() {
            out.push_str("\nChanged facts:\n");
            for f in &self.changed_facts {
                out.push_str(&format!("  {} {}: {} -> {}\n", f.id, f.fact, shown(&f.before), shown(&f.after)));
            }
        }
        if !self.changed_files.is_empty() {
            out.push_str("\nChanged checklist files:\n");
            for f in &self.changed_files {
                let sha = |s: &Option<String>| {
                    s.as_deref().map_or("(absent)".to_string(), |s| s[..s.len().min(12)].to_string())
                };
                out.push_str(&format!("  {}: sha256 {} -> {}\n", f.path, sha(&f.before), sha(&f.after)));
            }
        }
        out
    }
}

fn gate_word(passed: bool) -> &'static str {
    if passed { "passed" } else { "FAILED" }
}

/// A value on one line, at most 80 characters; `(absent)` when not observed.
pub fn shown(value: &Option<Value>) -> String {
    match value {
        None => "(absent)".to_string(),
        Some(v) => one_line(&v.to_string()),
    }
}

fn one_line(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    if text.chars().count() > 80 { format!("{}…", text.chars().take(79).collect::<String>()) } else { text }
}
