//! The report: one data model built once from the checklist and the run, and rendered by
//! every output format (each format is one file here, behind `Format`). Secrets are masked
//! in the model, value by value (`Report::mask`), before any format renders it: keys,
//! markup and fixed words are never masked, and no truncation can cut through a secret.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::checklist::{Checklist, LoadedFile, Severity, format_date};
pub use crate::engine::ManualStatus;
use crate::engine::{ExpectationResult, Filter, Outcome, RunOptions, RunResult, State, Verdict, WaiverStatus};
use crate::redact::Redactor;
use crate::value::{FactType, Value, ValueMap, duration_ms, format_time};

mod baseline;
pub mod diff;
mod github;
mod gitlab;
mod html;
mod json;
mod junit;
mod markdown;
pub mod merge;
mod prometheus;
mod spill;
mod table;

pub use baseline::{
    Baseline, BaselineChange, ChangeKind, RECENT_RUNS, RecentOutcome, RecentOutcomes, apply_fail_on_regression,
};
pub use table::cell_text;

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
    /// The run's targets and whether each was reached (absent when it had none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<crate::fleet::TargetReport>,
    pub items: Vec<ItemReport>,
    pub summary: Summary,
    pub gate: Gate,
    /// Absent from reports written before sign-off existed.
    #[serde(default)]
    pub signoff: SignoffInfo,
    /// "Changed since baseline", with `golive run --baseline` only (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// The shard this run was (`golive run --shard K/N`), and every item of the whole run,
    /// so `golive report merge` can tell a missing one (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// The reports `golive report merge` combined into this one (absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<MergeInput>>,
    /// Each item's outcomes in earlier stored runs, for the HTML history strip (never part
    /// of the JSON).
    #[serde(skip)]
    pub recent: Option<RecentOutcomes>,
    /// Signature states, when rendering a signed report (never part of the JSON).
    #[serde(skip)]
    pub signatures: Option<SignatureView>,
}

/// `shard` of a report: which part of a split run it is (docs/shards.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// From 1.
    pub index: usize,
    pub total: usize,
    /// The id of every item of the whole run (all shards), in checklist order.
    pub planned_items: Vec<String>,
}

impl ShardInfo {
    /// How many items of the whole run the other shards hold, given this shard's count.
    pub fn in_other_shards(&self, here: usize) -> usize {
        self.planned_items.len().saturating_sub(here)
    }
}

/// One report `golive report merge` combined: where it came from and what it was.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MergeInput {
    /// The file as given to `golive report merge`.
    pub file: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub run_id: String,
    pub golive_version: String,
    pub started_at: String,
    pub finished_at: String,
    pub host: HostInfo,
    /// `{index, total}` of a shard report; `null` for a whole run.
    pub shard: Option<ShardRef>,
    /// Items it has a row for.
    pub items: usize,
    /// Its own gate, as it was written.
    pub gate_passed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRef {
    pub index: usize,
    pub total: usize,
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

/// One item of the report. Serialised by hand (below) so `fact_types` is written from the
/// facts themselves rather than kept beside them; read back by [`Report::from_json`], which
/// gives the facts their recorded types again.
#[derive(Clone, Debug, Deserialize)]
pub struct ItemReport {
    pub id: String,
    /// The target the item ran on (`ID@TARGET` is its id); absent where golive ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
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
    pub params: ValueMap,
    pub outcome: Outcome,
    /// The outcome in detail: why skipped, which manual state; for a waived item, the state
    /// the waiver covers. Reports written before it existed get it inferred when read.
    pub state: State,
    /// For manual items that were reached: `pending` or `attested`.
    pub manual_status: Option<ManualStatus>,
    /// For manual items: the latest attestation recorded (an expired one too).
    #[serde(default)]
    pub attestation: Option<Box<AttestationReport>>,
    /// The waiver that names this item, and what it did.
    #[serde(default)]
    pub waiver: Option<Box<WaiverReport>>,
    pub reason: Option<String>,
    pub expectations: Vec<ExpectationResult>,
    /// Every fact the probe observed (secret ones masked). The JSON report also records
    /// each one's type as `fact_types` (written from the values, see `Serialize` below), so
    /// a saved report renders `1.50s`, not `1500`; reports written before it existed get
    /// the probe's declarations instead.
    pub facts: ValueMap,
    pub attempts: u32,
    pub started_at: String,
    pub duration_ms: f64,
    /// True when this item fails the gate.
    pub blocking: bool,
}

impl Serialize for ItemReport {
    /// The fields in their declared order, `fact_types` after `facts`; `target` only when
    /// the item ran on one.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ItemReport", 26)?;
        st.serialize_field("id", &self.id)?;
        match &self.target {
            Some(target) => st.serialize_field("target", target)?,
            None => st.skip_field("target")?,
        }
        st.serialize_field("title", &self.title)?;
        st.serialize_field("section", &self.section)?;
        st.serialize_field("severity", &self.severity)?;
        st.serialize_field("tags", &self.tags)?;
        st.serialize_field("owner", &self.owner)?;
        st.serialize_field("description", &self.description)?;
        st.serialize_field("references", &self.references)?;
        st.serialize_field("probe", &self.probe)?;
        st.serialize_field("source", &self.source)?;
        st.serialize_field("depends_on", &self.depends_on)?;
        st.serialize_field("params", &self.params)?;
        st.serialize_field("outcome", &self.outcome)?;
        st.serialize_field("state", &self.state)?;
        st.serialize_field("manual_status", &self.manual_status)?;
        st.serialize_field("attestation", &self.attestation)?;
        st.serialize_field("waiver", &self.waiver)?;
        st.serialize_field("reason", &self.reason)?;
        st.serialize_field("expectations", &self.expectations)?;
        st.serialize_field("facts", &self.facts)?;
        st.serialize_field("fact_types", &FactTypes(&self.facts))?;
        st.serialize_field("attempts", &self.attempts)?;
        st.serialize_field("started_at", &self.started_at)?;
        st.serialize_field("duration_ms", &self.duration_ms)?;
        st.serialize_field("blocking", &self.blocking)?;
        st.end()
    }
}

