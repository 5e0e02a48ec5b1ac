//! `golive report`: render a saved JSON report, or the report inside a signed report, in
//! any output format; with --keys, the sign-off block says whether each signature verifies.
//! `golive report merge` combines the reports of a run's shards (or of per-host runs of one
//! checklist) into one report with one gate.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use sha2::{Digest, Sha256};

use super::exit;
use crate::redact::Redactor;
use crate::report::merge::{self, Problem};
use crate::report::{Format, OutputSpec, Report, SignatureView, Style};
use crate::signing::keyring::Keyring;
use crate::signing::verify::verify;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true, disable_help_subcommand = true)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: Option<ReportCommand>,
    /// A JSON report (golive run -o json=…) or a signed report (golive sign). A file named
    /// `merge` is given as ./merge.
    #[arg(required = true)]
    input: Option<PathBuf>,
    /// Output format, optionally to a file: html=report.html, markdown, junit=junit.xml. Repeatable.
    #[arg(short, long = "output", value_name = "FORMAT[=PATH]")]
    outputs: Vec<OutputSpec>,
    /// A keyring to verify the signatures of a signed report with.
    #[arg(long, value_name = "KEYRING")]
    keys: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum ReportCommand {
    /// Combine the JSON reports of a run's shards (golive run --shard K/N), or of runs of one
    /// checklist on several hosts, into one report with one gate; exit 1 when it fails.
    Merge(MergeArgs),
}

#[derive(Args, Debug)]
struct MergeArgs {
    /// The JSON reports to combine (not signed ones: sign the merged report).
    #[arg(required = true, value_name = "REPORT")]
    inputs: Vec<PathBuf>,
    /// Output format, optionally to a file: json=all.json, table, html=all.html. Repeatable.
    #[arg(short, long = "output", value_name = "FORMAT[=PATH]", value_delimiter = ',')]
    outputs: Vec<OutputSpec>,
}

/// The outputs asked for (the table on stdout by default); `None` when two go to stdout.
fn outputs_or_table(asked: &[OutputSpec]) -> Option<Vec<OutputSpec>> {
    let mut outputs = asked.to_vec();
    if outputs.is_empty() {
        outputs.push(OutputSpec { format: Format::Table, path: None });
    }
    if outputs.iter().filter(|o| o.path.is_none()).count() > 1 {
        eprintln!("error: only one --output can go to stdout; give the others a path");
        return None;
    }
    Some(outputs)
}

pub fn run(args: ReportArgs) -> u8 {
    let input = match (args.command, args.input) {
        (Some(ReportCommand::Merge(merge)), _) => return run_merge(merge),
        (None, Some(input)) => input,
        // clap requires one or the other.
        (None, None) => return exit::INVALID,
    };
    let Some(outputs) = outputs_or_table(&args.outputs) else {
        return exit::INVALID;
    };
    let bytes = match std::fs::read(&input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", input.display());
            return exit::INVALID;
        }
    };
    let json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {} is not JSON: {e}", input.display());
            return exit::INVALID;
        }
    };
    let keyring = match args.keys.as_deref().map(Keyring::load).transpose() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    let signed = json.get("schema").and_then(|s| s.as_str()) == Some(crate::signing::SIGNED_SCHEMA);
    let (report_json, view) = if signed {
        let v = verify(&bytes, keyring.as_ref());
        let Some(report) = v.report.clone() else {
            eprintln!("error: cannot read the report inside {}: {}", input.display(), v.problems.join("; "));
            return exit::GATE_FAILED;
        };
        let files: Vec<(String, String)> = report["checklist"]["files"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| Some((f["path"].as_str()?.to_string(), f["sha256"].as_str()?.to_string())))
            .collect();
        let subjects = v
            .subjects
            .iter()
            .filter(|s| !files.contains(&(s.name.clone(), s.sha256.clone())))
            .filter(|s| report["checklist"]["attestations"]["sha256"].as_str() != Some(s.sha256.as_str()))
            .map(|s| (s.name.clone(), format!("sha256:{}", s.sha256)))
            .collect();
        let view = SignatureView { checked: v.checked, signoffs: v.signoffs, problems: v.problems, subjects };
        (report, Some(view))
    } else {
        if keyring.is_some() && !super::quiet() {
            eprintln!("note: {} is not signed; --keys has nothing to verify", input.display());
        }
        (json, None)
    };
    let mut report = match Report::from_json(report_json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", input.display());
            return exit::INVALID;
        }
    };
    report.signatures = view;
    let redactor = Redactor::default();
    let (written, _) = super::write_outputs(&outputs, &mut report, &Style::default(), &redactor);
    if written { exit::PASSED } else { exit::INTERNAL }
}

/// `golive report merge`: read every input (saying every problem at once), merge, write the
/// outputs, exit by the merged gate.
fn run_merge(args: MergeArgs) -> u8 {
    let Some(outputs) = outputs_or_table(&args.outputs) else {
        return exit::INVALID;
    };
    let mut problems = Vec::new();
    let mut inputs = Vec::new();
    for path in &args.inputs {
        match read_input(path) {
            Ok(input) => inputs.push(input),
            Err(problem) => problems.push(problem),
        }
    }
    let merged = if problems.is_empty() {
        merge::merge(&inputs)
    } else {
        // Still look for what else is wrong with the ones that could be read.
        Err(problems.into_iter().chain(merge::merge(&inputs).err().unwrap_or_default()).collect())
    };
    let mut report = match merged {
        Ok(report) => report,
        Err(problems) => {
            let redactor = Redactor::default();
            eprintln!(
                "error: cannot merge {}: {}; nothing was written",
                crate::report::plural(args.inputs.len(), "report"),
                crate::report::plural(problems.len(), "problem")
            );
            for p in &problems {
                eprintln!("  - {}", redactor.redact(&p.to_string()));
            }
            return exit::INVALID;
        }
    };
    let redactor = Redactor::default();
    let (written, table_on_stdout) = super::write_outputs(&outputs, &mut report, &Style::default(), &redactor);
    if !table_on_stdout && !super::quiet() {
        eprintln!("{}", redactor.redact(&report.summary_line()));
    }
    match (written, report.gate.passed) {
        (false, _) => exit::INTERNAL,
        (true, true) => exit::PASSED,
        (true, false) => exit::GATE_FAILED,
    }
}

/// One input of a merge: a JSON report (a signed one is refused), with its file's sha256.
fn read_input(path: &std::path::Path) -> Result<merge::Input, Problem> {
    let file = path.display().to_string();
    let unreadable = |why: String| Problem::Unreadable { file: file.clone(), why };
    let bytes = crate::fsread::read_bounded(path).map_err(|e| unreadable(format!("cannot read it: {e}")))?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| unreadable(format!("not JSON: {e}")))?;
    if json.get("schema").and_then(|s| s.as_str()) == Some(crate::signing::SIGNED_SCHEMA) {
        return Err(Problem::Signed { file });
    }
    let report = Report::from_json(json).map_err(|e| unreadable(e.to_string()))?;
    Ok(merge::Input { file: file.clone(), sha256: hex::encode(Sha256::digest(&bytes)), report })
}
