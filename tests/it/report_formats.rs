//! JUnit, Markdown and HTML reports as CI systems and release managers read them: the JUnit
//! file is checked with an independent parser (Python's junitparser); every format renders
//! the same from a saved JSON report as from the run itself.

use crate::support as common;

use std::process::Command;

use common::{Workdir, stderr};

const CHECKLIST: &str = r#"[checklist]
name = "payments-api go-live"
version = "2.1.0"

[[item]]
id = "infra.ok"
section = "infrastructure"
title = "Passes"
probe = "command"
argv = ["true"]

[[item]]
id = "infra.bad"
section = "infrastructure"
title = "Fails"
probe = "command"
argv = ["false"]
severity = "critical"

[[item]]
id = "infra.broken"
section = "infrastructure"
title = "Cannot start"
probe = "command"
argv = ["/nonexistent/program"]
severity = "medium"

[[item]]
id = "infra.after"
section = "infrastructure"
title = "Needs infra.bad"
probe = "command"
argv = ["true"]
depends_on = ["infra.bad"]
severity = "low"

[[item]]
id = "infra.cdn"
section = "infrastructure"
title = "CDN <serves> assets"
probe = "command"
argv = ["false"]

[[item]]
id = "ops.rollback"
section = "operations"
title = "Rollback tested"
probe = "manual"
owner = "Operations Lead"

[[item]]
id = "ops.oncall"
section = "operations"
title = "On-call staffed"
probe = "manual"
owner = "SRE lead"

[[waiver]]
item = "infra.cdn"
reason = "no CDN in phase 1"
approved_by = "CTO"
until = 2099-12-31

[signoff]
roles = ["Technical Lead", "Product Owner"]
"#;

const ATTESTATIONS: &str = "[[attestation]]\nitem = \"ops.rollback\"\nby = \"Dana\"\nat = 2026-01-05T09:30:00Z\nevidence = \"https://tickets.example.com/OPS-7\"\n";

/// Parses a JUnit file with junitparser and prints what a CI would show, as JSON.
const JUNIT_PARSER: &str = r#"
import json, sys
from junitparser import JUnitXml, Failure, Error, Skipped
xml = JUnitXml.fromfile(sys.argv[1])
out = {"suites": []}
for suite in xml:
    cases = []
    for case in suite:
        kinds = [(type(r).__name__, r.message, r.text) for r in case.result]
        cases.append({"name": case.name, "classname": case.classname, "time": case.time, "results": kinds,
                      "out": case.system_out})
    out["suites"].append({"name": suite.name, "tests": suite.tests, "failures": suite.failures,
                          "errors": suite.errors, "skipped": suite.skipped, "cases": cases})
print(json.dumps(out))
"#;

