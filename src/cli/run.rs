//! `golive run`: load, run, report in every requested format, exit by the gate.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{ColorChoice, exit, load_and_report_as, parse_var, use_color};
use crate::checklist::{Checklist, Item, LoadMode, LoadOptions, Severity};
use crate::engine::shard::{self, ShardSpec};
use crate::engine::threads::{self, Threads};
use crate::engine::{self, Filter, ItemResult, Observer, RunOptions, RunResult, State};
use crate::report::{Format, OutputSpec, Report, ShardInfo, Style, run_redactor};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Checklist files to run (their includes are loaded too).
    #[arg(default_value = "golive.toml")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    targets: super::targets::TargetArgs,
    #[command(flatten)]
    ssh: super::targets::SshArgs,
    /// Report format, optionally to a file: table, json, json=report.json. Repeatable.
    #[arg(short, long = "output", value_name = "FORMAT[=PATH]", env = "GOLIVE_OUTPUT", value_delimiter = ',')]
    outputs: Vec<OutputSpec>,
    /// Fail the gate on a fail, error or pending manual item of this severity or higher.
    #[arg(long, value_enum, default_value = "high", env = "GOLIVE_FAIL_ON")]
    fail_on: Severity,
    /// Set a var, overriding the checklist: --var api=https://staging.example.com
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// Items probed at the same time.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096), env = "GOLIVE_CONCURRENCY")]
    concurrency: u32,
    /// Threads that run the probes: auto (one for a small run, one per core for a large
    /// one) or a number.
    #[arg(long, value_name = "auto|N", default_value = "auto", value_parser = parse_threads, env = "GOLIVE_THREADS")]
    threads: Threads,
    /// Bound the whole run, e.g. 2m; unfinished items end as `error: deadline`.
    #[arg(long, value_name = "DURATION", value_parser = parse_deadline, env = "GOLIVE_DEADLINE")]
    deadline: Option<Duration>,
    /// Run only items with this tag (repeatable; items they depend on run too).
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// Run only items in this section (repeatable).
    #[arg(long = "section", value_name = "SECTION")]
    sections: Vec<String>,
    /// Run only this item (repeatable).
    #[arg(long = "only", value_name = "ID")]
    only: Vec<String>,
    /// Do not run this item (repeatable).
    #[arg(long = "skip", value_name = "ID")]
    skip: Vec<String>,
    /// The attestations file (default: `[checklist] attestations`, else
    /// NAME.attestations.toml beside the first checklist file).
    #[arg(long, value_name = "FILE", env = "GOLIVE_ATTESTATIONS")]
    attestations: Option<PathBuf>,
    /// Colour in the table: auto (terminal and no NO_COLOR), always, never.
    #[arg(long, value_enum, default_value = "auto", env = "GOLIVE_COLOR")]
    color: ColorChoice,
    /// Wait until ready: run again the items that did not pass (passing ones are kept)
    /// until the gate passes or --within runs out; report the last round.
    #[arg(long)]
    until_pass: bool,
    /// With --until-pass: start no round later than this after the first (default 10m).
    #[arg(long, value_name = "DURATION", value_parser = parse_deadline, requires = "until_pass")]
    within: Option<Duration>,
    /// With --until-pass: the pause after a round before the next (default 15s).
    #[arg(long, value_name = "DURATION", value_parser = parse_deadline, requires = "until_pass")]
    interval: Option<Duration>,
    /// How checklist problems are printed on stderr: text, short, or json (one array, the
    /// layout of `golive validate --format json`).
    #[arg(long, value_enum, default_value = "text", env = "GOLIVE_DIAGNOSTICS_FORMAT")]
    diagnostics_format: super::DiagnosticsFormat,
    /// The global `--quiet`: no progress indicator and no summary line on stderr.
    #[arg(skip)]
    pub(super) quiet: bool,
    /// Run one part of a split checklist: K/N (e.g. 2/4), or auto (Kubernetes
    /// JOB_COMPLETION_INDEX with auto/N or GOLIVE_SHARD_TOTAL; GitLab CI_NODE_INDEX and
    /// CI_NODE_TOTAL). Combine the parts with `golive report merge`.
    #[arg(long, value_name = "K/N|auto[/N]", value_parser = parse_shard)]
    shard: Option<ShardSpec>,
    #[command(flatten)]
    history: super::history::RunHistoryArgs,
}

fn parse_threads(s: &str) -> Result<Threads, String> {
    s.parse()
}

fn parse_shard(s: &str) -> Result<ShardSpec, crate::engine::shard::ShardError> {
    s.parse()
}