/// `fact_types` of an item: the type of each of its facts, by name.
struct FactTypes<'a>(&'a ValueMap);

impl Serialize for FactTypes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            m.serialize_entry(name, &ValueType::of(value))?;
        }
        m.end()
    }
}

/// The type of an observed value, as the JSON report records it per fact: what JSON alone
/// cannot say (a number of milliseconds is a duration, a string may be a version).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    Null,
    Bool,
    Integer,
    Number,
    String,
    Duration,
    Bytes,
    Version,
    Timestamp,
    List,
    Table,
}

impl ValueType {
    pub fn of(value: &Value) -> ValueType {
        match value {
            Value::Null => ValueType::Null,
            Value::Bool(_) => ValueType::Bool,
            Value::Int(_) => ValueType::Integer,
            Value::Float(_) => ValueType::Number,
            Value::Str(_) => ValueType::String,
            Value::Duration(_) => ValueType::Duration,
            Value::Bytes(_) => ValueType::Bytes,
            Value::Version(_) => ValueType::Version,
            Value::Time(_) => ValueType::Timestamp,
            Value::List(_) => ValueType::List,
            Value::Map(_) => ValueType::Table,
        }
    }

    /// A value read back from JSON, given this type again.
    fn retype(self, value: Value) -> Value {
        match self {
            ValueType::Duration => value.retype(FactType::Duration),
            ValueType::Bytes => value.retype(FactType::Bytes),
            ValueType::Version => value.retype(FactType::Version),
            ValueType::Timestamp => value.retype(FactType::Timestamp),
            _ => value,
        }
    }
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
    /// Items whose `when` did not hold (counted apart from `skipped`).
    #[serde(default)]
    pub not_applicable: usize,
    /// Waivers whose `until` has passed (they had no effect).
    #[serde(default)]
    pub waivers_expired: usize,
}

