//! `golive run` as a release manager and a CI job use it: the table, the JSON report,
//! several outputs in one run, exit codes and the gate, filters, dependencies, retries,
//! the run deadline, and secrets that never appear in any output.

use crate::support as common;
use crate::support;

use std::time::{Duration, Instant};

use common::{Workdir, assert_outcome, item, stderr, stdout};
use support::{HttpServer, HungListener, Route, closed_port};

fn checklist(http_port: u16, closed: u16) -> String {
    format!(
        r#"[checklist]
name = "payments-api go-live"
version = "2.1.0"

[defaults]
timeout = "3s"

[[item]]
id = "infra.health"
section = "infrastructure"
title = "Health endpoint answers 200"
probe = "http"
url = "http://127.0.0.1:{http_port}/health"
tags = ["smoke"]
expect = {{ status = 200, body = {{ contains = "ok" }} }}

[[item]]
id = "infra.metrics"
section = "infrastructure"
title = "Metrics are not public"
severity = "medium"
probe = "http"
url = "http://127.0.0.1:{http_port}/metrics"
expect = {{ status = 404 }}

[[item]]
id = "db.port"
section = "database"
title = "Database port open"
probe = "tcp"
address = "127.0.0.1:{closed}"
severity = "low"

[[item]]
id = "db.migrations"
section = "database"
title = "Migrations applied"
probe = "command"
argv = ["true"]
depends_on = ["db.port"]
severity = "critical"

[[item]]
id = "ops.rollback"
section = "operations"
title = "Rollback tested"
probe = "manual"
owner = "Operations Lead"
severity = "medium"
"#
    )
}

async fn server() -> HttpServer {
    HttpServer::start(vec![Route::new("/health").body("ok"), Route::new("/metrics").body("secret metrics")]).await
}

