//! The CI and monitoring outputs (issue 14, points 5 and 6), each read back by a strict or
//! independent parser: GitHub Actions workflow commands against the grammar GitHub
//! documents (and its escaping), the job summary, GitLab's code quality report against a
//! JSON Schema of the fields GitLab reads (Python's jsonschema), and the OpenMetrics text
//! with prometheus_client's two parsers (OpenMetrics and the Prometheus text format that
//! node_exporter's textfile collector reads). No secret shows in any of them.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::support::{self, HttpServer, Route, TestPki, TlsServer, Workdir, stderr, stdout};

/// One workflow command, decoded.
#[derive(Debug)]
struct WorkflowCommand {
    name: String,
    properties: BTreeMap<String, String>,
    message: String,
}

/// Undoes GitHub's escaping (`%25`, `%0D`, `%0A`, and in properties `%3A`, `%2C`).
fn unescape(text: &str) -> String {
    text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
}

/// Parses stdout as workflow commands, every line strictly: `::NAME[ KEY=VALUE[,KEY=VALUE]*]::MESSAGE`,
/// NAME one of GitHub's annotation commands, KEY one of their properties, VALUE with no raw
/// `%`, `:`, `,`, CR or LF, MESSAGE with no raw `%`, CR or LF (actions/toolkit `command.ts`;
/// docs.github.com "Workflow commands for GitHub Actions").
fn workflow_commands(text: &str) -> Vec<WorkflowCommand> {
    let line_re = regex::Regex::new(r"^::(error|warning|notice)(?: ([^:]*))?::((?:[^%\r\n]|%25|%0D|%0A)*)$").unwrap();
    let property_re =
        regex::Regex::new(r"^(file|line|endLine|col|endColumn|title)=((?:[^%,:\r\n]|%25|%0D|%0A|%3A|%2C)*)$").unwrap();
    text.lines()
        .map(|line| {
            let caps = line_re.captures(line).unwrap_or_else(|| panic!("not a workflow command: {line:?}"));
            let mut properties = BTreeMap::new();
            if let Some(props) = caps.get(2) {
                for property in props.as_str().split(',') {
                    let p = property_re
                        .captures(property)
                        .unwrap_or_else(|| panic!("bad property {property:?} in {line:?}"));
                    assert!(properties.insert(p[1].to_string(), unescape(&p[2])).is_none(), "a property twice: {line}");
                }
            }
            WorkflowCommand { name: caps[1].to_string(), properties, message: unescape(&caps[3]) }
        })
        .collect()
}

/// The 1-based line of the `n`-th (0-based) `[[item]]` header in `text`.
fn item_line(text: &str, id: &str) -> String {
    let at = text.find(&format!("id = \"{id}\"")).unwrap_or_else(|| panic!("no item {id}"));
    let header = text[..at].rfind("[[item]]").expect("a header before the id");
    (text[..header].matches('\n').count() + 1).to_string()
}

