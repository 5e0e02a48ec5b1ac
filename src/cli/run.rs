//! `golive run`: load, run, report in every requested format, exit by the gate.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{ColorChoice, exit, load_and_report_as, parse_var, use_color};
use crate::checklist::{Item, LoadMode, LoadOptions, Severity};
use crate::engine::{self, Filter, ItemResult, Observer, RunOptions};
use crate::report::{Format, OutputSpec, Report, Style, run_redactor};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Checklist files to run (their includes are loaded too).
    #[arg(default_value = "golive.toml")]
    files: Vec<PathBuf>,
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
    /// How checklist problems are printed on stderr: text, short, or json (one array, the
    /// layout of `golive validate --format json`).
    #[arg(long, value_enum, default_value = "text", env = "GOLIVE_DIAGNOSTICS_FORMAT")]
    diagnostics_format: super::DiagnosticsFormat,
    /// The global `--quiet`: no progress indicator and no summary line on stderr.
    #[arg(skip)]
    pub(super) quiet: bool,
}

fn parse_deadline(s: &str) -> Result<Duration, String> {
    crate::value::parse_duration(s)
}

struct Progress(ProgressBar);

impl Observer for Progress {
    fn started(&self, total: usize) {
        self.0.set_length(total as u64);
        self.0.set_prefix(if total == 1 { "item" } else { "items" });
    }

    fn finished(&self, item: &Item, _result: &ItemResult) {
        self.0.inc(1);
        self.0.set_message(item.id.clone());
    }
}

/// A progress bar on a terminal, for runs that take more than a moment; never in CI logs.
fn progress_bar(quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    let interactive = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    if quiet || !interactive {
        return bar;
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
    bar
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
    let load_opts =
        LoadOptions { vars: args.vars.clone(), mode: LoadMode::Run, attestations: args.attestations.clone() };
    let (loaded, ok) = load_and_report_as(&args.files, &load_opts, args.diagnostics_format);
    let Some(checklist) = loaded.checklist.filter(|_| ok) else {
        if args.diagnostics_format != super::DiagnosticsFormat::Json {
            eprintln!("golive: the checklist is invalid; nothing was run (exit {})", exit::INVALID);
        }
        return exit::INVALID;
    };
    let filter = Filter { tags: args.tags, sections: args.sections, only: args.only, skip: args.skip };
    for id in filter.only.iter().chain(&filter.skip) {
        if !checklist.items.iter().any(|i| &i.id == id) {
            eprintln!("error: --only/--skip names unknown item `{id}`; see `golive list`");
            return exit::INVALID;
        }
    }
    if !checklist.items.iter().any(|i| filter.matches(i)) {
        eprintln!("error: no item matches {}; see `golive list`", filter.describe());
        return exit::INVALID;
    }
    let concurrency = descriptor_bound_concurrency(args.concurrency as usize);
    let opts = RunOptions { concurrency, deadline: args.deadline, filter, interrupt: Some(interrupt.clone()) };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("golive-worker").build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("golive: cannot start the async runtime: {e}");
            return exit::INTERNAL;
        }
    };
    // Log lines on stderr would tear a progress indicator drawn there: one or the other.
    let bar = progress_bar(args.quiet || super::logging::enabled());
    let observer = Arc::new(Progress(bar.clone()));
    // From here to the end a first signal stops the run and the reports are still written.
    super::signals::graceful(true);
    let result = runtime.block_on(engine::run(&checklist, &opts, observer));
    bar.finish_and_clear();
    // Dropping the remaining tasks kills what they started (a command's process group);
    // a probe stuck in blocking code gets at most 2 s before golive exits anyway.
    runtime.shutdown_timeout(Duration::from_secs(2));

    let redactor = run_redactor(&checklist, &result);
    let report = Report::build(&checklist, &result, &opts, args.fail_on, &redactor);
    let color = use_color(args.color, super::stdout_is_terminal());
    let style = Style { color, width: super::terminal_width() };
    let (written, table_on_stdout) = super::write_outputs(&outputs, &report, &style, &redactor);
    let code = match (written, report.gate.passed) {
        (false, _) => exit::INTERNAL,
        (true, true) => exit::PASSED,
        (true, false) => exit::GATE_FAILED,
    };
    if !table_on_stdout && !args.quiet {
        // Built from the report, whose values are masked.
        eprintln!("{}", report.summary_line());
    }
    // A signal received at any moment of the run, or while the reports were written, decides
    // the exit code: the run did not end on its own.
    let signal = *interrupt.borrow();
    if let Some(signal) = signal {
        let unfinished = result
            .results
            .iter()
            .filter(|r| r.reason.as_deref().is_some_and(|r| r.starts_with("interrupted:")))
            .count();
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
