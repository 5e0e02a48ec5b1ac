//! `golive report`: render a saved JSON report, or the report inside a signed report, in
//! any output format; with --keys, the sign-off block says whether each signature verifies.

use std::path::PathBuf;

use clap::Args;

use super::exit;
use crate::redact::Redactor;
use crate::report::{Format, OutputSpec, Report, SignatureView, Style};
use crate::signing::keyring::Keyring;
use crate::signing::verify::verify;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A JSON report (golive run -o json=…) or a signed report (golive sign).
    input: PathBuf,
    /// Output format, optionally to a file: html=report.html, markdown, junit=junit.xml. Repeatable.
    #[arg(short, long = "output", value_name = "FORMAT[=PATH]")]
    outputs: Vec<OutputSpec>,
    /// A keyring to verify the signatures of a signed report with.
    #[arg(long, value_name = "KEYRING")]
    keys: Option<PathBuf>,
}

pub fn run(args: ReportArgs) -> u8 {
    let mut outputs = args.outputs.clone();
    if outputs.is_empty() {
        outputs.push(OutputSpec { format: Format::Table, path: None });
    }
    if outputs.iter().filter(|o| o.path.is_none()).count() > 1 {
        eprintln!("error: only one --output can go to stdout; give the others a path");
        return exit::INVALID;
    }
    let bytes = match std::fs::read(&args.input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.input.display());
            return exit::INVALID;
        }
    };
    let json: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("error: {} is not JSON: {e}", args.input.display());
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
            eprintln!("error: cannot read the report inside {}: {}", args.input.display(), v.problems.join("; "));
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
            eprintln!("note: {} is not signed; --keys has nothing to verify", args.input.display());
        }
        (json, None)
    };
    let mut report = match Report::from_json(report_json) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}: {e}", args.input.display());
            return exit::INVALID;
        }
    };
    report.signatures = view;
    let redactor = Redactor::default();
    let (written, _) = super::write_outputs(&outputs, &report, &Style::default(), &redactor);
    if written { exit::PASSED } else { exit::INTERNAL }
}