impl Summary {
    /// Counts one item by its verdict.
    fn count(&mut self, verdict: Verdict) {
        let n = match (verdict.waived, verdict.state) {
            (true, _) => &mut self.waived,
            (false, State::Pass) => &mut self.pass,
            (false, State::Fail) => &mut self.fail,
            (false, State::Error) => &mut self.error,
            (false, State::SkippedByFilter | State::SkippedByDependency) => &mut self.skipped,
            (false, State::ManualAttested) => &mut self.manual_attested,
            (false, State::ManualPending | State::ManualExpired) => &mut self.manual_pending,
            (false, State::NotApplicable) => &mut self.not_applicable,
        };
        *n += 1;
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Gate {
    pub passed: bool,
    pub fail_on: Severity,
    /// Ids of the items that fail the gate, in checklist order.
    pub blocking: Vec<String>,
}

/// Why a JSON document could not be read as a report.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("not a golive report (schema {found:?}; expected {SCHEMA:?})")]
    Schema { found: String },
    #[error("not a valid golive report: {0}")]
    Invalid(#[from] serde_json::Error),
}

/// Why an output could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("cannot serialise the report: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the JUnit report: {0}")]
    Junit(#[from] quick_junit::SerializeError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// An `--output` that does not parse.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OutputSpecError {
    #[error("unknown output format `{0}`; formats are: {formats}", formats = Format::NAMES.join(", "))]
    UnknownFormat(String),
    #[error("`{0}=` needs a path after `=`")]
    MissingPath(String),
}

impl Report {
    /// Builds the report; every value in it is already masked with `redactor`
    /// ([`Report::mask`]), so no later truncation or wrapping can split a secret.
    ///
    /// It takes the run's results, and the checklist's items: the results' facts,
    /// expectations and reasons move into the report rather than being copied, and each
    /// item is let go once its row is built (at 50,000 items, results and items were each
    /// about a third of the memory). The checklist has no items afterwards.
    pub fn build(
        checklist: &mut Checklist,
        run: RunResult,
        opts: &RunOptions,
        fail_on: Severity,
        redactor: &Redactor,
    ) -> Report {
        let mut summary = Summary { total: run.results.len(), ..Default::default() };
        let mut blocking_ids = Vec::new();
        let (started_at, finished_at, duration) = (run.started_at, run.finished_at, run.duration);
        let rows = std::mem::take(&mut checklist.items).into_iter().zip(run.results).map(|(item, r)| {
            let verdict = r.verdict();
            summary.count(verdict);
            if r.waiver.as_ref().is_some_and(|w| w.status == WaiverStatus::Expired) {
                summary.waivers_expired += 1;
            }
            let blocking = verdict.blocks(item.severity, fail_on);
            if blocking {
                blocking_ids.push(item.id.clone());
            }
            ItemReport {
                id: item.id.clone(),
                target: item.target.clone(),
                title: item.title.clone(),
                section: item.section.clone(),
                severity: item.severity,
                tags: item.tags.clone(),
                owner: item.owner.clone(),
                description: item.description.clone(),
                references: item.references.clone(),
                probe: item.probe.kind.to_string(),
                source: item.source.clone(),
                depends_on: item.depends_on.clone(),
                params: item.shown_params().iter_named().map(|(k, v)| (k, v.clone())).collect(),
                outcome: verdict.outcome(),
                state: r.state,
                manual_status: r.state.manual_status(),
                attestation: r.attestation.as_ref().map(|a| {
                    Box::new(AttestationReport {
                        by: a.attestation.by.clone(),
                        at: format_time(a.attestation.at),
                        evidence: a.attestation.evidence.clone(),
                        note: a.attestation.note.clone(),
                        until: a.attestation.until.map(format_date),
                        expired: a.expired,
                        source: a.attestation.source.clone(),
                    })
                }),
                waiver: r.waiver.as_ref().map(|w| {
                    Box::new(WaiverReport {
                        reason: w.waiver.reason.clone(),
                        approved_by: w.waiver.approved_by.clone(),
                        until: format_date(w.waiver.until),
                        status: w.status,
                        original_outcome: w.original,
                        source: w.waiver.source.clone(),
                    })
                }),
                reason: r.reason,
                expectations: r.expectations,
                facts: {
                    // A fact another item's `when` read was kept whole for the run; the
                    // report keeps every long text cut.
                    let mut facts = r.facts;
                    facts.values_mut().for_each(Value::keep_bounded);
                    facts
                },
                attempts: r.attempts,
                started_at: format_time(r.started_at),
                duration_ms: duration_ms(r.duration),
                blocking,
            }
        });
        // Collected at their final size at once. (Pushed one by one, so the vector would grow
        // as the items and results are let go, scale50k's peak RSS rose from 167 to 182 MiB:
        // the allocator kept the outgrown copies.)
        let mut items: Vec<ItemReport> = rows.collect();
        // Grouped by target, in the run's target order (where golive runs first); the
        // checklist's order within each. (A run without targets needs no sort, whose buffer
        // would be half the rows again.)
        if !checklist.targets.is_empty() {
            let position: std::collections::HashMap<&str, usize> =
                checklist.targets.iter().enumerate().map(|(n, t)| (t.name.as_str(), n + 1)).collect();
            items.sort_by_key(|i| i.target.as_deref().map_or(0, |t| position.get(t).copied().unwrap_or(usize::MAX)));
        }
        let Filter { tags, sections, only, skip } = opts.filter.clone();
        let mut report = Report {
            schema: SCHEMA.to_string(),
            golive_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: uuid::Uuid::new_v4().to_string(),
            started_at: format_time(started_at),
            finished_at: format_time(finished_at),
            duration_ms: duration_ms(duration),
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
            targets: Vec::new(),
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
            baseline: None,
            shard: None,
            inputs: None,
            recent: None,
            signatures: None,
        };
        report.mask(redactor);
        report
    }

    /// Masks every secret, and every URL password, in the report's values and free text:
    /// titles, descriptions, owners, references, sections, tags, parameters, reasons,
    /// expectations, facts, attestations, waivers, the checklist's name and files, the host,
    /// each merged input's file name and host, the sign-off roles. Never keys, and never the fixed vocabulary and identifiers that
    /// give the report its structure (ids, probe kinds, outcomes, states, severities, fact
    /// and parameter names, schema, run id, times, digests): they are golive's own words or
    /// names, so masking them would only break the report. Masking twice changes nothing.
    pub fn mask(&mut self, redactor: &Redactor) {
        let text = |s: &mut String| {
            if let std::borrow::Cow::Owned(masked) = redactor.redact(s) {
                *s = masked;
            }
        };
        let opt = |s: &mut Option<String>| {
            if let Some(s) = s {
                text(s);
            }
        };
        let all = |list: &mut Vec<String>| list.iter_mut().for_each(text);
        let path = |p: &mut PathBuf| {
            let shown = p.to_string_lossy().into_owned();
            if let std::borrow::Cow::Owned(masked) = redactor.redact(&shown) {
                *p = PathBuf::from(masked);
            }
        };
        let value = |v: &mut Value| v.redact_in_place(redactor);
        let host = |h: &mut HostInfo| {
            text(&mut h.hostname);
            text(&mut h.os);
            opt(&mut h.user);
        };
        host(&mut self.host);
        for input in self.inputs.iter_mut().flatten() {
            text(&mut input.file);
            host(&mut input.host);
        }
        let c = &mut self.checklist;
        text(&mut c.name);
        opt(&mut c.version);
        opt(&mut c.description);
        c.files.iter_mut().for_each(|f| path(&mut f.path));
        path(&mut c.attestations.path);
        let o = &mut self.options;
        all(&mut o.tags);
        all(&mut o.sections);
        all(&mut self.signoff.roles);
        for item in &mut self.items {
            text(&mut item.title);
            text(&mut item.section);
            all(&mut item.tags);
            opt(&mut item.owner);
            opt(&mut item.description);
            all(&mut item.references);
            item.params.values_mut().for_each(value);
            opt(&mut item.reason);
            for e in &mut item.expectations {
                text(&mut e.expected);
                if let Some(v) = e.observed.as_mut() {
                    value(v);
                }
                opt(&mut e.excerpt);
                opt(&mut e.explanation);
            }
            item.facts.values_mut().for_each(value);
            if let Some(a) = item.attestation.as_mut() {
                text(&mut a.by);
                text(&mut a.evidence);
                opt(&mut a.note);
            }
            if let Some(w) = item.waiver.as_mut() {
                text(&mut w.reason);
                text(&mut w.approved_by);
            }
        }
    }

    /// Reads a JSON report back (e.g. the predicate of a signed report), with every fact and
    /// parameter given its type again so values render as in the original run. Reports
    /// written before `state` and `fact_types` existed are read too: the state is inferred
    /// from the other fields, fact types from the probe's declarations.
    pub fn from_json(mut json: serde_json::Value) -> Result<Report, ReadError> {
        let schema = json.get("schema").and_then(|s| s.as_str()).unwrap_or_default().to_string();
        if schema != SCHEMA {
            return Err(ReadError::Schema { found: schema });
        }
        if let Some(items) = json.get_mut("items").and_then(|i| i.as_array_mut()) {
            for item in items.iter_mut().filter_map(|i| i.as_object_mut()) {
                if !item.contains_key("state")
                    && let Some(state) = infer_state(item)
                {
                    item.insert("state".into(), serde_json::Value::String(state.as_str().into()));
                }
            }
        }
        // Each item's recorded fact types, taken out: the report keeps no copy of them (they
        // are written again from the typed values).
        let recorded: Vec<BTreeMap<String, ValueType>> = match json.get_mut("items").and_then(|i| i.as_array_mut()) {
            Some(items) => items
                .iter_mut()
                .map(|item| {
                    let types = item.as_object_mut().and_then(|i| i.remove("fact_types"));
                    types.and_then(|t| serde_json::from_value(t).ok()).unwrap_or_default()
                })
                .collect(),
            None => Vec::new(),
        };
        let mut report: Report = serde_json::from_value(json)?;
        for (item, recorded) in
            report.items.iter_mut().zip(recorded.into_iter().chain(std::iter::repeat_with(BTreeMap::new)))
        {
            item.retype(&recorded);
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

    /// The groups every format shows items in, in order: each section where golive ran,
    /// then each section on each target (`security @ web-1`). See [`ItemReport::group`].
    pub fn sections(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for item in &self.items {
            let group = item.group();
            if !out.iter().any(|g| *g == group) {
                out.push(group.into_owned());
            }
        }
        out
    }

    /// The targets as the run reached them; their errors and names are masked.
    pub fn set_targets(&mut self, targets: Vec<crate::fleet::TargetReport>, redactor: &Redactor) {
        self.targets = targets
            .into_iter()
            .map(|mut t| {
                for s in [&mut t.ssh, &mut t.source] {
                    *s = redactor.redact(s).into_owned();
                }
                t.error = t.error.map(|e| redactor.redact(&e).into_owned());
                t.hostname = t.hostname.map(|h| redactor.redact(&h).into_owned());
                t
            })
            .collect();
    }

    /// One line per target: its name, how it was reached, and its state (`web-1
    /// (deploy@10.0.0.11): connected, host web-1.prod`), for the table, Markdown and HTML.
    pub fn target_lines(&self) -> Vec<String> {
        self.targets
            .iter()
            .map(|t| {
                let state = match (t.state.as_str(), &t.hostname, &t.error) {
                    ("connected", Some(h), _) => format!("connected, host {h}"),
                    ("failed", _, Some(e)) => format!("FAILED: {e}"),
                    (state, _, _) => state.to_string(),
                };
                format!("{} ({}): {state}", t.name, t.ssh)
            })
            .collect()
    }

    /// Which part of a split run this report is, or what it was merged from: a heading line
    /// and, for a merged report, one line per input (the table, Markdown and HTML show them).
    pub fn part_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(shard) = &self.shard {
            lines.push(format!(
                "Shard {} of {}: {} of the run's {}; the other shards hold {} (combine the shard reports with `golive report merge`)",
                shard.index,
                shard.total,
                self.items.len(),
                plural(shard.planned_items.len(), "item"),
                shard.in_other_shards(self.items.len())
            ));
        }
        if let Some(inputs) = &self.inputs {
            lines.push(format!("Merged from {} (golive report merge):", plural(inputs.len(), "report")));
            for input in inputs {
                let part = input.shard.map(|s| format!("shard {}/{}, ", s.index, s.total)).unwrap_or_default();
                lines.push(format!(
                    "{}: {part}run {}, host {} ({}), {} to {}, {}, gate {}, sha256 {}",
                    input.file,
                    input.run_id,
                    input.host.hostname,
                    input.host.os,
                    input.started_at,
                    input.finished_at,
                    plural(input.items, "item"),
                    if input.gate_passed { "passed" } else { "FAILED" },
                    input.sha256
                ));
            }
        }
        lines
    }

    /// "12 items: 9 pass, 1 fail, … — gate FAILED (fail-on high): 2 blocking"
    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        let mut counts = vec![format!("{} pass", s.pass), format!("{} fail", s.fail), format!("{} error", s.error)];
        for (n, word) in [
            (s.manual_pending, "manual pending"),
            (s.manual_attested, "manual attested"),
            (s.waived, "waived"),
            (s.skipped, "skipped"),
            (s.not_applicable, "not applicable"),
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
        let part = match (&self.shard, &self.inputs) {
            (Some(shard), _) => format!("shard {}/{}: ", shard.index, shard.total),
            (None, Some(inputs)) => format!("merged from {}: ", plural(inputs.len(), "report")),
            (None, None) => String::new(),
        };
        format!("{part}{}: {} — {verdict}", plural(s.total, "item"), counts.join(", "))
    }
}

/// `1 item`, `2 items`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("{n} {noun}") } else { format!("{n} {noun}s") }
}

/// The state of an item of a report written before `state` existed, from its outcome,
/// manual status, attestation, waiver and reason. `None` when the outcome is unreadable
/// (deserialising then says what is wrong).
fn infer_state(item: &serde_json::Map<String, serde_json::Value>) -> Option<State> {
    fn text(v: Option<&serde_json::Value>) -> &str {
        v.and_then(|v| v.as_str()).unwrap_or_default()
    }
    let outcome = text(item.get("outcome"));
    let waived = outcome == "waived";
    let before_waiver = if waived { text(item.get("waiver").and_then(|w| w.get("original_outcome"))) } else { outcome };
    let expired = item.get("attestation").and_then(|a| a.get("expired")).and_then(|e| e.as_bool()) == Some(true);
    Some(match before_waiver {
        "pass" => State::Pass,
        "fail" => State::Fail,
        "error" => State::Error,
        // A skip for a filter is never waived (it does not block), and says "not selected".
        "skipped" if !waived && text(item.get("reason")).starts_with("not selected") => State::SkippedByFilter,
        "skipped" if !waived && text(item.get("reason")).starts_with("not applicable") => State::NotApplicable,
        "skipped" => State::SkippedByDependency,
        "manual" if !waived && text(item.get("manual_status")) == "attested" => State::ManualAttested,
        "manual" if expired => State::ManualExpired,
        "manual" => State::ManualPending,
        _ => return None,
    })
}

impl ItemReport {
    /// The group the item is shown in: its section, and its target when it has one.
    pub fn group(&self) -> std::borrow::Cow<'_, str> {
        match &self.target {
            Some(t) => format!("{} @ {t}", self.section).into(),
            None => self.section.as_str().into(),
        }
    }

    /// Why a failed item failed, for one-line outputs (CI annotations, code quality): each
    /// failed expectation as `fact: expected …, observed …`; its reason when it did not fail
    /// on an expectation (an error, a pending manual item), or none failed.
    pub fn failed_expectations(&self) -> Vec<String> {
        if self.outcome != Outcome::Fail {
            return Vec::new();
        }
        self.expectations
            .iter()
            .filter(|e| !e.passed)
            .map(|e| format!("{}: expected {}, observed {}", e.fact, e.expected, e.observed_text()))
            .collect()
    }

    /// Its state and whether a waiver covers it, as the run decided.
    pub fn verdict(&self) -> Verdict {
        Verdict { state: self.state, waived: self.outcome == Outcome::Waived }
    }

    /// `pass`, `fail`, `waived`, `manual: pending`, `manual: attested`…
    pub fn outcome_label(&self) -> &'static str {
        self.verdict().label()
    }

