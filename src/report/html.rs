//! One self-contained HTML page for auditors: summary and gate verdict, a table per section
//! with every item's details (expected, observed, parameters with secrets masked, facts,
//! attempts, errors), waivers, attestations and the sign-off block with each signature's
//! state. Styles and the small filter script are inline; a Content-Security-Policy forbids
//! every fetch, so the page works offline and never calls out. All content is rendered
//! server-side (readable without scripts); the script only filters rows by outcome,
//! severity and blocking, and keeps the filter in the address's `#` part.

use std::fmt::Write;

use super::spill::Spill;
use super::{ItemReport, Report, SignatureState};
use crate::engine::{Outcome, State, WaiverStatus};
use crate::value::{ValueMap, format_duration};

const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const OUTCOMES: &[(&str, &str)] = &[
    ("fail", "fail"),
    ("error", "error"),
    ("manual-pending", "manual: pending"),
    ("skipped", "skipped"),
    ("waived", "waived"),
    ("manual-attested", "manual: attested"),
    ("pass", "pass"),
];
const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info"];

/// The whole page as one string: [`write`] into memory.
pub fn render(report: &Report) -> String {
    super::spill::in_memory(|out| write(report, out))
}

/// Writes the page to `out` piece by piece (never whole in memory).
pub fn write(report: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut h = Spill::new(out);
    let title = match &report.checklist.version {
        Some(v) => format!("{} {v}", report.checklist.name),
        None => report.checklist.name.clone(),
    };
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"golive {}\">\n<title>Go-live report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>",
        e(&report.golive_version),
        e(&title)
    );
    header(&mut h, report, &title);
    baseline(&mut h, report);
    filters(&mut h, report);
    h.push_str("<main>\n");
    for section in report.sections() {
        let _ = writeln!(
            h,
            "<section class=\"section\" data-section=\"{0}\">\n<h2>{0}</h2>\n<table class=\"items\">\n\
             <thead><tr><th>ID</th><th>Title</th><th>Severity</th><th>Outcome</th><th>Expected → observed</th><th>Time</th></tr></thead>",
            e(&section)
        );
        for item in report.items.iter().filter(|i| i.group() == section.as_str()) {
            item_rows(&mut h, item, report.recent.as_ref());
        }
        h.push_str("</table>\n</section>\n");
    }
    waivers(&mut h, report);
    attestations(&mut h, report);
    signoff(&mut h, report);
    files(&mut h, report);
    h.push_str("</main>\n");
    let _ = writeln!(
        h,
        "<footer>Written by golive {}. This page is self-contained: it loads nothing from the network. \
         Secrets are shown as <code>***</code>.</footer>\n<script>{SCRIPT}</script>\n</body>\n</html>",
        e(&report.golive_version)
    );
    h.finish()
}

