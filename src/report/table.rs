//! The terminal table: one table per section (id, title, severity, outcome, expected vs
//! observed, duration), then what blocks the launch and why, then the summary line.

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};

use super::{ItemReport, Report, Style};
use crate::engine::{Outcome, State};
use crate::value::{Value, format_duration};

const LOG_WIDTH: u16 = 120;
const MAX_OBSERVED: usize = 60;
/// What a table cell shows at most: comfy-table's wrapping takes time quadratic in a cell's
/// length, so a hostile 1 MiB title would hold a run for a minute. JSON and HTML keep all.
const CELL_LINE_CHARS: usize = 200;
const CELL_LINES: usize = 8;
/// What a line of "Blocking the launch" shows at most of a reason.
const MAX_REASON: usize = 1000;

/// Text for a terminal table cell, bounded: each line cut at 200 characters and at most 8
/// lines, each cut marked with `…`. Every comfy-table cell golive prints goes through this.
pub fn cell_text(text: &str) -> String {
    let mut out = String::new();
    for (n, line) in text.lines().enumerate() {
        if n == CELL_LINES {
            out.push_str("\n…");
            break;
        }
        if n > 0 {
            out.push('\n');
        }
        out.push_str(&cut(line, CELL_LINE_CHARS));
    }
    out
}

/// The first `max` characters of `text`, the last replaced by `…` when it is longer.
fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => text.into(),
        Some(_) => {
            let end = text.char_indices().nth(max - 1).map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..end]).into()
        }
    }
}