/// `--within` and `--interval` when `--until-pass` is given without them.
const DEFAULT_WITHIN: Duration = Duration::from_secs(600);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

fn parse_deadline(s: &str) -> Result<Duration, String> {
    crate::value::parse_duration(s)
}

struct Progress {
    bar: ProgressBar,
    /// Whether the bar can ever be drawn: a quiet or non-interactive run's bar stays hidden,
    /// so its items are not counted on it (a lock and a copy of the id per item).
    live: bool,
    /// The round of `--until-pass` (0 without it).
    round: AtomicUsize,
}

impl Observer for Progress {
    fn started(&self, total: usize) {
        self.bar.set_position(0);
        self.bar.set_length(total as u64);
        self.bar.set_message("");
        let items = if total == 1 { "item" } else { "items" };
        match self.round.load(Ordering::Relaxed) {
            0 => self.bar.set_prefix(items),
            round => self.bar.set_prefix(format!("{items} (round {round})")),
        }
    }

    fn finished(&self, item: &Item, _result: &ItemResult) {
        if !self.live {
            return;
        }
        self.bar.inc(1);
        self.bar.set_message(item.id.clone());
    }
}

/// A progress bar on a terminal, for runs that take more than a moment; never in CI logs.
/// Also whether it can be drawn at all.
fn progress_bar(quiet: bool) -> (ProgressBar, bool) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if quiet || !interactive {
        return (bar, false);
    }
    if let Ok(style) = ProgressStyle::with_template("{spinner} {pos}/{len} {prefix} {wide_msg}") {
        bar.set_style(style);
    }
    let delayed = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        if !delayed.is_finished() {
            delayed.set_draw_target(ProgressDrawTarget::stderr());
            delayed.enable_steady_tick(Duration::from_millis(120));
        }
    });
    (bar, true)
}

/// Raises the open-file limit and returns the concurrency it allows, at most `asked`; says
/// so once on stderr when that is fewer.
fn descriptor_bound_concurrency(asked: usize) -> usize {
    let nofile = crate::fdlimit::raise();
    if nofile.soft != nofile.original {
        crate::probe::process::set_child_nofile(nofile.original, nofile.hard);
    }
    let allowed = crate::fdlimit::concurrency_allowed(nofile.soft);
    if asked <= allowed {
        return asked;
    }
    eprintln!(
        "golive: the open-file limit is {} (hard limit {}): at most {allowed} probes run at once instead of --concurrency {asked}; raise the limit (ulimit -n) to run more at once",
        nofile.soft, nofile.hard
    );
    allowed
}

