//! `golive sign`: sign a JSON report for one sign-off role. The first signature turns the
//! report into a signed report (the report envelope, never changed afterwards); each signer
//! adds a signature to it and a sign-off envelope of their own.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::Value as Json;

use super::exit;
use crate::fsread::{ReadError, read_bounded};
use crate::signing::keys::SigningKey;
use crate::signing::signed::{
    SignedReport, Signoff, Subject, parse_subject, read_signoff, report_envelope, report_subjects, signoff_envelope,
};
use crate::signing::{SIGNED_SCHEMA, verify};
use crate::value::format_time;

#[derive(Args, Debug)]
pub struct SignArgs {
    /// A JSON report (golive run -o json=…) or a signed report to add a signature to.
    report: PathBuf,
    /// The sign-off role signed for (one of the checklist's [signoff] roles).
    #[arg(long, value_name = "ROLE")]
    role: String,
    /// The signer's name.
    #[arg(long, value_name = "NAME")]
    name: String,
    /// The signer's private key (PKCS#8 PEM, from golive keygen).
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// Another artifact the report covers, e.g. the release: --subject app.tar.gz=sha256:HEX.
    /// Repeatable; only when the signed report is created.
    #[arg(long = "subject", value_name = "NAME=sha256:HEX", value_parser = parse_subject)]
    subjects: Vec<Subject>,
    /// Sign although the report's gate failed (recorded in the sign-off).
    #[arg(long)]
    acknowledge_failed_gate: bool,
    /// Where the signed report goes (default: the signed report given, or REPORT.signed.json).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
}

/// Why `golive sign` could not read its input or write its output.
#[derive(Debug, thiserror::Error)]
enum FileError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: ReadError },
    #[error("{} is not JSON: {source}", path.display())]
    NotJson { path: PathBuf, source: serde_json::Error },
    #[error("cannot serialise the signed report: {0}")]
    Serialise(#[source] serde_json::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: crate::fswrite::WriteError },
}

/// A report or signed report (a regular file of at most 16 MiB, as `fsread` reads them).
fn read_json(path: &Path) -> Result<Json, FileError> {
    let bytes = read_bounded(path).map_err(|source| FileError::Read { path: path.to_path_buf(), source })?;
    serde_json::from_slice(&bytes).map_err(|source| FileError::NotJson { path: path.to_path_buf(), source })
}

fn default_out(report: &Path) -> PathBuf {
    let name = report.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".json").unwrap_or(&name);
    report.with_file_name(format!("{stem}.signed.json"))
}

pub fn run(args: SignArgs) -> u8 {
    match sign(&args) {
        Ok(()) => exit::PASSED,
        Err((code, message)) => {
            eprintln!("error: {message}");
            code
        }
    }
}

