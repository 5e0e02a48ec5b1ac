//! The report: one data model built once from the checklist and the run, and rendered by
//! every output format (each format is one file here, behind `Format`). Every rendered
//! output passes through the checklist's redactor last.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

use crate::checklist::{Checklist, LoadedFile, Severity};
use crate::engine::{ExpectationResult, Filter, Outcome, RunOptions, RunResult};
use crate::redact::Redactor;
use crate::value::{Value, duration_ms, format_time};

mod json;
mod table;

/// The version of the JSON report layout; bumped on any incompatible change.
pub const SCHEMA: &str = "golive.report/v1";

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub golive_version: &'static str,
    pub run_id: String,
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: f64,
    pub host: HostInfo,
    pub checklist: ChecklistInfo,
    pub options: OptionsInfo,
    pub items: Vec<ItemReport>,
    pub summary: Summary,
    pub gate: Gate,
}

#[derive(Clone, Debug, Serialize)]
pub struct HostInfo {
    pub hostname: String,
    pub os: String,
    pub user: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ChecklistInfo {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub files: Vec<LoadedFile>,
}

#[derive(Clone, Debug, Serialize)]
pub struct OptionsInfo {
    pub fail_on: Severity,
    pub concurrency: usize,
    pub deadline_ms: Option<f64>,
    pub tags: Vec<String>,
    pub sections: Vec<String>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ItemReport {
    pub id: String,
    pub title: String,
    pub section: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub description: Option<String>,
    pub references: Vec<String>,
    pub probe: String,
    /// `file:line:column` of the item's definition.
    pub source: String,
    pub depends_on: Vec<String>,
    /// Parameters with secrets masked and `${env:…}` references kept as written.
    pub params: BTreeMap<String, Value>,
    pub outcome: Outcome,
    /// For manual items: `pending` or `attested`.
    pub manual_status: Option<&'static str>,
    pub reason: Option<String>,
    pub expectations: Vec<ExpectationResult>,
    /// Every fact the probe observed (secret ones masked).
    pub facts: BTreeMap<String, Value>,
    pub attempts: u32,
    pub started_at: String,
    pub duration_ms: f64,
    /// True when this item fails the gate.
    pub blocking: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skipped: usize,
    pub waived: usize,
    pub manual_pending: usize,
    pub manual_attested: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Gate {
    pub passed: bool,
    pub fail_on: Severity,
    /// Ids of the items that fail the gate, in checklist order.
    pub blocking: Vec<String>,
}

/// Whether an item with this result fails the gate at the given threshold: a fail, an error
/// or a pending manual item at or above it; and an item at or above it that was never
/// checked because a dependency failed (the gate never passes on what it did not see).
fn blocks(severity: Severity, outcome: Outcome, filtered_out: bool, fail_on: Severity) -> bool {
    severity >= fail_on
        && match outcome {
            Outcome::Fail | Outcome::Error | Outcome::Manual => true,
            Outcome::Skipped => !filtered_out,
            Outcome::Pass | Outcome::Waived => false,
        }
}

impl Report {
    /// Builds the report; every text in it is already masked with `redactor`, so no later
    /// truncation or wrapping can split a secret past the final redaction pass.
    pub fn build(
        checklist: &Checklist,
        run: &RunResult,
        opts: &RunOptions,
        fail_on: Severity,
        redactor: &Redactor,
    ) -> Report {
        let text = |s: &str| redactor.redact(s).into_owned();
        let value = |v: &Value| v.redacted(redactor);
        let mut summary = Summary { total: run.results.len(), ..Default::default() };
        let mut blocking_ids = Vec::new();
        let items: Vec<ItemReport> = checklist
            .items
            .iter()
            .zip(&run.results)
            .map(|(item, r)| {
                match r.outcome {
                    Outcome::Pass => summary.pass += 1,
                    Outcome::Fail => summary.fail += 1,
                    Outcome::Error => summary.error += 1,
                    Outcome::Skipped => summary.skipped += 1,
                    Outcome::Waived => summary.waived += 1,
                    Outcome::Manual => summary.manual_pending += 1,
                }
                let blocking = blocks(item.severity, r.outcome, r.filtered_out, fail_on);
                if blocking {
                    blocking_ids.push(item.id.clone());
                }
                ItemReport {
                    id: item.id.clone(),
                    title: text(&item.title),
                    section: item.section.clone(),
                    severity: item.severity,
                    tags: item.tags.clone(),
                    owner: item.owner.clone(),
                    description: item.description.clone(),
                    references: item.references.clone(),
                    probe: item.probe.kind.to_string(),
                    source: item.source.clone(),
                    depends_on: item.depends_on.clone(),
                    params: item.params_shown.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
                    outcome: r.outcome,
                    manual_status: (r.outcome == Outcome::Manual).then_some("pending"),
                    reason: r.reason.as_deref().map(text),
                    expectations: r
                        .expectations
                        .iter()
                        .map(|e| ExpectationResult { observed: e.observed.as_ref().map(value), ..e.clone() })
                        .collect(),
                    facts: r.facts.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
                    attempts: r.attempts,
                    started_at: format_time(r.started_at),
                    duration_ms: duration_ms(r.duration),
                    blocking,
                }
            })
            .collect();
        let Filter { tags, sections, only, skip } = opts.filter.clone();
        Report {
            schema: SCHEMA,
            golive_version: env!("CARGO_PKG_VERSION"),
            run_id: uuid::Uuid::new_v4().to_string(),
            started_at: format_time(run.started_at),
            finished_at: format_time(run.finished_at),
            duration_ms: duration_ms(run.duration),
            host: host_info(),
            checklist: ChecklistInfo {
                name: checklist.name.clone(),
                version: checklist.version.clone(),
                description: checklist.description.clone(),
                files: checklist.files.clone(),
            },
            options: OptionsInfo {
                fail_on,
                concurrency: opts.concurrency,
                deadline_ms: opts.deadline.map(duration_ms),
                tags,
                sections,
                only,
                skip,
            },
            items,
            summary,
            gate: Gate { passed: blocking_ids.is_empty(), fail_on, blocking: blocking_ids },
        }
    }

    /// Sections in the order they first appear.
    pub fn sections(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for item in &self.items {
            if !out.contains(&item.section.as_str()) {
                out.push(&item.section);
            }
        }
        out
    }

    /// "12 items: 9 pass, 1 fail, … — gate FAILED (fail-on high): a, b"
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let mut counts = vec![format!("{} pass", s.pass), format!("{} fail", s.fail), format!("{} error", s.error)];
        for (n, word) in [(s.manual_pending, "manual pending"), (s.waived, "waived"), (s.skipped, "skipped")] {
            if n > 0 {
                counts.push(format!("{n} {word}"));
            }
        }
        let verdict = if self.gate.passed {
            format!("gate PASSED (fail-on {})", self.gate.fail_on.as_str())
        } else {
            format!("gate FAILED (fail-on {}): {} blocking", self.gate.fail_on.as_str(), self.gate.blocking.len())
        };
        format!("{} items: {} — {verdict}", s.total, counts.join(", "))
    }
}

fn host_info() -> HostInfo {
    let hostname = nix::unistd::gethostname().ok().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default();
    let os = sysinfo::System::long_os_version().unwrap_or_else(|_| std::env::consts::OS.to_string());
    let user = nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.name);
    HostInfo { hostname, os, user }
}

/// An output format. Adding one is adding a file here and a line in each match below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &["table", "json"];

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
        }
    }

    fn render(self, report: &Report, style: &Style, redactor: &Redactor) -> Result<String, String> {
        match self {
            Format::Table => Ok(table::render(report, style)),
            Format::Json => json::render(report, redactor),
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown output format `{other}`; formats are: {}", Format::NAMES.join(", "))),
        }
    }
}

