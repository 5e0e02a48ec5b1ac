//! `golive history` (runs as a table or JSON, one item's outcome over time, `show`, `prune`)
//! and the store side of `golive run`: where the store is, the baseline, recording the run.

use std::path::Path;

use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{ContentArrangement, Table, presets};

use super::exit;
use crate::history::{Keep, RunFilter, RunSpec, Store, StoreError, StoreLocation, block_on};
use crate::redact::Redactor;
use crate::report::{Baseline, Format, Report, Style};

/// Where the history store is (shared by `run`, `history` and `diff`).
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// The history store: sqlite://PATH or postgres://USER@HOST/DB (default:
    /// .golive/history.db beside the first checklist file; for history and diff, in the
    /// current directory).
    #[arg(long, value_name = "URL", env = "GOLIVE_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

impl StoreArgs {
    fn location(&self, dir: &Path) -> Result<StoreLocation, StoreError> {
        StoreLocation::choose(self.store.as_deref(), dir)
    }

    /// Opens the store for reading commands; prints why not.
    pub(super) fn open(&self) -> Result<Store, u8> {
        let location = self.location(Path::new("")).map_err(|e| {
            eprintln!("error: {e}");
            exit::INVALID
        })?;
        if let Some(path) = &location.sqlite_path
            && !path.exists()
        {
            eprintln!(
                "golive: no history store at {} (runs are recorded there by `golive run`; give --store or GOLIVE_STORE for another)",
                location.shown
            );
            return Err(exit::INTERNAL);
        }
        block_on(Store::open(location)).map_err(|e| {
            eprintln!("golive: {e}");
            exit::INTERNAL
        })
    }
}

/// The history options of `golive run`.
#[derive(Args, Debug, Clone)]
pub struct RunHistoryArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Do not record this run in the history store.
    #[arg(long, conflicts_with_all = ["baseline", "fail_on_regression"])]
    pub no_store: bool,
    /// Compare with a stored run (last, last-pass, last~N or a run id): every output shows
    /// what changed since it.
    #[arg(long, value_name = "RUN")]
    pub baseline: Option<RunSpec>,
    /// Fail the gate only on items that passed in the baseline (default baseline: last-pass).
    #[arg(long)]
    pub fail_on_regression: bool,
}

/// The store as `golive run` uses it: opened once the run is over, before the reports are
/// written when they need it (a baseline, an HTML history strip), else after them, so a run
/// stopped while writing its reports leaves no store behind.
pub struct RunRecorder {
    disabled: bool,
    dir: std::path::PathBuf,
    store_flag: StoreArgs,
    store: Option<Result<Store, StoreError>>,
}

impl RunRecorder {
    pub fn new(args: &RunHistoryArgs, first_file: &Path) -> RunRecorder {
        RunRecorder {
            disabled: args.no_store,
            dir: first_file.parent().unwrap_or(Path::new("")).to_path_buf(),
            store_flag: args.store.clone(),
            store: None,
        }
    }

    /// Opens the store if it is not open yet; `None` with --no-store.
    fn store(&mut self) -> Option<&Result<Store, StoreError>> {
        if self.disabled {
            return None;
        }
        if self.store.is_none() {
            let opened = self.store_flag.location(&self.dir).and_then(|location| block_on(Store::open(location)));
            self.store = Some(opened);
        }
        self.store.as_ref()
    }

    /// Adds "changed since baseline" to the report, and with `--fail-on-regression` lets
    /// only items that passed in the baseline block.
    pub fn apply_baseline(&mut self, args: &RunHistoryArgs, report: &mut Report) {
        let spec = match (&args.baseline, args.fail_on_regression) {
            (Some(spec), _) => spec.clone(),
            (None, true) => RunSpec::LastPass,
            (None, false) => return,
        };
        let store = match self.store() {
            Some(Ok(store)) => store,
            Some(Err(e)) => {
                eprintln!("golive: no baseline ({e}); the gate is the ordinary one");
                return;
            }
            None => return,
        };
        let found = block_on(async {
            match store.resolve(&spec, &report.checklist.name).await? {
                Some(id) => store.report(&id).await,
                None => Ok(None),
            }
        });
        let baseline = match found {
            Ok(b) => b,
            Err(e) => {
                eprintln!("golive: no baseline ({e}); the gate is the ordinary one");
                return;
            }
        };
        if baseline.is_none() {
            eprintln!(
                "golive: the history store holds no run `{spec}` of `{}`: every item is new",
                report.checklist.name
            );
        }
        let compared = Baseline::compare(&spec.to_string(), baseline.as_ref(), report, args.fail_on_regression);
        if args.fail_on_regression {
            crate::report::apply_fail_on_regression(report, baseline.as_ref());
        }
        report.baseline = Some(compared);
    }

    /// Gives the report each item's outcomes in the earlier stored runs (the HTML report's
    /// history strip); read only when an HTML report is written.
    pub fn add_recent(&mut self, report: &mut Report, html: bool) {
        if !html {
            return;
        }
        let Some(Ok(store)) = self.store() else { return };
        match block_on(store.recent_outcomes(&report.checklist.name, crate::report::RECENT_RUNS)) {
            // No earlier run: no strip, and the page is the one `golive report` renders.
            Ok(recent) if recent.is_empty() => {}
            Ok(recent) => report.recent = Some(recent),
            Err(e) => eprintln!("golive: the HTML report has no history strip: {e}"),
        }
    }

