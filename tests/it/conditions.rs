//! `when`: an item applies only when its conditions hold, on a var or on a fact another item
//! observed. An item that does not apply is `not applicable` (outcome `skipped`, state
//! `not_applicable`) with the reason, never runs and never blocks; its dependents are not
//! applicable too; a condition that cannot be decided blocks like a skipped dependency.

use crate::support as common;

use common::{Workdir, item, stderr, stdout};
use serde_json::Value;

const CHECKLIST: &str = r#"[checklist]
name = "conditions"

[vars]
stack = "rust"
replicas = "0"

[[item]]
id = "web"
probe = "command"
argv = ["sh", "-c", "echo 'Server: nginx'"]

[[item]]
id = "phoenix.endpoint"
probe = "command"
argv = ["false"]
severity = "critical"
when = { var = "stack", is = "phoenix" }

[[item]]
id = "db.replica-lag"
probe = "command"
argv = ["false"]
severity = "critical"
when = { var = "replicas", is = "> 0" }

[[item]]
id = "db.replica-alerts"
probe = "command"
argv = ["false"]
severity = "critical"
depends_on = ["db.replica-lag", "broken"]

[[item]]
id = "cdn.purge"
probe = "command"
argv = ["false"]
severity = "critical"
when = { item = "web", fact = "stdout", is = { contains = "cloudflare" } }

[[item]]
id = "nginx.config"
probe = "command"
argv = ["sh", "-c", "echo checked"]
when = [{ item = "web", fact = "stdout", is = { contains = "nginx" } }, { var = "stack", is = { one_of = ["rust", "go"] } }]

[[item]]
id = "broken"
probe = "command"
argv = ["sh", "-c", "exit 3"]
severity = "low"

[[item]]
id = "undecided"
probe = "command"
argv = ["true"]
when = { item = "unreachable", fact = "stdout", is = { contains = "x" } }

[[item]]
id = "unreachable"
probe = "command"
argv = ["/nonexistent/golive-no-such-program"]
severity = "low"

[[waiver]]
item = "cdn.purge"
reason = "purge is manual this release"
approved_by = "Dana Ops"
until = "2099-12-31"
"#;

fn states(report: &Value) -> Vec<(String, String)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap().to_string(), i["state"].as_str().unwrap().to_string()))
        .collect()
}

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