/// How terminal formats should look.
#[derive(Clone, Debug, Default)]
pub struct Style {
    pub color: bool,
    /// Terminal width; `None` renders for a log (120 columns).
    pub width: Option<u16>,
}

/// `--output FORMAT[=PATH]`: where a format goes (stdout without a path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub path: Option<PathBuf>,
}

impl FromStr for OutputSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (format, path) = match s.split_once('=') {
            Some((f, "")) => return Err(format!("`{f}=` needs a path after `=`")),
            Some((f, p)) => (f, Some(PathBuf::from(p))),
            None => (s, None),
        };
        Ok(OutputSpec { format: format.parse()?, path })
    }
}

/// The redactor for a run's outputs: the checklist's secrets and the values of secret
/// facts observed during the run (an `env` probe's value may be printed by a command).
pub fn run_redactor(checklist: &Checklist, run: &RunResult) -> Redactor {
    let mut redactor = checklist.redactor.clone();
    for result in &run.results {
        for secret in &result.secret_values {
            redactor.add(secret);
        }
    }
    redactor
}

/// Renders one format, with every secret masked.
pub fn render(format: Format, report: &Report, style: &Style, redactor: &Redactor) -> Result<String, String> {
    let text = format.render(report, style, redactor)?;
    Ok(redactor.redact(&text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_parse_with_optional_paths() {
        assert_eq!("json=out/r.json".parse::<OutputSpec>().unwrap().path, Some(PathBuf::from("out/r.json")));
        assert_eq!("table".parse::<OutputSpec>().unwrap(), OutputSpec { format: Format::Table, path: None });
        assert!("xml".parse::<OutputSpec>().unwrap_err().contains("formats are: table, json"));
        assert!("json=".parse::<OutputSpec>().is_err());
    }

    #[test]
    fn gate_counts_what_was_not_checked() {
        use Outcome::*;
        assert!(blocks(Severity::High, Fail, false, Severity::High));
        assert!(blocks(Severity::Critical, Manual, false, Severity::High));
        assert!(!blocks(Severity::Medium, Error, false, Severity::High));
        assert!(blocks(Severity::High, Skipped, false, Severity::High), "skipped by a failed dependency blocks");
        assert!(!blocks(Severity::High, Skipped, true, Severity::High), "filtered out does not");
        assert!(!blocks(Severity::Critical, Pass, false, Severity::Info));
    }
}