fn junitparser(path: &std::path::Path) -> serde_json::Value {
    let out = Command::new("python3").args(["-c", JUNIT_PARSER]).arg(path).output().expect("python3 runs");
    assert!(out.status.success(), "junitparser failed (./scripts/test.sh installs it): {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn junit_is_read_by_an_independent_parser_with_counts_and_messages() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    w.write("golive.attestations.toml", ATTESTATIONS);
    let out = w.run_blocking(&["run", "-o", "junit=junit.xml", "-o", "json=report.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let parsed = junitparser(&w.path("junit.xml"));
    let suites = parsed["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 2, "one suite per section");
    let infra = &suites[0];
    assert_eq!(infra["name"], "infrastructure");
    assert_eq!((infra["tests"].as_u64(), infra["failures"].as_u64()), (Some(5), Some(1)));
    assert_eq!((infra["errors"].as_u64(), infra["skipped"].as_u64()), (Some(1), Some(2)));
    let case = |suite: &serde_json::Value, id: &str| -> serde_json::Value {
        suite["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"].as_str().unwrap().starts_with(id))
            .cloned()
            .unwrap()
    };
    let bad = case(infra, "infra.bad");
    assert_eq!(bad["name"], "infra.bad: Fails");
    assert_eq!(bad["classname"], "infrastructure");
    assert_eq!(bad["results"][0][0], "Failure");
    assert_eq!(bad["results"][0][1], "[blocks the gate] exit_code: expected == 0, observed 1");
    assert!(bad["results"][0][2].as_str().unwrap().contains("FAIL exit_code: expected == 0, observed 1"));
    assert!(bad["time"].as_f64().unwrap() > 0.0);
    let broken = case(infra, "infra.broken");
    assert_eq!(broken["results"][0][0], "Error");
    assert!(broken["results"][0][1].as_str().unwrap().contains("/nonexistent/program"), "{broken}");
    let after = case(infra, "infra.after");
    assert_eq!(after["results"][0][0], "Skipped");
    assert_eq!(after["results"][0][1], "skipped: dependency `infra.bad` did not pass (fail)");
    let cdn = case(infra, "infra.cdn");
    assert_eq!(cdn["name"], "infra.cdn: CDN <serves> assets", "XML escaping round-trips");
    assert_eq!(cdn["results"][0][0], "Skipped");
    assert_eq!(cdn["results"][0][1], "waived (was fail): no CDN in phase 1 — approved by CTO until 2099-12-31");
    let ok = case(infra, "infra.ok");
    assert_eq!(ok["results"], serde_json::json!([]));
    assert!(ok["out"].as_str().unwrap().contains("exit_code: expected == 0, observed 0"));

    let ops = &suites[1];
    assert_eq!((ops["tests"].as_u64(), ops["skipped"].as_u64(), ops["failures"].as_u64()), (Some(2), Some(1), Some(0)));
    let oncall = case(ops, "ops.oncall");
    assert_eq!(oncall["results"][0][1], "[blocks the gate] manual: pending: no attestation recorded (owner: SRE lead)");
    let rollback = case(ops, "ops.rollback");
    assert_eq!(rollback["results"], serde_json::json!([]), "an attested manual item passes");
    assert!(
        rollback["out"]
            .as_str()
            .unwrap()
            .contains("attested by Dana at 2026-01-05T09:30:00Z: https://tickets.example.com/OPS-7")
    );
}

#[test]
fn markdown_puts_the_verdict_and_failures_first_then_waivers_attestations_and_sign_off() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    w.write("golive.attestations.toml", ATTESTATIONS);
    let out = w.run_blocking(&["run", "-o", "markdown=report.md", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let md = w.read("report.md");
    assert!(md.starts_with("# Go-live report: payments-api go-live 2.1.0\n\n**Gate: FAILED** ❌ (fail-on `high`): 2 blocking — `infra.bad`, `ops.oncall`\n"), "{md}");
    let order: Vec<usize> = [
        "## Blocking and failed items",
        "## infrastructure",
        "## operations",
        "## Waivers",
        "## Attestations",
        "## Sign-off",
    ]
    .iter()
    .map(|h| md.find(h).unwrap_or_else(|| panic!("no {h} in {md}")))
    .collect();
    assert!(order.windows(2).all(|p| p[0] < p[1]), "{md}");
    assert!(
        md.contains("| `infra.bad` | critical | fail | **yes** | exit\\_code: expected == 0, observed 1 | — |"),
        "{md}"
    );
    assert!(md.contains("| `infra.cdn` | CDN &lt;serves&gt; assets | high | waived |"), "{md}");
    assert!(md.contains("| `infra.cdn` | applied | no CDN in phase 1 | CTO | 2099-12-31 | fail |"), "{md}");
    assert!(
        md.contains(
            "| `ops.rollback` | attested | Dana | 2026-01-05T09:30:00Z | https://tickets.example.com/OPS-7 | — | — |"
        ),
        "{md}"
    );
    assert!(md.contains("| Technical Lead | — | — | ❌ not signed |"), "{md}");
    assert!(md.contains("| Product Owner | — | — | ❌ not signed |"), "{md}");
    // Every table row has as many cells as its header.
    let mut header_cells = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            header_cells = None;
            continue;
        }
        let cells = line.replace("\\|", "").matches('|').count();
        assert_eq!(*header_cells.get_or_insert(cells), cells, "broken row: {line}");
    }
}

#[test]
fn a_saved_json_report_renders_exactly_like_the_run() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    w.write("golive.attestations.toml", ATTESTATIONS);
    let out = w.run_blocking(
        &[
            "run",
            "-o",
            "json=report.json",
            "-o",
            "markdown=run.md",
            "-o",
            "html=run.html",
            "-o",
            "junit=run.xml",
            "-o",
            "table=run.txt",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = w.run_blocking(
        &[
            "report",
            "report.json",
            "-o",
            "markdown=saved.md",
            "-o",
            "html=saved.html",
            "-o",
            "junit=saved.xml",
            "-o",
            "table=saved.txt",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (a, b) in
        [("run.md", "saved.md"), ("run.html", "saved.html"), ("run.xml", "saved.xml"), ("run.txt", "saved.txt")]
    {
        assert_eq!(w.read(a), w.read(b), "{b} differs from {a}");
    }
    let out = w.run_blocking(&["report", "golive.toml"], &[]);
    assert_eq!(out.status.code(), Some(2), "a checklist is not a report");
}

#[test]
fn the_json_report_matches_its_documented_schema() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    w.write("golive.attestations.toml", ATTESTATIONS);
    let out = w.run_blocking(&["run", "-o", "json=report.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1));
    common::assert_report_matches_schema(&w.path("report.json"));
}

/// Report files are written as they are produced (JSON, JUnit and GitLab's issues item by
/// item, the table a chunk of rows at a time, Markdown, HTML, GitHub's commands and summary
/// and the OpenMetrics text piece by piece), through a buffer into the new
/// file: byte for byte what the same report renders on stdout, on a run with a secret to
/// mask, a target and a shard, and on a report of 700 more items.
#[test]
fn streamed_report_files_are_byte_identical_to_the_rendered_report() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            r#"[checklist]
name = "streamed"

[vars]
token = "${{env:STREAM_TOKEN}}"

[[target]]
name = "gone"
ssh = "root@127.0.0.1:{closed}"

[[item]]
id = "api.login"
title = "Login with ${{token}}"
probe = "http"
url = "http://svc:${{token}}@127.0.0.1:{closed}/login"

[[item]]
id = "host.marker"
probe = "file"
path = "/etc/hostname"
targets = ["gone"]

[[item]]
id = "local.ok"
probe = "command"
argv = ["true"]
"#
        ),
    );
    let secret = "s3cr3t-stream-token";
    let env = [("STREAM_TOKEN", secret)];
    let out = w.run_blocking(&["run", "--no-store", "--shard", "1/1", "-o", "json", "-o", "json=report.json"], &env);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let streamed = w.read("report.json");
    assert_eq!(common::stdout(&out), streamed, "the streamed file differs from the rendered report");
    let report: serde_json::Value = serde_json::from_str(&streamed).unwrap();
    assert_eq!(report["targets"][0]["name"], "gone", "the report has the target");
    assert_eq!(report["shard"]["total"], 1, "the report has the shard");
    assert!(streamed.contains(&format!("http://svc:***@127.0.0.1:{closed}/login")), "the URL's password is masked");
    assert!(!streamed.contains(secret), "no secret in the report");

    let rendered = w.run_blocking(&["report", "report.json", "-o", "junit"], &[]);
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
    let out = w.run_blocking(&["report", "report.json", "-o", "junit=report.xml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let junit = w.read("report.xml");
    assert!(junit.contains("host.marker@gone") && !junit.contains(secret), "{junit}");
    assert_eq!(common::stdout(&rendered), junit, "the streamed JUnit file differs from the rendered one");

    // The other formats are written piece by piece (the table a chunk of rows at a time):
    // the same bytes as on stdout, also for a section longer than one chunk.
    let mut big: serde_json::Value = serde_json::from_str(&streamed).unwrap();
    let items = big["items"].as_array().unwrap().clone();
    for n in 0..700 {
        let mut item = items[n % items.len()].clone();
        item["id"] = format!("bulk.{n}").into();
        item["title"] = "wide ".repeat(n % 37).into();
        big["items"].as_array_mut().unwrap().push(item);
    }
    w.write("big.json", &serde_json::to_string(&big).unwrap());
    let formats = ["table", "markdown", "html", "github", "github-summary", "gitlab", "prometheus"];
    for (report, format) in ["report.json", "big.json"].into_iter().flat_map(|r| formats.map(|f| (r, f))) {
        let rendered = w.run_blocking(&["report", report, "-o", format], &[]);
        assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
        let file = format!("{report}.{format}");
        let out = w.run_blocking(&["report", report, "-o", &format!("{format}={file}")], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let written = w.read(&file);
        assert_eq!(common::stdout(&rendered), written, "the streamed {file} differs from the rendered one");
        // Every format lists the items that did not pass.
        assert!(written.contains("api.login") && !written.contains(secret), "{file}");
        if report == "big.json" {
            // Of the last three items (copies of the three above), two did not pass: every
            // format shows those.
            let last = ["bulk.697", "bulk.698", "bulk.699"].iter().filter(|id| written.contains(*id)).count();
            assert!(last >= 2, "{file} has the last rows");
        }
    }
}
