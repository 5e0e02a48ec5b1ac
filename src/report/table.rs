//! The terminal table: one table per section (id, title, severity, outcome, expected vs
//! observed, duration), then what blocks the launch and why, then the summary line.

use std::io::Write;

use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, Width, presets};
use unicode_width::UnicodeWidthStr;

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

/// Rows a section's table is laid out in at once: a section with more is written in chunks
/// of this many rows, its columns fixed at the widths measured over all of them.
const CHUNK_ROWS: usize = 256;

/// The whole table report as one string: [`write`] into memory.
pub fn render(report: &Report, style: &Style) -> String {
    super::spill::in_memory(|out| write(report, style, out))
}

/// Writes the table report to `out` as it goes: a section of at most [`CHUNK_ROWS`] rows is
/// one comfy-table table; a longer one is measured first (the widest cell of each column)
/// and then written a chunk of rows at a time at those column widths, as one table.
pub fn write(report: &Report, style: &Style, out: &mut dyn Write) -> std::io::Result<()> {
    write_chunked(report, style, out, CHUNK_ROWS)
}

fn write_chunked(report: &Report, style: &Style, out: &mut dyn Write, chunk_rows: usize) -> std::io::Result<()> {
    let title = match &report.checklist.version {
        Some(v) => format!("{} {v}", report.checklist.name),
        None => report.checklist.name.clone(),
    };
    writeln!(out, "{title}")?;
    for (n, line) in report.part_lines().iter().enumerate() {
        let indent = if n > 0 && report.inputs.is_some() { "  - " } else { "" };
        writeln!(out, "{indent}{}", cut(line, MAX_REASON))?;
    }
    let targets = report.target_lines();
    if !targets.is_empty() {
        writeln!(out, "Targets:")?;
        for line in &targets {
            writeln!(out, "  - {}", cut(line, MAX_REASON))?;
        }
    }
    for section in report.sections() {
        let items = || report.items.iter().filter(|i| i.group() == section.as_str());
        let count = items().count();
        writeln!(out, "\n{} ({})", cut(&section, MAX_REASON), super::plural(count, "item"))?;
        if count <= chunk_rows {
            let mut table = new_table(report, style);
            for item in items() {
                table.add_row(cells(row_texts(report, item), item, style.color));
            }
            writeln!(out, "{table}")?;
        } else {
            write_long_section(report, style, out, items, chunk_rows)?;
        }
    }
    let blocking: Vec<&ItemReport> = report.items.iter().filter(|i| i.blocking).collect();
    if !blocking.is_empty() {
        writeln!(out, "\nBlocking the launch:")?;
        for item in blocking {
            let why = item.reason.as_deref().unwrap_or(item.outcome.as_str()).replace(['\n', '\r'], " ");
            let why = cut(&why, MAX_REASON);
            let owner = item.owner.as_ref().map(|o| format!(" [owner: {}]", cut(o, MAX_REASON))).unwrap_or_default();
            writeln!(out, "  - {} ({}, {}): {why}{owner}", item.id, item.severity.as_str(), outcome_text(item))?;
        }
    }
    if let Some(baseline) = &report.baseline {
        writeln!(out, "\n{}", baseline.heading())?;
        let changed = baseline.changes.len();
        write!(out, "  {} changed", super::plural(changed, "item"))?;
        if !baseline.removed_items.is_empty() {
            write!(out, "; removed since: {}", cut(&baseline.removed_items.join(", "), MAX_REASON))?;
        }
        if baseline.fail_on_regression {
            write!(out, "; --fail-on-regression: only items that passed in the baseline block")?;
        }
        writeln!(out)?;
    }
    let summary = report.summary_line();
    if style.color {
        let color = if report.gate.passed { "\x1b[1;32m" } else { "\x1b[1;31m" };
        writeln!(out, "\n{color}{summary}\x1b[0m")?;
    } else {
        writeln!(out, "\n{summary}")?;
    }
    Ok(())
}

/// A section's table with its header, as every section's starts.
fn new_table(report: &Report, style: &Style) -> Table {
    let mut table = bare_table(style);
    let mut header = vec!["ID", "Title", "Severity", "Outcome", "Expected → observed", "Time"];
    if report.baseline.is_some() {
        header.push("Since baseline");
    }
    table.set_header(header);
    table
}

