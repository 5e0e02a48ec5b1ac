//! The engine: select items (filters plus their dependencies), run their probes with bounded
//! concurrency, per-item timeouts, retries and a run deadline, and judge the observed facts
//! against each item's expectations. A probe that panics or hangs ends as an `error`
//! outcome for its item; the run goes on.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, watch};

use crate::checklist::{Attestation, Checklist, Condition, Expectation, Item, Severity, Subject, Waiver};
use crate::lang::matcher::Matcher;
use crate::probe::{Facts, ProbeInput, Shared};
use crate::value::{Value, ValueMap, format_duration};

pub mod shard;
pub mod threads;

#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub tags: Vec<String>,
    pub sections: Vec<String>,
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Filter {
    fn is_empty(&self) -> bool {
        self.tags.is_empty() && self.sections.is_empty() && self.only.is_empty() && self.skip.is_empty()
    }

    pub fn matches(&self, item: &Item) -> bool {
        (self.tags.is_empty() || item.tags.iter().any(|t| self.tags.contains(t)))
            && (self.sections.is_empty() || self.sections.contains(&item.section))
            && (self.only.is_empty() || self.only.iter().any(|o| *o == item.id || o == item.base_id()))
            && !self.skip.iter().any(|o| *o == item.id || o == item.base_id())
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for (flag, values) in
            [("--tag", &self.tags), ("--section", &self.sections), ("--only", &self.only), ("--skip", &self.skip)]
        {
            if !values.is_empty() {
                parts.push(format!("{flag} {}", values.join(",")));
            }
        }
        parts.join(" ")
    }
}

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub concurrency: usize,
    /// The run's targets and their connections, when it has targets.
    pub fleet: Option<Arc<crate::fleet::Fleet>>,
    pub deadline: Option<Duration>,
    pub filter: Filter,
    /// Set to the signal's name (`SIGINT`) to stop the run: see [`Stop::Interrupted`].
    pub interrupt: Option<Interrupt>,
    /// What the items share (HTTP clients, database pools, Redis connections). `None`: the
    /// run makes its own and closes what it kept open when its items are done. Given: the
    /// caller closes it ([`Shared::close`]) when it likes; `golive run` does so while it
    /// writes the reports, so a database backend's exit does not hold them up.
    pub shared: Option<Arc<Shared>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            concurrency: 64,
            fleet: None,
            deadline: None,
            filter: Filter::default(),
            interrupt: None,
            shared: None,
        }
    }
}

/// How the command line tells a run that golive received a signal: the signal's name.
pub type Interrupt = watch::Receiver<Option<&'static str>>;

/// Why a run stopped before every item ended. No item starts after a stop; running ones
/// are cancelled (their probes dropped, so what they started is ended) and every item left
/// unfinished is an `error` with [`Stop::reason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The run's `--deadline` passed.
    Deadline(Duration),
    /// golive received this signal (`SIGINT`, `SIGTERM`, `SIGHUP`).
    Interrupted(&'static str),
}

impl Stop {
    /// The reason of every item the stop left unfinished.
    pub fn reason(self) -> String {
        match self {
            Stop::Deadline(d) => {
                format!("deadline: the run's --deadline of {} passed before this item finished", format_duration(d))
            }
            Stop::Interrupted(signal) => format!("interrupted: golive received {signal} before this item finished"),
        }
    }
}

/// Resolves once the run is stopped; never when the stop's sender is gone without a stop.
async fn stopped(rx: &mut watch::Receiver<Option<Stop>>) {
    if rx.wait_for(Option::is_some).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How an item ended, as the JSON report's `outcome` names it (docs/outcomes.md). The
/// detail behind it (why skipped, which manual state) is the item's [`State`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    Error,
    Skipped,
    Waived,
    Manual,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
            Outcome::Waived => "waived",
            Outcome::Manual => "manual",
        }
    }
}

/// How an item ended, in full: the outcome and why. Labels, what dependents see and
/// whether an item would block the gate are decided here, and nowhere else. A waiver does
/// not change the state; it covers it (see [`Verdict`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// The probe observed, and every expectation held.
    Pass,
    /// The probe observed, and an expectation did not hold.
    Fail,
    /// The probe could not observe (or the deadline passed).
    Error,
    /// The run's filters left the item out.
    SkippedByFilter,
    /// A `depends_on` item did not pass.
    SkippedByDependency,
    /// A manual item with no attestation.
    ManualPending,
    /// A manual item with a valid attestation.
    ManualAttested,
    /// A manual item whose latest attestation expired: pending again.
    ManualExpired,
    /// A `when` condition does not hold, or an item it depends on is not applicable: never
    /// run, never blocking.
    NotApplicable,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pass => "pass",
            State::Fail => "fail",
            State::Error => "error",
            State::SkippedByFilter => "skipped_by_filter",
            State::SkippedByDependency => "skipped_by_dependency",
            State::ManualPending => "manual_pending",
            State::ManualAttested => "manual_attested",
            State::ManualExpired => "manual_expired",
            State::NotApplicable => "not_applicable",
        }
    }

    /// The outcome this state is, before any waiver.
    pub fn outcome(self) -> Outcome {
        match self {
            State::Pass => Outcome::Pass,
            State::Fail => Outcome::Fail,
            State::Error => Outcome::Error,
            State::SkippedByFilter | State::SkippedByDependency | State::NotApplicable => Outcome::Skipped,
            State::ManualPending | State::ManualAttested | State::ManualExpired => Outcome::Manual,
        }
    }

    /// How it reads in tables and reasons: `fail`, `skipped`, `manual: pending`…
    pub fn label(self) -> &'static str {
        match self {
            State::ManualAttested => "manual: attested",
            State::ManualPending | State::ManualExpired => "manual: pending",
            State::NotApplicable => "not applicable",
            other => other.outcome().as_str(),
        }
    }

    /// The gate's rule, the only copy: a fail, an error, a pending manual item, and an item
    /// never checked because a dependency did not pass (the gate never passes on what it
    /// did not see) would block at or above the threshold; a waiver can cover exactly these.
    pub fn would_block(self) -> bool {
        match self {
            State::Fail | State::Error | State::ManualPending | State::ManualExpired => true,
            State::SkippedByDependency => true,
            State::Pass | State::ManualAttested | State::SkippedByFilter | State::NotApplicable => false,
        }
    }

    /// What dependents see: a pass, or an attested manual item.
    pub fn counts_as_passed(self) -> bool {
        matches!(self, State::Pass | State::ManualAttested)
    }

    /// `pending` or `attested` for a manual item that was reached.
    pub fn manual_status(self) -> Option<ManualStatus> {
        match self {
            State::ManualPending | State::ManualExpired => Some(ManualStatus::Pending),
            State::ManualAttested => Some(ManualStatus::Attested),
            _ => None,
        }
    }
}

/// A reached manual item: confirmed by a person, or still waiting for one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ManualStatus {
    Pending,
    Attested,
}

/// The final word on an item: its state, and whether an applied waiver covers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub state: State,
    pub waived: bool,
}