pub fn run(args: RunArgs, interrupt: crate::engine::Interrupt) -> u8 {
    let mut outputs = args.outputs.clone();
    if outputs.is_empty() {
        outputs.push(OutputSpec { format: Format::Table, path: None });
    }
    if outputs.iter().filter(|o| o.path.is_none()).count() > 1 {
        eprintln!("error: only one --output can go to stdout; give the others a path, e.g. --output json=report.json");
        return exit::INVALID;
    }
    let targets = match args.targets.targets() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    let load_opts =
        LoadOptions { vars: args.vars.clone(), mode: LoadMode::Run, attestations: args.attestations.clone(), targets };
    let (loaded, ok) = load_and_report_as(&args.files, &load_opts, args.diagnostics_format);
    let Some(checklist) = loaded.into_checklist().filter(|_| ok) else {
        if args.diagnostics_format != super::DiagnosticsFormat::Json {
            eprintln!("golive: the checklist is invalid; nothing was run (exit {})", exit::INVALID);
        }
        return exit::INVALID;
    };
    let filter = Filter { tags: args.tags, sections: args.sections, only: args.only, skip: args.skip };
    for id in filter.only.iter().chain(&filter.skip) {
        if !checklist.items.iter().any(|i| &i.id == id || i.base_id() == id) {
            eprintln!("error: --only/--skip names unknown item `{id}`; see `golive list`");
            return exit::INVALID;
        }
    }
    if !checklist.items.iter().any(|i| filter.matches(i)) {
        eprintln!("error: no item matches {}; see `golive list`", filter.describe());
        return exit::INVALID;
    }
    // A shard runs its part of the checklist as a checklist of its own: its components hold
    // every item its items wait for, so nothing it needs is in another shard.
    let (mut checklist, shard_info) = match args.shard.map(|spec| spec.resolve(|name| std::env::var(name).ok())) {
        None => (checklist, None),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
        Some(Ok(part)) => {
            let (checklist, planned_items) = shard::split(&checklist, &filter, part);
            tracing::info!(shard = %part, items = checklist.items.len(), of = planned_items.len(), "shard planned");
            (checklist, Some(ShardInfo { index: part.index, total: part.total, planned_items }))
        }
    };
    let concurrency = descriptor_bound_concurrency(args.concurrency as usize);
    let fleet = match args.ssh.fleet(&checklist) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("golive: cannot make a private directory for SSH connections: {e}");
            return exit::INTERNAL;
        }
    };
    // One run's shared connections, closed by the teardown below; `--until-pass` gives each
    // round its own, closed when the round ends (an idle connection kept between rounds
    // could be closed by the server meanwhile).
    let shared = (!args.until_pass).then(|| Arc::new(crate::probe::Shared::default()));
    let mut opts = RunOptions {
        concurrency,
        fleet: fleet.clone(),
        deadline: args.deadline,
        filter,
        interrupt: Some(interrupt.clone()),
        shared,
    };
    // Only what this run will probe: items the filters leave out cost nothing.
    let chosen = engine::selected(&checklist.items, &opts.filter);
    let estimate =
        threads::estimated_cpu(checklist.items.iter().zip(chosen).filter(|(_, run)| *run).map(|(item, _)| &**item));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = threads::choose(args.threads, estimate, cores);
    tracing::info!(threads, estimated_cpu_ms = estimate.as_secs_f64() * 1000.0, "probe threads chosen");
    let runtime = match threads::runtime(threads) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("golive: cannot start the async runtime: {e}");
            return exit::INTERNAL;
        }
    };
    // Log lines on stderr would tear a progress indicator drawn there: one or the other.
    let (bar, live) = progress_bar(args.quiet || super::logging::enabled());
    let observer = Arc::new(Progress { bar: bar.clone(), live, round: AtomicUsize::new(0) });
    // From here to the end a first signal stops the run and the reports are still written.
    super::signals::graceful(true);
    let result = if args.until_pass {
        let rounds = Rounds {
            within: args.within.unwrap_or(DEFAULT_WITHIN),
            interval: args.interval.unwrap_or(DEFAULT_INTERVAL),
            fail_on: args.fail_on,
            quiet: args.quiet,
        };
        runtime.block_on(rounds.run(&checklist, &opts, &observer, &interrupt))
    } else {
        runtime.block_on(engine::run(&checklist, &opts, observer))
    };
    // Each target's state for the report; its helper and connection are ended below.
    let targets = fleet.as_ref().map(|f| f.report()).unwrap_or_default();
    bar.finish_and_clear();
    let teardown = Teardown { runtime, shared: opts.shared.take(), fleet }.start();
    // A large run gives its freed memory back before its report is built, which lowers the
    // peak; that needs the runtime's threads gone first. A small one has little to give
    // back, and its reports are written while the teardown goes on.
    let teardown = if checklist.items.len() >= GIVE_BACK_FROM {
        teardown.wait();
        super::return_freed_memory();
        None
    } else {
        Some(teardown)
    };

    let redactor = run_redactor(&checklist, &result);
    let unfinished =
        result.results.iter().filter(|r| r.reason.as_deref().is_some_and(|r| r.starts_with("interrupted:"))).count();
    let mut report = Report::build(&mut checklist, result, &opts, args.fail_on, &redactor);
    report.set_targets(targets, &redactor);
    report.shard = shard_info;
    let mut recorder = super::history::RunRecorder::new(&args.history, &args.files[0]);
    recorder.apply_baseline(&args.history, &mut report);
    recorder.add_recent(&mut report, outputs.iter().any(|o| o.format == Format::Html));
    let color = use_color(args.color, super::stdout_is_terminal());
    let style = Style { color, width: super::terminal_width() };
    let (written, table_on_stdout) = super::write_outputs(&outputs, &mut report, &style, &redactor);
    let code = match (written, report.gate.passed) {
        (false, _) => exit::INTERNAL,
        (true, true) => exit::PASSED,
        (true, false) => exit::GATE_FAILED,
    };
    if !table_on_stdout && !args.quiet {
        // Built from the report, whose values are masked.
        eprintln!("{}", report.summary_line());
    }
    recorder.record(&report, &redactor);
    if let Some(teardown) = teardown {
        teardown.wait();
    }
    // A signal received at any moment of the run, or while the reports were written, decides
    // the exit code: the run did not end on its own.
    let signal = *interrupt.borrow();
    // Freeing every item's definition and report row one by one is a noticeable part of the
    // end of a large run: they are left to the operating system, as `validate` leaves its
    // checklist.
    std::mem::forget((report, checklist));
    if let Some(signal) = signal {
        let code = super::signals::exit_code(signal);
        eprintln!(
            "golive: stopped by {signal}: {unfinished} item{} did not finish (error: interrupted); {}; exit {code}",
            if unfinished == 1 { "" } else { "s" },
            if written { "the reports were written" } else { "a report could not be written" }
        );
        return code;
    }
    code
}