/// A table in the report's style, without a header.
fn bare_table(style: &Style) -> Table {
    let mut table = Table::new();
    table.load_style(presets::UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_width(style.width.unwrap_or(LOG_WIDTH));
    if style.color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table
}

/// The text of each cell of an item's row.
fn row_texts(report: &Report, item: &ItemReport) -> Vec<String> {
    let mut row = vec![
        cell_text(&item.id),
        cell_text(&item.title),
        item.severity.as_str().to_string(),
        outcome_text(item).to_string(),
        cell_text(&detail(item)),
        if item.attempts == 0 { "—".to_string() } else { duration_text(item) },
    ];
    if let Some(baseline) = &report.baseline {
        let change = baseline.change_of(&item.id).map_or("unchanged".to_string(), |c| c.text());
        row.push(cell_text(&change));
    }
    row
}

/// The cells of an item's row: its texts, the outcome coloured when `color`.
fn cells(texts: Vec<String>, item: &ItemReport, color: bool) -> Vec<Cell> {
    texts
        .into_iter()
        .enumerate()
        .map(|(n, text)| if n == OUTCOME_COLUMN { outcome_cell(item, color) } else { Cell::new(text) })
        .collect()
}

const OUTCOME_COLUMN: usize = 3;

/// The display width of a cell's text as comfy-table counts it: its widest line.
fn text_width(text: &str) -> usize {
    text.split('\n').map(UnicodeWidthStr::width).max().unwrap_or(0)
}

/// A section longer than one chunk. First every row is measured and the widest cell of each
/// column kept; comfy-table lays out the header and those cells, and the column widths it
/// picks (read off the top border) are fixed for every chunk. Then each chunk of rows is laid
/// out at those widths and its lines written, without the borders between chunks: the top
/// border and header come with the first chunk, the bottom border with the last.
fn write_long_section<'r, I>(
    report: &'r Report,
    style: &Style,
    out: &mut dyn Write,
    items: impl Fn() -> I,
    chunk_rows: usize,
) -> std::io::Result<()>
where
    I: Iterator<Item = &'r ItemReport>,
{
    let mut widest: Vec<(usize, String)> = Vec::new();
    for item in items() {
        for (n, text) in row_texts(report, item).into_iter().enumerate() {
            let width = text_width(&text);
            match widest.get_mut(n) {
                Some(w) if w.0 >= width => {}
                Some(w) => *w = (width, text),
                None => widest.push((width, text)),
            }
        }
    }
    let mut probe = new_table(report, style);
    probe.add_row(widest.into_iter().map(|(_, text)| Cell::new(text)).collect::<Vec<_>>());
    let top = probe.lines().next().unwrap_or_default();
    let widths: Vec<u16> = top
        .trim_start_matches('┌')
        .trim_end_matches('┐')
        .split('┬')
        .map(|segment| u16::try_from(segment.chars().count()).unwrap_or(u16::MAX))
        .collect();
    let constraints = || widths.iter().map(|w| ColumnConstraint::Absolute(Width::Fixed(*w))).collect::<Vec<_>>();

    let mut rows = items().peekable();
    let mut first = true;
    while rows.peek().is_some() {
        let mut table = if first { new_table(report, style) } else { bare_table(style) };
        for item in rows.by_ref().take(chunk_rows) {
            table.add_row(cells(row_texts(report, item), item, style.color));
        }
        table.set_constraints(constraints());
        let last = rows.peek().is_none();
        let lines: Vec<String> = table.lines().collect();
        let from = usize::from(!first);
        let to = if last { lines.len() } else { lines.len() - 1 };
        for line in &lines[from..to] {
            writeln!(out, "{line}")?;
        }
        first = false;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The renderer before tables were written in chunks: one comfy-table table per section,
    /// rendered whole. A section of one chunk must come out exactly like this.
    fn render_whole(report: &Report, style: &Style) -> String {
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
            out.push_str(&format!("\n{} ({})\n", cut(&section, MAX_REASON), super::super::plural(items.len(), "item")));
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
                let owner =
                    item.owner.as_ref().map(|o| format!(" [owner: {}]", cut(o, MAX_REASON))).unwrap_or_default();
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
            out.push_str(&format!("  {} changed", super::super::plural(changed, "item")));
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

    fn varied() -> Report {
        serde_json::from_str(include_str!("../../tests/fixtures/report-varied.json")).expect("the fixture is a report")
    }

    fn styles() -> Vec<Style> {
        let mut styles = Vec::new();
        for color in [false, true] {
            for width in [None, Some(52), Some(80), Some(200)] {
                styles.push(Style { color, width });
            }
        }
        styles
    }

    #[test]
    fn a_section_of_one_chunk_renders_exactly_like_one_whole_table() {
        let mut report = varied();
        assert!(report.baseline.is_some(), "the fixture has a baseline column");
        for with_baseline in [true, false] {
            if !with_baseline {
                report.baseline = None;
            }
            for style in styles() {
                let written = render(&report, &style);
                assert_eq!(written, render_whole(&report, &style), "{style:?}, baseline {with_baseline}");
                if style.width.is_none() {
                    assert_eq!(written.contains("Since baseline"), with_baseline);
                }
                assert_eq!(written.contains("\x1b["), style.color, "{style:?}");
                // The long title is wrapped over several lines of its cell.
                assert!(written.lines().filter(|l| l.contains("┆ ") && l.contains("again")).count() >= 1);
                assert!(written.contains("日本語"), "{written}");
            }
        }
    }

    /// `varied()` with a section of `n` more items, cells of very different widths.
    fn with_bulk(n: usize) -> Report {
        let mut value: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/fixtures/report-varied.json")).unwrap();
        let models = value["items"].as_array().unwrap().clone();
        let words = ["a", "lorem ipsum", "日本語のテキスト", "supercalifragilisticexpialidocious", "x y z w"];
        let items = value["items"].as_array_mut().unwrap();
        for k in 0..n {
            let mut item = models[k % models.len()].clone();
            item["id"] = format!("b{k}").into();
            item["section"] = "bulk".into();
            let title: Vec<&str> = (0..(k * 7) % 23).map(|w| words[(k + w) % words.len()]).collect();
            item["title"] = title.join(" ").into();
            items.push(item);
        }
        serde_json::from_value(value).unwrap()
    }

    /// The lines of the `bulk` section's table.
    fn bulk_table(text: &str) -> Vec<String> {
        let start = text.lines().position(|l| l.starts_with("bulk (")).expect("the bulk section") + 1;
        let lines: Vec<String> = text.lines().skip(start).take_while(|l| !l.is_empty()).map(strip_ansi).collect();
        assert!(lines.len() > 3, "{text}");
        lines
    }

    fn strip_ansi(line: &str) -> String {
        let mut out = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// What follows the `bulk` section's table.
    fn after_bulk(text: &str) -> &str {
        let start = text.find("\nbulk (").expect("the bulk section");
        let end = text[start + 1..].find("\n\n").expect("an end") + start + 1;
        &text[end..]
    }

    /// The display columns of a line's column separators (and border junctions).
    fn separators(line: &str) -> Vec<usize> {
        let mut at = 0;
        let mut out = Vec::new();
        for c in line.chars() {
            if matches!(c, '┆' | '┬' | '╪' | '┴') {
                out.push(at);
            }
            at += c.to_string().width();
        }
        out
    }

    #[test]
    fn a_long_section_is_written_in_chunks_as_one_aligned_table_with_every_row_once() {
        let n = 600;
        let report = with_bulk(n);
        for style in styles() {
            let whole = render_whole(&report, &style);
            for chunk_rows in [7, 64, CHUNK_ROWS] {
                let mut out = Vec::new();
                write_chunked(&report, &style, &mut out, chunk_rows).unwrap();
                let text = String::from_utf8(out).unwrap();
                let lines = bulk_table(&text);
                let width = lines[0].width();
                let columns = separators(&lines[0]);
                assert_eq!(columns.len(), 6, "{}", lines[0]);
                for line in &lines {
                    assert_eq!(line.width(), width, "{style:?} {chunk_rows}: {line}");
                    assert_eq!(separators(line), columns, "{style:?} {chunk_rows}: {line}");
                }
                assert!(lines[0].starts_with('┌') && lines[lines.len() - 1].starts_with('└'));
                for (border, count) in [('┌', 1), ('╞', 1), ('└', 1)] {
                    assert_eq!(lines.iter().filter(|l| l.starts_with(border)).count(), count, "{border}");
                }
                assert!(lines[1].contains(" ID "), "the header comes first: {}", lines[1]);
                // Every row once, in order: the first cell of each row's first line.
                let ids: Vec<String> = lines
                    .iter()
                    .filter(|l| l.starts_with('│'))
                    .map(|l| l.trim_start_matches('│').split('┆').next().unwrap().trim().to_string())
                    .filter(|id| !id.is_empty() && id != "ID")
                    .collect();
                let expected: Vec<String> = (0..n).map(|k| format!("b{k}")).collect();
                assert_eq!(ids.len(), n, "{style:?} {chunk_rows}: one row each");
                assert!(ids == expected, "{style:?} {chunk_rows}: every row once, in order");
                // The rest of the report is as it was.
                assert_eq!(text.split("\nbulk (").next(), whole.split("\nbulk (").next());
                assert!(text.contains("\nbulk (600 items)\n"));
                assert_eq!(after_bulk(&text), after_bulk(&whole), "{style:?} {chunk_rows}");
                assert!(after_bulk(&text).contains("Blocking the launch:"));
            }
        }
    }
}