fn header(h: &mut Spill<'_>, report: &Report, title: &str) {
    let _ = writeln!(h, "<header>\n<h1>Go-live report: {}</h1>", e(title));
    if let Some(d) = &report.checklist.description {
        let _ = writeln!(h, "<p class=\"description\">{}</p>", e(d));
    }
    let fail_on = report.gate.fail_on.as_str();
    if report.gate.passed {
        let _ =
            writeln!(h, "<div id=\"gate\" class=\"gate passed\">Gate PASSED <small>(fail-on {fail_on})</small></div>");
    } else {
        let ids: Vec<String> =
            report.gate.blocking.iter().map(|id| format!("<a href=\"#item-{0}\">{0}</a>", e(id))).collect();
        let _ = writeln!(
            h,
            "<div id=\"gate\" class=\"gate failed\">Gate FAILED <small>(fail-on {fail_on})</small>: {} blocking — {}</div>",
            ids.len(),
            ids.join(", ")
        );
    }
    let s = &report.summary;
    h.push_str("<div id=\"summary\" class=\"cards\">\n");
    for (class, label, n) in [
        ("total", if s.total == 1 { "item" } else { "items" }, s.total),
        ("pass", "pass", s.pass),
        ("fail", "fail", s.fail),
        ("error", "error", s.error),
        ("waived", "waived", s.waived),
        ("manual-pending", "manual pending", s.manual_pending),
        ("manual-attested", "manual attested", s.manual_attested),
        ("skipped", "skipped", s.skipped),
        ("not-applicable", "not applicable", s.not_applicable),
    ] {
        let _ = writeln!(h, "<div class=\"card {class}\" data-count=\"{class}\"><b>{n}</b><span>{label}</span></div>");
    }
    h.push_str("</div>\n");
    if s.waivers_expired > 0 {
        let _ = writeln!(
            h,
            "<p class=\"warning\">{} waiver{} expired and had no effect (see <a href=\"#waivers\">Waivers</a>).</p>",
            s.waivers_expired,
            if s.waivers_expired == 1 { "" } else { "s" }
        );
    }
    let o = &report.options;
    let mut filters = Vec::new();
    for (flag, values) in [("--tag", &o.tags), ("--section", &o.sections), ("--only", &o.only), ("--skip", &o.skip)] {
        if !values.is_empty() {
            filters.push(format!("{flag} {}", values.join(",")));
        }
    }
    h.push_str("<dl class=\"meta\">\n");
    for (k, v) in [
        ("Run", report.run_id.clone()),
        ("Started", report.started_at.clone()),
        ("Finished", report.finished_at.clone()),
        ("Duration", ms(report.duration_ms)),
        ("Host", format!("{} ({})", report.host.hostname, report.host.os)),
        ("User", report.host.user.clone().unwrap_or_else(|| "—".into())),
        ("Filters", if filters.is_empty() { "none: every item ran".into() } else { filters.join(" ") }),
        ("golive", report.golive_version.clone()),
    ] {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{}</dd>", e(&v));
    }
    let part = report.part_lines();
    if let Some((heading, inputs)) = part.split_first() {
        let key = if report.inputs.is_some() { "Merged" } else { "Shard" };
        let _ = writeln!(h, "<dt>{key}</dt><dd>{}", e(heading));
        if !inputs.is_empty() {
            h.push_str("<ul class=\"inputs\">");
            for line in inputs {
                let _ = write!(h, "<li>{}</li>", e(line));
            }
            h.push_str("</ul>");
        }
        h.push_str("</dd>\n");
    }
    let targets = report.target_lines();
    if !targets.is_empty() {
        h.push_str("<dt>Targets</dt><dd><ul class=\"targets\">");
        for line in &targets {
            let _ = write!(h, "<li>{}</li>", e(line));
        }
        h.push_str("</ul></dd>\n");
    }
    h.push_str("</dl>\n</header>\n");
}

fn filters(h: &mut Spill<'_>, report: &Report) {
    h.push_str("<nav id=\"filters\" aria-label=\"Filters\">\n<fieldset><legend>Outcome</legend>\n");
    for (value, label) in OUTCOMES {
        let n = report.items.iter().filter(|i| outcome_key(i) == *value).count();
        let _ = writeln!(
            h,
            "<label class=\"chip {value}\"><input type=\"checkbox\" data-filter=\"outcome\" value=\"{value}\" checked> {label} <small>{n}</small></label>"
        );
    }
    h.push_str("</fieldset>\n<fieldset><legend>Severity</legend>\n");
    for sev in SEVERITIES {
        let n = report.items.iter().filter(|i| i.severity.as_str() == *sev).count();
        let _ = writeln!(
            h,
            "<label class=\"chip\"><input type=\"checkbox\" data-filter=\"severity\" value=\"{sev}\" checked> {sev} <small>{n}</small></label>"
        );
    }
    h.push_str(
        "</fieldset>\n<fieldset><legend>Show</legend>\n\
         <label class=\"chip\"><input type=\"checkbox\" id=\"blocking-only\"> blocking only</label>\n\
         <button type=\"button\" id=\"problems-only\">problems only</button>\n\
         <button type=\"button\" id=\"show-all\">show all</button>\n\
         </fieldset>\n<p id=\"shown\" aria-live=\"polite\"></p>\n</nav>\n",
    );
}

/// The outcome as the filter knows it.
fn outcome_key(item: &ItemReport) -> &'static str {
    match (item.outcome, item.state) {
        (Outcome::Manual, State::ManualAttested) => "manual-attested",
        (Outcome::Manual, _) => "manual-pending",
        (o, _) => o.as_str(),
    }
}