impl Verdict {
    pub fn outcome(self) -> Outcome {
        if self.waived { Outcome::Waived } else { self.state.outcome() }
    }

    /// `pass`, `fail`, `waived`, `skipped`, `manual: pending`, `manual: attested`…
    pub fn label(self) -> &'static str {
        if self.waived { Outcome::Waived.as_str() } else { self.state.label() }
    }

    /// Whether the item fails the gate at threshold `fail_on`.
    pub fn blocks(self, severity: Severity, fail_on: Severity) -> bool {
        severity >= fail_on && !self.waived && self.state.would_block()
    }
}

/// One expectation, judged: what was expected, what was seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub fact: String,
    pub expected: String,
    /// `None` when the probe did not produce the fact.
    pub observed: Option<Value>,
    pub passed: bool,
    /// A long observed value (many lines, a long text or list) in a few lines: the lines
    /// the expectation looks for, or the first ones, numbered. Outputs for people show
    /// this instead of the whole value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// Why it failed, from the facts the probe declares as explaining this one
    /// (`probe::explain`): `verify_error: unknown issuer (…)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

/// Observed values longer than this many characters (or of more than one line) are shown
/// as an excerpt.
pub const EXCERPT_OVER_CHARS: usize = 160;
/// At most this many lines (or list entries) in an excerpt, each cut to `EXCERPT_OVER_CHARS`.
pub const EXCERPT_LINES: usize = 5;

impl ExpectationResult {
    /// The observed value as a person reads it: the excerpt when there is one.
    pub fn observed_text(&self) -> String {
        match (&self.excerpt, &self.observed) {
            (Some(excerpt), _) => excerpt.clone(),
            (None, Some(v)) => v.to_string(),
            (None, None) => "not observed".to_string(),
        }
    }
}

/// A long value in a few lines: for text, the lines `matcher` looks for (a `contains` or
/// `matches`), else the first ones, each with its line number; for a list, its first
/// entries. `None` when the value is short enough to show whole.
pub fn excerpt(value: &Value, matcher: &Matcher) -> Option<String> {
    let clip = |s: &str| crate::diag::clip(s, EXCERPT_OVER_CHARS).into_owned();
    match value {
        Value::Str(text) if text.trim_end().contains('\n') || text.chars().count() > EXCERPT_OVER_CHARS => {
            let lines: Vec<&str> = text.lines().collect();
            let wanted = |line: &str| match matcher {
                Matcher::Contains(s) => line.contains(s.as_str()),
                Matcher::Matches(re) => re.is_match(line),
                Matcher::Not(inner) => match inner.as_ref() {
                    Matcher::Contains(s) => line.contains(s.as_str()),
                    Matcher::Matches(re) => re.is_match(line),
                    _ => false,
                },
                _ => false,
            };
            let mut picked: Vec<usize> = (0..lines.len()).filter(|&i| wanted(lines[i])).take(EXCERPT_LINES).collect();
            if picked.is_empty() {
                picked = (0..lines.len().min(EXCERPT_LINES)).collect();
            }
            let mut out: Vec<String> = picked.iter().map(|&i| format!("line {}: {}", i + 1, clip(lines[i]))).collect();
            if lines.len() > picked.len() {
                out.push(format!("… ({} lines, {} bytes in all)", lines.len(), text.len()));
            }
            Some(out.join("\n"))
        }
        Value::List(items) if items.len() > EXCERPT_LINES || value.to_string().chars().count() > EXCERPT_OVER_CHARS => {
            // One line: a list reads as a list, its first entries and how many more.
            let first: Vec<String> = items.iter().take(EXCERPT_LINES).map(|v| clip(&v.to_string())).collect();
            let more = items.len().saturating_sub(EXCERPT_LINES);
            Some(if more > 0 { format!("{} … and {more} more", first.join(", ")) } else { first.join(", ") })
        }
        _ => None,
    }
}

#[derive(Clone, Debug)]
pub struct ItemResult {
    /// How it ended, before any waiver; [`ItemResult::verdict`] adds the waiver.
    pub state: State,
    /// Why it errored, was skipped, or is pending; the first failed expectation for fails.
    pub reason: Option<String>,
    pub expectations: Vec<ExpectationResult>,
    /// Every fact the probe observed, secret ones masked.
    pub facts: ValueMap,
    pub attempts: u32,
    pub started_at: time::OffsetDateTime,
    pub duration: Duration,
    /// Values of secret facts (an `env` probe's value): masked in every output.
    pub secret_values: Vec<String>,
    /// For manual items: the latest attestation recorded, if any (an expired one too).
    /// Boxed, like the waiver: most items have neither, and a result is kept per item.
    pub attestation: Option<Box<AttestationUse>>,
    /// The waiver that names this item, if any, and what it did.
    pub waiver: Option<Box<WaiverUse>>,
}

#[derive(Clone, Debug)]
pub struct AttestationUse {
    pub attestation: Attestation,
    /// Its `until` has passed: the item is pending again.
    pub expired: bool,
}

/// What a waiver did to its item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaiverStatus {
    /// The item would have blocked (fail, error, manual pending, skipped for a dependency):
    /// it is `waived` instead.
    Applied,
    /// The waiver's `until` has passed: it has no effect.
    Expired,
    /// The item did not need it (it passed, was attested, or was filtered out).
    Unused,
}

impl WaiverStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WaiverStatus::Applied => "applied",
            WaiverStatus::Expired => "expired",
            WaiverStatus::Unused => "unused",
        }
    }
}

#[derive(Clone, Debug)]
pub struct WaiverUse {
    pub waiver: Waiver,
    pub status: WaiverStatus,
    /// The outcome the item had before the waiver was considered.
    pub original: Outcome,
}

impl ItemResult {
    fn without_run(state: State, reason: String) -> Self {
        ItemResult {
            state,
            reason: Some(reason),
            expectations: Vec::new(),
            facts: ValueMap::new(),
            attempts: 0,
            started_at: time::OffsetDateTime::now_utc(),
            duration: Duration::ZERO,
            secret_values: Vec::new(),
            attestation: None,
            waiver: None,
        }
    }

    /// Its state and whether a waiver covers it.
    pub fn verdict(&self) -> Verdict {
        Verdict { state: self.state, waived: self.waiver.as_ref().is_some_and(|w| w.status == WaiverStatus::Applied) }
    }

    /// The outcome as reported: `waived` when a waiver applied, else the state's.
    pub fn outcome(&self) -> Outcome {
        self.verdict().outcome()
    }
}

/// A manual item's result: attested by its latest unexpired attestation, else pending.
fn manual_result(item: &Item, checklist: &Checklist, today: time::Date) -> ItemResult {
    match checklist.attestations.latest(&item.id) {
        Some(a) => {
            let expired = a.expired(today);
            let reason = if expired {
                format!(
                    "pending: the attestation by {} expired on {}",
                    a.by,
                    crate::checklist::format_date(a.until.unwrap_or(today))
                )
            } else {
                format!("attested by {}: {}", a.by, a.evidence)
            };
            let state = if expired { State::ManualExpired } else { State::ManualAttested };
            let mut r = ItemResult::without_run(state, reason);
            r.attestation = Some(Box::new(AttestationUse { attestation: a.clone(), expired }));
            r
        }
        None => ItemResult::without_run(State::ManualPending, "pending: no attestation recorded".into()),
    }
}

