//! The outcome model as reports carry it: each item's `state` says why it was skipped and
//! which manual state it is in; the gate blocks on exactly the states docs/outcomes.md
//! names; reports written before `state` and `fact_types` existed render as they did; a
//! plugin's duration and bytes facts read back from JSON as the run showed them.

use crate::support as common;

use common::{Workdir, item, stderr, stdout};
use serde_json::Value;

const CHECKLIST: &str = r#"[checklist]
name = "states"

[[item]]
id = "a.pass"
probe = "command"
argv = ["true"]

[[item]]
id = "a.fail"
probe = "command"
argv = ["false"]
severity = "critical"

[[item]]
id = "a.after"
probe = "command"
argv = ["true"]
depends_on = ["a.fail"]

[[item]]
id = "a.after-low"
probe = "command"
argv = ["true"]
depends_on = ["a.fail"]
severity = "low"

[[item]]
id = "a.after-waived"
probe = "command"
argv = ["true"]
depends_on = ["a.fail"]

[[item]]
id = "m.pending"
probe = "manual"
owner = "Operations Lead"

[[item]]
id = "m.attested"
probe = "manual"

[[item]]
id = "m.expired"
probe = "manual"

[[item]]
id = "m.waived"
probe = "manual"

[[item]]
id = "x.filtered"
probe = "command"
argv = ["false"]
severity = "critical"

[[waiver]]
item = "a.after-waived"
reason = "checked by hand"
approved_by = "CTO"
until = 2099-12-31

[[waiver]]
item = "m.waived"
reason = "next quarter"
approved_by = "CTO"
until = 2099-12-31

[[waiver]]
item = "x.filtered"
reason = "not needed when filtered"
approved_by = "CTO"
until = 2099-12-31
"#;

const ATTESTATIONS: &str = r#"[[attestation]]
item = "m.attested"
by = "Dana"
at = 2026-01-05T09:30:00Z
evidence = "https://tickets.example.com/OPS-7"

[[attestation]]
item = "m.expired"
by = "Sam"
at = 2019-06-01T10:00:00Z
evidence = "https://tickets.example.com/OPS-1"
until = 2020-01-01
"#;

const FORMATS: &[(&str, &str)] = &[("table", "txt"), ("markdown", "md"), ("junit", "xml"), ("html", "html")];

/// Runs the checklist with every format written next to the JSON report, `PREFIX.EXT`.
fn run_all_formats(w: &Workdir, prefix: &str, extra: &[&str]) -> std::process::Output {
    let outputs: Vec<String> = FORMATS.iter().map(|(f, ext)| format!("{f}={prefix}.{ext}")).collect();
    let mut args = vec!["run", "golive.toml", "-o", "json=report.json", "--quiet"];
    for o in &outputs {
        args.extend(["-o", o.as_str()]);
    }
    args.extend_from_slice(extra);
    w.run_blocking(&args, &[])
}

