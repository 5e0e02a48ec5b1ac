//! The engine: select items (filters plus their dependencies), run their probes with bounded
//! concurrency, per-item timeouts, retries and a run deadline, and judge the observed facts
//! against each item's expectations. A probe that panics or hangs ends as an `error`
//! outcome for its item; the run goes on.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, watch};

use crate::checklist::{Attestation, Checklist, Expectation, Item, Waiver};
use crate::probe::{Facts, ProbeInput, Shared};
use crate::value::{Value, format_duration};

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
            && (self.only.is_empty() || self.only.contains(&item.id))
            && !self.skip.contains(&item.id)
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
    pub deadline: Option<Duration>,
    pub filter: Filter,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { concurrency: 64, deadline: None, filter: Filter::default() }
    }
}

/// How an item ended. See docs/outcomes in the user guide.
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

/// One expectation, judged: what was expected, what was seen.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub fact: String,
    pub expected: String,
    /// `None` when the probe did not produce the fact.
    pub observed: Option<Value>,
    pub passed: bool,
}

#[derive(Clone, Debug)]
pub struct ItemResult {
    pub outcome: Outcome,
    /// Why it errored, was skipped, or is pending; the first failed expectation for fails.
    pub reason: Option<String>,
    pub expectations: Vec<ExpectationResult>,
    /// Every fact the probe observed, secret ones masked.
    pub facts: BTreeMap<String, Value>,
    pub attempts: u32,
    pub started_at: time::OffsetDateTime,
    pub duration: Duration,
    /// Skipped because filters left it out (as opposed to a failed dependency).
    pub filtered_out: bool,
    /// Values of secret facts (an `env` probe's value): masked in every output.
    pub secret_values: Vec<String>,
    /// For manual items: the latest attestation recorded, if any (an expired one too).
    pub attestation: Option<AttestationUse>,
    /// The waiver that names this item, if any, and what it did.
    pub waiver: Option<WaiverUse>,
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
    fn without_run(outcome: Outcome, reason: String) -> Self {
        ItemResult {
            outcome,
            reason: Some(reason),
            expectations: Vec::new(),
            facts: BTreeMap::new(),
            attempts: 0,
            started_at: time::OffsetDateTime::now_utc(),
            duration: Duration::ZERO,
            filtered_out: false,
            secret_values: Vec::new(),
            attestation: None,
            waiver: None,
        }
    }

    /// A manual item with a valid attestation.
    pub fn attested(&self) -> bool {
        self.outcome == Outcome::Manual && self.attestation.as_ref().is_some_and(|a| !a.expired)
    }

    /// What dependents see: a pass, or an attested manual item.
    pub fn counts_as_passed(&self) -> bool {
        self.outcome == Outcome::Pass || self.attested()
    }

    /// How the outcome reads in reasons and tables: `fail`, `manual: pending`…
    pub fn outcome_text(&self) -> String {
        match self.outcome {
            Outcome::Manual if self.attested() => "manual: attested".into(),
            Outcome::Manual => "manual: pending".into(),
            o => o.as_str().into(),
        }
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
            let mut r = ItemResult::without_run(Outcome::Manual, reason);
            r.attestation = Some(AttestationUse { attestation: a.clone(), expired });
            r
        }
        None => ItemResult::without_run(Outcome::Manual, "pending: no attestation recorded".into()),
    }
}

/// Applies the item's waiver, if any: an unexpired waiver turns an outcome that would block
/// (fail, error, pending, skipped for a dependency) into `waived`; the rest is recorded.
fn apply_waiver(result: &mut ItemResult, waiver: Option<&Waiver>, today: time::Date) {
    let Some(waiver) = waiver else { return };
    let original = result.outcome;
    let would_block = match original {
        Outcome::Fail | Outcome::Error => true,
        Outcome::Manual => !result.attested(),
        Outcome::Skipped => !result.filtered_out,
        Outcome::Pass | Outcome::Waived => false,
    };
    let status = if waiver.expired(today) {
        WaiverStatus::Expired
    } else if would_block {
        result.outcome = Outcome::Waived;
        WaiverStatus::Applied
    } else {
        WaiverStatus::Unused
    };
    result.waiver = Some(WaiverUse { waiver: waiver.clone(), status, original });
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
}

/// How an item ended, as its dependents see it: the outcome as text and whether it counts as
/// passed; `None` until it ends.
type Settled = watch::Receiver<Option<(String, bool)>>;

