//! The report: one data model built once from the checklist and the run, and rendered by
//! every output format (each format is one file here, behind `Format`). Every rendered
//! output passes through the checklist's redactor last.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::checklist::{Checklist, LoadedFile, Severity, format_date};
use crate::engine::{ExpectationResult, Filter, ItemResult, Outcome, RunOptions, RunResult, WaiverStatus};
use crate::redact::Redactor;
use crate::value::{FactType, Value, duration_ms, format_time};

mod html;
mod json;
mod junit;
mod markdown;
mod table;

/// The version of the JSON report layout; bumped on any incompatible change.
pub const SCHEMA: &str = "golive.report/v1";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub golive_version: String,
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
    /// Absent from reports written before sign-off existed.
    #[serde(default)]
    pub signoff: SignoffInfo,
    /// Signature states, when rendering a signed report (never part of the JSON).
    #[serde(skip)]
    pub signatures: Option<SignatureView>,
}

/// `[signoff]` of the checklist: the roles that must sign this report.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SignoffInfo {
    pub roles: Vec<String>,
}

/// The sign-off state of a signed report, as `golive report --keys` found it.
#[derive(Clone, Debug, Default)]
pub struct SignatureView {
    /// Whether signatures were checked against a keyring.
    pub checked: bool,
    pub signoffs: Vec<SignoffView>,
    /// Every problem verification found (empty when everything holds).
    pub problems: Vec<String>,
    /// Extra subjects the report envelope covers besides the checklist files.
    pub subjects: Vec<(String, String)>,
}

#[derive(Clone, Debug)]
pub struct SignoffView {
    pub role: String,
    pub name: String,
    pub signed_at: String,
    pub acknowledged_failed_gate: bool,
    pub state: SignatureState,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureState {
    /// The signature verifies with a key the keyring gives this role.
    Verified { keyid: String },
    /// It does not; why.
    Invalid(String),
    /// No keyring was given.
    Unchecked,
}

/// One line of a sign-off block: a role and who signed it, if anyone.
pub struct SignoffRow<'a> {
    pub role: &'a str,
    pub signoff: Option<&'a SignoffView>,
    /// Not listed in `[signoff] roles` (signed anyway).
    pub extra: bool,
}

