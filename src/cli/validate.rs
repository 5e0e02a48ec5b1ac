//! `golive validate`: load and check checklists without running anything, reporting every
//! problem in every file at once.

use std::path::PathBuf;

use clap::Args;

use super::{DiagnosticsFormat as DiagFormat, exit, parse_var};
use crate::checklist::{LoadMode, LoadOptions, load};
use crate::diag::{self, Level};
use crate::report::plural;

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Checklist files to check (their includes are checked too).
    #[arg(default_value = "golive.toml")]
    files: Vec<PathBuf>,
    /// Set a var, as for `run`.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    /// How to print problems.
    #[arg(long, value_enum, default_value = "text")]
    format: DiagFormat,
    /// The attestations file to check (default: `[checklist] attestations`, else
    /// NAME.attestations.toml beside the first checklist file).
    #[arg(long, value_name = "FILE")]
    attestations: Option<PathBuf>,
    /// Treat warnings (unset environment variables, vars without values) as errors.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    targets: super::targets::TargetArgs,
}

pub fn run(args: ValidateArgs) -> u8 {
    let targets = match args.targets.targets() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return super::exit::INVALID;
        }
    };
    let loaded = load(
        &args.files,
        &LoadOptions { vars: args.vars, mode: LoadMode::Validate, attestations: args.attestations, targets },
    );
    let errors = loaded.diagnostics.iter().filter(|d| d.level == Level::Error).count();
    let warnings = loaded.diagnostics.len() - errors;
    // Messages and hints were masked when loading; the sources (quoted lines, paths) are
    // masked here. The rendered text is not searched: `error[GL003]` stays as it is.
    // Without diagnostics nothing quotes a source: a large file is not scanned for nothing.
    let masked;
    let sources = if loaded.diagnostics.is_empty() {
        &loaded.sources
    } else {
        masked = loaded.sources.masked(&loaded.redactor);
        &masked
    };
    let failed = errors > 0 || (args.strict && warnings > 0);
    // `--quiet`: only what fails the check is said on stderr (errors, and warnings under
    // `--strict`), and no verdict line when valid. The JSON on stdout is the command's output.
    let quiet_filtered;
    let shown: &[diag::Diagnostic] = if super::quiet() && args.format != DiagFormat::Json && !args.strict {
        quiet_filtered = loaded.diagnostics.iter().filter(|d| d.level == Level::Error).cloned().collect::<Vec<_>>();
        &quiet_filtered
    } else {
        &loaded.diagnostics
    };
    match args.format {
        DiagFormat::Json => {
            let json = diag::to_json(sources, shown);
            println!("{}", serde_json::to_string_pretty(&json).unwrap_or_default());
        }
        DiagFormat::Text => eprint!("{}", diag::render(sources, shown)),
        DiagFormat::Short => eprint!("{}", diag::render_short(sources, shown)),
    }
    if args.format != DiagFormat::Json && (failed || !super::quiet()) {
        let files: Vec<String> =
            args.files.iter().map(|f| loaded.redactor.redact(&f.display().to_string()).into_owned()).collect();
        match &loaded.checklist {
            Some(c) if !failed => eprintln!(
                "{}: valid: {} in {}{}",
                files.join(", "),
                plural(c.items.len(), "item"),
                plural(c.files.len(), "file"),
                if warnings > 0 { format!(", {}", plural(warnings, "warning")) } else { String::new() }
            ),
            _ => {
                eprintln!("{}: invalid: {}, {}", files.join(", "), plural(errors, "error"), plural(warnings, "warning"))
            }
        }
    }
    // The process ends now: freeing 50,000 items one by one only costs time (about 4% of
    // a large validate), so the loaded checklist is left to the operating system.
    std::mem::forget(loaded);
    if failed { exit::INVALID } else { exit::PASSED }
}