#[test]
fn items_that_do_not_apply_are_not_applicable_and_never_block() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    let mut args = vec!["run", "golive.toml"];
    for o in ["table", "json=report.json", "junit=report.xml", "markdown=report.md", "html=report.html"] {
        args.extend(["--output", o]);
    }
    let out = w.run_blocking(&args, &[]);
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    let got = states(&report);
    let want: Vec<(String, String)> = [
        ("web", "pass"),
        ("phoenix.endpoint", "not_applicable"),
        ("db.replica-lag", "not_applicable"),
        ("db.replica-alerts", "not_applicable"),
        ("cdn.purge", "not_applicable"),
        ("nginx.config", "pass"),
        ("broken", "fail"),
        ("undecided", "skipped_by_dependency"),
        ("unreachable", "error"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{}", stderr(&out));
    for id in ["phoenix.endpoint", "db.replica-lag", "db.replica-alerts", "cdn.purge"] {
        assert_eq!(item(&report, id)["outcome"], "skipped", "{id}");
        assert_eq!(item(&report, id)["blocking"], false, "{id}");
    }
    assert_eq!(
        reason(&report, "phoenix.endpoint"),
        "not applicable: `when` var `stack` == \"phoenix\" does not hold (observed \"rust\")"
    );
    assert_eq!(
        reason(&report, "db.replica-lag"),
        "not applicable: `when` var `replicas` > 0 does not hold (observed 0)"
    );
    assert_eq!(
        reason(&report, "db.replica-alerts"),
        "not applicable: depends on `db.replica-lag`, which is not applicable",
        "a dependency that does not apply wins over one that failed"
    );
    assert_eq!(
        reason(&report, "cdn.purge"),
        "not applicable: `when` `web` stdout contains \"cloudflare\" does not hold (observed \"Server: nginx\")"
    );
    assert_eq!(item(&report, "cdn.purge")["waiver"]["status"], "unused", "nothing to waive");
    assert_eq!(
        reason(&report, "undecided"),
        "`when` on `unreachable` stdout cannot be decided: `unreachable` did not observe (error)"
    );
    common::assert_report_matches_schema(&w.path("report.json"));
    assert_eq!(report["summary"]["not_applicable"], 4);
    assert_eq!(report["summary"]["skipped"], 1);
    // Nothing that does not apply blocks: only `undecided` (high, skipped: its condition
    // could not be decided) does; `broken` and `unreachable` are low.
    assert_eq!(report["gate"]["blocking"], serde_json::json!(["undecided"]));
    assert_eq!(out.status.code(), Some(1));
    let table = stdout(&out);
    assert!(table.contains("not applicable"), "{table}");
    assert!(table.contains("4 not applicable"), "{table}");
    let junit = w.read("report.xml");
    assert!(junit.contains("<skipped message=\"not applicable: `when` var `stack`"), "{junit}");
    assert!(w.read("report.md").contains("not applicable"));
    assert!(w.read("report.html").contains("not applicable"));
}

/// The conditions are data: with `stack = "phoenix"` the Phoenix item runs (and fails, and
/// blocks), and `--only` on a conditional item runs the item its `when` reads.
#[test]
fn a_condition_that_holds_runs_the_item_and_only_pulls_in_what_it_reads() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    let out = w.run_blocking(&["run", "golive.toml", "--var", "stack=phoenix", "--output", "json=report.json"], &[]);
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(item(&report, "phoenix.endpoint")["state"], "fail");
    assert_eq!(item(&report, "nginx.config")["state"], "not_applicable");
    assert!(report["gate"]["blocking"].as_array().unwrap().contains(&"phoenix.endpoint".into()));
    assert_eq!(out.status.code(), Some(1));

    let only = w.run_blocking(&["run", "golive.toml", "--only", "nginx.config", "--output", "json=only.json"], &[]);
    assert_eq!(only.status.code(), Some(0), "{}", stderr(&only));
    let report: Value = serde_json::from_str(&w.read("only.json")).unwrap();
    assert_eq!(item(&report, "web")["state"], "pass", "the item `when` reads runs too");
    assert_eq!(item(&report, "nginx.config")["state"], "pass");
    assert_eq!(item(&report, "cdn.purge")["state"], "skipped_by_filter");
}

/// A wrong `when` is a checklist error where it is written, in `validate` as in `run`.
#[test]
fn a_wrong_condition_is_a_checklist_error_where_it_is_written() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"[vars]
stack = "rust"

[[item]]
id = "frontend"
probe = "http"
url = "http://127.0.0.1:9/"

[[item]]
id = "a"
probe = "command"
argv = ["true"]
when = { item = "frontent", fact = "status", is = 200 }

[[item]]
id = "b"
probe = "command"
argv = ["true"]
when = { item = "frontend", fact = "stauts", is = 200 }

[[item]]
id = "c"
probe = "command"
argv = ["true"]
when = { var = "stack" }

[[item]]
id = "d"
probe = "command"
argv = ["true"]
when = { var = "stakc", is = "rust" }

[[item]]
id = "e"
probe = "command"
argv = ["true"]
when = { item = "f", fact = "exit_code", is = 0 }

[[item]]
id = "f"
probe = "command"
argv = ["true"]
when = { item = "e", fact = "exit_code", is = 0 }
"#,
    );
    for command in ["validate", "run"] {
        let out = w.run_blocking(&[command, "golive.toml"], &[]);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        let err = stderr(&out);
        for expected in [
            "`when` reads unknown item `frontent`",
            "did you mean `frontend`?",
            "`when` reads fact `stauts`, which `frontend` (probe `http`) does not observe",
            "did you mean `status`?",
            "a `when` condition needs `is`",
            "unknown var `stakc`",
            "dependency cycle: ",
        ] {
            assert!(err.contains(expected), "{command}: no {expected:?} in {err}");
        }
        assert!(err.contains("golive.toml:13:8"), "{command}: the condition's position: {err}");
    }
}

