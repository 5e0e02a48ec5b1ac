//! "Changed since baseline" (`golive run --baseline`): the stored run this one is compared
//! with, and per item how it changed. The table shows it as a column, Markdown and HTML as a
//! section, JSON as the top-level `baseline` object (docs/history.md#baselines).

use serde::{Deserialize, Serialize};

use super::Report;
use super::diff::{Diff, is_failing};
use crate::engine::Outcome;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Baseline {
    /// What `--baseline` asked for: `last`, `last-pass` or a run id.
    pub requested: String,
    /// The baseline run; `null` when the store held no such run (every item is then new).
    pub run_id: Option<String>,
    pub started_at: Option<String>,
    pub gate_passed: Option<bool>,
    /// With `--fail-on-regression`: only items that passed in the baseline may block.
    pub fail_on_regression: bool,
    /// Every item that changed, in checklist order; unchanged items are not listed.
    pub changes: Vec<BaselineChange>,
    /// Items the baseline had and this run does not.
    pub removed_items: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BaselineChange {
    pub id: String,
    pub change: ChangeKind,
    /// The outcome in the baseline; `null` for a new item.
    pub before: Option<Outcome>,
    pub after: Outcome,
    /// Facts observed differently than in the baseline.
    pub changed_facts: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// `fail` or `error` now, neither in the baseline.
    NewlyFailing,
    /// `pass` now, not in the baseline.
    NewlyPassing,
    /// Another change of outcome.
    OutcomeChanged,
    /// The same outcome, some facts observed differently.
    FactsChanged,
    /// Not in the baseline.
    New,
}

impl Baseline {
    /// Compares `report` with the baseline run's stored report (`None`: there was none).
    pub fn compare(requested: &str, baseline: Option<&Report>, report: &Report, fail_on_regression: bool) -> Baseline {
        let mut out = Baseline {
            requested: requested.to_string(),
            run_id: baseline.map(|b| b.run_id.clone()),
            started_at: baseline.map(|b| b.started_at.clone()),
            gate_passed: baseline.map(|b| b.gate.passed),
            fail_on_regression,
            changes: Vec::new(),
            removed_items: Vec::new(),
        };
        let Some(before) = baseline else {
            out.changes = report
                .items
                .iter()
                .map(|i| BaselineChange {
                    id: i.id.clone(),
                    change: ChangeKind::New,
                    before: None,
                    after: i.outcome,
                    changed_facts: Vec::new(),
                })
                .collect();
            return out;
        };
        let diff = Diff::between(before, report, false);
        out.removed_items = diff.removed_items.clone();
        for item in &report.items {
            let old = before.items.iter().find(|i| i.id == item.id);
            let changed_facts: Vec<String> =
                diff.changed_facts.iter().filter(|f| f.id == item.id).map(|f| f.fact.clone()).collect();
            let change = match old {
                None => ChangeKind::New,
                Some(old) if old.outcome != item.outcome => {
                    if is_failing(item.outcome) && !is_failing(old.outcome) {
                        ChangeKind::NewlyFailing
                    } else if item.outcome == Outcome::Pass {
                        ChangeKind::NewlyPassing
                    } else {
                        ChangeKind::OutcomeChanged
                    }
                }
                Some(_) if !changed_facts.is_empty() => ChangeKind::FactsChanged,
                Some(_) => continue,
            };
            out.changes.push(BaselineChange {
                id: item.id.clone(),
                change,
                before: old.map(|o| o.outcome),
                after: item.outcome,
                changed_facts,
            });
        }
        out
    }

    /// The change of one item, if it changed.
    pub fn change_of(&self, id: &str) -> Option<&BaselineChange> {
        self.changes.iter().find(|c| c.id == id)
    }

    /// One line about the baseline run itself.
    pub fn heading(&self) -> String {
        match (&self.run_id, &self.started_at) {
            (Some(id), Some(at)) => format!(
                "Changed since baseline {} ({id}, {at}, gate {})",
                self.requested,
                if self.gate_passed == Some(true) { "passed" } else { "failed" }
            ),
            _ => format!("Changed since baseline {}: the store holds no such run; every item is new", self.requested),
        }
    }
}

impl BaselineChange {
    /// `newly failing (was pass)`, `facts changed: status`, `new`…
    pub fn text(&self) -> String {
        let was = self.before.map(|b| format!(" (was {})", b.as_str())).unwrap_or_default();
        let facts = if self.changed_facts.is_empty() {
            String::new()
        } else {
            let mut names: Vec<&str> = self.changed_facts.iter().take(5).map(String::as_str).collect();
            if self.changed_facts.len() > 5 {
                names.push("…");
            }
            format!("; facts changed: {}", names.join(", "))
        };
        match self.change {
            ChangeKind::NewlyFailing => format!("newly failing{was}{facts}"),
            ChangeKind::NewlyPassing => format!("newly passing{was}{facts}"),
            ChangeKind::OutcomeChanged => format!("{}{was}{facts}", self.after.as_str()),
            ChangeKind::FactsChanged => format!("facts changed: {}", facts.trim_start_matches("; facts changed: ")),
            ChangeKind::New => "new".to_string(),
        }
    }
}

/// `--fail-on-regression`: an item blocks only when it passed in the baseline; the gate is
/// recomputed from what still blocks.
pub fn apply_fail_on_regression(report: &mut Report, baseline: Option<&Report>) {
    for item in &mut report.items {
        let passed_before =
            baseline.and_then(|b| b.items.iter().find(|i| i.id == item.id)).is_some_and(|i| i.outcome == Outcome::Pass);
        if !passed_before {
            item.blocking = false;
        }
    }
    report.gate.blocking = report.items.iter().filter(|i| i.blocking).map(|i| i.id.clone()).collect();
    report.gate.passed = report.gate.blocking.is_empty();
}

/// One earlier outcome of an item, for the HTML report's history strip.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecentOutcome {
    pub run_id: String,
    pub started_at: String,
    pub outcome: Outcome,
}

/// Each item's outcomes in the stored runs before this one, oldest first (at most
/// [`RECENT_RUNS`]), by item id.
pub type RecentOutcomes = std::collections::BTreeMap<String, Vec<RecentOutcome>>;

/// How many earlier runs the history strip shows.
pub const RECENT_RUNS: i64 = 20;
