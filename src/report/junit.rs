//! JUnit XML for CI test reporters (GitLab, Jenkins, GitHub): one `<testsuite>` per section,
//! one `<testcase>` per item named by id and title. A fail is a `<failure>` with expected vs
//! observed, an error an `<error>`; skipped, waived and pending manual items are `<skipped>`
//! with the reason. Written with quick-junit, the serializer cargo-nextest uses.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::{ItemReport, RenderError, Report};
use crate::engine::{Outcome, State};

pub fn render(report: &Report) -> Result<String, RenderError> {
    Ok(build(report).to_string()?)
}

/// The same bytes as [`render`], serialised straight into `out`.
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    // A buffer of its own, as for JSON: the XML writer writes tag by tag and attribute by
    // attribute, and each went through `out`'s dynamic `write_all`.
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    build(report).serialize(&mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(())
}

fn build(report: &Report) -> JunitReport {
    let title = match &report.checklist.version {
        Some(v) => format!("{} {v}", report.checklist.name),
        None => report.checklist.name.clone(),
    };
    let mut junit = JunitReport::new(format!("golive: {title}"));
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&report.started_at) {
        junit.set_timestamp(t);
    }
    junit.set_time(millis(report.duration_ms));
    let gate = if report.gate.passed { "passed" } else { "failed" };
    for section in report.sections() {
        let mut suite = TestSuite::new(section.as_str());
        suite.add_properties([
            Property::new("golive.checklist", title.as_str()),
            Property::new("golive.run_id", report.run_id.as_str()),
            Property::new("golive.gate", gate),
            Property::new("golive.fail_on", report.gate.fail_on.as_str()),
        ]);
        let items: Vec<&ItemReport> = report.items.iter().filter(|i| i.group() == section.as_str()).collect();
        let mut total = 0.0;
        for item in items {
            total += item.duration_ms;
            suite.add_test_case(test_case(item));
        }
        suite.set_time(millis(total));
        if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&report.started_at) {
            suite.set_timestamp(t);
        }
        junit.add_test_suite(suite);
    }
    junit
}

fn millis(ms: f64) -> Duration {
    Duration::from_micros((ms.max(0.0) * 1000.0).round() as u64)
}

fn test_case(item: &ItemReport) -> TestCase {
    let blocking = if item.blocking { "[blocks the gate] " } else { "" };
    let reason = item.reason.clone().unwrap_or_default();
    let status = match item.outcome {
        Outcome::Pass => TestCaseStatus::success(),
        Outcome::Manual if item.state == State::ManualAttested => TestCaseStatus::success(),
        Outcome::Fail | Outcome::Error => {
            let kind = if item.outcome == Outcome::Fail { NonSuccessKind::Failure } else { NonSuccessKind::Error };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(format!("{blocking}{reason}"));
            s.set_type(item.outcome.as_str());
            s.set_description(details(item));
            s
        }
        Outcome::Skipped => {
            let mut s = TestCaseStatus::skipped();
            // A not-applicable item's reason says so already.
            let word = if item.state == State::NotApplicable { "" } else { "skipped: " };
            s.set_message(format!("{blocking}{word}{reason}"));
            s
        }
        Outcome::Waived => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(item.waiver_line().unwrap_or_else(|| "waived".into()));
            s.set_description(details(item));
            s
        }
        Outcome::Manual => {
            let mut s = TestCaseStatus::skipped();
            let owner = item.owner.as_ref().map(|o| format!(" (owner: {o})")).unwrap_or_default();
            s.set_message(format!("{blocking}manual: {reason}{owner}"));
            if let Some(line) = item.attestation_line() {
                s.set_description(line);
            }
            s
        }
    };
    let mut case = TestCase::new(format!("{}: {}", item.id, item.title), status);
    case.set_classname(item.group().as_ref());
    case.set_time(millis(item.duration_ms));
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&item.started_at) {
        case.set_timestamp(t);
    }
    case.add_properties([
        Property::new("id", item.id.as_str()),
        Property::new("severity", item.severity.as_str()),
        Property::new("probe", item.probe.as_str()),
        Property::new("outcome", item.outcome_label()),
        Property::new("blocking", if item.blocking { "true" } else { "false" }),
        Property::new("attempts", item.attempts.to_string()),
        Property::new("source", item.source.as_str()),
    ]);
    if let Some(owner) = &item.owner {
        case.add_property(Property::new("owner", owner.as_str()));
    }
    if let Some(target) = &item.target {
        case.add_property(Property::new("target", target.as_str()));
    }
    // Passing items carry what was observed; the others say it in their status element.
    let out = match item.outcome {
        Outcome::Pass => details(item),
        Outcome::Manual => item.attestation_line().unwrap_or_default(),
        _ => String::new(),
    };
    if !out.is_empty() {
        case.set_system_out(out);
    }
    case
}

/// Expected vs observed for every expectation, failures first; then the waiver, if any.
fn details(item: &ItemReport) -> String {
    let mut lines = Vec::new();
    let mut expectations: Vec<_> = item.expectations.iter().collect();
    expectations.sort_by_key(|e| e.passed);
    for e in expectations {
        let observed = e.observed_text();
        let mark = if e.passed { "ok  " } else { "FAIL" };
        let observed = if observed.contains('\n') { format!(":\n{observed}") } else { format!(" {observed}") };
        lines.push(format!("{mark} {}: expected {}, observed{observed}", e.fact, e.expected));
        if let Some(why) = &e.explanation {
            lines.push(format!("     because {why}"));
        }
    }
    let unjudged = item.waiver.as_ref().is_some_and(|w| w.original_outcome != Outcome::Fail);
    if item.outcome == Outcome::Waived
        && unjudged
        && let Some(reason) = &item.reason
    {
        lines.push(format!("without the waiver: {reason}"));
    }
    lines.join("\n")
}