/// `golive report INPUT` in every format, written to `PREFIX.EXT`.
fn report_all_formats(w: &Workdir, input: &str, prefix: &str) {
    let outputs: Vec<String> = FORMATS.iter().map(|(f, ext)| format!("{f}={prefix}.{ext}")).collect();
    let mut args = vec!["report", input];
    for o in &outputs {
        args.extend(["-o", o.as_str()]);
    }
    let out = w.run_blocking(&args, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn read_json(w: &Workdir, name: &str) -> Value {
    serde_json::from_str(&w.read(name)).unwrap()
}

#[test]
fn every_item_reports_its_state_and_blocks_exactly_as_documented() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    w.write("golive.attestations.toml", ATTESTATIONS);
    let out = run_all_formats(&w, "run", &["--skip", "x.filtered"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = read_json(&w, "report.json");
    // (id, outcome, state, manual_status, blocking)
    let expected = [
        ("a.pass", "pass", "pass", None, false),
        ("a.fail", "fail", "fail", None, true),
        ("a.after", "skipped", "skipped_by_dependency", None, true),
        ("a.after-low", "skipped", "skipped_by_dependency", None, false),
        ("a.after-waived", "waived", "skipped_by_dependency", None, false),
        ("m.pending", "manual", "manual_pending", Some("pending"), true),
        ("m.attested", "manual", "manual_attested", Some("attested"), false),
        ("m.expired", "manual", "manual_expired", Some("pending"), true),
        ("m.waived", "waived", "manual_pending", Some("pending"), false),
        ("x.filtered", "skipped", "skipped_by_filter", None, false),
    ];
    for (id, outcome, state, manual, blocking) in expected {
        let i = item(&report, id);
        let got = (i["outcome"].as_str(), i["state"].as_str(), i["manual_status"].as_str(), i["blocking"].as_bool());
        assert_eq!(got, (Some(outcome), Some(state), manual, Some(blocking)), "{id}: {i:#}");
    }
    assert_eq!(item(&report, "x.filtered")["waiver"]["status"], "unused", "a filtered item needs no waiver");
    assert_eq!(item(&report, "a.after-waived")["waiver"]["original_outcome"], "skipped");
    assert_eq!(report["gate"]["blocking"], serde_json::json!(["a.fail", "a.after", "m.pending", "m.expired"]));
    let s = &report["summary"];
    assert_eq!(
        [&s["pass"], &s["fail"], &s["skipped"], &s["waived"], &s["manual_pending"], &s["manual_attested"]],
        [1, 1, 3, 2, 2, 1]
    );

    // The labels every format shows.
    let table = w.read("run.txt");
    for label in ["manual: pending", "manual: attested", "waived", "skipped"] {
        assert!(table.contains(label), "{label} missing:\n{table}");
    }
    assert!(
        table.contains("  - m.expired (high, manual: pending): pending: the attestation by Sam expired on 2020-01-01")
    );
}

#[test]
fn reports_written_before_state_and_fact_types_render_as_they_did() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    w.write("golive.attestations.toml", ATTESTATIONS);
    let out = run_all_formats(&w, "run", &["--skip", "x.filtered"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = read_json(&w, "report.json");
    let mut old = report.clone();
    for i in old["items"].as_array_mut().unwrap() {
        let i = i.as_object_mut().unwrap();
        assert!(i.remove("state").is_some() && i.remove("fact_types").is_some(), "the new report has both");
    }
    w.write("old.json", &serde_json::to_string_pretty(&old).unwrap());
    report_all_formats(&w, "old.json", "old");
    for (_, ext) in FORMATS {
        assert_eq!(w.read(&format!("old.{ext}")), w.read(&format!("run.{ext}")), "old.{ext} differs from run.{ext}");
    }
    // The states inferred from an old report are the ones the run recorded.
    let again = w.run_blocking(&["report", "old.json", "-o", "json"], &[]);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let again: Value = serde_json::from_str(&stdout(&again)).unwrap();
    let states =
        |r: &Value| -> Vec<Value> { r["items"].as_array().unwrap().iter().map(|i| i["state"].clone()).collect() };
    assert_eq!(states(&again), states(&report));
}

/// A plugin whose facts are a duration (milliseconds in JSON) and a size (bytes).
const TIMER: &str = r#"#!/bin/sh
if [ "$1" = "--describe" ]; then
  echo '{"facts": [{"name": "took", "type": "duration"}, {"name": "size", "type": "bytes"}, {"name": "label", "type": "string"}]}'
  exit 0
fi
cat > /dev/null
echo '{"facts": {"took": 1500, "size": 3221225472, "label": "backup"}}'
"#;

#[test]
fn plugin_facts_keep_their_types_when_a_saved_report_is_rendered() {
    let w = Workdir::new();
    w.write_executable("plugins/timer.sh", TIMER);
    w.write(
        "golive.toml",
        "[checklist]\nname = \"typed\"\n\n[[item]]\nid = \"timed\"\nprobe = \"exec\"\nprogram = \"plugins/timer.sh\"\nexpect = { took = \"< 2s\", size = \">= 1GiB\", label = \"backup\" }\n",
    );
    let out = run_all_formats(&w, "run", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read_json(&w, "report.json");
    let timed = item(&report, "timed");
    assert_eq!(timed["facts"]["took"], 1500.0, "JSON keeps milliseconds");
    assert_eq!(timed["facts"]["size"], 3221225472u64, "and bytes");
    assert_eq!(timed["fact_types"], serde_json::json!({ "took": "duration", "size": "bytes", "label": "string" }));

    let table = w.read("run.txt");
    assert!(table.contains("took < 2s → 1.50s") && table.contains("size >= 1GiB → 3.0 GiB"), "{table}");
    report_all_formats(&w, "report.json", "saved");
    for (_, ext) in FORMATS {
        assert_eq!(w.read(&format!("saved.{ext}")), w.read(&format!("run.{ext}")), "saved.{ext} differs");
    }
    // To stdout as well, which is how people read a saved report.
    let shown = w.run_blocking(&["report", "report.json", "-o", "markdown"], &[]);
    assert_eq!(stdout(&shown), w.read("run.md"));
    assert!(stdout(&shown).contains("→ 1.50s") && stdout(&shown).contains("→ 3.0 GiB"), "{}", stdout(&shown));
}