    /// Facts, observed values and parameters read from JSON, given their types again: the
    /// recorded `fact_types` when present, else what the probe declares.
    fn retype(&mut self, recorded: &BTreeMap<String, ValueType>) {
        let spec = crate::probe::find(&self.probe);
        let retype = |name: &str, v: Value| match recorded.get(name) {
            Some(ty) => ty.retype(v),
            None => match spec.and_then(|s| s.fact(name)) {
                Some(f) => v.retype(f.ty),
                None => v,
            },
        };
        self.facts = std::mem::take(&mut self.facts)
            .into_iter()
            .map(|(k, v)| {
                let v = retype(&k, v);
                (k, v)
            })
            .collect();
        for e in &mut self.expectations {
            e.observed = e.observed.take().map(|v| retype(&e.fact, v));
        }
        if let Some(spec) = spec {
            self.params = std::mem::take(&mut self.params)
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

/// Where an item is defined, read back from a report's `file:line:column` (the path may
/// itself hold colons, so it is read from the right).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLoc {
    pub path: String,
    pub line: u64,
    pub column: u64,
}

impl SourceLoc {
    pub fn parse(source: &str) -> Option<SourceLoc> {
        let mut parts = source.rsplitn(3, ':');
        let column = parts.next()?.parse().ok()?;
        let line = parts.next()?.parse().ok()?;
        let path = parts.next().filter(|p| !p.is_empty())?.to_string();
        Some(SourceLoc { path, line, column })
    }

    /// The path as a CI service wants it, relative to the repository's root: the directory
    /// the environment variable `root` names (`GITHUB_WORKSPACE`, `CI_PROJECT_DIR`), when
    /// it is set and holds the file; else the path as recorded (relative to the directory
    /// golive ran in). `None` for a built-in checklist (`golive:NAME`), which is in no
    /// repository.
    pub fn repository_path(&self, root: &str) -> Option<String> {
        if self.path.starts_with("golive:") {
            return None;
        }
        let recorded = std::path::Path::new(&self.path);
        let Some(root) = std::env::var_os(root).filter(|r| !r.is_empty()) else {
            return Some(self.path.clone());
        };
        let real = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let absolute = match std::env::current_dir() {
            Ok(cwd) if recorded.is_relative() => cwd.join(recorded),
            _ => recorded.to_path_buf(),
        };
        match real(&absolute).strip_prefix(real(std::path::Path::new(&root))) {
            Ok(inside) => Some(inside.to_string_lossy().into_owned()),
            Err(_) => Some(self.path.clone()),
        }
    }
}

/// An output format. Adding one is adding a file here and a line in each match below.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Junit,
    Markdown,
    Html,
    /// GitHub Actions workflow commands: annotations on the checklist lines.
    Github,
    /// The Markdown job summary for `$GITHUB_STEP_SUMMARY`.
    GithubSummary,
    /// GitLab's code quality report (Code Climate JSON).
    Gitlab,
    /// OpenMetrics text for node_exporter's textfile collector.
    Prometheus,
}

impl Format {
    pub const NAMES: &'static [&'static str] =
        &["table", "json", "junit", "markdown", "html", "github", "github-summary", "gitlab", "prometheus"];

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Junit => "junit",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Github => "github",
            Format::GithubSummary => "github-summary",
            Format::Gitlab => "gitlab",
            Format::Prometheus => "prometheus",
        }
    }

    fn render(self, report: &Report, style: &Style) -> Result<String, RenderError> {
        match self {
            Format::Table => Ok(table::render(report, style)),
            Format::Json => json::render(report),
            Format::Junit => junit::render(report),
            Format::Markdown => Ok(markdown::render(report)),
            Format::Html => Ok(html::render(report)),
            Format::Github => Ok(github::render(report)),
            Format::GithubSummary => Ok(github::render_summary(report)),
            Format::Gitlab => gitlab::render(report),
            Format::Prometheus => Ok(prometheus::render(report)),
        }
    }

    /// Writes this format of `report` to `out` as it is produced, never whole in memory:
    /// JSON and JUnit as they are serialised, item by item; the table a chunk of rows at a
    /// time; Markdown, HTML, GitHub's commands and summary and the OpenMetrics text piece by
    /// piece; GitLab's issues one by one. The same bytes as [`render`] gives.
    fn write(self, report: &Report, style: &Style, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
        match self {
            Format::Json => json::write(report, out),
            Format::Junit => junit::write(report, out),
            Format::Table => Ok(table::write(report, style, out)?),
            Format::Markdown => Ok(markdown::write(report, out)?),
            Format::Html => Ok(html::write(report, out)?),
            Format::Github => Ok(github::write(report, out)?),
            Format::GithubSummary => Ok(github::write_summary(report, out)?),
            Format::Gitlab => gitlab::write(report, out),
            Format::Prometheus => Ok(prometheus::write(report, out)?),
        }
    }
}