/// From this many items on, `golive run` ends the runtime and gives the freed memory back
/// before building the report (see [`run`]); below, the report comes first.
const GIVE_BACK_FROM: usize = 2_000;

/// What a run leaves open once its items are done: idle database connections (closed
/// politely: the server sees a Terminate message), the targets' helpers and connections,
/// the runtime's threads and the tasks still on it (dropping them kills what they started,
/// a command's process group; a probe stuck in blocking code gets at most 2 s).
///
/// Ended on a thread of its own, while the reports are written: on loopback a closed
/// connection's server side runs in golive's system call (a PostgreSQL backend exiting
/// after its Terminate took about 2 ms of each run's wall, the HTTP keep-alive sockets
/// 1-4 ms more), and none of it changes what the reports say.
struct Teardown {
    runtime: tokio::runtime::Runtime,
    shared: Option<Arc<crate::probe::Shared>>,
    fleet: Option<Arc<crate::fleet::Fleet>>,
}

impl Teardown {
    fn run(self) {
        let Teardown { runtime, shared, fleet } = self;
        runtime.block_on(async move {
            let pools = async {
                if let Some(shared) = &shared {
                    shared.close().await;
                }
            };
            let targets = async {
                if let Some(fleet) = &fleet {
                    let _ = tokio::time::timeout(Duration::from_secs(5), fleet.close()).await;
                }
            };
            futures::join!(pools, targets);
        });
        runtime.shutdown_timeout(Duration::from_secs(2));
    }

    /// Starts the teardown on a thread of its own (here, if no thread can be started).
    fn start(self) -> Ending {
        let (tx, rx) = std::sync::mpsc::channel::<Teardown>();
        let spawned = std::thread::Builder::new().name("golive-teardown".into()).spawn(move || {
            if let Ok(teardown) = rx.recv() {
                teardown.run();
            }
        });
        match spawned {
            Ok(thread) => match tx.send(self) {
                Ok(()) => Ending(Some(thread)),
                Err(std::sync::mpsc::SendError(teardown)) => {
                    teardown.run();
                    Ending(None)
                }
            },
            Err(_) => {
                self.run();
                Ending(None)
            }
        }
    }
}

/// A teardown under way.
struct Ending(Option<std::thread::JoinHandle<()>>);

impl Ending {
    /// Until the teardown is over.
    fn wait(self) {
        if let Some(thread) = self.0 {
            let _ = thread.join();
        }
    }
}

/// `--until-pass`: rounds of the run until the gate passes, nothing that blocks it can
/// change by running again, `--within` runs out, the `--deadline` passes or a signal
/// comes. Each round runs the items that did not pass in the rounds before (an item
/// waits for its dependencies as in any run, so one whose dependency did not pass runs
/// after it); the result is the last round's, with the kept passes, timed from the first.
struct Rounds {
    within: Duration,
    interval: Duration,
    fail_on: Severity,
    quiet: bool,
}