/// Records the item's waiver, if any: an unexpired waiver covers a state that would block
/// (the item is then `waived`); an expired or unneeded one changes nothing.
fn apply_waiver(result: &mut ItemResult, waiver: Option<&Waiver>, today: time::Date) {
    let Some(waiver) = waiver else { return };
    let status = if waiver.expired(today) {
        WaiverStatus::Expired
    } else if result.state.would_block() {
        WaiverStatus::Applied
    } else {
        WaiverStatus::Unused
    };
    result.waiver = Some(Box::new(WaiverUse { waiver: waiver.clone(), status, original: result.state.outcome() }));
}

/// Receives item events as they happen (the progress bar listens here).
pub trait Observer: Send + Sync {
    fn started(&self, _total: usize) {}
    fn finished(&self, _item: &Item, _result: &ItemResult) {}
}

pub struct NoObserver;
impl Observer for NoObserver {}

pub struct RunResult {
    pub started_at: time::OffsetDateTime,
    pub finished_at: time::OffsetDateTime,
    pub duration: Duration,
    /// In checklist order.
    pub results: Vec<ItemResult>,
    /// Why the run ended before every item did, if it did.
    pub stopped: Option<Stop>,
}

/// How an item ended, as the items waiting for it see it: its state and, for an item a
/// `when` reads, its facts; `None` until it ends.
type Settled = watch::Receiver<Option<Ended>>;

#[derive(Clone)]
struct Ended {
    state: State,
    facts: Option<Arc<ValueMap>>,
}

impl Ended {
    /// How `result` ended, with the facts other items' `when` read from it (`read`; none
    /// when nothing reads any): only those are copied, so a long text no `when` reads is
    /// not held twice.
    fn of(result: &ItemResult, read: Option<&BTreeSet<String>>) -> Ended {
        let facts = read.map(|names| {
            Arc::new(
                result
                    .facts
                    .iter()
                    .filter(|(k, _)| names.contains(*k))
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect(),
            )
        });
        Ended { state: result.state, facts }
    }
}

/// Runs every selected item of the checklist.
pub async fn run(checklist: &Checklist, opts: &RunOptions, observer: Arc<dyn Observer>) -> RunResult {
    run_keeping(checklist, opts, observer, &[], None).await
}

/// Another round of a run (`golive run --until-pass`): the items `kept` holds a result for
/// (by checklist index; the ones that passed) are not run again, and their dependents see
/// that result, facts included; every other selected item runs as in [`run`]. The run's
/// `--deadline` falls at `deadline_at` (an instant fixed when the first round started)
/// rather than `opts.deadline` after this round's start.
pub async fn run_keeping(
    checklist: &Checklist,
    opts: &RunOptions,
    observer: Arc<dyn Observer>,
    kept: &[Option<ItemResult>],
    deadline_at: Option<tokio::time::Instant>,
) -> RunResult {
    let started_at = time::OffsetDateTime::now_utc();
    let clock = Instant::now();
    let deadline_at = deadline_at.or_else(|| opts.deadline.map(|d| tokio::time::Instant::now() + d));
    let items = &checklist.items;
    let (shared, owned) = match &opts.shared {
        Some(shared) => (shared.clone(), false),
        None => (Arc::new(Shared::default()), true),
    };
    let not_selected = selection(items, &opts.filter);
    let kept_at = |index: usize| kept.get(index).and_then(Option::as_ref);
    observer.started((0..items.len()).filter(|&i| !not_selected[i] && kept_at(i).is_none()).count());

    let results: Arc<Mutex<Vec<Option<ItemResult>>>> = Arc::new(Mutex::new(vec![None; items.len()]));
    let today = started_at.date();
    // What each item's dependents see: its state and, for an item a `when` reads, its
    // facts. Only an item something waits for has a channel.
    let waited_for: HashSet<&str> = items.iter().flat_map(|i| i.waits_for()).collect();
    let mut receivers: HashMap<&str, Settled> = HashMap::new();
    let mut senders: Vec<Option<watch::Sender<Option<Ended>>>> = items
        .iter()
        .map(|item| {
            waited_for.contains(item.id.as_str()).then(|| {
                let (tx, rx) = watch::channel(None);
                receivers.insert(item.id.as_str(), rx);
                tx
            })
        })
        .collect();
    // Items a `when` reads: their facts go to the items waiting for them, and their probes
    // are asked for those facts as for their own expectations.
    let mut read_by_when: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for c in items.iter().flat_map(|i| &i.when) {
        if let Subject::Fact { item, fact } = &c.subject {
            read_by_when.entry(item.as_str()).or_default().insert(fact.clone());
        }
    }
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    if let Some(fleet) = &opts.fleet {
        fleet.forget_failed();
        let needed = items
            .iter()
            .enumerate()
            .filter(|(i, item)| !not_selected[*i] && kept_at(*i).is_none() && !item.is_manual());
        fleet.connect_all(needed.filter_map(|(_, item)| item.target.as_deref()));
    }
    let (stop_tx, stop_rx) = watch::channel::<Option<Stop>>(None);
    let common = TaskCommon {
        shared: shared.clone(),
        permits: permits.clone(),
        results: results.clone(),
        observer: observer.clone(),
        stop: stop_rx.clone(),
        fleet: opts.fleet.clone(),
    };
    let mut tasks = Vec::new();
    // Items that wait for nothing (no dependency, no `when`, no target to connect to) start
    // from this queue as slots free up: a task waiting for its slot costs about 1.5 KiB, and
    // a 50,000-item run held one per item from its start.
    let mut queued: Vec<ItemTask> = Vec::new();
    // In the loader's topological order. Items that wait (and items on a target) are spawned
    // here and ask for a slot when what they wait for has ended; the queued ones get theirs
    // from the feeder below, one at a time in this order, so a dependent item whose
    // dependencies ended queues behind at most the feeder's next request, not every plain item.
    for &index in &checklist.order {
        let Some(item) = items.get(index) else { continue };
        let tx = senders.get_mut(index).and_then(Option::take);
        if not_selected[index] {
            let r =
                ItemResult::without_run(State::SkippedByFilter, format!("not selected ({})", opts.filter.describe()));
            if let Some(tx) = tx {
                let _ = tx.send(Some(Ended::of(&r, None)));
            }
            results.lock().unwrap()[index] = Some(r);
            continue;
        }
        if let Some(r) = kept_at(index) {
            if let Some(tx) = tx {
                let _ = tx.send(Some(Ended::of(r, read_by_when.get(item.id.as_str()))));
            }
            results.lock().unwrap()[index] = Some(r.clone());
            continue;
        }
        let manual = item.is_manual().then(|| Box::new(manual_result(item, checklist, today)));
        let deps: Vec<(String, Settled)> =
            item.depends_on.iter().filter_map(|d| Some((d.clone(), receivers.get(d.as_str())?.clone()))).collect();
        let conditions: Vec<(Condition, Option<Settled>)> = item
            .when
            .iter()
            .map(|c| {
                let rx = match &c.subject {
                    Subject::Fact { item, .. } => receivers.get(item.as_str()).cloned(),
                    Subject::Var { .. } => None,
                };
                (c.clone(), rx)
            })
            .collect();
        let waits = !deps.is_empty() || !conditions.is_empty() || manual.is_some() || item.target.is_some();
        let task = ItemTask {
            index,
            item: item.clone(),
            tx,
            deps,
            conditions,
            manual,
            read_by_others: read_by_when.get(item.id.as_str()).cloned(),
            permit: None,
        };
        if waits {
            tasks.push(tokio::spawn(threads::quiet_panics(task.run(common.clone()))));
        } else {
            queued.push(task);
        }
    }
    if !queued.is_empty() {
        let (common, mut stop) = (common.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            // Dropped (the run stopped and this task was aborted), it aborts what it started.
            let mut running = tokio::task::JoinSet::new();
            for mut task in queued {
                let permit = tokio::select! {
                    biased;
                    _ = stopped(&mut stop) => break,
                    permit = common.permits.clone().acquire_owned() => permit.expect("semaphore is never closed"),
                };
                task.permit = Some(permit);
                running.spawn(threads::quiet_panics(task.run(common.clone())));
                while running.try_join_next().is_some() {}
            }
            while running.join_next().await.is_some() {}
        }));
    }
    drop(common);

    let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
    let mut pending: futures::stream::FuturesUnordered<_> = tasks.into_iter().collect();
    async fn drain(pending: &mut futures::stream::FuturesUnordered<tokio::task::JoinHandle<()>>) {
        use futures::StreamExt;
        while pending.next().await.is_some() {}
    }
    let stop = {
        let all = drain(&mut pending);
        let deadline = async {
            match (opts.deadline, deadline_at) {
                (Some(d), Some(at)) => {
                    tokio::time::sleep_until(at).await;
                    Stop::Deadline(d)
                }
                _ => std::future::pending().await,
            }
        };
        let interrupt = async {
            let signal = match opts.interrupt.clone() {
                Some(mut rx) => rx.wait_for(Option::is_some).await.ok().and_then(|s| *s),
                None => None,
            };
            match signal {
                Some(signal) => Stop::Interrupted(signal),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = all => None,
            stop = deadline => Some(stop),
            stop = interrupt => Some(stop),
        }
    };
    if let Some(stop) = stop {
        let _ = stop_tx.send(Some(stop));
        if matches!(stop, Stop::Interrupted(_)) {
            // Every program still running ends now, even one whose probe is stuck.
            crate::probe::process::end_all();
        }
        // Items end at once when told; a task that does not (its thread blocked) is not
        // waited for long.
        if tokio::time::timeout(Duration::from_secs(2), drain(&mut pending)).await.is_err() {
            aborts.iter().for_each(|a| a.abort());
        }
    }
    if owned {
        shared.close().await;
    }
    drop(shared);
    let finished = clock.elapsed();
    // Moved out whole, not copied (a task that outlived its abort finds no slot to write to).
    let slots: Vec<Option<ItemResult>> = std::mem::take(&mut *results.lock().unwrap());
    let results = slots
        .into_iter()
        .zip(items)
        .map(|(slot, item)| {
            // A waiver of one target's copy (`ID@TARGET`) before a waiver of the item.
            let waiver = checklist
                .waivers
                .iter()
                .find(|w| w.item == item.id)
                .or_else(|| checklist.waivers.iter().find(|w| w.item == item.base_id()));
            let mut result = slot.unwrap_or_else(|| {
                let reason = match stop {
                    Some(stop) => stop.reason(),
                    None => "internal error: the item ended without a result".to_string(),
                };
                let r = ItemResult::without_run(State::Error, reason);
                observer.finished(item, &r);
                r
            });
            apply_waiver(&mut result, waiver, today);
            result
        })
        .collect();
    RunResult { started_at, finished_at: time::OffsetDateTime::now_utc(), duration: finished, results, stopped: stop }
}