impl FromStr for Format {
    type Err = OutputSpecError;
    fn from_str(s: &str) -> Result<Self, OutputSpecError> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "junit" => Ok(Format::Junit),
            "markdown" | "md" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            "github" => Ok(Format::Github),
            "github-summary" => Ok(Format::GithubSummary),
            "gitlab" => Ok(Format::Gitlab),
            "prometheus" | "openmetrics" => Ok(Format::Prometheus),
            other => Err(OutputSpecError::UnknownFormat(other.to_string())),
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
    type Err = OutputSpecError;
    fn from_str(s: &str) -> Result<Self, OutputSpecError> {
        let (format, path) = match s.split_once('=') {
            Some((f, "")) => return Err(OutputSpecError::MissingPath(f.to_string())),
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

/// Renders one format, with every secret masked: the report's values are masked (again:
/// a saved report read back may predate a rule), then rendered; the rendered text is not
/// searched, so keys and markup stay intact.
pub fn render(format: Format, report: &Report, style: &Style, redactor: &Redactor) -> Result<String, RenderError> {
    let mut masked = report.clone();
    masked.mask(redactor);
    format.render(&masked, style)
}

/// A report whose values are masked: [`write_masked`] takes one, so
/// several outputs of one large report need neither a copy of it nor a mask each.
pub struct Masked<'a>(&'a Report);

impl Report {
    /// Masks the report in place ([`Report::mask`]) and lends it for rendering.
    pub fn masked_for_output<'a>(&'a mut self, redactor: &Redactor) -> Masked<'a> {
        self.mask(redactor);
        Masked(self)
    }
}