/// Runs every selected item of the checklist.
pub async fn run(checklist: &Checklist, opts: &RunOptions, observer: Arc<dyn Observer>) -> RunResult {
    let started_at = time::OffsetDateTime::now_utc();
    let clock = Instant::now();
    let items = &checklist.items;
    let shared = Arc::new(Shared::default());
    let not_selected = selection(items, &opts.filter);
    observer.started(not_selected.iter().filter(|n| !**n).count());

    let results: Arc<Mutex<Vec<Option<ItemResult>>>> = Arc::new(Mutex::new(vec![None; items.len()]));
    let mut senders = Vec::new();
    let today = started_at.date();
    // What each item's dependents see: its outcome (as text) and whether it counts as passed.
    let mut receivers: HashMap<&str, Settled> = HashMap::new();
    for item in items {
        let (tx, rx) = watch::channel(None);
        senders.push(tx);
        receivers.insert(item.id.as_str(), rx);
    }
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = Vec::new();
    for ((index, item), tx) in items.iter().enumerate().zip(senders) {
        if not_selected[index] {
            let mut r = ItemResult::without_run(Outcome::Skipped, format!("not selected ({})", opts.filter.describe()));
            r.filtered_out = true;
            let _ = tx.send(Some((r.outcome_text(), false)));
            results.lock().unwrap()[index] = Some(r);
            continue;
        }
        let manual = item.is_manual().then(|| manual_result(item, checklist, today));
        let deps: Vec<(String, Settled)> =
            item.depends_on.iter().filter_map(|d| Some((d.clone(), receivers.get(d.as_str())?.clone()))).collect();
        let (item, shared, permits, results, observer) =
            (item.clone(), shared.clone(), permits.clone(), results.clone(), observer.clone());
        tasks.push(tokio::spawn(async move {
            let mut blocked = None;
            for (dep, mut rx) in deps {
                let Some((outcome, passed)) = rx.wait_for(|o| o.is_some()).await.ok().and_then(|o| o.clone()) else {
                    // The dependency was stopped by the deadline: so is this item.
                    return;
                };
                if !passed {
                    blocked = Some(format!("dependency `{dep}` did not pass ({outcome})"));
                    break;
                }
            }
            let result = match (blocked, manual) {
                (Some(reason), _) => ItemResult::without_run(Outcome::Skipped, reason),
                (None, Some(manual)) => manual,
                (None, None) => {
                    let _permit = permits.acquire().await.expect("semaphore is never closed");
                    run_item(&item, &shared).await
                }
            };
            let _ = tx.send(Some((result.outcome_text(), result.counts_as_passed())));
            observer.finished(&item, &result);
            results.lock().unwrap()[index] = Some(result);
        }));
    }

    let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
    let all = futures::future::join_all(tasks);
    let timed_out = match opts.deadline {
        Some(deadline) => tokio::time::timeout(deadline, all).await.is_err(),
        None => {
            all.await;
            false
        }
    };
    if timed_out {
        aborts.iter().for_each(|a| a.abort());
    }
    shared.close().await;
    let finished = clock.elapsed();
    let mut slots = results.lock().unwrap().clone();
    let results = slots
        .iter_mut()
        .zip(items)
        .map(|(slot, item)| {
            let waiver = checklist.waivers.iter().find(|w| w.item == item.id);
            let mut result = slot.take().unwrap_or_else(|| {
                let reason = match opts.deadline {
                    Some(d) if timed_out => format!(
                        "deadline: the run's --deadline of {} passed before this item finished",
                        format_duration(d)
                    ),
                    _ => "internal error: the item ended without a result".to_string(),
                };
                let r = ItemResult::without_run(Outcome::Error, reason);
                observer.finished(item, &r);
                r
            });
            apply_waiver(&mut result, waiver, today);
            result
        })
        .collect();
    RunResult { started_at, finished_at: time::OffsetDateTime::now_utc(), duration: finished, results }
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
            stack.extend(item.depends_on.iter().map(String::as_str).filter(|d| !filter.skip.iter().any(|s| s == d)));
        }
    }
    items.iter().map(|i| !chosen.contains(i.id.as_str())).collect()
}

/// The facts named by an item's expectations: what its probe is asked to observe.
pub fn wanted_facts(expect: &[Expectation]) -> BTreeSet<String> {
    expect.iter().map(|e| e.fact.clone()).collect()
}

/// Runs one automated item: attempts until it passes or retries run out.
async fn run_item(item: &Arc<Item>, shared: &Arc<Shared>) -> ItemResult {
    let started_at = time::OffsetDateTime::now_utc();
    let clock = Instant::now();
    let input = Arc::new(ProbeInput {
        item_id: item.id.clone(),
        params: item.params.clone(),
        wanted: wanted_facts(&item.expect),
        timeout: item.timeout,
    });
    let mut attempts = 0;
    loop {
        attempts += 1;
        let observed = observe_once(item, &input, shared).await;
        let mut result = judge(item, observed);
        if result.outcome == Outcome::Pass || attempts > item.retries {
            result.attempts = attempts;
            result.started_at = started_at;
            result.duration = clock.elapsed();
            return result;
        }
        tokio::time::sleep(item.retry_delay).await;
    }
}

