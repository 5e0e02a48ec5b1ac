//! `golive attest`: record that a person confirmed a manual item, by appending an entry to
//! the attestations file beside the checklist. Earlier entries are never rewritten.

use std::path::PathBuf;

use clap::Args;

use super::{exit, load_and_report, parse_var};
use crate::checklist::attestation::append;
use crate::checklist::{Attestation, LoadMode, LoadOptions, format_date, parse_date};
use crate::diag::did_you_mean;
use crate::value::format_time;

#[derive(Args, Debug)]
pub struct AttestArgs {
    /// The id of the manual item that was confirmed.
    item: String,
    /// Who confirmed it.
    #[arg(long, value_name = "NAME")]
    by: String,
    /// A link to the evidence (ticket, log, recording) or a short description of it.
    #[arg(long, value_name = "URL_OR_TEXT")]
    evidence: String,
    /// A remark kept with the attestation.
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// The last day (UTC) the attestation counts, e.g. 2026-12-31; after it the item is pending again.
    #[arg(long, value_name = "DATE", value_parser = parse_until)]
    until: Option<time::Date>,
    /// The checklist the item belongs to (repeatable, like run's FILES).
    #[arg(short, long = "file", value_name = "CHECKLIST", default_value = "golive.toml")]
    files: Vec<PathBuf>,
    /// The attestations file (default: `[checklist] attestations`, else
    /// NAME.attestations.toml beside the first checklist file).
    #[arg(long, value_name = "FILE")]
    attestations: Option<PathBuf>,
    /// Set a var, as for `run`.
    #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_var)]
    vars: Vec<(String, String)>,
}

fn parse_until(s: &str) -> Result<time::Date, String> {
    parse_date(s).map_err(|_| format!("`{s}` is not a date; write year-month-day, e.g. 2026-12-31"))
}

pub fn run(args: AttestArgs) -> u8 {
    let opts = LoadOptions {
        vars: args.vars.clone(),
        mode: LoadMode::Validate,
        attestations: args.attestations.clone(),
        targets: Vec::new(),
    };
    let (loaded, ok) = load_and_report(&args.files, &opts);
    let Some(checklist) = loaded.checklist.filter(|_| ok) else {
        eprintln!("golive: the checklist is invalid; nothing was recorded");
        return exit::INVALID;
    };
    let manual: Vec<&str> = checklist.items.iter().filter(|i| i.is_manual()).map(|i| i.id.as_str()).collect();
    if !manual.contains(&args.item.as_str()) {
        let what = if checklist.items.iter().any(|i| i.id == args.item) {
            format!("`{}` is not a manual item (only manual items are attested)", args.item)
        } else {
            let hint = did_you_mean(&args.item, manual.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            format!("the checklist has no item `{}`{hint}", args.item)
        };
        let list = if manual.is_empty() { "none".to_string() } else { manual.join(", ") };
        eprintln!("error: {what}; manual items: {list}");
        return exit::INVALID;
    }
    for (flag, value) in [("--by", &args.by), ("--evidence", &args.evidence)] {
        if value.trim().is_empty() {
            eprintln!("error: {flag} must not be empty");
            return exit::INVALID;
        }
    }
    let now = time::OffsetDateTime::now_utc();
    if let Some(until) = args.until
        && until < now.date()
    {
        eprintln!("error: --until {} is already past (today is {} UTC)", format_date(until), format_date(now.date()));
        return exit::INVALID;
    }
    // What the attester typed is stored masked, like every output: a checklist secret in it
    // never reaches the attestations file.
    let mask = |text: &str| loaded.redactor.redact(text.trim()).into_owned();
    let entry = Attestation {
        item: args.item.clone(),
        by: mask(&args.by),
        at: now.replace_nanosecond(0).unwrap_or(now),
        evidence: mask(&args.evidence),
        note: args.note.map(|n| mask(&n)).filter(|n| !n.is_empty()),
        until: args.until,
        source: String::new(),
    };
    let path = &checklist.attestations.path;
    if let Err(e) = append(path, &entry, &loaded.redactor.redact(&checklist.name)) {
        eprintln!("golive: cannot append to the attestations file {}: {e}", path.display());
        return exit::INTERNAL;
    }
    let until = entry.until.map(|u| format!(", valid until {}", format_date(u))).unwrap_or_default();
    // The values are masked, not the sentence: a secret spelling `recorded` leaves it be.
    print!(
        "recorded: `{}` attested by {} at {}{until}\nappended to {}\n",
        entry.item,
        entry.by,
        format_time(entry.at),
        mask(&path.display().to_string())
    );
    exit::PASSED
}
