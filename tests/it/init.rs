//! `golive init`: from nothing to a first real run in two commands.

use crate::support as common;
use crate::support;

use common::{Workdir, assert_outcome, stderr, stdout};
use support::{DnsServer, HttpServer, Route, TestRecord, closed_port};

#[test]
fn init_then_run() {
    let w = Workdir::new();
    let out = w.run_blocking(&["init", "--with", "quickstart", "--var", "data_path=/"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("wrote golive.toml (12 items from quickstart)"), "{}", stdout(&out));
    let written = w.read("golive.toml");
    assert!(written.contains("include = [\"golive:quickstart\"]"), "{written}");
    assert!(
        written.contains("# The file system that will hold the service's data and logs.\ndata_path = \"/\""),
        "{written}"
    );

    let out = w.run_blocking(&["run", "--output", "json=report.json", "--quiet"], &[]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(report["summary"]["total"], 12);
    assert_eq!(report["checklist"]["files"][1]["path"], "golive:quickstart");
}

#[test]
fn init_never_overwrites_and_rejects_unknown_areas() {
    let w = Workdir::new();
    w.write("golive.toml", "# mine\n");
    let out = w.run_blocking(&["init", "--with", "quickstart"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("golive.toml already exists; golive init never overwrites"), "{}", stderr(&out));
    assert_eq!(w.read("golive.toml"), "# mine\n");

    let out = w.run_blocking(&["init", "--with", "quickstart,nope", "--out", "other.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no built-in checklist `nope`; choose from:"), "{}", stderr(&out));
    assert!(!w.path("other.toml").exists());
}

/// The vars the go-live checklist cannot guess.
const GO_LIVE_REQUIRED: &[&str] = &[
    "hostname",
    "expected_addresses",
    "base_url",
    "app_binary",
    "env_file",
    "response_time_path",
    "database_url",
    "database_admin_url",
    "migrations_dir",
    "test_data_query",
    "redis_url",
    "source_dir",
    "protected_path",
    "backup_dir",
    "backup_glob",
    "restore_test_command",
    "offsite_check_command",
    "service_unit",
    "required_metrics",
    "alert_rules",
    "required_alerts",
];

#[tokio::test(flavor = "multi_thread")]
async fn init_defaults_to_go_live_lists_required_vars_and_runs_against_local_servers() {
    let w = Workdir::new();
    let out = w.run(&["init", "--stack", "rust"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("wrote golive.toml (107 items from go-live)"), "{}", stdout(&out));
    assert!(stdout(&out).contains(&format!("(or pass --var NAME=VALUE): {}", GO_LIVE_REQUIRED.join(", "))));
    let written = w.read("golive.toml");
    assert!(written.contains("include = [\"golive:go-live\"]"), "{written}");
    for var in GO_LIVE_REQUIRED {
        assert!(written.contains(&format!("Replace with {var} = \"…\"")), "{var} is not marked REQUIRED:\n{written}");
    }
    assert_eq!(written.matches("# REQUIRED: ").count(), GO_LIVE_REQUIRED.len(), "{written}");
    // Vars with a default are shown, commented out, with it.
    assert!(written.contains("# health_path = \"/health\""), "{written}");

    // It validates as written (required vars without a value are warnings there)...
    let out = w.run(&["validate", "--format", "short"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("GL016"), "{}", stderr(&out));
    // ...and a run without them stops before anything runs, naming one.
    let out = w.run(&["run"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("var `hostname` has no value"), "{}", stderr(&out));

    // With every required var given: a real run against servers started here.
    let http = HttpServer::start(vec![Route::new("/health").body("ok"), Route::new("/ready").status(503)]).await;
    let dns = DnsServer::start(vec![TestRecord::a("api.golive.test.", "127.0.0.1", 60)]).await;
    w.write("app.env", "DATABASE_URL=postgres://app:pw@127.0.0.1/app\nRUST_LOG=info\n");
    let closed = closed_port();
    let values = [
        ("hostname", "api.golive.test".to_string()),
        ("expected_addresses", "127.0.0.1".to_string()),
        ("dns_server", dns.addr().to_string()),
        ("base_url", http.url("")),
        ("app_binary", "/bin/sh".into()),
        ("env_file", "app.env".into()),
        ("response_time_path", "/".into()),
        ("database_url", format!("postgres://app:pw@127.0.0.1:{closed}/app")),
        ("database_admin_url", format!("postgres://admin:pw@127.0.0.1:{closed}/app")),
        ("migrations_dir", "migrations".into()),
        ("test_data_query", "select 0".into()),
        ("redis_url", format!("redis://127.0.0.1:{closed}")),
        ("source_dir", ".".into()),
        ("protected_path", "/api/account".into()),
        ("backup_dir", "backups".into()),
        ("backup_glob", "backups/*.dump".into()),
        ("restore_test_command", "true".into()),
        ("offsite_check_command", "true".into()),
        ("service_unit", "app.service".into()),
        ("required_metrics", "up".into()),
        ("alert_rules", "rules.yml".into()),
        ("required_alerts", "ServiceDown".into()),
    ];
    let mut args: Vec<String> = ["run", "--output", "json=report.json", "--quiet"].map(String::from).to_vec();
    for (name, value) in &values {
        args.extend(["--var".to_string(), format!("{name}={value}")]);
    }
    for id in [
        "infrastructure.dns-resolves",
        "infrastructure.health-endpoint",
        "infrastructure.readiness-endpoint",
        "operations.env-file-complete",
        "security.env-file-permissions",
        "database.postgres-version",
        "operations.rollback-tested",
    ] {
        args.extend(["--only".to_string(), id.to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.run(&args).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "infrastructure.dns-resolves", "pass");
    assert_outcome(&report, "infrastructure.health-endpoint", "pass");
    assert_outcome(&report, "infrastructure.readiness-endpoint", "fail");
    assert_outcome(&report, "operations.env-file-complete", "pass");
    // Written by the test with the default mode (0644): readable by others.
    assert_outcome(&report, "security.env-file-permissions", "fail");
    assert_outcome(&report, "database.postgres-version", "error");
    assert_outcome(&report, "operations.rollback-tested", "manual");
    assert_eq!(report["summary"]["total"], 107);
    assert_eq!(report["summary"]["skipped"], 100);
    // The database password in the URL never shows.
    assert!(!std::fs::read_to_string(w.path("report.json")).unwrap().contains(":pw@"));
}

/// The shipped checklists give stack-specific vars no default: `golive init` fills them in
/// for the stack chosen (`--stack`, or asked on a terminal), refuses without a stack where
/// it cannot ask, and `--var` wins over the stack's value. An empty log-level or debug
/// setting makes those items not applicable, never a check of another stack's variable.
#[test]
fn init_fills_in_the_stack_and_never_guesses_one() {
    let w = Workdir::new();
    let out = w.run_blocking(&["init"], &[]);
    assert_eq!(out.status.code(), Some(2), "no terminal to ask on: {}", stdout(&out));
    assert!(stderr(&out).contains("--stack rust, --stack phoenix or --stack other"), "{}", stderr(&out));
    assert!(!w.path("golive.toml").exists());

    let out = w.run_blocking(&["init", "--stack", "phoenix", "--var", "test_command=mix test --cover"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = w.read("golive.toml");
    for line in [
        "required_env = \"DATABASE_URL SECRET_KEY_BASE PHX_HOST PHX_SERVER\"",
        "audit_command = \"mix deps.audit && mix hex.audit\"",
        "log_level_setting = \"\"",
        "test_command = \"mix test --cover\"",
    ] {
        assert!(written.lines().any(|l| l == line), "no {line:?} in:\n{written}");
    }
    let values: Vec<&str> = written.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        !values.iter().any(|l| l.contains("RUST_LOG") || l.contains("cargo ")),
        "a Rust value for Phoenix:\n{written}"
    );

    let out = w.run_blocking(&["init", "--stack", "rust", "--out", "rust.toml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = w.read("rust.toml");
    assert!(written.lines().any(|l| l == "log_level_setting = \"RUST_LOG\""), "{written}");
    assert!(written.lines().any(|l| l == "test_command = \"cargo test --release\""), "{written}");

    // With an empty setting the item is not applicable, and the checklist still loads.
    w.write("app.env", "DATABASE_URL=postgres://x\n");
    let mut args: Vec<String> =
        ["run", "golive.toml", "--only", "config.log-level", "--only", "config.debug-off"].map(String::from).to_vec();
    args.extend(["--output".into(), "json=report.json".into(), "--quiet".into()]);
    for name in GO_LIVE_REQUIRED {
        let value = match *name {
            "base_url" => "http://127.0.0.1:9",
            "expected_addresses" => "127.0.0.1",
            "env_file" => "app.env",
            "response_time_path" | "protected_path" => "/api",
            "database_url" | "database_admin_url" => "postgres://app@127.0.0.1:9/app",
            "redis_url" => "redis://127.0.0.1:9",
            _ => "x",
        };
        args.extend(["--var".to_string(), format!("{name}={value}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.run_blocking(&args, &[]);
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).expect("a report");
    for id in ["config.log-level", "config.debug-off"] {
        assert_eq!(common::item(&report, id)["state"], "not_applicable", "{id}: {}", stderr(&out));
    }
}
