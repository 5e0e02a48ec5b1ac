//! The command line: one file per subcommand. This module parses arguments, installs the
//! crypto provider and the panic policy, and maps results to the documented exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::checklist::{LoadOptions, Loaded, load};
use crate::diag;

// Every command prints through `output`, never through std's macros of these names, which
// panic when stdout is a closed pipe (`golive checks | head`). Defined here, before the
// subcommand modules, these shadow std's in all of `cli`: a `println!` in any command (one
// added later too) goes through `output`.
macro_rules! print {
    ($($arg:tt)*) => {{ let _ = $crate::cli::output::stdout(format_args!($($arg)*)); }};
}
macro_rules! println {
    () => { print!("\n") };
    ($($arg:tt)*) => {{ let _ = $crate::cli::output::stdout(format_args!("{}\n", format_args!($($arg)*))); }};
}
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::cli::output::stderr(format_args!($($arg)*)) };
}
macro_rules! eprintln {
    () => { eprint!("\n") };
    ($($arg:tt)*) => { $crate::cli::output::stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) mod output;

mod attest;
mod checks;
mod completions;
mod diff;
mod history;
mod init;
mod keygen;
mod list;
mod logging;
mod man;
mod probes;
mod report;
mod run;
mod schema;
mod sign;
mod signals;
mod targets;
mod validate;
mod verify;

/// Exit codes: stable, documented in docs/cli.md.
pub mod exit {
    /// The gate passed (or the command succeeded).
    pub const PASSED: u8 = 0;
    /// The gate failed: a blocking item failed, errored, or is pending.
    pub const GATE_FAILED: u8 = 1;
    /// The checklist or the command line is invalid.
    pub const INVALID: u8 = 2;
    /// golive itself failed (could not write a report, internal error).
    pub const INTERNAL: u8 = 3;
    /// golive was stopped by SIGHUP, SIGINT or SIGTERM: 128 + the signal's number.
    pub const SIGHUP: u8 = 129;
    pub const SIGINT: u8 = 130;
    pub const SIGTERM: u8 = 143;
}

#[derive(Parser, Debug)]
#[command(name = "golive", version, about = "Declarative pre-deployment checklist validator", long_about = None)]
#[command(
    after_help = "Exit codes: 0 gate passed, 1 gate failed, 2 checklist or command line invalid, 3 internal error,\n129/130/143 stopped by SIGHUP/SIGINT/SIGTERM.\nGuide: docs/README.md"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log what golive does on stderr: -v loading, connections, retries and timings per item;
    /// -vv more detail. GOLIVE_LOG (else RUST_LOG) sets a filter instead, e.g. golive=debug.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Print nothing on stderr but errors: no progress, no summary, no warnings, no verdict.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a checklist and report; exit 1 when the gate fails.
    Run(Box<run::RunArgs>),
    /// Check checklist files without running anything; report every problem at once.
    Validate(validate::ValidateArgs),
    /// List the items of a checklist without running them.
    List(list::ListArgs),
    /// Describe probe kinds: their parameters and the facts they produce.
    Probes(probes::ProbesArgs),
    /// The check catalogue items can `use`, and the built-in checklists.
    Checks(checks::ChecksArgs),
    /// Write a starter checklist that includes built-in checklists and declares their vars.
    Init(init::InitArgs),
    /// Record that a person confirmed a manual item (appends to the attestations file).
    Attest(attest::AttestArgs),
    /// Make an Ed25519 key pair for signing reports.
    Keygen(keygen::KeygenArgs),
    /// Sign a JSON report for a sign-off role: create or extend a signed report.
    Sign(sign::SignArgs),
    /// Verify a signed report against a keyring; exit 0 only when everything holds.
    Verify(verify::VerifyArgs),
    /// Render a saved JSON report or a signed report in any output format.
    Report(report::ReportArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish.
    Completions(completions::CompletionsArgs),
    /// Print the man page of golive or of a subcommand; --out-dir writes them all.
    Man(man::ManArgs),
    /// Print the JSON Schema of checklist files or of catalogue check files, for editors.
    Schema(schema::SchemaArgs),
    /// Stored runs: a table of runs, one item's outcome over time; `prune` old runs.
    History(history::HistoryArgs),
    /// What changed between two stored runs; exit 1 when an item newly fails.
    Diff(diff::DiffArgs),
    /// golive's helper on a target (started over SSH by `golive run`).
    #[command(name = "__agent", hide = true)]
    Agent(targets::AgentArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Colour on a terminal unless NO_COLOR is set; `--color` decides otherwise.
pub fn use_color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// How checklist diagnostics are printed (`validate --format`, `run --diagnostics-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiagnosticsFormat {
    /// Source excerpts with the problem underlined.
    Text,
    /// One line per problem: file:line:col: error[CODE]: message (hint: …).
    Short,
    /// A JSON array for tools (the layout of docs/diagnostics.md).
    Json,
}

/// `--quiet`: nothing on stderr but errors.
static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether `--quiet` was given: print nothing on stderr but errors.
pub(crate) fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// `--var name=value`
fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(format!("`{s}` is not name=value")),
    }
}

