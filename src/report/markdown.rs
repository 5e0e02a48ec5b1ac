//! Markdown for a ticket or a wiki page: the gate verdict and summary, the blocking and
//! failed items first with their reasons, a table per section, waivers, attestations, and
//! the sign-off block (each role's name, date and signature state).

use super::spill::Spill;
use super::{ItemReport, Report};
use crate::engine::{Outcome, WaiverStatus};
use crate::value::format_duration;

/// The whole Markdown report as one string: [`write`] into memory.
pub fn render(report: &Report) -> String {
    super::spill::in_memory(|out| write(report, out))
}

/// Writes the Markdown report to `w` piece by piece (never whole in memory).
pub fn write(report: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = Spill::new(w);
    let title = match &report.checklist.version {
        Some(v) => format!("{} {v}", report.checklist.name),
        None => report.checklist.name.clone(),
    };
    out.push_str(&format!("# Go-live report: {}\n\n", inline(&title)));
    if report.gate.passed {
        out.push_str(&format!("**Gate: PASSED** ✅ (fail-on `{}`)\n\n", report.gate.fail_on.as_str()));
    } else {
        let ids: Vec<String> = report.gate.blocking.iter().map(|id| format!("`{id}`")).collect();
        out.push_str(&format!(
            "**Gate: FAILED** ❌ (fail-on `{}`): {} blocking — {}\n\n",
            report.gate.fail_on.as_str(),
            ids.len(),
            ids.join(", ")
        ));
    }
    out.push_str(&format!("{}\n\n", inline(&report.summary_line())));
    out.push_str("| run | started | duration | host | golive |\n|---|---|---|---|---|\n");
    out.push_str(&format!(
        "| `{}` | {} | {} | {} ({}) | {} |\n\n",
        report.run_id,
        cell(&report.started_at),
        format_duration(std::time::Duration::from_secs_f64(report.duration_ms.max(0.0) / 1000.0)),
        cell(&report.host.hostname),
        cell(&report.host.os),
        cell(&report.golive_version)
    ));
    let part = report.part_lines();
    if let Some((heading, inputs)) = part.split_first() {
        out.push_str(&format!("{}\n\n", inline(heading)));
        for line in inputs {
            out.push_str(&format!("- {}\n", inline(line)));
        }
        if !inputs.is_empty() {
            out.push('\n');
        }
    }
    let targets = report.target_lines();
    if !targets.is_empty() {
        out.push_str("Targets:\n\n");
        for line in &targets {
            out.push_str(&format!("- {}\n", inline(line)));
        }
        out.push('\n');
    }
    out.push_str("Checklist files:\n\n");
    for f in &report.checklist.files {
        out.push_str(&format!("- {} — sha256 `{}`\n", inline(&f.path.display().to_string()), f.sha256));
    }
    if let Some(sha) = &report.checklist.attestations.sha256 {
        out.push_str(&format!(
            "- {} (attestations) — sha256 `{sha}`\n",
            inline(&report.checklist.attestations.path.display().to_string())
        ));
    }
    out.push('\n');

    if let Some(baseline) = &report.baseline {
        out.push_str(&format!("## {}\n\n", inline(&baseline.heading())));
        if baseline.fail_on_regression {
            out.push_str("With `--fail-on-regression`: only items that passed in the baseline block the gate.\n\n");
        }
        if baseline.changes.is_empty() && baseline.removed_items.is_empty() {
            out.push_str("No item changed.\n\n");
        } else {
            out.push_str("| ID | Change | Before | Now |\n|---|---|---|---|\n");
            for c in &baseline.changes {
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} |\n",
                    c.id,
                    cell(&c.text()),
                    c.before.map_or("—", |o| o.as_str()),
                    c.after.as_str()
                ));
            }
            for id in &baseline.removed_items {
                out.push_str(&format!("| `{id}` | removed | | |\n"));
            }
            out.push('\n');
        }
    }
    let problems = report.problems();
    if !problems.is_empty() {
        out.push_str("## Blocking and failed items\n\n| ID | Severity | Outcome | Blocks | Why | Owner |\n|---|---|---|---|---|---|\n");
        for item in problems {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                item.id,
                item.severity.as_str(),
                item.outcome_label(),
                if item.blocking { "**yes**" } else { "no" },
                cell(item.reason.as_deref().unwrap_or("")),
                cell(item.owner.as_deref().unwrap_or("—"))
            ));
        }
        out.push('\n');
    }

    for section in report.sections() {
        out.push_str(&format!("## {}\n\n", inline(&section)));
        out.push_str("| ID | Title | Severity | Outcome | Expected → observed | Time |\n|---|---|---|---|---|---|\n");
        for item in report.items.iter().filter(|i| i.group() == section.as_str()) {
            let time = if item.attempts == 0 {
                "—".to_string()
            } else {
                format_duration(std::time::Duration::from_secs_f64(item.duration_ms.max(0.0) / 1000.0))
            };
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                item.id,
                cell(&item.title),
                item.severity.as_str(),
                outcome(item),
                cell(&detail(item)),
                time
            ));
        }
        out.push('\n');
    }

    let waived: Vec<&ItemReport> = report.items.iter().filter(|i| i.waiver.is_some()).collect();
    out.push_str("## Waivers\n\n");
    if waived.is_empty() {
        out.push_str("No waivers.\n\n");
    } else {
        out.push_str(
            "| Item | Status | Reason | Approved by | Until | Outcome without it |\n|---|---|---|---|---|---|\n",
        );
        for item in waived {
            let w = item.waiver.as_ref().expect("filtered");
            let status = match w.status {
                WaiverStatus::Applied => "applied",
                WaiverStatus::Expired => "**EXPIRED** (no effect)",
                WaiverStatus::Unused => "not needed",
            };
            out.push_str(&format!(
                "| `{}` | {status} | {} | {} | {} | {} |\n",
                item.id,
                cell(&w.reason),
                cell(&w.approved_by),
                w.until,
                w.original_outcome.as_str()
            ));
        }
        out.push('\n');
    }

    let attested: Vec<&ItemReport> = report.items.iter().filter(|i| i.attestation.is_some()).collect();
    out.push_str("## Attestations\n\n");
    if attested.is_empty() {
        out.push_str("No attestations.\n\n");
    } else {
        out.push_str("| Item | Status | By | At | Evidence | Note | Until |\n|---|---|---|---|---|---|---|\n");
        for item in attested {
            let a = item.attestation.as_ref().expect("filtered");
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} | {} |\n",
                item.id,
                if a.expired { "**EXPIRED**" } else { "attested" },
                cell(&a.by),
                cell(&a.at),
                cell(&a.evidence),
                cell(a.note.as_deref().unwrap_or("—")),
                a.until.as_deref().unwrap_or("—")
            ));
        }
        out.push('\n');
    }

    out.push_str("## Sign-off\n\n");
    let rows = report.signoff_rows();
    if rows.is_empty() {
        out.push_str("The checklist lists no sign-off roles (`[signoff] roles`).\n");
    } else {
        out.push_str("| Role | Name | Date | Signature |\n|---|---|---|---|\n");
        for row in &rows {
            let (name, date) = match row.signoff {
                Some(s) => {
                    let ack = if s.acknowledged_failed_gate { " (acknowledged the failed gate)" } else { "" };
                    (format!("{}{ack}", s.name), s.signed_at.clone())
                }
                None => ("—".into(), "—".into()),
            };
            let mark = match row.ok() {
                Some(true) => "✅ ",
                Some(false) => "❌ ",
                None => "",
            };
            let extra = if row.extra { " (not a listed role)" } else { "" };
            out.push_str(&format!(
                "| {}{extra} | {} | {} | {mark}{} |\n",
                cell(row.role),
                cell(&name),
                cell(&date),
                cell(&row.state_text())
            ));
        }
        if let Some(view) = &report.signatures
            && !view.problems.is_empty()
        {
            out.push_str("\n**Verification problems:**\n\n");
            for p in &view.problems {
                out.push_str(&format!("- {}\n", inline(p)));
            }
        }
    }
    out.finish()
}

