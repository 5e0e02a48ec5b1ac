//! GitHub Actions: workflow commands on stdout (`::error file=…,line=…,title=…::message`)
//! that the runner turns into annotations on the checklist line of each blocking item
//! (`::warning` for failures that do not block the gate, one `::notice` with the verdict),
//! and a job summary in Markdown for `$GITHUB_STEP_SUMMARY`. Values are escaped as GitHub's
//! toolkit escapes them (actions/toolkit, `command.ts`): `%`, CR and LF in the message;
//! also `:` and `,` in properties.

use super::markdown::{cell, inline};
use super::spill::{Spill, in_memory};
use super::{ItemReport, Report, SourceLoc};
use crate::engine::Outcome;
use crate::value::format_duration;

/// The workflow commands: one per blocking or failed item, then the verdict.
pub fn render(report: &Report) -> String {
    in_memory(|out| write(report, out))
}

/// [`render`], written to `w` command by command.
pub fn write(report: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = Spill::new(w);
    for item in report.problems() {
        let level = if item.blocking { "error" } else { "warning" };
        let mut properties = Vec::new();
        if let Some(loc) = SourceLoc::parse(&item.source)
            && let Some(file) = loc.repository_path("GITHUB_WORKSPACE")
        {
            properties.push(("file", file));
            properties.push(("line", loc.line.to_string()));
            properties.push(("col", loc.column.to_string()));
        }
        properties
            .push(("title", format!("golive: {} ({}, {})", item.id, item.severity.as_str(), item.outcome_label())));
        out.push_str(&command(level, &properties, &message(item)));
    }
    let title = if report.gate.passed { "golive: gate PASSED" } else { "golive: gate FAILED" };
    out.push_str(&command("notice", &[("title", title.to_string())], &report.summary_line()));
    out.finish()
}

/// `::NAME key=value,key=value::message`, escaped.
fn command(name: &str, properties: &[(&str, String)], message: &str) -> String {
    let properties: Vec<String> = properties.iter().map(|(k, v)| format!("{k}={}", escape_property(v))).collect();
    let space = if properties.is_empty() { "" } else { " " };
    format!("::{name}{space}{}::{}\n", properties.join(","), escape_data(message))
}

/// What an annotation says: the title, why (the failed expectations of a fail), the
/// waiver's effect and the owner.
fn message(item: &ItemReport) -> String {
    let mut lines = vec![item.title.clone()];
    let failed: Vec<_> = item.expectations.iter().filter(|e| !e.passed).collect();
    if item.outcome == Outcome::Fail && !failed.is_empty() {
        for e in failed {
            lines.push(format!("{}: expected {}, observed {}", e.fact, e.expected, e.observed_text()));
            if let Some(why) = &e.explanation {
                lines.push(format!("  because {why}"));
            }
        }
    } else if let Some(reason) = &item.reason {
        lines.push(reason.clone());
    }
    if let Some(waiver) = item.waiver_line() {
        lines.push(waiver);
    }
    if let Some(owner) = &item.owner {
        lines.push(format!("owner: {owner}"));
    }
    if item.blocking {
        lines.push(format!("blocks the go-live gate ({} item `{}`)", item.severity.as_str(), item.id));
    }
    lines.join("\n")
}

/// A message as the runner reads it back: `%`, CR and LF escaped.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// A property value: as a message, and `:` and `,`, which end a property.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The job summary: the verdict, counts, the blocking and failed items with the checklist
/// line of each, and every item in a collapsed table.
pub fn render_summary(report: &Report) -> String {
    in_memory(|out| write_summary(report, out))
}

/// [`render_summary`], written to `w` row by row.
pub fn write_summary(report: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = Spill::new(w);
    let title = match &report.checklist.version {
        Some(v) => format!("{} {v}", report.checklist.name),
        None => report.checklist.name.clone(),
    };
    let verdict = if report.gate.passed { "gate PASSED ✅" } else { "gate FAILED ❌" };
    out.push_str(&format!("## golive: {} — {verdict}\n\n", inline(&title)));
    out.push_str(&format!("{}\n\n", inline(&report.summary_line())));
    let s = &report.summary;
    out.push_str("| pass | fail | error | manual pending | manual attested | waived | skipped | not applicable |\n");
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n\n",
        s.pass, s.fail, s.error, s.manual_pending, s.manual_attested, s.waived, s.skipped, s.not_applicable
    ));
    let problems = report.problems();
    let (blocking, other): (Vec<&ItemReport>, Vec<&ItemReport>) = problems.into_iter().partition(|i| i.blocking);
    for (heading, items) in [("Blocking the gate", blocking), ("Failed, not blocking", other)] {
        if items.is_empty() {
            continue;
        }
        out.push_str(&format!("### {heading}\n\n| ID | Title | Severity | Outcome | Why | Owner | Defined at |\n"));
        out.push_str("|---|---|---|---|---|---|---|\n");
        for item in items {
            out.push_str(&format!(
                "| `{}` | {} | {} | **{}** | {} | {} | {} |\n",
                item.id,
                cell(&item.title),
                item.severity.as_str(),
                item.outcome_label(),
                cell(&why(item)),
                cell(item.owner.as_deref().unwrap_or("—")),
                cell(&item.source)
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "<details><summary>All {} (run <code>{}</code>, {})</summary>\n\n",
        super::plural(report.items.len(), "item"),
        report.run_id,
        format_duration(std::time::Duration::from_secs_f64(report.duration_ms.max(0.0) / 1000.0))
    ));
    out.push_str("| ID | Section | Severity | Outcome | Time |\n|---|---|---|---|---:|\n");
    for item in &report.items {
        let time = if item.attempts == 0 {
            "—".to_string()
        } else {
            format_duration(std::time::Duration::from_secs_f64(item.duration_ms.max(0.0) / 1000.0))
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {time} |\n",
            item.id,
            cell(&item.section),
            item.severity.as_str(),
            item.outcome_label()
        ));
    }
    out.push_str("\n</details>\n");
    out.finish()
}

/// Why an item is listed: its failed expectations, else its reason.
fn why(item: &ItemReport) -> String {
    let failed = item.failed_expectations();
    if !failed.is_empty() { failed.join("\n") } else { item.reason.clone().unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_and_properties_are_escaped_as_the_toolkit_does() {
        assert_eq!(escape_data("100% done\r\nnext: a,b"), "100%25 done%0D%0Anext: a,b");
        assert_eq!(escape_property("golive.toml:4, x%\n"), "golive.toml%3A4%2C x%25%0A");
        assert_eq!(command("notice", &[], "ok"), "::notice::ok\n");
        assert_eq!(
            command("error", &[("file", "a:b".into()), ("line", "3".into())], "m"),
            "::error file=a%3Ab,line=3::m\n"
        );
    }
}