/// What every item's task shares.
#[derive(Clone)]
struct TaskCommon {
    shared: Arc<Shared>,
    permits: Arc<Semaphore>,
    results: Arc<Mutex<Vec<Option<ItemResult>>>>,
    observer: Arc<dyn Observer>,
    stop: watch::Receiver<Option<Stop>>,
    fleet: Option<Arc<crate::fleet::Fleet>>,
}

/// One item to run, and what it waits for first.
struct ItemTask {
    index: usize,
    item: Arc<Item>,
    /// Tells the items waiting for this one how it ended (none when nothing waits).
    tx: Option<watch::Sender<Option<Ended>>>,
    deps: Vec<(String, Settled)>,
    conditions: Vec<(Condition, Option<Settled>)>,
    /// A manual item's result, decided already.
    manual: Option<Box<ItemResult>>,
    /// The facts other items' `when` read from this one.
    read_by_others: Option<BTreeSet<String>>,
    /// Its slot, when it was taken before the task started.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl ItemTask {
    async fn run(self, common: TaskCommon) {
        let ItemTask { index, item, tx, deps, conditions, manual, read_by_others, permit } = self;
        let TaskCommon { shared, permits, results, observer, mut stop, fleet } = common;
        let watched_facts = read_by_others.clone();
        let stop_seen = stop.clone();
        let work = async {
            // A var condition that rules the item out decides first. Otherwise every
            // dependency ends: one that is not applicable makes this item not applicable,
            // whatever the others did; else the first that did not pass skips it. Then the
            // fact conditions.
            let mut blocked = None;
            let mut not_applicable = None;
            // A var condition is known already: an item it rules out does not apply,
            // whatever its dependencies do.
            for (condition, _) in conditions.iter().filter(|(c, _)| matches!(c.subject, Subject::Var { .. })) {
                if let Some(Judged::DoesNotHold(why)) = Box::pin(judge_condition(condition, None)).await {
                    not_applicable = Some(why);
                    break;
                }
            }
            let ruled_out = not_applicable.is_some();
            for (dep, mut rx) in deps.into_iter().filter(|_| !ruled_out) {
                // None: the dependency was stopped (deadline, signal), and so is this item.
                let ended = rx.wait_for(|o| o.is_some()).await.ok().and_then(|o| o.clone())?;
                if ended.state == State::NotApplicable {
                    not_applicable
                        .get_or_insert_with(|| format!("not applicable: depends on `{dep}`, which is not applicable"));
                } else if !ended.state.counts_as_passed() {
                    blocked.get_or_insert_with(|| format!("dependency `{dep}` did not pass ({})", ended.state.label()));
                }
            }
            if not_applicable.is_none() && blocked.is_none() {
                // The var conditions held above; the fact conditions wait for their items.
                for (condition, rx) in conditions.into_iter().filter(|(c, _)| matches!(c.subject, Subject::Fact { .. }))
                {
                    match Box::pin(judge_condition(&condition, rx)).await? {
                        Judged::Holds => {}
                        Judged::DoesNotHold(why) => {
                            not_applicable = Some(why);
                            break;
                        }
                        Judged::Undecided(why) => {
                            blocked = Some(why);
                            break;
                        }
                    }
                }
            }
            Some(match (not_applicable, blocked, manual) {
                (Some(reason), _, _) => ItemResult::without_run(State::NotApplicable, reason),
                (None, Some(reason), _) => ItemResult::without_run(State::SkippedByDependency, reason),
                (None, None, Some(manual)) => *manual,
                (None, None, None) => {
                    // A target's connection is waited for before a slot is taken: items of a
                    // target still connecting do not hold back the others. Both are boxed:
                    // what only a running item needs is allocated when it runs.
                    if let (Some(target), Some(fleet)) = (&item.target, fleet.as_ref()) {
                        let _ = Box::pin(fleet.link(target)).await;
                    }
                    let _permit = match permit {
                        Some(permit) => permit,
                        None => permits.acquire_owned().await.expect("semaphore is never closed"),
                    };
                    // The slot may have been freed by the stop itself: `run_item` then starts
                    // nothing.
                    let place = Place { shared: &shared, fleet: fleet.as_ref() };
                    return Box::pin(run_item(&item, read_by_others.unwrap_or_default(), place, &stop_seen)).await;
                }
            })
        };
        // A stop wins: the item is left unfinished, and its probe (with what it started) is
        // dropped here. (Polling the stop first is not enough on its own: a task out of its
        // scheduling budget sees it one poll late; `run_item` checks it too.)
        let result = tokio::select! {
            biased;
            _ = stopped(&mut stop) => None,
            result = work => result,
        };
        let Some(result) = result else { return };
        if let Some(tx) = tx {
            let _ = tx.send(Some(Ended::of(&result, watched_facts.as_ref())));
        }
        observer.finished(&item, &result);
        if let Some(slot) = results.lock().unwrap().get_mut(index) {
            *slot = Some(result);
        }
    }
}