impl Rounds {
    async fn run(
        &self,
        checklist: &Checklist,
        opts: &RunOptions,
        progress: &Arc<Progress>,
        interrupt: &crate::engine::Interrupt,
    ) -> RunResult {
        let first = Instant::now();
        let first_started_at = time::OffsetDateTime::now_utc();
        let deadline_at = opts.deadline.map(|d| tokio::time::Instant::now() + d);
        let mut kept: Vec<Option<ItemResult>> = Vec::new();
        let mut round = 1;
        loop {
            progress.round.store(round, Ordering::Relaxed);
            let observer: Arc<dyn Observer> = progress.clone();
            let mut result = engine::run_keeping(checklist, opts, observer, &kept, deadline_at).await;
            let ran = (0..result.results.len())
                .filter(|&i| {
                    kept.get(i).is_none_or(Option::is_none) && result.results[i].state != State::SkippedByFilter
                })
                .count();
            let blocking = blocking_ids(checklist, &result, self.fail_on);
            let counts = round_counts(&result, &kept);
            let elapsed = first.elapsed();
            // Why there is no next round, if there is none.
            let done = if let Some(stop) = result.stopped {
                Some(match stop {
                    engine::Stop::Deadline(_) => "the --deadline passed".to_string(),
                    engine::Stop::Interrupted(signal) => format!("stopped by {signal}"),
                })
            } else if blocking.is_empty() {
                Some(format!("gate PASSED after {}", crate::report::plural(round, "round")))
            } else if !can_change(checklist, &result, self.fail_on) {
                Some("what blocks the gate cannot change by running again (a pending manual item waits for `golive attest`)".to_string())
            } else if elapsed + self.interval > self.within {
                Some(format!("--within {} ends before another round", humantime::format_duration(self.within)))
            } else {
                None
            };
            let gate = if blocking.is_empty() {
                "gate PASSED".to_string()
            } else {
                let mut ids: Vec<&str> = blocking.iter().take(5).map(String::as_str).collect();
                if blocking.len() > 5 {
                    ids.push("…");
                }
                format!("gate FAILED: {} blocking ({})", blocking.len(), ids.join(", "))
            };
            let then = match &done {
                None => format!("next round in {}", humantime::format_duration(self.interval)),
                Some(why) => format!("done: {why}"),
            };
            let line =
                format!("golive: round {round}: ran {}: {counts} — {gate}; {then}", crate::report::plural(ran, "item"));
            if !self.quiet {
                progress.bar.suspend(|| eprintln!("{line}"));
            }
            if done.is_some() {
                result.started_at = first_started_at;
                result.duration = first.elapsed();
                return result;
            }
            progress.bar.set_message(format!(
                "waiting {} before round {}",
                humantime::format_duration(self.interval),
                round + 1
            ));
            let mut signal = interrupt.clone();
            let stopped = tokio::select! {
                _ = tokio::time::sleep(self.interval) => None,
                _ = async {
                    // Closed without a signal (never while golive runs): no signal comes.
                    if signal.wait_for(Option::is_some).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => Some("a signal"),
                _ = async {
                    match deadline_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => Some("the --deadline"),
            };
            if let Some(what) = stopped {
                if !self.quiet {
                    progress
                        .bar
                        .suspend(|| eprintln!("golive: {what} came between rounds: the reports are round {round}'s"));
                }
                result.started_at = first_started_at;
                result.duration = first.elapsed();
                return result;
            }
            kept = result.results.iter().map(|r| r.state.counts_as_passed().then(|| r.clone())).collect();
            round += 1;
        }
    }
}

/// Ids of the items that fail the gate.
fn blocking_ids(checklist: &Checklist, result: &RunResult, fail_on: Severity) -> Vec<String> {
    checklist
        .items
        .iter()
        .zip(&result.results)
        .filter(|(item, r)| r.verdict().blocks(item.severity, fail_on))
        .map(|(item, _)| item.id.clone())
        .collect()
}

/// `2 pass, 1 fail, 0 error, 1 skipped` for the items this round ran (kept ones left out).
fn round_counts(result: &RunResult, kept: &[Option<ItemResult>]) -> String {
    let ran = result
        .results
        .iter()
        .enumerate()
        .filter(|(i, r)| kept.get(*i).is_none_or(Option::is_none) && r.state != State::SkippedByFilter)
        .map(|(_, r)| r.state);
    let mut counts =
        [("pass", 0), ("fail", 0), ("error", 0), ("skipped", 0), ("manual pending", 0), ("not applicable", 0)];
    for state in ran {
        let slot = match state {
            State::Pass | State::ManualAttested => 0,
            State::Fail => 1,
            State::Error => 2,
            State::SkippedByDependency | State::SkippedByFilter => 3,
            State::ManualPending | State::ManualExpired => 4,
            State::NotApplicable => 5,
        };
        counts[slot].1 += 1;
    }
    let shown: Vec<String> = counts
        .iter()
        .enumerate()
        .filter(|(i, (_, n))| *i < 3 || *n > 0)
        .map(|(_, (word, n))| format!("{n} {word}"))
        .collect();
    shown.join(", ")
}

/// Whether running again could change the gate: some blocking item failed or errored, or
/// was skipped for a dependency (or a `when` item) that did, however far back.
fn can_change(checklist: &Checklist, result: &RunResult, fail_on: Severity) -> bool {
    let index: std::collections::HashMap<&str, usize> =
        checklist.items.iter().enumerate().map(|(i, item)| (item.id.as_str(), i)).collect();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<usize> = checklist
        .items
        .iter()
        .zip(&result.results)
        .enumerate()
        .filter(|(_, (item, r))| r.verdict().blocks(item.severity, fail_on))
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = stack.pop() {
        if !seen.insert(i) {
            continue;
        }
        match result.results[i].state {
            State::Fail | State::Error => return true,
            State::SkippedByDependency => {
                stack.extend(checklist.items[i].waits_for().filter_map(|d| index.get(d).copied()));
            }
            _ => {}
        }
    }
    false
}