fn item_rows(h: &mut Spill<'_>, item: &ItemReport, recent: Option<&super::RecentOutcomes>) {
    let key = outcome_key(item);
    let _ = writeln!(
        h,
        "<tbody class=\"item\" id=\"item-{id}\" data-id=\"{id}\" data-outcome=\"{key}\" data-severity=\"{sev}\" data-blocking=\"{blocking}\">\n<tr class=\"row\">\
         <td><code>{id}</code></td><td>{title}</td><td class=\"sev {sev}\">{sev}</td>\
         <td><span class=\"badge {key}\">{label}</span>{block}{strip}</td><td class=\"detail\">{detail}</td><td class=\"time\">{time}</td></tr>",
        id = e(&item.id),
        title = e(&item.title),
        sev = item.severity.as_str(),
        blocking = item.blocking,
        label = e(item.outcome_label()),
        block = if item.blocking { " <span class=\"blocking\">blocks the gate</span>" } else { "" },
        strip = strip(recent, item),
        detail = summary_cell(item),
        time = if item.attempts == 0 { "—".to_string() } else { ms(item.duration_ms) },
    );
    h.push_str(
        "<tr class=\"details\"><td colspan=\"6\"><details><summary>Details</summary>\n<div class=\"detail-body\">\n",
    );
    let mut facts: Vec<(String, String)> = Vec::new();
    if let Some(d) = &item.description {
        facts.push(("Description".into(), e(d)));
    }
    if let Some(r) = &item.reason {
        facts.push(("Reason".into(), e(r)));
    }
    facts.push(("Probe".into(), format!("<code>{}</code>", e(&item.probe))));
    if let Some(o) = &item.owner {
        facts.push(("Owner".into(), e(o)));
    }
    if !item.tags.is_empty() {
        facts.push(("Tags".into(), e(&item.tags.join(", "))));
    }
    if !item.depends_on.is_empty() {
        let links: Vec<String> =
            item.depends_on.iter().map(|d| format!("<a href=\"#item-{0}\">{0}</a>", e(d))).collect();
        facts.push(("Depends on".into(), links.join(", ")));
    }
    if !item.references.is_empty() {
        let refs: Vec<String> = item.references.iter().map(|r| link(r)).collect();
        facts.push(("References".into(), refs.join("<br>")));
    }
    facts.push(("Attempts".into(), item.attempts.to_string()));
    facts.push(("Started".into(), e(&item.started_at)));
    facts.push(("Duration".into(), ms(item.duration_ms)));
    facts.push(("Defined at".into(), format!("<code>{}</code>", e(&item.source))));
    h.push_str("<dl class=\"kv\">\n");
    for (k, v) in facts {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{v}</dd>");
    }
    h.push_str("</dl>\n");
    if let Some(w) = &item.waiver {
        let status = match w.status {
            WaiverStatus::Applied => "applied",
            WaiverStatus::Expired => "EXPIRED: no effect",
            WaiverStatus::Unused => "not needed",
        };
        let _ = writeln!(
            h,
            "<div class=\"note waiver {}\"><b>Waiver ({status})</b>: {} — approved by {} until {}; outcome without it: {}. <small>{}</small></div>",
            w.status.as_str(),
            e(&w.reason),
            e(&w.approved_by),
            e(&w.until),
            w.original_outcome.as_str(),
            e(&w.source)
        );
    }
    if let Some(a) = &item.attestation {
        let _ = writeln!(
            h,
            "<div class=\"note attestation{}\"><b>{}</b> by {} at {}: evidence {}{}{} <small>{}</small></div>",
            if a.expired { " expired" } else { "" },
            if a.expired { "Attestation EXPIRED" } else { "Attested" },
            e(&a.by),
            e(&a.at),
            link(&a.evidence),
            a.note.as_ref().map(|n| format!("; note: {}", e(n))).unwrap_or_default(),
            a.until.as_ref().map(|u| format!("; valid until {}", e(u))).unwrap_or_default(),
            e(&a.source)
        );
    }
    if !item.expectations.is_empty() {
        h.push_str("<h4>Expectations</h4>\n<table class=\"kvt expectations\"><tr><th>Fact</th><th>Expected</th><th>Observed</th><th></th></tr>\n");
        for x in &item.expectations {
            let mut observed =
                x.observed.as_ref().map(|v| e(&v.to_string())).unwrap_or_else(|| "<i>not observed</i>".into());
            if let Some(why) = &x.explanation {
                observed.push_str(&format!("</code><br><small>because {}</small><code>", e(why)));
            }
            let _ = writeln!(
                h,
                "<tr class=\"{}\"><td><code>{}</code></td><td><code>{}</code></td><td><code>{observed}</code></td><td>{}</td></tr>",
                if x.passed { "ok" } else { "bad" },
                e(&x.fact),
                e(&x.expected),
                if x.passed { "✓" } else { "✗" }
            );
        }
        h.push_str("</table>\n");
    }
    let mut kv = String::new();
    kv_table(&mut kv, "Parameters", "params", &item.params);
    kv_table(&mut kv, "Observed facts", "facts", &item.facts);
    h.push_str(&kv);
    h.push_str("</div>\n</details></td></tr>\n</tbody>\n");
}