/// One observation in its own task, so a panic or a hang ends this item only.
async fn observe_once(item: &Item, input: &Arc<ProbeInput>, shared: &Arc<Shared>) -> Result<Facts, String> {
    let observe = item.probe.observe.expect("automated items have an observe function");
    let (input, shared) = (input.clone(), shared.clone());
    let mut task = tokio::spawn(async move { observe(&input, &shared).await });
    match tokio::time::timeout(item.timeout, &mut task).await {
        Err(_) => {
            task.abort();
            // Wait until the probe's future is dropped, so what it started (a process group,
            // a connection) is cleaned up before the item is reported, even when the run
            // then ends at once. Bounded: a probe that blocks its thread is not waited for.
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
            Err(format!("timed out after {}", format_duration(item.timeout)))
        }
        Ok(Err(join)) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("probe panicked: {message}"))
        }
        Ok(Err(_)) => Err("probe task was cancelled".into()),
        Ok(Ok(Err(e))) => Err(e.0),
        Ok(Ok(Ok(facts))) => Ok(facts),
    }
}

/// Judges observed facts against the item's expectations.
pub fn judge(item: &Item, observed: Result<Facts, String>) -> ItemResult {
    let mut result = ItemResult::without_run(Outcome::Pass, String::new());
    result.reason = None;
    match observed {
        Err(message) => {
            result.outcome = Outcome::Error;
            result.reason = Some(message);
            result.expectations = item
                .expect
                .iter()
                .map(|e| ExpectationResult {
                    fact: e.fact.clone(),
                    expected: e.matcher.to_string(),
                    observed: None,
                    passed: false,
                })
                .collect();
        }
        Ok(facts) => {
            for e in &item.expect {
                let passed = e.matcher.eval(facts.get(&e.fact));
                let shown = facts.shown(&e.fact);
                if !passed && result.outcome == Outcome::Pass {
                    result.outcome = Outcome::Fail;
                    result.reason = Some(match &shown {
                        Some(v) => format!("{}: expected {}, observed {}", e.fact, e.matcher, v),
                        None => format!("{}: expected {}, but it was not observed", e.fact, e.matcher),
                    });
                }
                result.expectations.push(ExpectationResult {
                    fact: e.fact.clone(),
                    expected: e.matcher.to_string(),
                    observed: shown,
                    passed,
                });
            }
            result.facts = facts.values.keys().filter_map(|k| Some((k.clone(), facts.shown(k)?))).collect();
            result.secret_values = facts.secret.iter().filter_map(|k| facts.get(k)).map(|v| v.to_string()).collect();
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::Severity;
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
    };
    static HANGS: ProbeSpec = ProbeSpec {
        kind: "t",
        summary: "",
        params: &[],
        facts: FACTS,
        default_expect: &[],
        observe: Some(hangs),
        check: None,
    };
    static BLOCKS: ProbeSpec = ProbeSpec {
        kind: "t",
        summary: "",
        params: &[],
        facts: FACTS,
        default_expect: &[],
        observe: Some(blocks_thread),
        check: None,
    };
    static ANSWERS: ProbeSpec = ProbeSpec {
        kind: "t",
        summary: "",
        params: &[],
        facts: FACTS,
        default_expect: &[],
        observe: Some(answers),
        check: None,
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
            params_shown: Default::default(),
            expect: vec![crate::checklist::Expectation {
                fact: "answer".into(),
                matcher: Matcher::Equals(Value::Int(42)),
            }],
            loc: Loc { file: 0, span: 0..0 },
            source: String::new(),
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
        assert_eq!((r[0].outcome, r[0].reason.as_deref()), (Outcome::Error, Some("probe panicked: probe bug")));
        assert_eq!((r[1].outcome, r[1].reason.as_deref()), (Outcome::Error, Some("timed out after 300ms")));
        assert_eq!((r[2].outcome, r[2].reason.as_deref()), (Outcome::Error, Some("timed out after 300ms")));
        assert_eq!(r[3].outcome, Outcome::Pass);
        assert_eq!(r[4].outcome, Outcome::Skipped);
        assert_eq!(r[4].reason.as_deref(), Some("dependency `panics` did not pass (error)"));
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
        assert!(run.results.iter().all(|r| r.outcome == Outcome::Error));
    }
}