/// What a `when` condition came to.
enum Judged {
    Holds,
    /// The item is not applicable, saying why.
    DoesNotHold(String),
    /// The item it reads observed nothing (an error, skipped, not applicable itself): the
    /// gate never passes on what it could not decide.
    Undecided(String),
}

/// Judges one condition; for a fact, once the item it reads has ended (`None` when the run
/// stopped first).
async fn judge_condition(c: &Condition, rx: Option<Settled>) -> Option<Judged> {
    let shown = |v: Option<&Value>| match v {
        None => "not observed".to_string(),
        Some(Value::Str(text)) => {
            let line = text.lines().next().unwrap_or_default();
            let cut: String = line.chars().take(80).collect();
            let more = if cut.len() < text.trim_end().len() { "…" } else { "" };
            // `…` inside the quotes, right after the cut, where masking looks for a secret
            // cut in half.
            format!("{:?}", format!("{cut}{more}"))
        }
        Some(v) => v.to_string(),
    };
    let (observed, subject) = match (&c.subject, rx) {
        (Subject::Var { value, .. }, _) => (value.clone(), c.subject.to_string()),
        (Subject::Fact { item, fact }, Some(mut rx)) => {
            let ended = rx.wait_for(|o| o.is_some()).await.ok().and_then(|o| o.clone())?;
            match (ended.state, &ended.facts) {
                (State::NotApplicable, _) => {
                    return Some(Judged::DoesNotHold(format!(
                        "not applicable: `when` reads `{item}`, which is not applicable"
                    )));
                }
                (State::Pass | State::Fail, Some(facts)) => (facts.get(fact).cloned(), c.subject.to_string()),
                (state, _) => {
                    return Some(Judged::Undecided(format!(
                        "`when` on `{item}` {fact} cannot be decided: `{item}` did not observe ({})",
                        state.label()
                    )));
                }
            }
        }
        // The loader checks that the item exists.
        (Subject::Fact { item, .. }, None) => {
            return Some(Judged::Undecided(format!("`when` reads `{item}`, which is not in this run")));
        }
    };
    Some(if c.matcher.eval(observed.as_ref()) {
        Judged::Holds
    } else {
        Judged::DoesNotHold(format!(
            "not applicable: `when` {subject} {} does not hold (observed {})",
            c.matcher,
            shown(observed.as_ref())
        ))
    })
}

/// For each item, true when the filters select it (or a selected item waits for it).
pub fn selected(items: &[Arc<Item>], filter: &Filter) -> Vec<bool> {
    selection(items, filter).into_iter().map(|left_out| !left_out).collect()
}

/// For each item, true when filters leave it out. Items the selected ones depend on are
/// selected too, so `--only app.ready` also runs what `app.ready` needs.
fn selection(items: &[Arc<Item>], filter: &Filter) -> Vec<bool> {
    if filter.is_empty() {
        return vec![false; items.len()];
    }
    let index: HashMap<&str, &Item> = items.iter().map(|i| (i.id.as_str(), i.as_ref())).collect();
    let mut chosen: HashSet<&str> = HashSet::new();
    let mut stack: Vec<&str> = items.iter().filter(|i| filter.matches(i)).map(|i| i.id.as_str()).collect();
    while let Some(id) = stack.pop() {
        if chosen.insert(id)
            && let Some(item) = index.get(id)
        {
            // An explicit --skip wins: its dependents are then skipped, saying why.
            stack.extend(item.waits_for().filter(|d| !filter.skip.iter().any(|s| s == d)));
        }
    }
    items.iter().map(|i| !chosen.contains(i.id.as_str())).collect()
}

/// The facts named by an item's expectations: what its probe is asked to observe.
pub fn wanted_facts(expect: &[Expectation]) -> BTreeSet<String> {
    expect.iter().map(|e| e.fact.clone()).collect()
}

/// Runs one automated item: attempts until it passes or retries run out. `None` when the run
/// was stopped before an attempt could start: no attempt starts after a stop.
/// `also_wanted`: facts other items' `when` conditions read from this one.
/// Where an item is observed: here (with what the run's local items share), or on its
/// target through the fleet.
#[derive(Clone, Copy)]
struct Place<'a> {
    shared: &'a Arc<Shared>,
    fleet: Option<&'a Arc<crate::fleet::Fleet>>,
}