/// A checklist with a blocking failure (whose title needs escaping), a non-blocking one, a
/// pass and a pending manual item that blocks.
fn checklist(down: &str, ok: &str) -> String {
    format!(
        r#"[checklist]
name = "payments, api: prod"

[[item]]
id = "api.health"
title = "Health answers 100%, ready: yes\nor not"
probe = "http"
url = "{down}"
severity = "critical"
expect = {{ status = 200 }}

[[item]]
id = "api.docs"
title = "Docs are up"
probe = "http"
url = "{down}"
severity = "low"
expect = {{ status = 200 }}

[[item]]
id = "api.ok"
title = "Root answers"
probe = "http"
url = "{ok}"
expect = {{ status = 200 }}

[[item]]
id = "ops.rollback"
title = "Rollback tested"
probe = "manual"
owner = "Operations Lead"
severity = "high"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn github_annotations_point_at_the_lines_of_blocking_and_failed_items() {
    let server = HttpServer::start(vec![Route::new("/down").status(503), Route::new("/ok")]).await;
    let w = Workdir::new();
    let text = checklist(&server.url("/down"), &server.url("/ok"));
    w.write("golive.toml", &text);
    let out = w.run(&["run", "-o", "github", "-o", "json=r.json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let commands = workflow_commands(&stdout(&out));
    let names: Vec<(&str, Option<&str>)> =
        commands.iter().map(|c| (c.name.as_str(), c.properties.get("title").map(String::as_str))).collect();
    assert_eq!(
        names,
        [
            ("error", Some("golive: api.health (critical, fail)")),
            ("error", Some("golive: ops.rollback (high, manual: pending)")),
            ("warning", Some("golive: api.docs (low, fail)")),
            ("notice", Some("golive: gate FAILED")),
        ],
        "blocking items are errors, a failure that does not block a warning, a pass nothing"
    );
    for (command, id) in commands.iter().zip(["api.health", "ops.rollback", "api.docs"]) {
        assert_eq!(command.properties["file"], "golive.toml");
        assert_eq!(command.properties["line"], item_line(&text, id), "{id}");
        assert_eq!(command.properties["col"], "1");
    }
    let health = &commands[0];
    assert!(
        health.message.starts_with("Health answers 100%, ready: yes\nor not\nstatus: expected == 200, observed 503"),
        "the title and the failed expectation, escaped and read back intact: {:?}",
        health.message
    );
    assert!(commands[1].message.contains("owner: Operations Lead"), "{:?}", commands[1].message);
    assert!(!commands[3].properties.contains_key("file"));
    assert!(commands[3].message.starts_with("4 items: 1 pass, 2 fail"), "{:?}", commands[3].message);
    assert!(!stdout(&out).contains("api.ok"), "a passing item is no annotation");
    // A saved report renders the same annotations (`golive report`).
    let again = w.run(&["report", "r.json", "-o", "github"]).await;
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(stdout(&again), stdout(&out));

    // A passing gate: only the notice.
    w.write("pass.toml", &format!("[[item]]\nid = \"api.ok\"\nprobe = \"http\"\nurl = \"{}\"\n", server.url("/ok")));
    let out = w.run(&["run", "pass.toml", "-o", "github"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let commands = workflow_commands(&stdout(&out));
    assert_eq!(commands.len(), 1);
    assert_eq!(
        (commands[0].name.as_str(), commands[0].properties["title"].as_str()),
        ("notice", "golive: gate PASSED")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn annotation_paths_are_relative_to_the_repository_root() {
    let server = HttpServer::start(vec![Route::new("/down").status(503)]).await;
    let w = Workdir::new();
    w.write(
        "deploy/golive.toml",
        &format!(
            "[[item]]\nid = \"api.health\"\nprobe = \"http\"\nurl = \"{}\"\nseverity = \"critical\"\n",
            server.url("/down")
        ),
    );
    let root = w.dir.path().display().to_string();
    // golive run from a subdirectory (a step's `working-directory`), the path as given there.
    let out = {
        let mut c = w.command(&["run", "golive.toml", "-o", "github", "-o", "gitlab=cq.json"]);
        c.current_dir(w.path("deploy")).env("GITHUB_WORKSPACE", &root).env("CI_PROJECT_DIR", &root);
        tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
    };
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let commands = workflow_commands(&stdout(&out));
    assert_eq!(commands[0].properties["file"], "deploy/golive.toml");
    let gitlab: Value = serde_json::from_str(&w.read("deploy/cq.json")).unwrap();
    assert_eq!(gitlab[0]["location"]["path"], "deploy/golive.toml");
    // Without the variables: the path as recorded.
    let out = {
        let mut c = w.command(&["run", "golive.toml", "-o", "github"]);
        c.current_dir(w.path("deploy")).env_remove("GITHUB_WORKSPACE").env_remove("CI_PROJECT_DIR");
        tokio::task::spawn_blocking(move || c.output().unwrap()).await.unwrap()
    };
    assert_eq!(workflow_commands(&stdout(&out))[0].properties["file"], "golive.toml");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_job_summary_lists_what_blocks_with_its_checklist_line() {
    let server = HttpServer::start(vec![Route::new("/down").status(503), Route::new("/ok")]).await;
    let w = Workdir::new();
    let text = checklist(&server.url("/down"), &server.url("/ok"));
    w.write("golive.toml", &text);
    // As a workflow step writes it: -o github-summary=$GITHUB_STEP_SUMMARY.
    let summary_file = w.path("step_summary.md").display().to_string();
    let out = w.run(&["run", "-o", "github", "-o", &format!("github-summary={summary_file}")]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let summary = w.read("step_summary.md");
    assert!(summary.starts_with("## golive: payments, api: prod — gate FAILED ❌\n"), "{summary}");
    let blocking = &summary[summary.find("### Blocking the gate").expect("a blocking table")..];
    let blocking = &blocking[..blocking.find("### Failed, not blocking").expect("then the others")];
    for id in ["api.health", "ops.rollback"] {
        let row = blocking
            .lines()
            .find(|l| l.starts_with(&format!("| `{id}` |")))
            .unwrap_or_else(|| panic!("{id}: {blocking}"));
        assert!(row.ends_with(&format!("| golive.toml:{}:1 |", item_line(&text, id))), "{row}");
    }
    assert!(!blocking.contains("api.docs"), "{blocking}");
    // Every table row has as many cells as its header: nothing in a value breaks a table.
    let mut columns = None;
    for line in summary.lines() {
        if line.starts_with('|') {
            let cells = line.replace("\\|", "").matches('|').count();
            match columns {
                None => columns = Some(cells),
                Some(n) => assert_eq!(cells, n, "{line}"),
            }
        } else {
            columns = None;
        }
    }
    assert!(summary.contains("Health answers 100%, ready: yes<br>or not"), "{summary}");
}

/// Validates `file` against docs/gitlab-codequality.schema.json with Python's jsonschema.
fn assert_matches_gitlab_schema(file: &std::path::Path) {
    const CHECK: &str = "import json, sys\nfrom jsonschema import Draft202012Validator as V\nv = V(json.load(open(sys.argv[1])))\nerrors = [f\"{'/'.join(map(str, e.absolute_path))}: {e.message}\" for e in v.iter_errors(json.load(open(sys.argv[2])))]\nprint('\\n'.join(errors))\nsys.exit(1 if errors else 0)";
    let schema = format!("{}/docs/gitlab-codequality.schema.json", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3").args(["-c", CHECK, &schema]).arg(file).output().expect("python3 runs");
    assert!(out.status.success(), "{} does not match the schema:\n{}{}", file.display(), stdout(&out), stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gitlab_code_quality_report_matches_the_fields_gitlab_reads() {
    let server = HttpServer::start(vec![Route::new("/down").status(503), Route::new("/ok")]).await;
    let w = Workdir::new();
    let text = checklist(&server.url("/down"), &server.url("/ok"));
    w.write("golive.toml", &text);
    let out = w.run(&["run", "-o", "gitlab=gl-code-quality-report.json", "-q"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_matches_gitlab_schema(&w.path("gl-code-quality-report.json"));
    let issues: Value = serde_json::from_str(&w.read("gl-code-quality-report.json")).unwrap();
    let issues = issues.as_array().unwrap();
    let got: Vec<(&str, &str, u64)> = issues
        .iter()
        .map(|i| {
            (
                i["check_name"].as_str().unwrap(),
                i["severity"].as_str().unwrap(),
                i["location"]["lines"]["begin"].as_u64().unwrap(),
            )
        })
        .collect();
    let line = |id| item_line(&text, id).parse::<u64>().unwrap();
    assert_eq!(
        got,
        [
            ("golive/api.health", "blocker", line("api.health")),
            ("golive/ops.rollback", "critical", line("ops.rollback")),
            ("golive/api.docs", "minor", line("api.docs")),
        ]
    );
    assert!(issues.iter().all(|i| i["location"]["path"] == "golive.toml"));
    let description = issues[0]["description"].as_str().unwrap();
    assert!(
        description.contains("blocks the gate") && description.contains("status: expected == 200, observed 503"),
        "{description}"
    );
    let fingerprints: std::collections::BTreeSet<&str> =
        issues.iter().map(|i| i["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(fingerprints.len(), 3, "one fingerprint per issue");
    // The same problems in another run keep their fingerprints (GitLab compares them).
    w.run(&["run", "-o", "gitlab=again.json", "-q"]).await;
    let again: Value = serde_json::from_str(&w.read("again.json")).unwrap();
    let again: std::collections::BTreeSet<&str> =
        again.as_array().unwrap().iter().map(|i| i["fingerprint"].as_str().unwrap()).collect();
    assert_eq!(again, fingerprints);
    // A gate with nothing to say: an empty array, still valid.
    w.write("pass.toml", &format!("[[item]]\nid = \"api.ok\"\nprobe = \"http\"\nurl = \"{}\"\n", server.url("/ok")));
    w.run(&["run", "pass.toml", "-o", "gitlab=pass.json", "-q"]).await;
    assert_eq!(w.read("pass.json").trim(), "[]");
    assert_matches_gitlab_schema(&w.path("pass.json"));
}

/// Parses an OpenMetrics file with both of prometheus_client's parsers; returns the
/// families as the OpenMetrics one reads them: name → (type, unit, samples as
/// (labels, value)).
type Families = BTreeMap<String, (String, String, Vec<(BTreeMap<String, String>, f64)>)>;

fn parse_metrics(file: &std::path::Path) -> Families {
    support::python::ensure_module("prometheus_client", "prometheus-client");
    const PARSE: &str = r#"import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as prometheus_text
text = open(sys.argv[1]).read()
families = {f.name: [f.type, f.unit, [[s.labels, s.value] for s in f.samples]] for f in openmetrics(text)}
# The Prometheus text format parser (what node_exporter's textfile collector reads) must
# agree on every family and sample.
classic = {f.name: [f.type, [[s.labels, s.value] for s in f.samples]] for f in prometheus_text(text)}
for name, (type_, _unit, samples) in families.items():
    assert classic[name] == [type_, samples], (name, classic.get(name))
assert set(classic) == set(families), (set(classic) ^ set(families))
print(json.dumps(families))
"#;
    let out = Command::new("python3").args(["-c", PARSE]).arg(file).output().expect("python3 runs");
    assert!(out.status.success(), "the parsers reject {}:\n{}", file.display(), stderr(&out));
    serde_json::from_slice(&out.stdout).expect("families as JSON")
}

fn sample(families: &Families, name: &str, labels: &[(&str, &str)]) -> f64 {
    let (_, _, samples) = families.get(name).unwrap_or_else(|| panic!("no family {name}"));
    let found: Vec<f64> = samples
        .iter()
        .filter(|(l, _)| labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(found.len(), 1, "{name}{labels:?}: {samples:?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prometheus_output_is_read_by_real_parsers() {
    let pki = TestPki::new();
    let tls = TlsServer::with_cert(&pki.expiring_in_days(20)).await;
    let server = HttpServer::start(vec![Route::new("/down").status(503), Route::new("/ok")]).await;
    let w = Workdir::new();
    let ca = pki.write_ca_file(w.dir.path()).display().to_string();
    let name = "pay \"api\" \\ prod";
    w.write(
        "golive.toml",
        &format!(
            "[checklist]\nname = {name:?}\n\n[[item]]\nid = \"api.down\"\nprobe = \"http\"\nurl = \"{}\"\nseverity = \"critical\"\nexpect = {{ status = 200 }}\n\n\
             [[item]]\nid = \"api.ok\"\nprobe = \"http\"\nurl = \"{}\"\nsection = \"edge\"\n\n\
             [[item]]\nid = \"tls.cert\"\nprobe = \"tls\"\naddress = \"localhost:{}\"\nca_file = \"{ca}\"\nexpect = {{ days_remaining = \">= 10\" }}\n",
            server.url("/down"),
            server.url("/ok"),
            tls.port()
        ),
    );
    // An old file is replaced whole (a textfile collector never reads half a file).
    w.write("golive.prom", "old\n");
    let out = w.run(&["run", "-o", "prometheus=golive.prom", "-q"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = w.read("golive.prom");
    assert!(text.ends_with("# EOF\n") && !text.contains("old"), "{text}");
    let left: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|f| !f.contains("golive-tmp")), "no temporary file is left: {left:?}");

    let families = parse_metrics(&w.path("golive.prom"));
    let c = ("checklist", name);
    assert_eq!(sample(&families, "golive_gate_passed", &[c, ("fail_on", "high")]), 0.0);
    assert_eq!(sample(&families, "golive_blocking_items", &[c]), 1.0);
    assert_eq!(sample(&families, "golive_items", &[c, ("outcome", "pass")]), 2.0);
    assert_eq!(sample(&families, "golive_items", &[c, ("outcome", "fail")]), 1.0);
    for (id, outcome) in [("api.down", "fail"), ("api.ok", "pass"), ("tls.cert", "pass")] {
        for other in ["pass", "fail", "error", "skipped", "waived", "manual"] {
            let want = if other == outcome { 1.0 } else { 0.0 };
            assert_eq!(
                sample(&families, "golive_item_outcome", &[c, ("id", id), ("outcome", other)]),
                want,
                "{id} {other}"
            );
        }
    }
    assert_eq!(sample(&families, "golive_item_outcome", &[("id", "api.ok"), ("outcome", "pass")]), 1.0);
    let (_, _, ok) = &families["golive_item_blocking"];
    assert!(
        ok.iter().any(|(l, v)| l["id"] == "api.ok" && l["section"] == "edge" && l["severity"] == "high" && *v == 0.0)
    );
    assert_eq!(sample(&families, "golive_item_blocking", &[("id", "api.down")]), 1.0);
    let days = sample(&families, "golive_tls_days_remaining", &[("id", "tls.cert")]);
    assert!((19.0..=20.0).contains(&days), "{days}");
    assert_eq!(families["golive_tls_days_remaining"].2.len(), 1, "only TLS items have it");
    assert_eq!(families["golive_item_duration_seconds"].1, "seconds");
    assert!(sample(&families, "golive_item_duration_seconds", &[("id", "api.ok")]) > 0.0);
    let report_start = families["golive_run_started_timestamp_seconds"].2[0].1;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(report_start <= now && report_start > now - 3600.0, "{report_start} is the run's start");
    for (family, (kind, _, _)) in &families {
        assert!(family.starts_with("golive_"), "{family}");
        assert_eq!(kind, "gauge", "{family}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_shows_in_the_ci_and_metrics_outputs() {
    const SECRET: &str = "Ci-Secret-9d4e11";
    let server = HttpServer::start(vec![Route::new("/down").status(503)]).await;
    let w = Workdir::new();
    let url = server.url("/down").replace("http://", "http://deploy:${env:GOLIVE_CI_SECRET}@");
    w.write(
        "golive.toml",
        &format!(
            "[checklist]\nname = \"checklist ${{env:GOLIVE_CI_SECRET}}\"\n\n[[item]]\nid = \"api.health\"\ntitle = \"Health with ${{env:GOLIVE_CI_SECRET}}\"\nprobe = \"http\"\nurl = \"{url}\"\nseverity = \"critical\"\nexpect = {{ status = 200, body = {{ contains = \"${{env:GOLIVE_CI_SECRET}}\" }} }}\n\n\
             [[item]]\nid = \"api.low\"\ntitle = \"Low ${{env:GOLIVE_CI_SECRET}}\"\nprobe = \"http\"\nurl = \"{url}\"\nseverity = \"low\"\nexpect = {{ status = 200 }}\n"
        ),
    );
    let mut args = support::every_format("golive.toml");
    args.push("--quiet");
    let everything = w.run_env(&args, &[("GOLIVE_CI_SECRET", SECRET)]).await;
    let github = w.run_env(&["run", "-o", "github", "-q"], &[("GOLIVE_CI_SECRET", SECRET)]).await;
    assert_eq!(github.status.code(), Some(1), "{}", stderr(&github));
    // A reference is shown as written; its value, and the expectation it fills in, never.
    assert!(stdout(&github).contains("Health with ${env:GOLIVE_CI_SECRET}"), "{}", stdout(&github));
    assert!(stdout(&github).contains(r#"body: expected contains "***""#), "{}", stdout(&github));
    let mut searched = vec![stdout(&everything), stderr(&everything), stdout(&github), stderr(&github)];
    for file in ["r.github.txt", "r.summary.md", "r.gitlab.json", "r.prom"] {
        let text = w.read(file);
        assert!(text.contains("api.health"), "{file} holds the run:\n{text}");
        searched.push(text);
    }
    for text in &searched {
        assert!(!text.contains(SECRET), "a secret shows:\n{text}");
    }
    workflow_commands(&w.read("r.github.txt"));
    assert_matches_gitlab_schema(&w.path("r.gitlab.json"));
    parse_metrics(&w.path("r.prom"));
}