fn sign(args: &SignArgs) -> Result<(), (u8, String)> {
    let invalid = |m: String| (exit::INVALID, m);
    let invalid_because = |e: &dyn std::fmt::Display| (exit::INVALID, e.to_string());
    let is_signed = |input: &Json| input.get("schema").and_then(|s| s.as_str()) == Some(SIGNED_SCHEMA);
    let first_look = read_json(&args.report).map_err(|e| invalid_because(&e))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| if is_signed(&first_look) { args.report.clone() } else { default_out(&args.report) });
    // From reading the signed report to replacing it, no other `golive sign` works in its
    // directory: two approvers signing at once both end up in the file.
    let _lock = crate::fswrite::lock_dir_of(&out)
        .map_err(|e| (exit::INTERNAL, format!("cannot sign {}: {e}", out.display())))?;
    // Read again under the lock: another signer may have replaced it meanwhile.
    drop(first_look);
    let input = read_json(&args.report).map_err(|e| invalid_because(&e))?;
    let is_signed = is_signed(&input);
    let mut signed: Option<SignedReport> = if is_signed {
        Some(serde_json::from_value(input.clone()).map_err(|e| invalid(format!("malformed signed report: {e}")))?)
    } else if out.exists() {
        let existing = read_json(&out).map_err(|e| invalid_because(&e))?;
        let existing: SignedReport = serde_json::from_value(existing)
            .map_err(|e| invalid(format!("{} exists and is not a signed report ({e})", out.display())))?;
        let predicate = existing.statement().map_err(|e| invalid_because(&e))?["predicate"].clone();
        if predicate != input {
            return Err(invalid(format!(
                "{} holds a signed report of another run (run {}); sign that file, or choose another --out",
                out.display(),
                predicate["run_id"].as_str().unwrap_or("?")
            )));
        }
        Some(existing)
    } else {
        None
    };
    let report: Json = match &signed {
        Some(s) => s.statement().map_err(|e| invalid_because(&e))?["predicate"].clone(),
        None => input,
    };
    if report.get("schema").and_then(|s| s.as_str()) != Some(crate::report::SCHEMA) {
        return Err(invalid(format!(
            "{} is not a golive JSON report (write one with golive run -o json=report.json)",
            args.report.display()
        )));
    }
    let key = SigningKey::load(&args.key).map_err(|e| invalid_because(&e))?;
    let (role, name) = (args.role.trim().to_string(), args.name.trim().to_string());
    if role.is_empty() || name.is_empty() {
        return Err(invalid("--role and --name must not be empty".into()));
    }
    let roles: Vec<&str> =
        report["signoff"]["roles"].as_array().into_iter().flatten().filter_map(|r| r.as_str()).collect();
    if !roles.is_empty() && !roles.contains(&role.as_str()) {
        return Err(invalid(format!(
            "the checklist has no sign-off role {role:?}; its roles are: {}",
            roles.join(", ")
        )));
    }
    let gate_passed = report["gate"]["passed"].as_bool().unwrap_or(false);
    if !gate_passed && !args.acknowledge_failed_gate {
        let blocking: Vec<&str> =
            report["gate"]["blocking"].as_array().into_iter().flatten().filter_map(|b| b.as_str()).collect();
        return Err((
            exit::GATE_FAILED,
            format!(
                "the report's gate FAILED ({} blocking: {}); to sign anyway, add --acknowledge-failed-gate (recorded in your sign-off)",
                blocking.len(),
                blocking.join(", ")
            ),
        ));
    }
    if let Some(s) = &signed {
        for env in &s.signoffs {
            if let Ok((_, existing)) = read_signoff(env)
                && existing.role == role
            {
                return Err(invalid(format!(
                    "the role {role:?} has already signed ({} at {}); each role signs once",
                    existing.name, existing.signed_at
                )));
            }
        }
        let have = verify::verify(&serde_json::to_vec(s).unwrap_or_default(), None).subjects;
        if let Some(missing) = args.subjects.iter().find(|x| !have.contains(x)) {
            return Err(invalid(format!(
                "the signed report's subjects are fixed by its first signature; {}=sha256:{} is not among them",
                missing.name, missing.sha256
            )));
        }
    }
    let mut file = match signed.take() {
        Some(s) => s,
        None => {
            let subjects = report_subjects(&report, &args.subjects);
            SignedReport::new(report_envelope(&report, &subjects).map_err(|e| (exit::INTERNAL, e.to_string()))?)
        }
    };
    file.report.sign(&key).map_err(|e| invalid_because(&e))?;
    let signoff = Signoff {
        role: role.clone(),
        name: name.clone(),
        signed_at: format_time(
            time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| time::OffsetDateTime::now_utc()),
        ),
        acknowledged_failed_gate: !gate_passed,
    };
    let run_id = report["run_id"].as_str().unwrap_or_default();
    file.signoffs.push(signoff_envelope(&file.report, run_id, &signoff, &key).map_err(|e| invalid_because(&e))?);
    write_atomically(&out, &file).map_err(|e| (exit::INTERNAL, e.to_string()))?;

    let signed_roles: Vec<String> =
        file.signoffs.iter().filter_map(|e| read_signoff(e).ok()).map(|(_, s)| s.role).collect();
    let waiting: Vec<&str> = roles.iter().copied().filter(|r| !signed_roles.iter().any(|s| s == r)).collect();
    println!("signed as {role} ({name}) with key {}", key.public.keyid);
    println!(
        "{}: {} sign-off{}{}",
        out.display(),
        file.signoffs.len(),
        if file.signoffs.len() == 1 { "" } else { "s" },
        if waiting.is_empty() { String::new() } else { format!("; waiting for: {}", waiting.join(", ")) }
    );
    Ok(())
}

/// Writes beside the target and renames, so a reader never sees half a file.
fn write_atomically(path: &Path, file: &SignedReport) -> Result<(), FileError> {
    let mut text = serde_json::to_string_pretty(file).map_err(FileError::Serialise)?;
    text.push('\n');
    crate::fswrite::write_atomically(path, text.as_bytes())
        .map_err(|source| FileError::Write { path: path.to_path_buf(), source })
}