async fn run_item(
    item: &Arc<Item>,
    also_wanted: BTreeSet<String>,
    place: Place<'_>,
    stop: &watch::Receiver<Option<Stop>>,
) -> Option<ItemResult> {
    let started_at = time::OffsetDateTime::now_utc();
    let clock = Instant::now();
    let mut wanted = wanted_facts(&item.expect);
    wanted.extend(also_wanted.iter().cloned());
    let input =
        Arc::new(ProbeInput { item_id: item.id.clone(), params: item.params.clone(), wanted, timeout: item.timeout });
    let mut attempts = 0;
    // Logged (`-v`): what the item connects to, as reports show its parameters (URL
    // passwords and secret headers masked, `${env:…}` references kept), never `params`.
    tracing::debug!(item = %item.id, probe = item.probe.kind, params = %shown_params_line(item), "starting");
    loop {
        if stop.borrow().is_some() {
            return None;
        }
        attempts += 1;
        let attempt_clock = Instant::now();
        let observed = observe_once(item, &input, place).await;
        let mut result = judge(item, observed, &also_wanted);
        tracing::debug!(item = %item.id, attempt = attempts, state = result.state.as_str(), elapsed = ?attempt_clock.elapsed(), "attempt ended");
        if result.state == State::Pass || attempts > item.retries {
            result.attempts = attempts;
            result.started_at = started_at;
            result.duration = clock.elapsed();
            tracing::info!(item = %item.id, probe = item.probe.kind, state = result.state.as_str(), attempts, elapsed = ?result.duration, "item finished");
            return Some(result);
        }
        tracing::info!(item = %item.id, attempt = attempts, of = item.retries + 1, state = result.state.as_str(), retry_in = ?item.retry_delay, "retrying");
        tokio::time::sleep(item.retry_delay).await;
    }
}

/// An item's parameters on one line, as reports show them: `url=https://… timeout=…`.
fn shown_params_line(item: &Item) -> String {
    item.shown_params().iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join(" ")
}

/// Why an attempt observed nothing: the message is the item's `error` reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObserveError {
    #[error("timed out after {}", format_duration(*.0))]
    TimedOut(Duration),
    #[error("probe panicked: {0}")]
    Panicked(String),
    #[error("probe task was cancelled")]
    Cancelled,
    /// The probe's own message.
    #[error("{0}")]
    Probe(String),
}

/// A probe's task, aborted when the item stops waiting for it (the run was stopped): the
/// probe's future is then dropped, and with it what it started (a process group).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One observation in its own task, so a panic or a hang ends this item only.
/// On a target, the connection comes first (shared by the target's items, bounded by its own
/// setup timeout rather than by this item's: copying golive to a distant machine can take
/// longer than a probe may), then the item's timeout runs for the observation.
async fn observe_once(item: &Item, input: &Arc<ProbeInput>, place: Place<'_>) -> Result<Facts, ObserveError> {
    let observe = item.probe.observe.expect("automated items have an observe function");
    let link = match (&item.target, place.fleet) {
        (None, _) => None,
        (Some(target), Some(fleet)) => {
            Some(fleet.link(target).await.map_err(|e| ObserveError::Probe(format!("target `{target}`: {e}")))?)
        }
        (Some(target), None) => {
            return Err(ObserveError::Probe(format!("target `{target}`: this run has no SSH connections")));
        }
    };
    let (input, shared, kind) = (input.clone(), place.shared.clone(), item.probe.kind);
    let mut task = AbortOnDrop(tokio::spawn(threads::quiet_panics(async move {
        match link {
            Some(link) => link.observe(kind, &input).await,
            None => observe(&input, &shared).await,
        }
    })));
    let task = &mut task.0;
    match tokio::time::timeout(item.timeout, &mut *task).await {
        Err(_) => {
            task.abort();
            // Wait until the probe's future is dropped, so what it started (a process group,
            // a connection) is cleaned up before the item is reported, even when the run
            // then ends at once. Bounded: a probe that blocks its thread is not waited for.
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
            Err(ObserveError::TimedOut(item.timeout))
        }
        Ok(Err(join)) if join.is_panic() => {
            Err(ObserveError::Panicked(crate::probe::panic_message(&*join.into_panic())))
        }
        Ok(Err(_)) => Err(ObserveError::Cancelled),
        Ok(Ok(Err(e))) => Err(ObserveError::Probe(e.0)),
        Ok(Ok(Ok(facts))) => Ok(facts),
    }
}