/// Loads checklists and prints diagnostics to stderr as text. `None` when any is an error.
fn load_and_report(files: &[PathBuf], opts: &LoadOptions) -> (Loaded, bool) {
    load_and_report_as(files, opts, DiagnosticsFormat::Text)
}

/// Loads checklists and prints their diagnostics to stderr in `format` (warnings only
/// without `--quiet`); JSON is one array on one line. Returns whether the checklist loaded.
fn load_and_report_as(files: &[PathBuf], opts: &LoadOptions, format: DiagnosticsFormat) -> (Loaded, bool) {
    let started = std::time::Instant::now();
    let loaded = load(files, opts);
    let shown: Vec<diag::Diagnostic> =
        loaded.diagnostics.iter().filter(|d| !quiet() || d.level == diag::Level::Error).cloned().collect();
    if !shown.is_empty() {
        // Messages were masked when loading; the quoted source lines are masked here.
        let sources = loaded.sources.masked(&loaded.redactor);
        match format {
            DiagnosticsFormat::Text => eprint!("{}", diag::render(&sources, &shown)),
            DiagnosticsFormat::Short => eprint!("{}", diag::render_short(&sources, &shown)),
            DiagnosticsFormat::Json => {
                eprintln!("{}", serde_json::to_string(&diag::to_json(&sources, &shown)).unwrap_or_default())
            }
        }
    }
    let ok = loaded.checklist.is_some();
    let errors = loaded.diagnostics.iter().filter(|d| d.level == diag::Level::Error).count();
    tracing::info!(
        files = files.len(),
        loaded_files = loaded.checklist.as_ref().map_or(0, |c| c.files.len()),
        items = loaded.checklist.as_ref().map_or(0, |c| c.items.len()),
        errors,
        warnings = loaded.diagnostics.len() - errors,
        elapsed = ?started.elapsed(),
        "checklist loaded"
    );
    logging::add_secrets(&loaded.redactor);
    (loaded, ok)
}

/// Set by the binary to its allocator's way of giving freed memory back to the system now
/// (mimalloc's `mi_collect`), rather than when the allocator would (mimalloc: a second after
/// it was freed). `golive run` calls it once the probes have ended and their runtime is shut
/// down, before the report is built: the report's rows are new memory, and what the run
/// freed would otherwise still count in the peak beside them (scale50k: 165 -> 146 MiB,
/// docs/benchmarks.md).
pub static RETURN_FREED_MEMORY: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

fn return_freed_memory() {
    if let Some(give_back) = RETURN_FREED_MEMORY.get() {
        give_back();
    }
}

