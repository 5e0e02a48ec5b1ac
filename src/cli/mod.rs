//! The command line: one file per subcommand. This module parses arguments, installs the
//! crypto provider and the panic policy, and maps results to the documented exit codes.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::checklist::{LoadOptions, Loaded, load};
use crate::diag;

mod attest;
mod checks;
mod diff;
mod history;
mod init;
mod keygen;
mod list;
mod probes;
mod report;
mod run;
mod sign;
mod signals;
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
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a checklist and report; exit 1 when the gate fails.
    Run(run::RunArgs),
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
    /// Stored runs: a table of runs, one item's outcome over time; `prune` old runs.
    History(history::HistoryArgs),
    /// What changed between two stored runs; exit 1 when an item newly fails.
    Diff(diff::DiffArgs),
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

/// `--var name=value`
fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => Ok((name.trim().to_string(), value.to_string())),
        _ => Err(format!("`{s}` is not name=value")),
    }
}

/// Loads checklists and prints diagnostics to stderr. `None` when any is an error.
fn load_and_report(files: &[PathBuf], opts: &LoadOptions) -> (Loaded, bool) {
    let loaded = load(files, opts);
    if !loaded.diagnostics.is_empty() {
        // Messages were masked when loading; the quoted source lines are masked here.
        eprint!("{}", diag::render(&loaded.sources.masked(&loaded.redactor), &loaded.diagnostics));
    }
    let ok = loaded.checklist.is_some();
    (loaded, ok)
}

pub fn main() -> ExitCode {
    // Probe tasks run on named runtime threads: their panics become `error` outcomes, so
    // the default hook's message would only be noise (and could quote a secret).
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_worker = std::thread::current().name().is_some_and(|n| n.starts_with("golive-worker"));
        if !on_worker {
            default_hook(info);
        }
    }));
    let _ = rustls::crypto::ring::default_provider().install_default();

    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { exit::INVALID } else { exit::PASSED };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let interrupt = signals::install();
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::Run(args) => run::run(args, interrupt),
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
        Command::History(args) => history::run(args),
        Command::Diff(args) => diff::run(args),
    });
    ExitCode::from(result.unwrap_or(exit::INTERNAL))
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
/// writes the others. Returns whether every output was written, and whether a table went
/// to stdout.
pub(crate) fn write_outputs(
    outputs: &[crate::report::OutputSpec],
    report: &crate::report::Report,
    stdout_style: &crate::report::Style,
    redactor: &crate::redact::Redactor,
) -> (bool, bool) {
    let (mut ok, mut table_on_stdout) = (true, false);
    for output in outputs {
        let style = if output.path.is_some() { crate::report::Style::default() } else { stdout_style.clone() };
        let text = match crate::report::render(output.format, report, &style, redactor) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("golive: {e}");
                ok = false;
                continue;
            }
        };
        match &output.path {
            None => {
                table_on_stdout |= output.format == crate::report::Format::Table;
                print!("{text}");
            }
            Some(path) => {
                if let Err(e) = crate::fswrite::write_atomically(path, text.as_bytes()) {
                    eprintln!("golive: cannot write the {} report to {}: {e}", output.format.name(), path.display());
                    ok = false;
                }
            }
        }
    }
    (ok, table_on_stdout)
}