fn outcome(item: &ItemReport) -> String {
    let label = item.outcome_label();
    match item.outcome {
        Outcome::Fail | Outcome::Error => format!("**{label}**"),
        _ if item.blocking => format!("**{label}**"),
        _ => label.to_string(),
    }
}

/// The cell text: failed expectations first, the reason when nothing was observed, and
/// waiver and attestation notes.
fn detail(item: &ItemReport) -> String {
    let mut lines = Vec::new();
    match item.outcome {
        Outcome::Error | Outcome::Skipped => lines.push(item.reason.clone().unwrap_or_default()),
        Outcome::Manual => {
            lines.push(item.attestation_line().unwrap_or_else(|| item.reason.clone().unwrap_or_default()))
        }
        _ => {}
    }
    let mut expectations: Vec<_> = item.expectations.iter().collect();
    expectations.sort_by_key(|e| e.passed);
    for e in expectations {
        let observed = e.observed_text();
        let mark = if e.passed { "✓" } else { "✗" };
        lines.push(format!("{mark} {} {} → {}", e.fact, e.expected, shorten(&observed, 120)));
        if let Some(why) = &e.explanation {
            lines.push(format!("because {}", shorten(why, 240)));
        }
    }
    if let Some(w) = item.waiver_line() {
        lines.push(w);
    }
    lines.join("\n")
}

fn shorten(text: &str, max: usize) -> String {
    let text = text.replace(['\n', '\r'], " ");
    if text.chars().count() > max { format!("{}…", text.chars().take(max - 1).collect::<String>()) } else { text }
}

/// Text for a table cell: no pipes or newlines break the table, and no HTML is interpreted.
pub(super) fn cell(text: &str) -> String {
    escape(text).replace('|', "\\|").replace("\r\n", "<br>").replace(['\n', '\r'], "<br>")
}

/// Text in a paragraph or list item.
pub(super) fn inline(text: &str) -> String {
    escape(text).replace(['\n', '\r'], " ")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '*' | '_' | '`' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}
