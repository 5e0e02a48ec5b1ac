//! The run as OpenMetrics text, for node_exporter's textfile collector (or any scraper):
//! the gate, counts by outcome, each item's outcome (one 0/1 series per outcome, so every
//! series exists in every run), whether it blocks, its duration and attempts, the days a
//! TLS item's certificate has left, and when the run started and how long it took. Only
//! gauges, `# HELP`/`# TYPE`/`# UNIT` lines and the closing `# EOF`, so the Prometheus
//! text format parsers (node_exporter's, Python's) read it as well as OpenMetrics ones do.

use std::fmt::Write;

use super::spill::Spill;
use super::{ItemReport, Report};
use crate::engine::Outcome;
use crate::value::Value;

const OUTCOMES: [Outcome; 6] =
    [Outcome::Pass, Outcome::Fail, Outcome::Error, Outcome::Skipped, Outcome::Waived, Outcome::Manual];

/// One metric family: its header and its samples, written together (a family's samples
/// must not be split).
struct Family<'a, 'w> {
    out: &'a mut Spill<'w>,
}

impl<'a, 'w> Family<'a, 'w> {
    fn new(out: &'a mut Spill<'w>, name: &str, unit: Option<&str>, help: &str) -> Family<'a, 'w> {
        let _ = writeln!(out, "# TYPE {name} gauge");
        if let Some(unit) = unit {
            let _ = writeln!(out, "# UNIT {name} {unit}");
        }
        let _ = writeln!(out, "# HELP {name} {help}");
        Family { out }
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
        let _ = writeln!(self.out, "{name}{{{}}} {value}", labels.join(","));
    }
}

/// A label value: backslash, double quote and line feed escaped.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Milliseconds as seconds, to the microsecond (no binary-fraction noise).
fn seconds(ms: f64) -> String {
    format!("{}", (ms.max(0.0) * 1000.0).round() / 1e6)
}

/// Seconds since the Unix epoch of an RFC 3339 time.
fn timestamp(rfc3339: &str) -> Option<f64> {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp_nanos() as f64 / 1e9)
}

pub fn render(report: &Report) -> String {
    super::spill::in_memory(|out| write(report, out))
}

/// [`render`], written to `w` sample by sample.
pub fn write(report: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut out = Spill::new(w);
    let checklist = report.checklist.name.as_str();
    let c = ("checklist", checklist);
    let item_labels = |i: &'_ ItemReport| -> Vec<(&'static str, String)> {
        vec![("id", i.id.clone()), ("section", i.section.clone()), ("severity", i.severity.as_str().to_string())]
    };
    let with = |base: &[(&'static str, String)], extra: &[(&'static str, &str)]| -> Vec<(String, String)> {
        let mut all = vec![(c.0.to_string(), c.1.to_string())];
        all.extend(base.iter().map(|(k, v)| (k.to_string(), v.clone())));
        all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        all
    };
    let emit = |f: &mut Family<'_, '_>, name: &str, labels: Vec<(String, String)>, value: String| {
        let borrowed: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        f.sample(name, &borrowed, value);
    };

    let name = "golive_gate_passed";
    let mut f = Family::new(&mut out, name, None, "1 when the go-live gate passed, 0 when it failed.");
    emit(
        &mut f,
        name,
        with(&[], &[("fail_on", report.gate.fail_on.as_str())]),
        u8::from(report.gate.passed).to_string(),
    );

    let name = "golive_blocking_items";
    let mut f = Family::new(&mut out, name, None, "Items that fail the gate.");
    emit(&mut f, name, with(&[], &[]), report.gate.blocking.len().to_string());

    let name = "golive_items";
    let mut f = Family::new(&mut out, name, None, "Items of the run by outcome.");
    for outcome in OUTCOMES {
        let n = report.items.iter().filter(|i| i.outcome == outcome).count();
        emit(&mut f, name, with(&[], &[("outcome", outcome.as_str())]), n.to_string());
    }

    let name = "golive_run_started_timestamp_seconds";
    let mut f = Family::new(&mut out, name, Some("seconds"), "When the run started, in seconds since the Unix epoch.");
    if let Some(t) = timestamp(&report.started_at) {
        emit(&mut f, name, with(&[], &[]), format!("{t:.3}"));
    }

    let name = "golive_run_duration_seconds";
    let mut f = Family::new(&mut out, name, Some("seconds"), "How long the run took.");
    emit(&mut f, name, with(&[], &[]), seconds(report.duration_ms));

    let name = "golive_item_outcome";
    let mut f = Family::new(&mut out, name, None, "1 for the item's outcome, 0 for the others.");
    for item in &report.items {
        for outcome in OUTCOMES {
            let labels = with(&item_labels(item), &[("outcome", outcome.as_str())]);
            emit(&mut f, name, labels, u8::from(item.outcome == outcome).to_string());
        }
    }

    let name = "golive_item_blocking";
    let mut f = Family::new(&mut out, name, None, "1 when the item fails the gate.");
    for item in &report.items {
        emit(&mut f, name, with(&item_labels(item), &[]), u8::from(item.blocking).to_string());
    }

    let name = "golive_item_duration_seconds";
    let mut f = Family::new(&mut out, name, Some("seconds"), "How long the item's probe took (0 when it did not run).");
    for item in &report.items {
        emit(&mut f, name, with(&item_labels(item), &[]), seconds(item.duration_ms));
    }

    let name = "golive_item_attempts";
    let mut f = Family::new(&mut out, name, None, "Attempts the item's probe made (retries included).");
    for item in &report.items {
        emit(&mut f, name, with(&item_labels(item), &[]), item.attempts.to_string());
    }

    let tls: Vec<(&ItemReport, f64)> = report
        .items
        .iter()
        .filter(|i| i.probe == "tls")
        .filter_map(|i| match i.facts.get("days_remaining") {
            Some(Value::Int(n)) => Some((i, *n as f64)),
            Some(Value::Float(n)) if n.is_finite() => Some((i, *n)),
            _ => None,
        })
        .collect();
    if !tls.is_empty() {
        let name = "golive_tls_days_remaining";
        let mut f =
            Family::new(&mut out, name, None, "Days until the TLS item's certificate expires (negative once expired).");
        for (item, days) in tls {
            emit(&mut f, name, with(&item_labels(item), &[]), days.to_string());
        }
    }
    out.push_str("# EOF\n");
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_escape_backslash_quote_and_newline() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