/// Why an expectation on `fact` failed: the probe's own words for it (`Facts::explain`),
/// then the observed facts it declares as explaining it, as `name: value` (masked, long
/// values cut); `None` when it has neither.
fn explanation(item: &Item, facts: &Facts, fact: &str) -> Option<String> {
    let own = facts
        .explanations
        .get(fact)
        .map(|why| crate::diag::clip(&why.replace(['\n', '\r'], " "), 2 * EXCERPT_OVER_CHARS).into_owned());
    let parts: Vec<String> = own
        .into_iter()
        .chain(
            crate::probe::explain::explained_by(item.probe.kind, fact).iter().filter(|name| **name != fact).filter_map(
                |name| {
                    let v = facts.shown_ref(name)?;
                    // An empty stderr or an empty list explains nothing.
                    if matches!(&*v, Value::Str(s) if s.trim().is_empty())
                        || matches!(&*v, Value::List(l) if l.is_empty())
                    {
                        return None;
                    }
                    let text = match &*v {
                        Value::List(items) if items.len() > EXCERPT_LINES => {
                            let first: Vec<String> = items.iter().take(EXCERPT_LINES).map(Value::to_string).collect();
                            format!("{}, … and {} more", first.join(", "), items.len() - EXCERPT_LINES)
                        }
                        other => other.to_string().replace(['\n', '\r'], " "),
                    };
                    Some(format!("{name}: {}", crate::diag::clip(&text, 2 * EXCERPT_OVER_CHARS)))
                },
            ),
        )
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Judges observed facts against the item's expectations. Each expectation is judged on
/// the whole value; the result keeps long texts cut ([`Value::kept`]), in its facts and in
/// each expectation's observed value, except the facts named in `read_by_others` (another
/// item's `when` reads them whole once this one ends).
pub fn judge(item: &Item, observed: Result<Facts, ObserveError>, read_by_others: &BTreeSet<String>) -> ItemResult {
    let mut result = ItemResult::without_run(State::Pass, String::new());
    result.reason = None;
    match observed {
        Err(error) => {
            result.state = State::Error;
            result.reason = Some(error.to_string());
            result.expectations = item
                .expect
                .iter()
                .map(|e| ExpectationResult {
                    fact: e.fact.clone(),
                    expected: e.matcher.to_string(),
                    observed: None,
                    passed: false,
                    excerpt: None,
                    explanation: None,
                })
                .collect();
        }
        Ok(mut facts) => {
            // Exactly as many as the item has: a pushed-to vector keeps room for four.
            result.expectations.reserve_exact(item.expect.len());
            for e in &item.expect {
                let passed = e.matcher.eval(facts.get(&e.fact));
                let whole = facts.shown_ref(&e.fact);
                let excerpt = whole.as_deref().and_then(|v| excerpt(v, &e.matcher));
                // A long text is not copied whole to be cut.
                let shown = whole.map(|v| v.kept().unwrap_or_else(|| v.into_owned()));
                let explanation = if passed { None } else { explanation(item, &facts, &e.fact) };
                if !passed && result.state == State::Pass {
                    result.state = State::Fail;
                    let because = explanation.as_ref().map(|x| format!(" ({x})")).unwrap_or_default();
                    let (fact, m) = (&e.fact, &e.matcher);
                    result.reason = Some(match (&excerpt, &shown) {
                        // The why before a long excerpt, so a line cut short still shows it.
                        (Some(x), _) if x.contains('\n') => format!("{fact}: expected {m}{because}, observed:\n{x}"),
                        (Some(x), _) => format!("{fact}: expected {m}, observed {x}{because}"),
                        (None, Some(v)) => format!("{fact}: expected {m}, observed {v}{because}"),
                        (None, None) => format!("{fact}: expected {m}, but it was not observed{because}"),
                    });
                }
                result.expectations.push(ExpectationResult {
                    fact: e.fact.clone(),
                    expected: e.matcher.to_string(),
                    observed: shown,
                    passed,
                    excerpt,
                    explanation,
                });
            }
            result.secret_values = facts.secret_values();
            result.facts = shown_facts(item, &mut facts, read_by_others);
        }
    }
    result
}

/// The facts as reports show them ([`Facts::shown`]), moved out of `facts`: `***` for a
/// secret one, the masked form of one with secret parts, a long text cut
/// ([`Value::keep_bounded`]) unless it is one of `keep_whole`. A name the probe declares is
/// kept as the declaration's `&'static str`, so no result holds a copy of it.
fn shown_facts(item: &Item, facts: &mut Facts, keep_whole: &BTreeSet<String>) -> ValueMap {
    let declared = |name: String| -> std::borrow::Cow<'static, str> {
        match item.probe.facts.iter().find(|f| f.name == name) {
            Some(f) => f.name.into(),
            None => name.into(),
        }
    };
    std::mem::take(&mut facts.values)
        .into_iter()
        .map(|(name, value)| {
            let mut shown = if facts.secret.contains(&name) {
                Value::str("***")
            } else {
                facts.partly_secret.remove(&name).unwrap_or(value)
            };
            if !keep_whole.contains(&name) {
                shown.keep_bounded();
            }
            (declared(name), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Loc;
    use crate::lang::matcher::Matcher;
    use crate::probe::{FactSpec, ProbeError, ProbeSpec};
    use crate::value::FactType;
    use futures::future::BoxFuture;

    fn panics<'a>(_: &'a ProbeInput, _: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
        Box::pin(async { panic!("probe bug") })
    }

    fn hangs<'a>(_: &'a ProbeInput, _: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
        Box::pin(async {
            std::future::pending::<()>().await;
            unreachable!()
        })
    }

    fn blocks_thread<'a>(_: &'a ProbeInput, _: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
        Box::pin(crate::probe::blocking(|| {
            std::thread::sleep(Duration::from_secs(2));
            Ok(Facts::default())
        }))
    }

    fn answers<'a>(_: &'a ProbeInput, _: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
        Box::pin(async {
            let mut f = Facts::default();
            f.set("answer", Value::Int(42));
            Ok(f)
        })
    }

    const FACTS: &[FactSpec] = &[FactSpec::new("answer", FactType::Integer, "")];
    static PANICS: ProbeSpec = ProbeSpec {
        kind: "t",
        summary: "",
        params: &[],
        facts: FACTS,
        default_expect: &[],
        observe: Some(panics),
        check: None,
        notes: &[],
    };
    static HANGS: ProbeSpec = ProbeSpec {
        kind: "t",
        summary: "",
        params: &[],
        facts: FACTS,
        default_expect: &[],
        observe: Some(hangs),
        check: None,
        notes: &[],
    };
    static BLOCKS: ProbeSpec = ProbeSpec {
        kind: "t",
        summary: "",
        params: &[],
        facts: FACTS,
        default_expect: &[],
        observe: Some(blocks_thread),
        check: None,
        notes: &[],
    };
    static ANSWERS: ProbeSpec = ProbeSpec {
        kind: "t",
        summary: "",
        params: &[],
        facts: FACTS,
        default_expect: &[],
        observe: Some(answers),
        check: None,
        notes: &[],
    };

    fn item(id: &str, probe: &'static ProbeSpec, depends_on: &[&str]) -> Arc<Item> {
        item_with_timeout(id, probe, depends_on, Duration::from_millis(300))
    }

    fn item_with_timeout(id: &str, probe: &'static ProbeSpec, depends_on: &[&str], timeout: Duration) -> Arc<Item> {
        Arc::new(Item {
            id: id.into(),
            title: id.into(),
            section: "s".into(),
            severity: Severity::High,
            tags: vec![],
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            depends_on_loc: None,
            timeout,
            retries: 0,
            retry_delay: Duration::ZERO,
            description: None,
            references: vec![],
            owner: None,
            probe,
            params: Default::default(),
            params_shown: None,
            expect: vec![crate::checklist::Expectation {
                fact: "answer".into(),
                matcher: Matcher::Equals(Value::Int(42)),
            }],
            when: vec![],
            loc: Loc { file: 0, span: 0..0 },
            source: String::new(),
            targets: vec![],
            targets_loc: None,
            target: None,
        })
    }

    fn checklist(items: Vec<Arc<Item>>) -> Checklist {
        Checklist {
            name: "t".into(),
            version: None,
            description: None,
            files: vec![],
            order: (0..items.len()).collect(),
            items,
            waivers: vec![],
            signoff_roles: vec![],
            attestations: Default::default(),
            redactor: Default::default(),
            targets: vec![],
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn panics_and_hangs_end_their_item_only() {
        let c = checklist(vec![
            // Unwinding with RUST_BACKTRACE set can take long on a loaded machine: the panicking
            // item gets a timeout it cannot hit, so it must end by its panic.
            item_with_timeout("panics", &PANICS, &[], Duration::from_secs(8)),
            item("hangs", &HANGS, &[]),
            item("blocks", &BLOCKS, &[]),
            item("fine", &ANSWERS, &[]),
            item("after-panic", &ANSWERS, &["panics"]),
        ]);
        let started = Instant::now();
        let run = run(&c, &RunOptions::default(), Arc::new(NoObserver)).await;
        assert!(started.elapsed() < Duration::from_secs(10), "a hung probe held the run");
        let r = &run.results;
        assert_eq!((r[0].state, r[0].reason.as_deref()), (State::Error, Some("probe panicked: probe bug")));
        assert_eq!((r[1].state, r[1].reason.as_deref()), (State::Error, Some("timed out after 300ms")));
        assert_eq!((r[2].state, r[2].reason.as_deref()), (State::Error, Some("timed out after 300ms")));
        assert_eq!(r[3].state, State::Pass);
        assert_eq!(r[4].state, State::SkippedByDependency);
        assert_eq!(r[4].reason.as_deref(), Some("dependency `panics` did not pass (error)"));
    }

    #[test]
    fn the_gate_blocks_on_what_was_not_checked_and_not_on_what_was_filtered() {
        use State::*;
        let verdict = |state| Verdict { state, waived: false };
        assert!(verdict(Fail).blocks(Severity::High, Severity::High));
        assert!(verdict(ManualPending).blocks(Severity::Critical, Severity::High));
        assert!(verdict(ManualExpired).blocks(Severity::High, Severity::High), "an expired attestation is pending");
        assert!(!verdict(ManualAttested).blocks(Severity::Critical, Severity::Info));
        assert!(!verdict(Error).blocks(Severity::Medium, Severity::High), "below the threshold");
        assert!(verdict(Error).blocks(Severity::Medium, Severity::Medium));
        assert!(verdict(SkippedByDependency).blocks(Severity::High, Severity::High), "skipped by a failed dependency");
        assert!(!verdict(SkippedByFilter).blocks(Severity::Critical, Severity::Info), "filtered out does not");
        assert!(!verdict(NotApplicable).blocks(Severity::Critical, Severity::Info), "not applicable never does");
        assert!(!verdict(Pass).blocks(Severity::Critical, Severity::Info));
        assert!(
            !Verdict { state: Fail, waived: true }.blocks(Severity::Critical, Severity::Info),
            "a waiver covers it"
        );
    }

    #[test]
    fn labels_and_outcomes_come_from_the_state() {
        use State::*;
        let cases = [
            (Pass, Outcome::Pass, "pass"),
            (Fail, Outcome::Fail, "fail"),
            (Error, Outcome::Error, "error"),
            (SkippedByFilter, Outcome::Skipped, "skipped"),
            (SkippedByDependency, Outcome::Skipped, "skipped"),
            (ManualPending, Outcome::Manual, "manual: pending"),
            (ManualExpired, Outcome::Manual, "manual: pending"),
            (ManualAttested, Outcome::Manual, "manual: attested"),
            (NotApplicable, Outcome::Skipped, "not applicable"),
        ];
        for (state, outcome, label) in cases {
            let verdict = Verdict { state, waived: false };
            assert_eq!((verdict.outcome(), verdict.label()), (outcome, label), "{state:?}");
            assert_eq!(state.counts_as_passed(), matches!(state, Pass | ManualAttested), "{state:?}");
        }
        let waived = Verdict { state: ManualPending, waived: true };
        assert_eq!((waived.outcome(), waived.label()), (Outcome::Waived, "waived"));
        let json: Vec<String> = cases.iter().map(|(s, ..)| serde_json::to_value(s).unwrap().to_string()).collect();
        let names: Vec<String> = cases.iter().map(|(s, ..)| format!("\"{}\"", s.as_str())).collect();
        assert_eq!(json, names, "as_str is the JSON name");
    }

    #[test]
    fn a_waiver_applies_only_to_what_would_block() {
        let today = time::macros::date!(2026 - 06 - 01);
        let waiver = |until| Waiver {
            item: "x".into(),
            reason: "r".into(),
            approved_by: "CTO".into(),
            until,
            source: String::new(),
        };
        let future = waiver(time::macros::date!(2026 - 12 - 31));
        let past = waiver(time::macros::date!(2026 - 01 - 01));
        for (state, waiver, status, outcome) in [
            (State::SkippedByDependency, &future, WaiverStatus::Applied, Outcome::Waived),
            (State::SkippedByFilter, &future, WaiverStatus::Unused, Outcome::Skipped),
            (State::ManualExpired, &future, WaiverStatus::Applied, Outcome::Waived),
            (State::ManualAttested, &future, WaiverStatus::Unused, Outcome::Manual),
            (State::Fail, &past, WaiverStatus::Expired, Outcome::Fail),
        ] {
            let mut result = ItemResult::without_run(state, String::new());
            apply_waiver(&mut result, Some(waiver), today);
            let used = result.waiver.as_ref().unwrap();
            assert_eq!((used.status, used.original, result.outcome()), (status, state.outcome(), outcome), "{state:?}");
            assert_eq!(result.state, state, "a waiver never changes the state");
        }
    }

    static COUNTED_STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

    fn counts_and_hangs<'a>(_: &'a ProbeInput, _: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
        COUNTED_STARTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async {
            std::future::pending::<()>().await;
            unreachable!()
        })
    }

    static COUNTS: ProbeSpec = ProbeSpec {
        kind: "t",
        summary: "",
        params: &[],
        facts: FACTS,
        default_expect: &[],
        observe: Some(counts_and_hangs),
        check: None,
        notes: &[],
    };

    #[tokio::test(flavor = "multi_thread")]
    async fn an_interrupt_stops_the_run_and_no_item_starts_after_it() {
        let items: Vec<_> =
            (0..4).map(|i| item_with_timeout(&format!("c{i}"), &COUNTS, &[], Duration::from_secs(600))).collect();
        let mut items = items;
        items.push(item("after", &ANSWERS, &["c0", "c1", "c2", "c3"]));
        let c = checklist(items);
        let (tx, rx) = watch::channel(None);
        let opts = RunOptions { concurrency: 1, interrupt: Some(rx), ..Default::default() };
        let interrupter = tokio::spawn(async move {
            while COUNTED_STARTS.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tx.send(Some("SIGINT")).unwrap();
            tx
        });
        let run = run(&c, &opts, Arc::new(NoObserver)).await;
        drop(interrupter.await.unwrap());
        assert_eq!(run.stopped, Some(Stop::Interrupted("SIGINT")));
        assert_eq!(COUNTED_STARTS.load(std::sync::atomic::Ordering::SeqCst), 1, "one slot: one item started");
        for r in &run.results {
            assert_eq!(r.state, State::Error);
            assert_eq!(r.reason.as_deref(), Some("interrupted: golive received SIGINT before this item finished"));
            assert_eq!(r.attempts, 0);
        }
    }

    struct Counted(std::sync::atomic::AtomicUsize);
    impl Observer for Counted {
        fn started(&self, total: usize) {
            self.0.store(total, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_kept_result_is_not_run_again_and_its_dependents_see_it() {
        // `kept` never ran a probe: its result says so, and only it can have 7 attempts.
        let c = checklist(vec![item("kept", &HANGS, &[]), item("dependent", &ANSWERS, &["kept"])]);
        let mut kept = ItemResult::without_run(State::Pass, "kept from round 1".into());
        kept.attempts = 7;
        let observer = Arc::new(Counted(std::sync::atomic::AtomicUsize::new(99)));
        let run = run_keeping(&c, &RunOptions::default(), observer.clone(), &[Some(kept), None], None).await;
        assert_eq!((run.results[0].state, run.results[0].attempts), (State::Pass, 7), "not run (it would hang)");
        assert_eq!(run.results[1].state, State::Pass, "the dependent saw the kept pass and ran");
        assert_eq!(run.results[1].attempts, 1);
        assert_eq!(observer.0.load(std::sync::atomic::Ordering::SeqCst), 1, "one item to run this round");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrency_bounds_items_in_flight() {
        let items: Vec<_> = (0..6).map(|i| item(&format!("h{i}"), &HANGS, &[])).collect();
        let c = checklist(items);
        let opts = RunOptions { concurrency: 2, ..Default::default() };
        let started = Instant::now();
        let run = run(&c, &opts, Arc::new(NoObserver)).await;
        // Six 300 ms timeouts, two at a time: three rounds.
        assert!(started.elapsed() >= Duration::from_millis(850), "{:?}", started.elapsed());
        assert!(run.results.iter().all(|r| r.state == State::Error));
    }
}