pub fn main() -> ExitCode {
    // Started by ssh as SSH_ASKPASS for a target's password or passphrase: answer and end.
    if let Some(code) = crate::fleet::ssh::askpass() {
        return ExitCode::from(code);
    }
    // Probe tasks run on named runtime threads, or marked on the run's own thread: their
    // panics become `error` outcomes, so the default hook's message would only be noise
    // (and could quote a secret).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !crate::engine::threads::quiet_panic_here() {
            default_hook(info);
        }
    }));
    crate::probe::trust::install_default();

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::INVALID } else { exit::PASSED };
            let _ = e.print();
            if let Some(variable) = value_from_environment(&e) {
                eprintln!("note: the value of this option comes from the environment variable {variable}");
            }
            return ExitCode::from(code);
        }
    };
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    logging::init(cli.verbose, cli.quiet);
    let interrupt = signals::install();
    let quiet = cli.quiet;
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Run(mut args) => {
            args.quiet = quiet;
            run::run(*args, interrupt)
        }
        Command::Validate(args) => validate::run(args),
        Command::List(args) => list::run(args),
        Command::Probes(args) => probes::run(args),
        Command::Checks(args) => checks::run(args),
        Command::Init(args) => init::run(args),
        Command::Attest(args) => attest::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Report(args) => report::run(args),
        Command::Completions(args) => completions::run(args),
        Command::Man(args) => man::run(args),
        Command::Schema(args) => schema::run(args),
        Command::History(args) => history::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Agent(args) => targets::agent(args),
    });
    let code = result.unwrap_or(exit::INTERNAL);
    // A signal's exit under way wins over the command's own code.
    signals::settle();
    // A command that printed only part of its output to a stdout it could not write (a full
    // disk; not a closed pipe) did not succeed.
    if code == exit::PASSED && output::stdout_failed() {
        return ExitCode::from(exit::INTERNAL);
    }
    ExitCode::from(code)
}

/// The `GOLIVE_*` variable a rejected value came from, when the option was not on the command
/// line: clap's message names only the option, which a CI job that sets the variable never
/// typed.
fn value_from_environment(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(e.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation) {
        return None;
    }
    let Some(ContextValue::String(shown)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = shown.split_whitespace().next()?.strip_prefix("--")?;
    let command = <Cli as clap::CommandFactory>::command();
    let arg = command.get_subcommands().flat_map(|s| s.get_arguments()).find(|a| a.get_long() == Some(long))?;
    let variable = arg.get_env()?.to_string_lossy().into_owned();
    let on_command_line = std::env::args().skip(1).any(|word| {
        word == format!("--{long}")
            || word.starts_with(&format!("--{long}="))
            || arg.get_short().is_some_and(|short| word.starts_with(&format!("-{short}")))
    });
    (!on_command_line && std::env::var_os(&variable).is_some()).then_some(variable)
}

pub(crate) fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

pub(crate) fn terminal_width() -> Option<u16> {
    if !stdout_is_terminal() {
        return None;
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or(Some(comfy_table::Table::new().width().unwrap_or(120)))
}

/// Renders each requested output (files get no colour), prints the one without a path, and
/// writes the others, each file as it is produced (JSON and JUnit item by item) into a new
/// file renamed over the old one. The report is masked once, in place, for all of them.
/// Returns whether every output was written, and whether a table went to stdout.
pub(crate) fn write_outputs(
    outputs: &[crate::report::OutputSpec],
    report: &mut crate::report::Report,
    stdout_style: &crate::report::Style,
    redactor: &crate::redact::Redactor,
) -> (bool, bool) {
    let (mut ok, mut table_on_stdout) = (true, false);
    let report = report.masked_for_output(redactor);
    for output in outputs {
        match &output.path {
            None => {
                table_on_stdout |= output.format == crate::report::Format::Table;
                // Streamed as a file is, never whole in memory. A closed pipe is not a
                // failure (the reader has what it wanted); another error is, like a file
                // that cannot be written, and is said once on stderr.
                let written = self::output::stdout_with(|out| {
                    crate::report::write_masked(output.format, &report, stdout_style, out).map_err(|e| match e {
                        crate::report::RenderError::Io(e) => e,
                        other => std::io::Error::other(other.to_string()),
                    })
                });
                ok &= written.is_ok();
            }
            Some(path) => {
                let style = crate::report::Style::default();
                let written = crate::fswrite::write_atomically_with(path, |out| {
                    crate::report::write_masked(output.format, &report, &style, out).map_err(|e| match e {
                        crate::report::RenderError::Io(e) => e,
                        other => std::io::Error::other(other.to_string()),
                    })
                });
                match written {
                    Err(e) => {
                        eprintln!(
                            "golive: cannot write the {} report to {}: {e}",
                            output.format.name(),
                            path.display()
                        );
                        ok = false;
                    }
                    Ok(bytes) => {
                        tracing::info!(format = output.format.name(), path = %path.display(), bytes, "report written")
                    }
                }
            }
        }
    }
    (ok, table_on_stdout)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own consistency checks of the whole command line: no two options with one
    /// name (the global -q/-v against a subcommand's), defaults that parse, conflicts that
    /// name existing options.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
