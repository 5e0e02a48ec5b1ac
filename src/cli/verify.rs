//! `golive verify`: check a signed report against a keyring and say who signed what; exit
//! 0 only when every signature verifies, every sign-off refers to this report and is signed
//! by a key of its role, and every required role signed.

use std::path::PathBuf;

use clap::Args;

use super::exit;
use crate::report::SignatureState;
use crate::signing::keyring::Keyring;
use crate::signing::verify::verify;

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The signed report (from golive sign).
    signed: PathBuf,
    /// The keyring: which public keys may sign for which role (TOML).
    #[arg(long, value_name = "KEYRING")]
    keys: PathBuf,
    /// Fail also when the report's gate failed (even if every sign-off acknowledged it).
    #[arg(long)]
    require_passed_gate: bool,
}

pub fn run(args: VerifyArgs) -> u8 {
    let keyring = match Keyring::load(&args.keys) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INVALID;
        }
    };
    let bytes = match std::fs::read(&args.signed) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.signed.display());
            return exit::INVALID;
        }
    };
    let mut v = verify(&bytes, Some(&keyring));
    println!("Signed report: {}", args.signed.display());
    if let Some(r) = &v.report {
        let version = r["checklist"]["version"].as_str().map(|s| format!(" {s}")).unwrap_or_default();
        println!(
            "Report: {}{version}, run {} finished {}",
            r["checklist"]["name"].as_str().unwrap_or("?"),
            r["run_id"].as_str().unwrap_or("?"),
            r["finished_at"].as_str().unwrap_or("?")
        );
        let blocking: Vec<&str> =
            r["gate"]["blocking"].as_array().into_iter().flatten().filter_map(|b| b.as_str()).collect();
        let fail_on = r["gate"]["fail_on"].as_str().unwrap_or("?");
        if r["gate"]["passed"].as_bool() == Some(true) {
            println!("Gate: PASSED (fail-on {fail_on})");
        } else {
            println!("Gate: FAILED (fail-on {fail_on}): {} blocking: {}", blocking.len(), blocking.join(", "));
            if args.require_passed_gate {
                v.problems.push("the report's gate failed (--require-passed-gate)".into());
            }
        }
    }
    if !v.subjects.is_empty() {
        println!("Subjects:");
        for s in &v.subjects {
            println!("  {}  sha256:{}", s.name, s.sha256);
        }
    }
    println!(
        "Report envelope: {} signature{}",
        v.report_signatures.len(),
        if v.report_signatures.len() == 1 { "" } else { "s" }
    );
    for s in &v.report_signatures {
        match &s.verified_by {
            Some((keyid, roles)) => println!("  ✓ key {} ({})", &keyid[..16], roles.join(", ")),
            None => println!("  ✗ key id {}: does not verify", &s.keyid[..s.keyid.len().min(16)]),
        }
    }
    println!("Sign-offs:");
    if v.signoffs.is_empty() {
        println!("  none");
    }
    for s in &v.signoffs {
        let ack = if s.acknowledged_failed_gate { " (acknowledged the failed gate)" } else { "" };
        match &s.state {
            SignatureState::Verified { keyid } => {
                println!("  ✓ {}: {}, {}{ack}, key {}", s.role, s.name, s.signed_at, &keyid[..16])
            }
            SignatureState::Invalid(why) => println!("  ✗ {}: {}, {}{ack}: {why}", s.role, s.name, s.signed_at),
            SignatureState::Unchecked => println!("  ? {}: {}, {}{ack}", s.role, s.name, s.signed_at),
        }
    }
    if v.ok() {
        println!("VERIFIED: every signature verifies and every required role signed");
        exit::PASSED
    } else {
        println!("NOT VERIFIED: {} problem{}", v.problems.len(), if v.problems.len() == 1 { "" } else { "s" });
        for p in &v.problems {
            println!("  - {p}");
        }
        exit::GATE_FAILED
    }
}