impl std::ops::Deref for Masked<'_> {
    type Target = Report;
    fn deref(&self) -> &Report {
        self.0
    }
}

/// Writes one format of a masked report to `out` as it is produced (JSON and JUnit item by
/// item): the same bytes as [`render`].
pub fn write_masked(
    format: Format,
    report: &Masked<'_>,
    style: &Style,
    out: &mut dyn std::io::Write,
) -> Result<(), RenderError> {
    format.write(report.0, style, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large run keeps one result, then one report row, per item: the rare parts (an
    /// attestation, a waiver) are boxed so every item does not pay for them. Printed with
    /// `--nocapture`; the bounds are what this layout gives today, with a little room.
    #[test]
    fn per_item_rows_stay_small() {
        let (row, result) = (std::mem::size_of::<ItemReport>(), std::mem::size_of::<crate::engine::ItemResult>());
        println!("ItemReport {row} bytes, ItemResult {result} bytes");
        assert!(row <= 440, "ItemReport grew to {row} bytes");
        assert!(result <= 168, "ItemResult grew to {result} bytes");
    }

    /// Every format writes, as it goes, the bytes it renders in memory (JSON and JUnit by
    /// another serialiser path), with and without colour and width.
    #[test]
    fn every_format_writes_the_bytes_it_renders() {
        let report: Report = serde_json::from_str(include_str!("../../tests/fixtures/report-varied.json")).unwrap();
        let names = ["table", "json", "junit", "markdown", "html", "github", "github-summary", "gitlab", "prometheus"];
        for name in names {
            let format: Format = name.parse().unwrap();
            for style in [Style::default(), Style { color: true, width: Some(80) }] {
                let rendered = format.render(&report, &style).unwrap();
                let mut written = Vec::new();
                format.write(&report, &style, &mut written).unwrap();
                assert!(rendered.len() > 500, "{name} renders the report");
                assert_eq!(rendered, String::from_utf8(written).unwrap(), "{name} writes other bytes than it renders");
            }
        }
    }

    #[test]
    fn sources_are_read_from_the_right() {
        let loc = SourceLoc::parse("deploy/a:b.toml:12:3").unwrap();
        assert_eq!(loc, SourceLoc { path: "deploy/a:b.toml".into(), line: 12, column: 3 });
        assert_eq!(SourceLoc::parse("golive:quickstart:4:1").unwrap().repository_path("NO_SUCH_ROOT_VAR"), None);
        assert_eq!(SourceLoc::parse("12:3"), None);
    }

    #[test]
    fn outputs_parse_with_optional_paths() {
        assert_eq!("json=out/r.json".parse::<OutputSpec>().unwrap().path, Some(PathBuf::from("out/r.json")));
        assert_eq!("table".parse::<OutputSpec>().unwrap(), OutputSpec { format: Format::Table, path: None });
        assert_eq!(
            "xml".parse::<OutputSpec>().unwrap_err().to_string(),
            "unknown output format `xml`; formats are: table, json, junit, markdown, html, github, github-summary, gitlab, prometheus"
        );
        assert_eq!("json=".parse::<OutputSpec>().unwrap_err().to_string(), "`json=` needs a path after `=`");
    }
}