    /// Records the run; a store that cannot be opened or written is reported on stderr and
    /// changes nothing else (the reports are written already, the exit code is the gate's).
    pub fn record(mut self, report: &Report, redactor: &Redactor) {
        self.store();
        let store = match self.store {
            None => return,
            Some(Ok(store)) => store,
            Some(Err(e)) => {
                eprintln!("golive: the run was not recorded: {e}");
                return;
            }
        };
        let json = match crate::report::render(Format::Json, report, &Style::default(), redactor) {
            Ok(json) => json,
            Err(e) => {
                eprintln!("golive: the run was not recorded: {e}");
                return;
            }
        };
        let mut masked = report.clone();
        masked.mask(redactor);
        let ci_job = crate::history::ci_job().map(|j| redactor.redact(&j).into_owned());
        if let Err(e) = block_on(async {
            let r = store.record(&masked, &json, ci_job.as_deref()).await;
            store.close().await;
            r
        }) {
            eprintln!("golive: the run was not recorded: {e}");
        }
    }
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(subcommand)]
    command: Option<HistoryCommand>,
    #[command(flatten)]
    store: StoreArgs,
    /// Only runs of this checklist (its `[checklist] name`).
    #[arg(long, value_name = "NAME")]
    checklist: Option<String>,
    /// One item's outcome over the runs, instead of the runs.
    #[arg(long, value_name = "ID")]
    item: Option<String>,
    /// Only runs that started within this long before now, e.g. 7d, 12h.
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    since: Option<std::time::Duration>,
    /// At most this many runs, newest first.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// table or json.
    #[arg(long, value_enum, default_value = "table")]
    format: ListFormat,
}

#[derive(Subcommand, Debug)]
enum HistoryCommand {
    /// Delete old runs: --keep 90d keeps runs younger than that, --keep 20 the newest 20 of
    /// each checklist.
    Prune(PruneArgs),
    /// Print a stored run's JSON report, byte for byte as the run wrote it (--signed: the
    /// signed report stored for it).
    Show(ShowArgs),
    /// Store a signed report (golive sign's output) with the run it signs.
    AddSigned(AddSignedArgs),
}

#[derive(Args, Debug)]
struct AddSignedArgs {
    /// The signed report, e.g. report.signed.json.
    signed: std::path::PathBuf,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args, Debug)]
struct ShowArgs {
    /// last, last~N, last-pass or a run id (or a unique prefix of one).
    run: RunSpec,
    /// The signed report stored with `history add-signed`, byte for byte as signed.
    #[arg(long)]
    signed: bool,
    #[command(flatten)]
    store: StoreArgs,
}

#[derive(Args, Debug)]
struct PruneArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// A duration (90d) or a number of runs per checklist (20).
    #[arg(long, value_name = "AGE|COUNT")]
    keep: Keep,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (e.g. 7d, 12h, 30m)"))
}

pub fn run(args: HistoryArgs) -> u8 {
    match args.command {
        Some(HistoryCommand::Prune(prune)) => return run_prune(prune),
        Some(HistoryCommand::Show(show)) => return run_show(show),
        Some(HistoryCommand::AddSigned(add)) => return run_add_signed(add),
        None => {}
    }
    let store = match args.store.open() {
        Ok(store) => store,
        Err(code) => return code,
    };
    let filter = RunFilter {
        checklist: args.checklist.clone().unwrap_or_default(),
        since_ms: args.since.map_or(i64::MIN, |d| crate::history::now_ms() - d.as_millis() as i64),
        limit: i64::from(args.limit),
    };
    let text = match &args.item {
        Some(item) => match block_on(store.item_history(item, &filter)) {
            Ok(rows) if args.format == ListFormat::Json => json_lines(&rows),
            Ok(rows) => item_table(item, &rows),
            Err(e) => return fail(e),
        },
        None => match block_on(store.runs(&filter)) {
            Ok(rows) if args.format == ListFormat::Json => json_lines(&rows),
            Ok(rows) => runs_table(&rows),
            Err(e) => return fail(e),
        },
    };
    print!("{text}");
    exit::PASSED
}

fn fail(e: StoreError) -> u8 {
    eprintln!("golive: {e}");
    exit::INTERNAL
}

fn json_lines<T: serde::Serialize>(rows: &[T]) -> String {
    let mut text = serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into());
    text.push('\n');
    text
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(super::terminal_width().unwrap_or(160));
    table.force_no_tty();
    table.set_header(header.to_vec());
    table
}