pub fn render(report: &Report, style: &Style) -> String {
    let mut out = String::new();
    let title = match &report.checklist.version {
        Some(v) => format!("{} {v}", report.checklist.name),
        None => report.checklist.name.clone(),
    };
    out.push_str(&format!("{title}\n"));
    for (n, line) in report.part_lines().iter().enumerate() {
        let indent = if n > 0 && report.inputs.is_some() { "  - " } else { "" };
        out.push_str(&format!("{indent}{}\n", cut(line, MAX_REASON)));
    }
    let targets = report.target_lines();
    if !targets.is_empty() {
        out.push_str("Targets:\n");
        for line in &targets {
            out.push_str(&format!("  - {}\n", cut(line, MAX_REASON)));
        }
    }
    for section in report.sections() {
        let items: Vec<&ItemReport> = report.items.iter().filter(|i| i.group() == section.as_str()).collect();
        out.push_str(&format!("\n{} ({})\n", cut(&section, MAX_REASON), super::plural(items.len(), "item")));
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_width(style.width.unwrap_or(LOG_WIDTH));
        if style.color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        let mut header = vec!["ID", "Title", "Severity", "Outcome", "Expected → observed", "Time"];
        if report.baseline.is_some() {
            header.push("Since baseline");
        }
        table.set_header(header);
        for item in items {
            let mut row = vec![
                Cell::new(cell_text(&item.id)),
                Cell::new(cell_text(&item.title)),
                Cell::new(item.severity.as_str()),
                outcome_cell(item, style.color),
                Cell::new(cell_text(&detail(item))),
                Cell::new(if item.attempts == 0 { "—".to_string() } else { duration_text(item) }),
            ];
            if let Some(baseline) = &report.baseline {
                let change = baseline.change_of(&item.id).map_or("unchanged".to_string(), |c| c.text());
                row.push(Cell::new(cell_text(&change)));
            }
            table.add_row(row);
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    let blocking: Vec<&ItemReport> = report.items.iter().filter(|i| i.blocking).collect();
    if !blocking.is_empty() {
        out.push_str("\nBlocking the launch:\n");
        for item in blocking {
            let why = item.reason.as_deref().unwrap_or(item.outcome.as_str()).replace(['\n', '\r'], " ");
            let why = cut(&why, MAX_REASON);
            let owner = item.owner.as_ref().map(|o| format!(" [owner: {}]", cut(o, MAX_REASON))).unwrap_or_default();
            out.push_str(&format!(
                "  - {} ({}, {}): {why}{owner}\n",
                item.id,
                item.severity.as_str(),
                outcome_text(item)
            ));
        }
    }
    if let Some(baseline) = &report.baseline {
        out.push_str(&format!("\n{}\n", baseline.heading()));
        let changed = baseline.changes.len();
        out.push_str(&format!("  {} changed", super::plural(changed, "item")));
        if !baseline.removed_items.is_empty() {
            out.push_str(&format!("; removed since: {}", cut(&baseline.removed_items.join(", "), MAX_REASON)));
        }
        if baseline.fail_on_regression {
            out.push_str("; --fail-on-regression: only items that passed in the baseline block");
        }
        out.push('\n');
    }
    let summary = report.summary_line();
    if style.color {
        let color = if report.gate.passed { "\x1b[1;32m" } else { "\x1b[1;31m" };
        out.push_str(&format!("\n{color}{summary}\x1b[0m\n"));
    } else {
        out.push_str(&format!("\n{summary}\n"));
    }
    out
}

fn duration_text(item: &ItemReport) -> String {
    let d = format_duration(std::time::Duration::from_secs_f64(item.duration_ms / 1000.0));
    if item.attempts > 1 { format!("{d} ({} tries)", item.attempts) } else { d }
}

fn outcome_text(item: &ItemReport) -> &'static str {
    item.outcome_label()
}

fn outcome_cell(item: &ItemReport, color: bool) -> Cell {
    let cell = Cell::new(outcome_text(item));
    if !color {
        return cell;
    }
    let c = match item.outcome {
        Outcome::Pass => Color::Green,
        Outcome::Fail => Color::Red,
        Outcome::Error => Color::Magenta,
        Outcome::Skipped => Color::DarkGrey,
        Outcome::Waived => Color::Yellow,
        Outcome::Manual => Color::Cyan,
    };
    cell.fg(c).add_attribute(Attribute::Bold)
}

/// Expected vs observed, failures first; the error or the reason when nothing was observed.
fn detail(item: &ItemReport) -> String {
    let mut lines = Vec::new();
    match item.outcome {
        Outcome::Error => lines.push(format!("error: {}", item.reason.as_deref().unwrap_or("unknown"))),
        Outcome::Skipped => lines.push(item.reason.clone().unwrap_or_default()),
        Outcome::Manual => match item.attestation_line().filter(|_| item.state == State::ManualAttested) {
            Some(line) => lines.push(line),
            None => {
                let owner = item.owner.as_ref().map(|o| format!(" (owner: {o})")).unwrap_or_default();
                lines.push(format!("awaiting attestation{owner}"));
                lines.extend(item.attestation_line());
            }
        },
        _ => {}
    }
    lines.extend(item.waiver_line());
    if item.outcome == Outcome::Waived
        && let Some(w) = &item.waiver
        && matches!(w.original_outcome, Outcome::Error | Outcome::Skipped | Outcome::Manual)
    {
        lines.push(item.reason.clone().unwrap_or_default());
    }
    if matches!(item.outcome, Outcome::Pass | Outcome::Fail | Outcome::Waived) {
        let mut expectations: Vec<_> = item.expectations.iter().collect();
        expectations.sort_by_key(|e| e.passed);
        for e in expectations {
            let observed = match (&e.excerpt, &e.observed) {
                (Some(excerpt), _) => excerpt.lines().map(|l| cut(l, MAX_OBSERVED)).collect::<Vec<_>>().join("\n  "),
                (None, Some(v)) => short(v),
                (None, None) => "not observed".to_string(),
            };
            let mark = if e.passed { "✓" } else { "✗" };
            lines.push(format!("{mark} {} {} → {observed}", e.fact, e.expected));
            if let Some(why) = &e.explanation {
                lines.push(format!("  because {}", cut(why, 2 * MAX_OBSERVED)));
            }
        }
    }
    lines.join("\n")
}

fn short(v: &Value) -> String {
    let text = v.to_string().replace(['\n', '\r'], " ");
    if text.chars().count() > MAX_OBSERVED {
        let cut: String = text.chars().take(MAX_OBSERVED - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}