fn kv_table(h: &mut String, title: &str, class: &str, values: &ValueMap) {
    if values.is_empty() {
        return;
    }
    let _ = writeln!(h, "<h4>{title}</h4>\n<table class=\"kvt {class}\">");
    for (k, v) in values {
        let _ = writeln!(h, "<tr><td><code>{}</code></td><td><pre>{}</pre></td></tr>", e(k), e(&v.to_string()));
    }
    h.push_str("</table>\n");
}

/// The short cell: failed expectations first, or the reason when nothing was judged.
/// The item's outcomes in the earlier stored runs, oldest first, then this run's: one small
/// square each, its run and outcome in the title. Nothing without a store.
fn strip(recent: Option<&super::RecentOutcomes>, item: &ItemReport) -> String {
    let Some(recent) = recent else { return String::new() };
    let earlier = recent.get(&item.id).map(Vec::as_slice).unwrap_or_default();
    let mut out = format!(
        "<span class=\"strip\" data-runs=\"{}\" title=\"outcomes in the earlier runs, oldest first, then this one\">",
        earlier.len() + 1
    );
    for r in earlier {
        let _ = write!(
            out,
            "<i class=\"{0}\" data-outcome=\"{0}\" title=\"{1} {2}: {0}\"></i>",
            r.outcome.as_str(),
            e(&r.started_at),
            e(&r.run_id)
        );
    }
    let _ = write!(
        out,
        "<i class=\"{0} now\" data-outcome=\"{0}\" title=\"this run: {0}\"></i></span>",
        item.outcome.as_str()
    );
    out
}