impl SignoffRow<'_> {
    /// `signature verified`, `NOT VERIFIED: …`, `not signed`…
    pub fn state_text(&self) -> String {
        match self.signoff.map(|s| &s.state) {
            None => "not signed".into(),
            Some(SignatureState::Verified { keyid }) => {
                format!("signature verified (key {})", &keyid[..keyid.len().min(16)])
            }
            Some(SignatureState::Invalid(why)) => format!("signature NOT VERIFIED: {why}"),
            Some(SignatureState::Unchecked) => "signed; signature not checked (no keyring given)".into(),
        }
    }

    pub fn ok(&self) -> Option<bool> {
        match self.signoff.map(|s| &s.state) {
            None => Some(false),
            Some(SignatureState::Verified { .. }) => Some(true),
            Some(SignatureState::Invalid(_)) => Some(false),
            Some(SignatureState::Unchecked) => None,
        }
    }
}
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HostInfo {
    pub hostname: String,
    pub os: String,
    pub user: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChecklistInfo {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    pub files: Vec<LoadedFile>,
    #[serde(default)]
    pub attestations: AttestationsInfo,
}

/// The attestations file the run read.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AttestationsInfo {
    pub path: PathBuf,
    /// Hex SHA-256 of its bytes; `null` when it did not exist.
    pub sha256: Option<String>,
    /// Entries it holds for manual items of this checklist.
    pub entries: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OptionsInfo {
    pub fail_on: Severity,
    pub concurrency: usize,
    pub deadline_ms: Option<f64>,
    pub tags: Vec<String>,
    pub sections: Vec<String>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
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
    /// For manual items that were reached: `pending` or `attested`.
    pub manual_status: Option<ManualStatus>,
    /// For manual items: the latest attestation recorded (an expired one too).
    #[serde(default)]
    pub attestation: Option<AttestationReport>,
    /// The waiver that names this item, and what it did.
    #[serde(default)]
    pub waiver: Option<WaiverReport>,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManualStatus {
    Pending,
    Attested,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttestationReport {
    pub by: String,
    pub at: String,
    pub evidence: String,
    pub note: Option<String>,
    /// `YYYY-MM-DD`, the last day it is valid; `null`: no end.
    pub until: Option<String>,
    pub expired: bool,
    /// `file:line:column` in the attestations file.
    pub source: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WaiverReport {
    pub reason: String,
    pub approved_by: String,
    /// `YYYY-MM-DD`, the last day it applies (UTC).
    pub until: String,
    pub status: WaiverStatus,
    /// The outcome the item had before the waiver was considered.
    pub original_outcome: Outcome,
    /// `file:line:column` of the `[[waiver]]`.
    pub source: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skipped: usize,
    pub waived: usize,
    pub manual_pending: usize,
    pub manual_attested: usize,
    /// Waivers whose `until` has passed (they had no effect).
    #[serde(default)]
    pub waivers_expired: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Gate {
    pub passed: bool,
    pub fail_on: Severity,
    /// Ids of the items that fail the gate, in checklist order.
    pub blocking: Vec<String>,
}

/// Whether an item with this result fails the gate at the given threshold: a fail, an error
/// or a pending manual item at or above it; and an item at or above it that was never
/// checked because a dependency failed (the gate never passes on what it did not see).
fn blocks(severity: Severity, r: &ItemResult, fail_on: Severity) -> bool {
    severity >= fail_on
        && match r.outcome {
            Outcome::Fail | Outcome::Error => true,
            Outcome::Manual => !r.attested(),
            Outcome::Skipped => !r.filtered_out,
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
                    Outcome::Manual if r.attested() => summary.manual_attested += 1,
                    Outcome::Manual => summary.manual_pending += 1,
                }
                if r.waiver.as_ref().is_some_and(|w| w.status == WaiverStatus::Expired) {
                    summary.waivers_expired += 1;
                }
                let blocking = blocks(item.severity, r, fail_on);
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
                    manual_status: match (item.is_manual(), r.outcome) {
                        (true, Outcome::Manual) if r.attested() => Some(ManualStatus::Attested),
                        (true, Outcome::Manual) => Some(ManualStatus::Pending),
                        (true, Outcome::Waived) => Some(ManualStatus::Pending),
                        _ => None,
                    },
                    attestation: r.attestation.as_ref().map(|a| AttestationReport {
                        by: text(&a.attestation.by),
                        at: format_time(a.attestation.at),
                        evidence: text(&a.attestation.evidence),
                        note: a.attestation.note.as_deref().map(text),
                        until: a.attestation.until.map(format_date),
                        expired: a.expired,
                        source: a.attestation.source.clone(),
                    }),
                    waiver: r.waiver.as_ref().map(|w| WaiverReport {
                        reason: text(&w.waiver.reason),
                        approved_by: text(&w.waiver.approved_by),
                        until: format_date(w.waiver.until),
                        status: w.status,
                        original_outcome: w.original,
                        source: w.waiver.source.clone(),
                    }),
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
            schema: SCHEMA.to_string(),
            golive_version: env!("CARGO_PKG_VERSION").to_string(),
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
                attestations: AttestationsInfo {
                    path: checklist.attestations.path.clone(),
                    sha256: checklist.attestations.sha256.clone(),
                    entries: checklist.attestations.entries.len(),
                },
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
            signoff: SignoffInfo { roles: checklist.signoff_roles.clone() },
            signatures: None,
        }
    }

    /// Reads a JSON report back (e.g. the predicate of a signed report), with every fact and
    /// parameter given its declared type again so values render as in the original run.
    pub fn from_json(json: serde_json::Value) -> Result<Report, String> {
        let schema = json.get("schema").and_then(|s| s.as_str()).unwrap_or_default().to_string();
        if schema != SCHEMA {
            return Err(format!("not a golive report (schema {schema:?}; expected {SCHEMA:?})"));
        }
        let mut report: Report = serde_json::from_value(json).map_err(|e| format!("not a valid golive report: {e}"))?;
        for item in &mut report.items {
            let Some(spec) = crate::probe::find(&item.probe) else { continue };
            let fact_type = |name: &str| spec.fact(name).map(|f| f.ty);
            item.facts = std::mem::take(&mut item.facts)
                .into_iter()
                .map(|(k, v)| {
                    let v = match fact_type(&k) {
                        Some(ty) => v.retype(ty),
                        None => v,
                    };
                    (k, v)
                })
                .collect();
            for e in &mut item.expectations {
                if let (Some(ty), Some(v)) = (fact_type(&e.fact), e.observed.take()) {
                    e.observed = Some(v.retype(ty));
                }
            }
            item.params = std::mem::take(&mut item.params)
                .into_iter()
                .map(|(k, v)| {
                    let v = match spec.param(&k).map(|p| p.ty) {
                        Some(crate::probe::ParamType::Duration) => v.retype(FactType::Duration),
                        _ => v,
                    };
                    (k, v)
                })
                .collect();
        }
        Ok(report)
    }

    /// The sign-off block: every role of `[signoff]`, then roles signed but not listed.
    pub fn signoff_rows(&self) -> Vec<SignoffRow<'_>> {
        let signoffs: &[SignoffView] = self.signatures.as_ref().map(|s| s.signoffs.as_slice()).unwrap_or_default();
        let mut rows: Vec<SignoffRow<'_>> = self
            .signoff
            .roles
            .iter()
            .map(|role| SignoffRow {
                role,
                // A verified sign-off of the role wins over one that does not verify.
                signoff: signoffs
                    .iter()
                    .filter(|s| &s.role == role)
                    .max_by_key(|s| matches!(s.state, SignatureState::Verified { .. })),
                extra: false,
            })
            .collect();
        for s in signoffs {
            if !self.signoff.roles.contains(&s.role) {
                rows.push(SignoffRow { role: &s.role, signoff: Some(s), extra: true });
            }
        }
        rows
    }

    /// Items that failed or errored, blocking ones first, then in checklist order.
    pub fn problems(&self) -> Vec<&ItemReport> {
        let mut out: Vec<&ItemReport> =
            self.items.iter().filter(|i| i.blocking || matches!(i.outcome, Outcome::Fail | Outcome::Error)).collect();
        out.sort_by_key(|i| !i.blocking);
        out
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
        for (n, word) in [
            (s.manual_pending, "manual pending"),
            (s.manual_attested, "manual attested"),
            (s.waived, "waived"),
            (s.skipped, "skipped"),
        ] {
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

impl ItemReport {
    /// `pass`, `fail`, `waived`, `manual: pending`, `manual: attested`…
    pub fn outcome_label(&self) -> String {
        match (self.outcome, self.manual_status) {
            (Outcome::Manual, Some(ManualStatus::Attested)) => "manual: attested".into(),
            (Outcome::Manual, _) => "manual: pending".into(),
            (o, _) => o.as_str().into(),
        }
    }

    /// What the item's waiver did, in one line.
    pub fn waiver_line(&self) -> Option<String> {
        let w = self.waiver.as_ref()?;
        let who = format!("{} — approved by {} until {}", w.reason, w.approved_by, w.until);
        Some(match w.status {
            WaiverStatus::Applied => format!("waived (was {}): {who}", w.original_outcome.as_str()),
            WaiverStatus::Expired => format!("waiver EXPIRED on {}, no effect: {who}", w.until),
            WaiverStatus::Unused => format!("waiver not needed: {who}"),
        })
    }

    /// Who attested the item, when and with what evidence, in one line.
    pub fn attestation_line(&self) -> Option<String> {
        let a = self.attestation.as_ref()?;
        let note = a.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default();
        let until = a.until.as_ref().map(|u| format!(", valid until {u}")).unwrap_or_default();
        Some(if a.expired {
            format!(
                "attestation EXPIRED on {}: {} at {}: {}{note}",
                a.until.as_deref().unwrap_or("?"),
                a.by,
                a.at,
                a.evidence
            )
        } else {
            format!("attested by {} at {}: {}{note}{until}", a.by, a.at, a.evidence)
        })
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
    Junit,
    Markdown,
    Html,
}

impl Format {
    pub const NAMES: &'static [&'static str] = &["table", "json", "junit", "markdown", "html"];

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }

    fn render(self, report: &Report, style: &Style, redactor: &Redactor) -> Result<String, String> {
        match self {
            Format::Table => Ok(table::render(report, style)),
            Format::Json => json::render(report, redactor),
            Format::Junit => junit::render(report),
            Format::Markdown => Ok(markdown::render(report)),
            Format::Html => Ok(html::render(report)),
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
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
        assert!("xml".parse::<OutputSpec>().unwrap_err().contains("formats are: table, json, junit, markdown, html"));
        assert!("json=".parse::<OutputSpec>().is_err());
    }

    fn result(outcome: Outcome, filtered_out: bool) -> ItemResult {
        ItemResult {
            outcome,
            reason: None,
            expectations: vec![],
            facts: Default::default(),
            attempts: 0,
            started_at: time::OffsetDateTime::UNIX_EPOCH,
            duration: std::time::Duration::ZERO,
            filtered_out,
            secret_values: vec![],
            attestation: None,
            waiver: None,
        }
    }

    #[test]
    fn gate_counts_what_was_not_checked() {
        use Outcome::*;
        assert!(blocks(Severity::High, &result(Fail, false), Severity::High));
        assert!(blocks(Severity::Critical, &result(Manual, false), Severity::High));
        assert!(!blocks(Severity::Medium, &result(Error, false), Severity::High));
        assert!(blocks(Severity::High, &result(Skipped, false), Severity::High), "skipped by a failed dependency");
        assert!(!blocks(Severity::High, &result(Skipped, true), Severity::High), "filtered out does not");
        assert!(!blocks(Severity::Critical, &result(Pass, false), Severity::Info));
        assert!(!blocks(Severity::Critical, &result(Waived, false), Severity::Info));
    }
}