fn runs_table(rows: &[crate::history::RunRow]) -> String {
    if rows.is_empty() {
        return "No runs recorded.\n".to_string();
    }
    let mut t =
        table(&["Run", "Started", "Checklist", "Gate", "Pass", "Fail", "Error", "Blocking", "Time", "Host", "CI job"]);
    for r in rows {
        let checklist = match &r.version {
            Some(v) => format!("{} {v}", r.checklist),
            None => r.checklist.clone(),
        };
        t.add_row(vec![
            r.run_id.clone(),
            r.started_at.chars().take(19).collect(),
            crate::report::cell_text(&checklist),
            if r.gate_passed { "passed".into() } else { "FAILED".into() },
            r.pass.to_string(),
            r.fail.to_string(),
            r.error.to_string(),
            r.blocking.to_string(),
            crate::value::format_duration(std::time::Duration::from_secs_f64(r.duration_ms.max(0.0) / 1000.0)),
            crate::report::cell_text(&r.host),
            r.ci_job.clone().unwrap_or_default(),
        ]);
    }
    format!("{t}\n{}\n", crate::report::plural(rows.len(), "run"))
}

/// One item over time: oldest to newest as a strip, then a row per run, newest first.
fn item_table(item: &str, rows: &[crate::history::ItemRow]) -> String {
    if rows.is_empty() {
        return format!("No recorded run has an item `{item}`.\n");
    }
    let strip: String = rows.iter().rev().map(|r| outcome_mark(&r.outcome)).collect();
    let mut t = table(&["Run", "Started", "Outcome", "Reason", "Time"]);
    for r in rows {
        t.add_row(vec![
            r.run_id.clone(),
            r.started_at.chars().take(19).collect(),
            r.outcome.clone(),
            crate::report::cell_text(r.reason.as_deref().unwrap_or("")),
            crate::value::format_duration(std::time::Duration::from_secs_f64(r.duration_ms.max(0.0) / 1000.0)),
        ]);
    }
    format!(
        "{item}: {strip} (oldest → newest; ✓ pass, ✗ fail, ! error, - skipped, w waived, m manual)\n{t}\n{}\n",
        crate::report::plural(rows.len(), "run")
    )
}

pub fn outcome_mark(outcome: &str) -> char {
    match outcome {
        "pass" => '✓',
        "fail" => '✗',
        "error" => '!',
        "skipped" => '-',
        "waived" => 'w',
        "manual" => 'm',
        _ => '?',
    }
}

fn run_prune(args: PruneArgs) -> u8 {
    let store = match args.store.open() {
        Ok(store) => store,
        Err(code) => return code,
    };
    match block_on(store.prune(args.keep)) {
        Ok(n) => {
            println!("Deleted {} from {}.", crate::report::plural(n, "run"), store.location().shown);
            exit::PASSED
        }
        Err(e) => fail(e),
    }
}

fn run_show(args: ShowArgs) -> u8 {
    let store = match args.store.open() {
        Ok(store) => store,
        Err(code) => return code,
    };
    let found = block_on(async {
        let Some(id) = store.resolve(&args.run, "").await? else { return Ok(None) };
        if args.signed {
            Ok(Some((id.clone(), store.signed(&id).await?)))
        } else {
            Ok(Some((id.clone(), store.report_json(&id).await?.map(String::into_bytes))))
        }
    });
    match found {
        Ok(Some((_, Some(bytes)))) => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            if out.write_all(&bytes).and_then(|()| out.flush()).is_err() {
                return exit::INTERNAL;
            }
            exit::PASSED
        }
        Ok(Some((id, None))) => {
            eprintln!(
                "golive: run {id} has no signed report in the store (store one with `golive history add-signed`)"
            );
            exit::INVALID
        }
        Ok(None) => {
            eprintln!("golive: the history store holds no run `{}`", args.run);
            exit::INVALID
        }
        Err(e) => fail(e),
    }
}

/// Stores a signed report with its run, after checking that the report it signs is the
/// stored one (the same JSON).
fn run_add_signed(args: AddSignedArgs) -> u8 {
    let bytes = match std::fs::read(&args.signed) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.signed.display());
            return exit::INVALID;
        }
    };
    let verification = crate::signing::verify::verify(&bytes, None);
    let Some(signed_report) = verification.report else {
        eprintln!("error: {} is not a signed report: {}", args.signed.display(), verification.problems.join("; "));
        return exit::INVALID;
    };
    let Some(run_id) = signed_report["run_id"].as_str().map(str::to_string) else {
        eprintln!("error: the report in {} has no run_id", args.signed.display());
        return exit::INVALID;
    };
    let store = match args.store.open() {
        Ok(store) => store,
        Err(code) => return code,
    };
    let result = block_on(async {
        let Some(stored) = store.report_json(&run_id).await? else {
            return Ok(Err(format!("the history store has no run {run_id}")));
        };
        let stored: serde_json::Value = serde_json::from_str(&stored).unwrap_or_default();
        if stored != signed_report {
            return Ok(Err(format!(
                "the report {} signs is not the stored report of run {run_id}",
                args.signed.display()
            )));
        }
        store.store_signed(&run_id, &bytes).await.map(|_| Ok(()))
    });
    match result {
        Ok(Ok(())) => {
            println!("Stored the signed report of run {run_id}.");
            exit::PASSED
        }
        Ok(Err(message)) => {
            eprintln!("golive: {message}");
            exit::GATE_FAILED
        }
        Err(e) => fail(e),
    }
}