#[tokio::test(flavor = "multi_thread")]
async fn table_groups_by_section_and_says_what_blocks_the_launch() {
    let http = server().await;
    let w = Workdir::new();
    w.write("golive.toml", &checklist(http.port(), closed_port()));
    let out = w.run(&["run"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.starts_with("payments-api go-live 2.1.0\n"), "{table}");
    let infra = table.find("infrastructure (2 items)").expect("infrastructure section");
    let database = table.find("database (2 items)").expect("database section");
    let operations = table.find("operations (1 item)").expect("operations section");
    assert!(infra < database && database < operations);
    assert!(table.contains("✗ status == 404 → 200"), "{table}");
    assert!(table.contains("manual: pending"), "{table}");
    assert!(table.contains("dependency `db.port` did not pass (fail)"), "{table}");
    assert!(table.contains("Blocking the launch:"), "{table}");
    assert!(table.contains("- db.migrations (critical, skipped): dependency `db.port` did not pass (fail)"), "{table}");
    assert!(
        table.contains(
            "5 items: 1 pass, 2 fail, 0 error, 1 manual pending, 1 skipped — gate FAILED (fail-on high): 1 blocking"
        ),
        "{table}"
    );
    assert!(!table.contains("\x1b["), "no colour when stdout is not a terminal");
}

#[tokio::test(flavor = "multi_thread")]
async fn fail_on_sets_the_gate_threshold() {
    let http = server().await;
    let w = Workdir::new();
    w.write("golive.toml", &checklist(http.port(), closed_port()));
    let (report, out) = w.run_json("golive.toml", &["--fail-on", "critical"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["gate"]["blocking"], serde_json::json!(["db.migrations"]));
    // Without the failing dependency, only the medium items fail: a critical threshold passes.
    let (report, out) = w.run_json("golive.toml", &["--fail-on", "critical", "--skip", "db.migrations"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", report["gate"]);
    assert_eq!(report["gate"]["passed"], true);
    let (report, out) = w.run_json("golive.toml", &["--fail-on", "medium", "--skip", "db.migrations"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(report["gate"]["blocking"], serde_json::json!(["infra.metrics", "ops.rollback"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_report_records_everything_an_auditor_needs() {
    let http = server().await;
    let w = Workdir::new();
    w.write("golive.toml", &checklist(http.port(), closed_port()));
    let out = w.run(&["run", "--output", "json=r.json", "--output", "table=table.txt", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let from_stdout: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json on stdout");
    let report: serde_json::Value = serde_json::from_str(&w.read("r.json")).unwrap();
    assert_eq!(from_stdout["items"], report["items"], "one run, several formats");
    assert!(w.read("table.txt").contains("Blocking the launch"));
    assert!(stderr(&out).contains("gate FAILED"), "summary on stderr when no table on stdout");

    assert_eq!(report["schema"], "golive.report/v1");
    assert_eq!(report["checklist"]["name"], "payments-api go-live");
    assert_eq!(report["checklist"]["version"], "2.1.0");
    let sha = report["checklist"]["files"][0]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);
    use sha2::Digest;
    assert_eq!(sha, hex::encode(sha2::Sha256::digest(w.read("golive.toml").as_bytes())));
    assert!(report["run_id"].as_str().unwrap().len() >= 32);
    assert!(report["started_at"].as_str().unwrap().ends_with('Z'));
    assert!(report["host"]["hostname"].is_string());
    let health = item(&report, "infra.health");
    assert_eq!(health["params"]["url"], format!("http://127.0.0.1:{}/health", http.port()));
    assert_eq!(
        health["expectations"][0],
        serde_json::json!({"fact": "status", "expected": "== 200", "observed": 200, "passed": true})
    );
    assert_eq!(health["facts"]["status"], 200);
    assert_eq!(health["attempts"], 1);
    assert_eq!(health["source"], "golive.toml:8:1", "the item's [[item]] header");
    assert!(health["duration_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(item(&report, "ops.rollback")["manual_status"], "pending");
    assert_eq!(
        report["summary"],
        serde_json::json!({"total": 5, "pass": 1, "fail": 2, "error": 0, "skipped": 1, "waived": 0, "manual_pending": 1, "manual_attested": 0, "not_applicable": 0, "waivers_expired": 0})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_select_items_and_pull_in_their_dependencies() {
    let http = server().await;
    let w = Workdir::new();
    w.write("golive.toml", &checklist(http.port(), closed_port()));
    let (report, out) = w.run_json("golive.toml", &["--tag", "smoke"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_outcome(&report, "infra.health", "pass");
    assert_outcome(&report, "infra.metrics", "skipped");
    assert_eq!(item(&report, "infra.metrics")["reason"], "not selected (--tag smoke)");

    let (report, _) = w.run_json("golive.toml", &["--only", "db.migrations"]).await;
    assert_outcome(&report, "db.port", "fail");
    assert_outcome(&report, "db.migrations", "skipped");
    assert_outcome(&report, "infra.health", "skipped");

    // An explicit --skip is not pulled back in as a dependency.
    let (report, _) = w.run_json("golive.toml", &["--only", "db.migrations", "--skip", "db.port"]).await;
    assert_outcome(&report, "db.port", "skipped");
    assert_eq!(item(&report, "db.migrations")["reason"], "dependency `db.port` did not pass (skipped)");

    // A filter that selects nothing is a mistake, not a green run.
    let out = w.run(&["run", "--tag", "smoek"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no item matches --tag smoek"), "{}", stderr(&out));

    let (report, _) = w.run_json("golive.toml", &["--section", "infrastructure"]).await;
    assert_outcome(&report, "infra.metrics", "fail");
    assert_outcome(&report, "ops.rollback", "skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_until_it_passes_and_says_how_many_attempts() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"[[item]]
id = "eventually"
probe = "command"
shell = true
argv = ["n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]"]
retries = 3
retry_delay = "10ms"

[[item]]
id = "never"
probe = "command"
argv = ["false"]
retries = 1
retry_delay = "10ms"
"#,
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "eventually", "pass");
    assert_eq!(item(&report, "eventually")["attempts"], 3);
    assert_outcome(&report, "never", "fail");
    assert_eq!(item(&report, "never")["attempts"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deadline_bounds_the_whole_run() {
    let hung = HungListener::start().await;
    let w = Workdir::new();
    let mut toml = String::new();
    for i in 0..5 {
        toml.push_str(&format!(
            "[[item]]\nid = \"hung{i}\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:{}/\"\ntimeout = \"60s\"\n",
            hung.port()
        ));
    }
    toml.push_str("[[item]]\nid = \"quick\"\nprobe = \"command\"\nargv = [\"true\"]\n");
    w.write("golive.toml", &toml);
    let started = Instant::now();
    let (report, out) = w.run_json("golive.toml", &["--deadline", "1s"]).await;
    assert!(started.elapsed() < Duration::from_secs(30), "the deadline did not end the run");
    assert_eq!(out.status.code(), Some(1));
    assert_outcome(&report, "quick", "pass");
    assert_outcome(&report, "hung0", "error");
    assert_eq!(
        item(&report, "hung3")["reason"],
        "deadline: the run's --deadline of 1s passed before this item finished"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn hung_items_time_out_in_parallel_not_one_after_another() {
    let hung = HungListener::start().await;
    let w = Workdir::new();
    let mut toml = String::new();
    for i in 0..10 {
        toml.push_str(&format!("[[item]]\nid = \"h{i}\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{}\"\n", hung.port()));
        toml.push_str(&format!(
            "[[item]]\nid = \"x{i}\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:{}/\"\ntimeout = \"1s\"\n",
            hung.port()
        ));
    }
    w.write("golive.toml", &toml);
    let (report, _) = w.run_json("golive.toml", &[]).await;
    // Each item's own duration is bounded by its timeout; ten of them took about one.
    assert_eq!(report["summary"]["pass"], 10, "a hung listener accepts TCP connections");
    assert_eq!(report["summary"]["error"], 10);
    assert!(report["duration_ms"].as_f64().unwrap() < 8_000.0, "{}", report["duration_ms"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_never_appear_in_any_output() {
    const TOKEN: &str = "tok-4f9a-SECRET-c0ffee";
    const PASSWORD: &str = "pw-Hunter2-literal";
    const ENV_PASSWORD: &str = "envpw-Special!chars~42";
    // A careless server that echoes the token back in its body and a header.
    let http = HttpServer::start(vec![
        Route::new("/echo").status(500).header("x-debug", &format!("auth={TOKEN}")).body(format!("bad token {TOKEN}")),
        // The table cuts observed values at 60 characters: the cut falls inside the token.
        Route::new("/long").body(format!("{}{TOKEN} and more", "x".repeat(50))),
    ])
    .await;
    let closed = closed_port();
    let port = http.port();
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            r#"[vars]
api_token = "${{env:GOLIVE_TEST_TOKEN}}"

[[item]]
id = "echo"
title = "Token ${{api_token}} accepted"
probe = "http"
url = "http://127.0.0.1:{port}/echo"
headers = {{ Authorization = "Bearer ${{api_token}}", "X-Trace" = {{ value = "${{env:GOLIVE_TEST_TOKEN}}", secret = true }} }}
expect = {{ status = 200, body = {{ contains = "fine" }}, headers = {{ x-debug = "none" }} }}

[[item]]
id = "literal-password"
probe = "http"
url = "http://app:{PASSWORD}@127.0.0.1:{closed}/health"

[[item]]
id = "env-password"
probe = "http"
url = "http://app:${{env:GOLIVE_TEST_DB_PASSWORD}}@127.0.0.1:{closed}/health"

[[item]]
id = "env-probe"
probe = "env"
name = "GOLIVE_TEST_TOKEN"
expect = {{ value = "something-else" }}

[[item]]
id = "cmd"
probe = "command"
argv = ["sh", "-c", "echo token is $0; exit 1", "${{api_token}}"]
expect = {{ exit_code = 0, stdout = {{ contains = "nothing" }} }}

[[item]]
id = "long-body"
probe = "http"
url = "http://127.0.0.1:{port}/long"
expect = {{ body = {{ contains = "nothing" }} }}

[[item]]
id = "probed-only"
probe = "env"
name = "GOLIVE_TEST_PROBED_ONLY"

[[item]]
id = "printed"
probe = "command"
argv = ["printenv", "GOLIVE_TEST_PROBED_ONLY"]
expect = {{ stdout = "nothing" }}
depends_on = ["probed-only"]
"#
        ),
    );
    const PROBED: &str = "probed-value-9931";
    let env =
        [("GOLIVE_TEST_TOKEN", TOKEN), ("GOLIVE_TEST_DB_PASSWORD", ENV_PASSWORD), ("GOLIVE_TEST_PROBED_ONLY", PROBED)];
    // A diagnostic that quotes a value must not quote a secret either.
    w.write("bad.toml", "[[item]]\nid = \"m\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:1/\"\nmethod = \"${env:GOLIVE_TEST_TOKEN}\"\n");
    let bad_out = w.run_env(&["validate", "bad.toml"], &env).await;
    assert_eq!(bad_out.status.code(), Some(2));
    assert!(stderr(&bad_out).contains("`method` must be one of"), "{}", stderr(&bad_out));
    let out = w
        .run_env(
            &[
                "run",
                "--output",
                "table",
                "--output",
                "json=report.json",
                "--output",
                "table=table.txt",
                "-o",
                "junit=junit.xml",
                "-o",
                "markdown=report.md",
                "-o",
                "html=report.html",
            ],
            &env,
        )
        .await;
    // The signed report, its decoded payloads, and what renders from it.
    assert!(w.run_env(&["keygen", "--out", "k"], &env).await.status.success());
    let sign_out = w
        .run_env(
            &["sign", "report.json", "--role", "Lead", "--name", "L", "--key", "k.key", "--acknowledge-failed-gate"],
            &env,
        )
        .await;
    assert_eq!(sign_out.status.code(), Some(0), "{}", stderr(&sign_out));
    let signed: serde_json::Value = serde_json::from_str(&w.read("report.signed.json")).unwrap();
    use base64::Engine;
    let decode = |e: &serde_json::Value| {
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(e["payload"].as_str().unwrap()).unwrap())
            .unwrap()
    };
    let payloads = decode(&signed["report"]) + &decode(&signed["signoffs"][0]);
    assert!(payloads.contains("\"predicate\""));
    let rendered = w.run_env(&["report", "report.signed.json", "-o", "html", "-o", "markdown=signed.md"], &env).await;
    let bad_sign =
        w.run_env(&["sign", "report.json", "--role", "Lead", "--name", "L", "--key", "table.txt"], &env).await;
    assert_eq!(bad_sign.status.code(), Some(2));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let json_out = w.run_env(&["run", "--output", "json", "--quiet"], &env).await;
    let list_out = w.run_env(&["list"], &env).await;
    let validate_out = w.run_env(&["validate", "--format", "json"], &env).await;

    // The items really ran against the secret values.
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "echo", "fail");
    assert_outcome(&report, "literal-password", "error");
    assert_outcome(&report, "printed", "fail");
    let requests = http.requests();
    let echo = requests.iter().find(|r| r.path == "/echo").expect("the echo item ran");
    assert_eq!(echo.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(item(&report, "echo")["params"]["headers"]["Authorization"], "***");
    assert_eq!(item(&report, "env-password")["params"]["url"], format!("http://app:***@127.0.0.1:{closed}/health"));

    let outputs = [
        ("table on stdout", stdout(&out)),
        ("stderr", stderr(&out)),
        ("json file", w.read("report.json")),
        ("table file", w.read("table.txt")),
        ("json on stdout", stdout(&json_out)),
        ("json run stderr", stderr(&json_out)),
        ("list", stdout(&list_out) + &stderr(&list_out)),
        ("validate", stdout(&validate_out) + &stderr(&validate_out)),
        ("invalid checklist", stderr(&bad_out)),
        ("junit file", w.read("junit.xml")),
        ("markdown file", w.read("report.md")),
        ("html file", w.read("report.html")),
        ("signed report", w.read("report.signed.json")),
        ("signed payloads", payloads),
        ("sign output", stdout(&sign_out) + &stderr(&sign_out)),
        ("rendered from the signed report", stdout(&rendered) + &stderr(&rendered) + &w.read("signed.md")),
        ("sign error", stderr(&bad_sign)),
    ];
    for (name, text) in &outputs {
        for secret in [TOKEN, PASSWORD, ENV_PASSWORD, PROBED, &TOKEN[..12]] {
            assert!(!text.contains(secret), "{name} shows a secret:\n{text}");
        }
    }
    assert!(outputs[0].1.contains("***"), "masked values are still shown as masked");
}

#[tokio::test(flavor = "multi_thread")]
async fn colour_only_when_asked_or_on_a_terminal() {
    let w = Workdir::new();
    w.write("golive.toml", "[[item]]\nid = \"ok\"\nprobe = \"command\"\nargv = [\"true\"]\n");
    let plain = w.run(&["run"]).await;
    assert!(!stdout(&plain).contains("\x1b["), "not a terminal: no colour");
    let forced = w.run(&["run", "--color", "always"]).await;
    assert!(stdout(&forced).contains("\x1b["), "{}", stdout(&forced));
    assert!(stdout(&forced).contains("gate PASSED"));
    let out = w.run_env(&["run", "--color", "auto"], &[("NO_COLOR", "1")]).await;
    assert!(!stdout(&out).contains("\x1b["));
}