/// The review's cases: a fact a `when` reads is observed even when its item does not expect
/// it; a var read as a number still equals `is = "2"`; a var condition that rules an item
/// out wins over a failed dependency; a ruled-out item's parameters are not read, so they
/// cannot hide an error of an item that runs; a secret var cannot decide applicability.
#[test]
fn conditions_see_what_they_read_and_never_hide_an_error() {
    let w = Workdir::new();
    w.write("cdn.toml", "cdn = \"cloudflare\"\n");
    w.write(
        "golive.toml",
        r#"[vars]
replicas = "2"
stack = "rust"

[[item]]
id = "cfg"
probe = "file"
path = "cdn.toml"

[[item]]
id = "purge"
probe = "command"
argv = ["true"]
when = { item = "cfg", fact = "config.cdn", is = "cloudflare" }

[[item]]
id = "replica-lag"
probe = "command"
argv = ["true"]
when = { var = "replicas", is = "2" }

[[item]]
id = "broken"
probe = "command"
argv = ["false"]
severity = "low"

[[item]]
id = "phoenix-after-broken"
probe = "command"
argv = ["true"]
severity = "critical"
depends_on = ["broken"]
when = { var = "stack", is = { one_of = "phoenix elixir" } }
"#,
    );
    let out = w.run_blocking(&["run", "golive.toml", "--output", "json=report.json", "--quiet"], &[]);
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(item(&report, "purge")["state"], "pass", "config.cdn was read although cfg does not expect it");
    assert_eq!(item(&report, "replica-lag")["state"], "pass", "\"2\" equals the var read as 2");
    assert_eq!(item(&report, "phoenix-after-broken")["state"], "not_applicable");
    assert_eq!(out.status.code(), Some(0), "nothing applicable blocks: {}", stderr(&out));

    // A var only a ruled-out item uses: its missing value stops nothing; the same var in an
    // item that applies is still an error.
    w.write(
        "vars.toml",
        "[vars]\nstack = \"rust\"\nmarker = { description = \"only for Phoenix\" }\n[[item]]\nid = \"phx\"\nprobe = \"command\"\nargv = [\"echo\", \"${marker}\"]\nwhen = { var = \"stack\", is = \"phoenix\" }\n",
    );
    let ok = w.run_blocking(&["run", "vars.toml", "--quiet"], &[]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    w.write(
        "vars.toml",
        "[vars]\nstack = \"rust\"\nmarker = { description = \"only for Phoenix\" }\n[[item]]\nid = \"phx\"\nprobe = \"command\"\nargv = [\"echo\", \"${marker}\"]\nwhen = { var = \"stack\", is = \"phoenix\" }\n[[item]]\nid = \"web\"\nprobe = \"command\"\nargv = [\"echo\", \"${marker}\"]\n",
    );
    let err = w.run_blocking(&["run", "vars.toml", "--quiet"], &[]);
    assert_eq!(err.status.code(), Some(2), "{}", stderr(&err));
    assert!(stderr(&err).contains("GL016") && stderr(&err).contains("marker"), "{}", stderr(&err));

    w.write(
        "secret.toml",
        "[vars]\nkey = \"${env:GOLIVE_CONDITION_SECRET}\"\n[[item]]\nid = \"s\"\nprobe = \"command\"\nargv = [\"true\"]\nwhen = { var = \"key\", is = { contains = \"live\" } }\n",
    );
    let secret = w.run_blocking(&["validate", "secret.toml"], &[("GOLIVE_CONDITION_SECRET", "sk_test_abc")]);
    assert_eq!(secret.status.code(), Some(2), "{}", stderr(&secret));
    assert!(stderr(&secret).contains("whose value is a secret"), "{}", stderr(&secret));
    assert!(!stderr(&secret).contains("sk_test_abc"));
}
