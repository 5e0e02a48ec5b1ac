//! GitLab code quality: the subset of the Code Climate JSON that GitLab reads
//! (`description`, `check_name`, `fingerprint`, `severity`, `location.path`,
//! `location.lines.begin`), one issue per blocking or failed item, pointing at the line of
//! the checklist that defines it. GitLab shows them in merge requests and the pipeline's
//! Code Quality tab (`artifacts: reports: codequality:`).

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{ItemReport, RenderError, Report, SourceLoc};
use crate::checklist::Severity;

#[derive(Serialize)]
struct Issue {
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u64,
}

pub fn render(report: &Report) -> Result<String, RenderError> {
    let mut out = Vec::new();
    write(report, &mut out)?;
    Ok(String::from_utf8(out).expect("JSON is UTF-8"))
}

/// [`render`], written to `w` issue by issue (each made as it is serialised).
pub fn write(report: &Report, w: &mut dyn std::io::Write) -> Result<(), RenderError> {
    struct Issues<'a>(&'a Report);
    impl Serialize for Issues<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.problems().into_iter().map(|item| issue(self.0, item)))
        }
    }
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, w);
    serde_json::to_writer_pretty(&mut out, &Issues(report))?;
    std::io::Write::write_all(&mut out, b"\n")?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}

fn issue(report: &Report, item: &ItemReport) -> Issue {
    let loc = SourceLoc::parse(&item.source);
    let path = loc
        .as_ref()
        .and_then(|l| l.repository_path("CI_PROJECT_DIR").or_else(|| Some(l.path.clone())))
        .unwrap_or_else(|| item.source.clone());
    let blocks = if item.blocking { "blocks the gate" } else { "does not block the gate" };
    let failed = item.failed_expectations();
    let why = if failed.is_empty() { item.reason.clone().unwrap_or_default() } else { failed.join("; ") };
    let description = format!(
        "golive {}: {} — {} ({}, {blocks}): {why}",
        item.id,
        item.title,
        item.outcome_label(),
        item.severity.as_str()
    )
    .replace(['\r', '\n'], " ");
    // The same problem keeps its fingerprint from run to run (GitLab compares them between
    // the merge request and its target): the checklist, the item and how it ended.
    let mut digest = Sha256::new();
    for part in [report.checklist.name.as_str(), item.id.as_str(), item.outcome_label()] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    Issue {
        description,
        check_name: format!("golive/{}", item.id),
        fingerprint: hex::encode(digest.finalize()),
        severity: severity(item.severity),
        location: Location { path, lines: Lines { begin: loc.map_or(1, |l| l.line.max(1)) } },
    }
}

/// GitLab's severities (info, minor, major, critical, blocker) for golive's.
fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "blocker",
        Severity::High => "critical",
        Severity::Medium => "major",
        Severity::Low => "minor",
        Severity::Info => "info",
    }
}