/// "Changed since baseline" (`golive run --baseline`): the baseline run and each change.
fn baseline(h: &mut Spill<'_>, report: &Report) {
    let Some(b) = &report.baseline else { return };
    let _ = writeln!(h, "<section id=\"baseline\">\n<h2>{}</h2>", e(&b.heading()));
    if b.fail_on_regression {
        h.push_str(
            "<p>With <code>--fail-on-regression</code>: only items that passed in the baseline block the gate.</p>\n",
        );
    }
    if b.changes.is_empty() && b.removed_items.is_empty() {
        h.push_str("<p>No item changed.</p>\n</section>\n");
        return;
    }
    h.push_str(
        "<table class=\"list\"><thead><tr><th>ID</th><th>Change</th><th>Before</th><th>Now</th></tr></thead><tbody>\n",
    );
    for c in &b.changes {
        let _ = writeln!(
            h,
            "<tr data-change=\"{}\"><td><a href=\"#item-{id}\"><code>{id}</code></a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            serde_json::to_value(c.change).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
            e(&c.text()),
            c.before.map_or("—", |o| o.as_str()),
            c.after.as_str(),
            id = e(&c.id),
        );
    }
    for id in &b.removed_items {
        let _ = writeln!(
            h,
            "<tr data-change=\"removed\"><td><code>{}</code></td><td>removed</td><td></td><td></td></tr>",
            e(id)
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
}

fn summary_cell(item: &ItemReport) -> String {
    let mut lines = Vec::new();
    match item.outcome {
        Outcome::Error | Outcome::Skipped => lines.push(e(item.reason.as_deref().unwrap_or(""))),
        Outcome::Manual => lines.push(e(&item
            .attestation_line()
            .filter(|_| item.state == State::ManualAttested)
            .unwrap_or_else(|| item.reason.clone().unwrap_or_default()))),
        _ => {}
    }
    let mut expectations: Vec<_> = item.expectations.iter().collect();
    expectations.sort_by_key(|x| x.passed);
    for x in expectations.iter().take(4) {
        let mut observed = x.observed_text().replace('\n', " ");
        if let Some(why) = x.explanation.as_ref().filter(|_| !x.passed) {
            observed.push_str(&format!(" (because {why})"));
        }
        let observed: String = if observed.chars().count() > 80 {
            format!("{}…", observed.chars().take(79).collect::<String>())
        } else {
            observed
        };
        lines.push(format!(
            "<span class=\"{}\">{} {} {} → {}</span>",
            if x.passed { "ok" } else { "bad" },
            if x.passed { "✓" } else { "✗" },
            e(&x.fact),
            e(&x.expected),
            e(&observed)
        ));
    }
    if expectations.len() > 4 {
        lines.push(format!("… {} more in details", expectations.len() - 4));
    }
    if let Some(w) = item.waiver_line() {
        lines.push(format!("<span class=\"waiver-line\">{}</span>", e(&w)));
    }
    lines.join("<br>")
}

fn waivers(h: &mut Spill<'_>, report: &Report) {
    h.push_str("<section id=\"waivers\">\n<h2>Waivers</h2>\n");
    let items: Vec<&ItemReport> = report.items.iter().filter(|i| i.waiver.is_some()).collect();
    if items.is_empty() {
        h.push_str("<p>No waivers.</p>\n</section>\n");
        return;
    }
    h.push_str("<table class=\"list\"><thead><tr><th>Item</th><th>Status</th><th>Reason</th><th>Approved by</th><th>Until</th><th>Outcome without it</th><th>Defined at</th></tr></thead><tbody>\n");
    for item in items {
        let w = item.waiver.as_ref().expect("filtered");
        let _ = writeln!(
            h,
            "<tr class=\"waiver {0}\" data-status=\"{0}\"><td><a href=\"#item-{1}\">{1}</a></td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td><td><code>{7}</code></td></tr>",
            w.status.as_str(),
            e(&item.id),
            match w.status {
                WaiverStatus::Applied => "applied",
                WaiverStatus::Expired => "<b>EXPIRED</b> (no effect)",
                WaiverStatus::Unused => "not needed",
            },
            e(&w.reason),
            e(&w.approved_by),
            e(&w.until),
            w.original_outcome.as_str(),
            e(&w.source)
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
}

fn attestations(h: &mut Spill<'_>, report: &Report) {
    h.push_str("<section id=\"attestations\">\n<h2>Attestations</h2>\n");
    let items: Vec<&ItemReport> = report.items.iter().filter(|i| i.attestation.is_some()).collect();
    if items.is_empty() {
        h.push_str("<p>No attestations.</p>\n</section>\n");
        return;
    }
    h.push_str("<table class=\"list\"><thead><tr><th>Item</th><th>Status</th><th>By</th><th>At</th><th>Evidence</th><th>Note</th><th>Until</th></tr></thead><tbody>\n");
    for item in items {
        let a = item.attestation.as_ref().expect("filtered");
        let _ = writeln!(
            h,
            "<tr class=\"attestation{}\"><td><a href=\"#item-{1}\">{1}</a></td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td><td>{7}</td></tr>",
            if a.expired { " expired" } else { "" },
            e(&item.id),
            if a.expired { "<b>EXPIRED</b>" } else { "attested" },
            e(&a.by),
            e(&a.at),
            link(&a.evidence),
            e(a.note.as_deref().unwrap_or("—")),
            e(a.until.as_deref().unwrap_or("—"))
        );
    }
    h.push_str("</tbody></table>\n</section>\n");
}

fn signoff(h: &mut Spill<'_>, report: &Report) {
    h.push_str("<section id=\"signoff\">\n<h2>Sign-off</h2>\n");
    match &report.signatures {
        None => h.push_str("<p class=\"signature-note\">This report is not signed. Sign it with <code>golive sign</code>; render a signed report with <code>golive report SIGNED --keys KEYRING -o html=…</code> to see each signature's state.</p>\n"),
        Some(v) if !v.checked => h.push_str("<p class=\"signature-note\">Signed report; signatures <b>not checked</b> (no keyring given).</p>\n"),
        Some(v) if v.problems.is_empty() => h.push_str("<p class=\"signature-note verified\" id=\"verification\">Every signature verifies against the keyring, and every required role signed.</p>\n"),
        Some(v) => {
            h.push_str("<div class=\"signature-note invalid\" id=\"verification\"><b>Verification FAILED:</b><ul>\n");
            for p in &v.problems {
                let _ = writeln!(h, "<li>{}</li>", e(p));
            }
            h.push_str("</ul></div>\n");
        }
    }
    let rows = report.signoff_rows();
    if rows.is_empty() {
        h.push_str("<p>The checklist lists no sign-off roles.</p>\n</section>\n");
        return;
    }
    h.push_str("<table class=\"list\"><thead><tr><th>Role</th><th>Name</th><th>Signed at</th><th>Failed gate acknowledged</th><th>Signature</th></tr></thead><tbody>\n");
    for row in rows {
        let state = match row.signoff.map(|s| &s.state) {
            None => "unsigned",
            Some(SignatureState::Verified { .. }) => "verified",
            Some(SignatureState::Invalid(_)) => "invalid",
            Some(SignatureState::Unchecked) => "unchecked",
        };
        let (name, at, ack) = match row.signoff {
            Some(s) => (e(&s.name), e(&s.signed_at), if s.acknowledged_failed_gate { "yes" } else { "no" }),
            None => ("—".into(), "—".into(), "—"),
        };
        let _ = writeln!(
            h,
            "<tr class=\"signoff {state}\" data-role=\"{}\" data-state=\"{state}\"><td>{}{}</td><td>{name}</td><td>{at}</td><td>{ack}</td><td class=\"sig\">{}</td></tr>",
            e(row.role),
            e(row.role),
            if row.extra { " <small>(not a listed role)</small>" } else { "" },
            e(&row.state_text())
        );
    }
    h.push_str("</tbody></table>\n");
    if let Some(v) = &report.signatures
        && !v.subjects.is_empty()
    {
        h.push_str("<p>Also covered by the signatures:</p><ul>\n");
        for (name, digest) in &v.subjects {
            let _ = writeln!(h, "<li>{} — <code>{}</code></li>", e(name), e(digest));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}

fn files(h: &mut Spill<'_>, report: &Report) {
    h.push_str("<section id=\"files\">\n<h2>Checklist files</h2>\n<table class=\"list\"><thead><tr><th>File</th><th>SHA-256</th></tr></thead><tbody>\n");
    for f in &report.checklist.files {
        let _ =
            writeln!(h, "<tr><td>{}</td><td><code>{}</code></td></tr>", e(&f.path.display().to_string()), e(&f.sha256));
    }
    let a = &report.checklist.attestations;
    let _ = writeln!(
        h,
        "<tr><td>{} <small>(attestations)</small></td><td>{}</td></tr>",
        e(&a.path.display().to_string()),
        a.sha256.as_ref().map(|s| format!("<code>{}</code>", e(s))).unwrap_or_else(|| "<i>no such file</i>".into())
    );
    h.push_str("</tbody></table>\n</section>\n");
}

fn ms(v: f64) -> String {
    format_duration(std::time::Duration::from_secs_f64(v.max(0.0) / 1000.0))
}

/// A link for http(s) URLs (never fetched: only followed when clicked), plain text otherwise.
fn link(text: &str) -> String {
    if (text.starts_with("https://") || text.starts_with("http://")) && !text.contains(char::is_whitespace) {
        format!("<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a>", e(text))
    } else {
        e(text)
    }
}

/// HTML-escapes text for element content and attribute values.
fn e(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --fg:#1d2330; --muted:#5b6475; --line:#d9dee7; --bg:#ffffff; --soft:#f4f6fa;
  --pass:#1a7f37; --fail:#c62828; --error:#8e24aa; --skipped:#6b7280; --waived:#b26a00; --manual:#0b6bcb; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; color:var(--fg); background:var(--bg); }
header, main, nav, footer { max-width:1280px; margin:0 auto; padding:0 20px; }
h1 { font-size:24px; margin:20px 0 6px; }
h2 { font-size:18px; margin:28px 0 8px; border-bottom:2px solid var(--line); padding-bottom:4px; }
h4 { margin:12px 0 4px; font-size:13px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
code, pre { font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace; font-size:12.5px; }
pre { margin:0; white-space:pre-wrap; word-break:break-word; }
a { color:#0b57d0; }
.description { color:var(--muted); margin:0 0 8px; }
.gate { font-size:20px; font-weight:700; padding:12px 16px; border-radius:8px; margin:10px 0; }
.gate.passed { background:#e6f4ea; color:var(--pass); border:1px solid #a8d5b5; }
.gate.failed { background:#fdecea; color:var(--fail); border:1px solid #f0b4ae; }
.gate small { font-weight:400; color:var(--muted); }
.gate a { color:inherit; }
.cards { display:flex; flex-wrap:wrap; gap:8px; margin:10px 0; }
.card { border:1px solid var(--line); border-radius:8px; padding:6px 14px; min-width:96px; background:var(--soft); }
.card b { display:block; font-size:22px; }
.card span { color:var(--muted); font-size:12px; }
.card.pass b { color:var(--pass); } .card.fail b { color:var(--fail); } .card.error b { color:var(--error); }
.card.waived b { color:var(--waived); } .card.manual-pending b, .card.manual-attested b { color:var(--manual); }
.warning { background:#fff4e0; border:1px solid #f3c77a; padding:6px 10px; border-radius:6px; }
dl.meta { display:grid; grid-template-columns:max-content 1fr; gap:2px 14px; margin:10px 0 16px; color:var(--muted); }
dl.meta dd, dl.kv dd { margin:0; }
dl.meta dd { color:var(--fg); }
nav#filters { position:sticky; top:0; background:rgba(255,255,255,.97); border-bottom:1px solid var(--line); padding-top:6px; padding-bottom:6px; z-index:2; display:flex; flex-wrap:wrap; gap:6px 16px; align-items:center; }
fieldset { border:0; padding:0; margin:0; display:flex; flex-wrap:wrap; gap:4px; align-items:center; }
legend { float:left; font-weight:600; margin-right:6px; }
.chip { border:1px solid var(--line); border-radius:14px; padding:1px 9px; cursor:pointer; background:var(--soft); user-select:none; }
.chip small { color:var(--muted); }
button { border:1px solid var(--line); background:#fff; border-radius:14px; padding:2px 10px; cursor:pointer; font:inherit; }
#shown { margin:0; color:var(--muted); }
table { border-collapse:collapse; width:100%; }
table.items > thead th, table.list th { text-align:left; font-size:12px; color:var(--muted); border-bottom:1px solid var(--line); padding:4px 6px; }
table.items td, table.list td { border-bottom:1px solid var(--line); padding:5px 6px; vertical-align:top; }
tbody.item tr.details td { border-bottom:1px solid var(--line); padding:0 6px 4px; }
tbody.item tr.row td { border-bottom:0; }
td.time { white-space:nowrap; color:var(--muted); }
td.detail { font-size:13px; }
.ok { color:var(--pass); } .bad { color:var(--fail); }
.badge { display:inline-block; border-radius:10px; padding:0 8px; font-weight:600; font-size:12px; color:#fff; white-space:nowrap; }
.badge.pass { background:var(--pass); } .badge.fail { background:var(--fail); } .badge.error { background:var(--error); }
.badge.skipped { background:var(--skipped); } .badge.waived { background:var(--waived); }
.badge.manual-pending { background:#fff; color:var(--manual); border:1px solid var(--manual); }
.badge.manual-attested { background:var(--manual); }
.strip { display:block; margin-top:4px; white-space:nowrap; line-height:0; }
.strip i { display:inline-block; width:7px; height:12px; margin-right:1px; border-radius:1px; background:var(--skipped); }
.strip i.pass { background:var(--pass); } .strip i.fail { background:var(--fail); } .strip i.error { background:var(--error); }
.strip i.waived { background:var(--waived); } .strip i.manual { background:var(--manual); }
.strip i.now { outline:1px solid #333; outline-offset:1px; margin-left:3px; }
.blocking { display:inline-block; margin-left:4px; font-size:11px; color:var(--fail); font-weight:600; }
.sev.critical { color:var(--fail); font-weight:700; } .sev.high { color:#b3261e; } .sev.medium { color:#8a5300; } .sev.low, .sev.info { color:var(--muted); }
details > summary { cursor:pointer; color:var(--muted); font-size:12px; }
.detail-body { padding:6px 10px 10px; background:var(--soft); border-radius:6px; margin:4px 0; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:2px 12px; margin:0; }
dl.kv dt { color:var(--muted); }
table.kvt { width:auto; min-width:50%; background:#fff; }
table.kvt td, table.kvt th { border:1px solid var(--line); padding:2px 6px; text-align:left; vertical-align:top; }
.note { margin:6px 0; padding:5px 8px; border-radius:6px; background:#fff; border-left:4px solid var(--manual); }
.note.waiver { border-left-color:var(--waived); } .note.expired { border-left-color:var(--fail); }
.waiver-line { color:var(--waived); }
tr.expired td, tr.waiver.expired td { background:#fdecea; }
tr.signoff.verified td.sig { color:var(--pass); font-weight:600; }
tr.signoff.invalid td.sig, tr.signoff.unsigned td.sig { color:var(--fail); font-weight:600; }
.signature-note.verified { color:var(--pass); font-weight:600; }
.signature-note.invalid { color:var(--fail); }
footer { color:var(--muted); font-size:12px; margin-top:30px; padding-bottom:30px; }
@media print { nav#filters { display:none; } details { display:block; } }
"#;

const SCRIPT: &str = r#"
(function () {
  'use strict';
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#filters input[data-filter]'));
  var blockingOnly = document.getElementById('blocking-only');
  var items = Array.prototype.slice.call(document.querySelectorAll('tbody.item'));
  function selected(kind) {
    return boxes.filter(function (b) { return b.dataset.filter === kind && b.checked; }).map(function (b) { return b.value; });
  }
  function apply() {
    var outcomes = selected('outcome'), severities = selected('severity'), shown = 0;
    items.forEach(function (tb) {
      var visible = outcomes.indexOf(tb.dataset.outcome) >= 0 && severities.indexOf(tb.dataset.severity) >= 0 &&
        (!blockingOnly.checked || tb.dataset.blocking === 'true');
      tb.hidden = !visible;
      if (visible) { shown++; }
    });
    Array.prototype.forEach.call(document.querySelectorAll('section.section'), function (sec) {
      sec.hidden = !sec.querySelector('tbody.item:not([hidden])');
    });
    document.getElementById('shown').textContent = shown + ' of ' + items.length + (items.length === 1 ? ' item shown' : ' items shown');
    var parts = [];
    ['outcome', 'severity'].forEach(function (kind) {
      var all = boxes.filter(function (b) { return b.dataset.filter === kind; }).length, sel = selected(kind);
      if (sel.length !== all) { parts.push(kind + '=' + sel.join(',')); }
    });
    if (blockingOnly.checked) { parts.push('blocking=1'); }
    var hash = parts.length ? '#' + parts.join('&') : '';
    if (location.hash !== hash && !(hash === '' && location.hash.indexOf('=') < 0)) {
      try { history.replaceState(null, '', hash || location.pathname); } catch (e) { /* file: URLs in some browsers */ }
    }
  }
  function fromHash() {
    var h = location.hash.replace(/^#/, '');
    if (h.indexOf('=') < 0) { return; }
    var wanted = {};
    h.split('&').forEach(function (p) {
      var kv = p.split('=');
      wanted[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1] || '');
    });
    boxes.forEach(function (b) {
      if (wanted[b.dataset.filter] !== undefined) { b.checked = wanted[b.dataset.filter].split(',').indexOf(b.value) >= 0; }
    });
    blockingOnly.checked = wanted.blocking === '1';
  }
  function setAll(kind, values) {
    boxes.forEach(function (b) { if (b.dataset.filter === kind) { b.checked = !values || values.indexOf(b.value) >= 0; } });
  }
  boxes.concat([blockingOnly]).forEach(function (b) { b.addEventListener('change', apply); });
  document.getElementById('problems-only').addEventListener('click', function () {
    setAll('outcome', ['fail', 'error', 'manual-pending']); setAll('severity'); blockingOnly.checked = false; apply();
  });
  document.getElementById('show-all').addEventListener('click', function () {
    setAll('outcome'); setAll('severity'); blockingOnly.checked = false; apply();
  });
  fromHash();
  apply();
  document.body.dataset.ready = 'true';
})();
"#;
