//! Run history (docs/history.md) against real stores: SQLite files in a temporary
//! directory, and a real PostgreSQL server the harness starts once for this module. Every
//! run is the real `golive` binary; the store is read back with `golive history`/`diff`.

use crate::support;

use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;
use support::pg::{PgConfig, SCRAM_HBA};
use support::{PgServer, Workdir, closed_port, stderr, stdout};

const SECRET_TOKEN: &str = "tok-Planted-7f3a9c";
const URL_PASSWORD: &str = "pw-Planted-2b81e4";

/// One file item whose outcome follows `state.toml`, and one that always fails.
fn checklist(name: &str) -> String {
    format!(
        r#"[checklist]
name = "{name}"
version = "1.0"

[[item]]
id = "app.version"
probe = "file"
path = "state.toml"
expect = {{ "config.version" = 1 }}

[[item]]
id = "legacy.flag"
probe = "file"
path = "legacy-flag-never-exists"
severity = "critical"
"#
    )
}

fn workdir(name: &str) -> Workdir {
    let w = Workdir::new();
    w.write("golive.toml", &checklist(name));
    w.write("state.toml", "version = 1\n");
    w
}

fn golive(w: &Workdir, args: &[&str], store: Option<&str>) -> Output {
    let mut c = w.command(args);
    for var in ["GOLIVE_STORE", "GITHUB_RUN_ID", "CI_JOB_ID", "BUILD_ID", "BUILDKITE_JOB_ID", "TRAVIS_JOB_ID"] {
        c.env_remove(var);
    }
    if let Some(store) = store {
        c.env("GOLIVE_STORE", store);
    }
    c.output().expect("golive runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), stderr(out)))
}

fn runs(w: &Workdir, store: Option<&str>, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["history", "--format", "json", "--limit", "1000"];
    args.extend_from_slice(extra);
    let out = golive(w, &args, store);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    json(&out).as_array().unwrap().clone()
}

fn run(w: &Workdir, store: Option<&str>, extra: &[&str]) -> Output {
    let mut args = vec!["run", "golive.toml", "--quiet", "-o", "json=report.json"];
    args.extend_from_slice(extra);
    golive(w, &args, store)
}

/// Every byte of the SQLite store's files (database, WAL, shared memory).
fn store_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    bytes
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn every_run_is_recorded_beside_the_checklist_with_no_secret() {
    let w = workdir("secrets demo");
    let port = closed_port();
    w.write(
        "golive.toml",
        &format!(
            r#"{}
[vars]
token = "${{env:HIST_TOKEN}}"

[[item]]
id = "api.health"
probe = "http"
url = "http://probe:{URL_PASSWORD}@127.0.0.1:{port}/health?token=${{token}}"
severity = "low"

[[item]]
id = "env.token"
probe = "env"
name = "HIST_TOKEN"
"#,
            checklist("secrets demo")
        ),
    );
    let mut c = w.command(&["run", "golive.toml", "--quiet", "-o", "json=report.json", "-o", "markdown=report.md"]);
    c.env("HIST_TOKEN", SECRET_TOKEN).env("GITHUB_RUN_ID", "4242").env_remove("GOLIVE_STORE");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "legacy.flag blocks: {}", stderr(&out));
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();

    // Readable by its owner only.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(w.path(".golive/history.db")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "history.db mode {mode:o}");
    let recorded = runs(&w, Some(w.path(".golive/history.db").to_str().unwrap()), &[]);
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r["run_id"], report["run_id"]);
    assert_eq!(r["checklist"], "secrets demo");
    assert_eq!(r["version"], "1.0");
    assert_eq!(r["ci_job"], "GITHUB_RUN_ID=4242");
    assert_eq!(r["gate_passed"], false);
    assert_eq!((r["total"].as_i64(), r["fail"].as_i64(), r["error"].as_i64()), (Some(4), Some(1), Some(1)));

    // The planted secrets reach the probes (the env item passes, the URL is used) but no
    // byte of the store holds them.
    let token = w.run_blocking(&["history", "--item", "env.token", "--format", "json"], &[]);
    assert_eq!(json(&token)[0]["outcome"], "pass", "{}", stderr(&token));
    let bytes = store_bytes(&w.path(".golive"));
    assert!(contains(&bytes, report["run_id"].as_str().unwrap()), "the run is in the files searched");
    assert!(!contains(&bytes, SECRET_TOKEN), "the ${{env:…}} value leaked into the store");
    assert!(!contains(&bytes, URL_PASSWORD), "the URL password leaked into the store");
    let listing = w.run_blocking(&["history"], &[]);
    assert!(!stdout(&listing).contains(SECRET_TOKEN) && !stdout(&listing).contains(URL_PASSWORD));
    // The stored report (compressed in the store) is the report the run wrote, byte for byte.
    let shown = w.run_blocking(&["history", "show", "last"], &[]);
    assert_eq!(stdout(&shown), w.read("report.json"), "{}", stderr(&shown));
    assert!(!stdout(&shown).contains(SECRET_TOKEN) && !stdout(&shown).contains(URL_PASSWORD));
    assert!(stdout(&shown).contains("http://probe:***@127.0.0.1"), "the URL is stored, masked");
}

#[test]
fn history_lists_runs_and_one_items_outcome_over_time() {
    let w = workdir("timeline");
    assert_eq!(run(&w, None, &[]).status.code(), Some(1));
    w.write("state.toml", "version = 2\n");
    assert_eq!(run(&w, None, &[]).status.code(), Some(1));
    w.write("state.toml", "version = 1\n");
    assert_eq!(run(&w, None, &[]).status.code(), Some(1));

    let store = w.path(".golive/history.db");
    let store = store.to_str().unwrap();
    assert_eq!(runs(&w, Some(store), &[]).len(), 3);
    assert_eq!(runs(&w, Some(store), &["--checklist", "timeline"]).len(), 3);
    assert_eq!(runs(&w, Some(store), &["--checklist", "another"]).len(), 0);
    assert_eq!(runs(&w, Some(store), &["--since", "7d"]).len(), 3);

    let item = golive(&w, &["history", "--item", "app.version", "--format", "json"], Some(store));
    let rows = json(&item);
    let outcomes: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["pass", "fail", "pass"], "newest first");
    let table = golive(&w, &["history", "--item", "app.version"], Some(store));
    assert!(stdout(&table).contains("app.version: ✓✗✓ (oldest → newest"), "{}", stdout(&table));
    let table = golive(&w, &["history"], Some(store));
    assert!(stdout(&table).contains("timeline 1.0") && stdout(&table).contains("3 runs"), "{}", stdout(&table));
}

#[test]
fn diff_shows_what_changed_and_exits_1_when_an_item_newly_fails() {
    let w = workdir("diffs");
    run(&w, None, &[]);
    w.write("state.toml", "version = 2\n");
    let mut changed = checklist("diffs");
    changed.push_str("\n[[item]]\nid = \"app.added\"\nprobe = \"file\"\npath = \"state.toml\"\n");
    w.write("golive.toml", &changed);
    run(&w, None, &[]);

    let out = w.run_blocking(&["diff", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1), "app.version newly fails: {}", stderr(&out));
    let d = json(&out);
    assert_eq!(d["newly_failing"][0]["id"], "app.version");
    assert_eq!(d["newly_failing"][0]["before"], "pass");
    assert_eq!(d["newly_failing"].as_array().unwrap().len(), 1, "legacy.flag failed both times: {d}");
    let fact = d["changed_facts"].as_array().unwrap().iter().find(|f| f["fact"] == "config.version").unwrap();
    assert_eq!((&fact["before"], &fact["after"]), (&Value::from(1), &Value::from(2)));
    assert!(
        d["changed_facts"].as_array().unwrap().iter().all(|f| f["fact"] != "modified_age"),
        "durations differ on every run and are left out by default"
    );
    assert_eq!(d["new_items"][0]["id"], "app.added");
    assert_eq!(d["changed_files"][0]["path"], "golive.toml");
    assert_ne!(d["changed_files"][0]["before"], d["changed_files"][0]["after"]);
    let text = w.run_blocking(&["diff"], &[]);
    assert!(stdout(&text).contains("Newly failing:\n  app.version pass -> fail"), "{}", stdout(&text));
    assert!(stdout(&text).contains("app.version config.version: 1 -> 2"), "{}", stdout(&text));

    // Fixed again: newly passing, nothing newly failing, exit 0; against the last passing
    // version of app.version (run 1) nothing changed for it.
    w.write("state.toml", "version = 1\n");
    run(&w, None, &[]);
    let out = w.run_blocking(&["diff", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["newly_passing"][0]["id"], "app.version");
    let first =
        runs(&w, Some(w.path(".golive/history.db").to_str().unwrap()), &[])[2]["run_id"].as_str().unwrap().to_string();
    let out = w.run_blocking(&["diff", &first[..8], "last", "--format", "json"], &[]);
    let d = json(&out);
    assert_eq!(d["before"]["run_id"], first.as_str(), "a run id prefix names the run");
    assert!(d["newly_failing"].as_array().unwrap().is_empty() && d["newly_passing"].as_array().unwrap().is_empty());
    assert_eq!(d["new_items"][0]["id"], "app.added");
}

#[test]
fn prune_keeps_a_count_per_checklist_or_an_age() {
    let w = workdir("pruned");
    for _ in 0..3 {
        run(&w, None, &[]);
    }
    let store = w.path(".golive/history.db");
    let store = store.to_str().unwrap();
    let newest = runs(&w, Some(store), &[])[0]["run_id"].clone();
    let out = golive(&w, &["history", "prune", "--keep", "1"], Some(store));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Deleted 2 runs"), "{}", stdout(&out));
    let left = runs(&w, Some(store), &[]);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["run_id"], newest);
    let item = golive(&w, &["history", "--item", "app.version", "--format", "json"], Some(store));
    assert_eq!(json(&item).as_array().unwrap().len(), 1, "the pruned runs' items are gone too");

    assert!(stdout(&golive(&w, &["history", "prune", "--keep", "3650d"], Some(store))).contains("Deleted 0 runs"));
    assert_eq!(runs(&w, Some(store), &[]).len(), 1);
    assert!(stdout(&golive(&w, &["history", "prune", "--keep", "0s"], Some(store))).contains("Deleted 1 run"));
    assert!(runs(&w, Some(store), &[]).is_empty());
}

#[test]
fn baseline_shows_changes_and_fail_on_regression_blocks_only_regressions() {
    let w = workdir("adoption");
    // First adoption: legacy.flag (critical) fails, but nothing passed before it.
    let out = run(&w, None, &["--fail-on-regression"]);
    assert_eq!(out.status.code(), Some(0), "no regression without a baseline: {}", stderr(&out));
    assert!(stderr(&out).contains("holds no run `last-pass`"), "{}", stderr(&out));

    w.write("state.toml", "version = 2\n");
    let out = run(&w, None, &["--fail-on-regression", "-o", "markdown=report.md", "-o", "table=report.txt"]);
    assert_eq!(out.status.code(), Some(1), "app.version passed in the baseline: {}", stderr(&out));
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(report["gate"]["blocking"], serde_json::json!(["app.version"]), "legacy.flag never passed");
    let baseline = &report["baseline"];
    assert_eq!(baseline["requested"], "last-pass");
    assert_eq!(baseline["fail_on_regression"], true);
    assert_eq!(baseline["changes"][0]["id"], "app.version");
    assert_eq!(baseline["changes"][0]["change"], "newly_failing");
    assert_eq!(baseline["changes"][0]["changed_facts"], serde_json::json!(["config.version"]));
    assert_eq!(baseline["changes"].as_array().unwrap().len(), 1, "legacy.flag did not change");
    support::assert_report_matches_schema(&w.path("report.json"));
    assert!(w.read("report.md").contains("## Changed since baseline last-pass"));
    assert!(
        w.read("report.md")
            .contains("| `app.version` | newly failing (was pass); facts changed: config.version | pass | fail |")
    );
    let table = w.read("report.txt");
    assert!(table.contains("Since baseline") && table.contains("newly failing (was pass)"), "{table}");
    assert!(table.contains("unchanged"), "{table}");

    // Without --fail-on-regression the ordinary gate stands; --baseline RUN_ID names a run.
    let first =
        runs(&w, Some(w.path(".golive/history.db").to_str().unwrap()), &[])[1]["run_id"].as_str().unwrap().to_string();
    let out = run(&w, None, &["--baseline", &first]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(report["baseline"]["run_id"], first.as_str());
    assert_eq!(report["gate"]["blocking"], serde_json::json!(["app.version", "legacy.flag"]));
    // A plain run's report has no baseline at all.
    run(&w, None, &[]);
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert!(report.get("baseline").is_none());
}

#[test]
fn a_store_that_fails_keeps_the_reports_and_the_gates_exit_code() {
    let w = workdir("unreachable");
    w.write("state.toml", "version = 1\n");
    let port = closed_port();
    let url = format!("postgres://golive:{URL_PASSWORD}@127.0.0.1:{port}/history");
    let out = run(&w, Some(&url), &["--only", "app.version"]);
    assert_eq!(out.status.code(), Some(0), "the gate passed: {}", stderr(&out));
    assert!(w.path("report.json").exists());
    assert!(stderr(&out).contains("the run was not recorded"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(URL_PASSWORD), "{}", stderr(&out));

    // An SQLite store that cannot be a file (a directory is in the way): the failed gate's 1.
    std::fs::create_dir_all(w.path("blocked.db")).unwrap();
    let out = run(&w, Some("sqlite://blocked.db"), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(w.path("report.json").exists());
    assert!(stderr(&out).contains("the run was not recorded"), "{}", stderr(&out));

    // --no-store writes nothing.
    let w = workdir("unrecorded");
    run(&w, None, &["--no-store"]);
    assert!(!w.path(".golive").exists());
}

/// 20 `golive run`s at once into one store: every run and every item row is there.
fn twenty_at_once(w: &Workdir, store: &str) {
    let children: Vec<_> = (0..20)
        .map(|i| {
            let report = format!("json=report-{i}.json");
            let mut c = w.command(&["run", "golive.toml", "--quiet", "--output", &report]);
            c.env("GOLIVE_STORE", store).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
            c.spawn().expect("spawn golive")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1), "legacy.flag blocks: {}", stderr(&out));
        assert!(!stderr(&out).contains("not recorded"), "{}", stderr(&out));
    }
    let recorded = runs(w, Some(store), &[]);
    assert_eq!(recorded.len(), 20, "a run was lost");
    for i in 0..20 {
        let report: Value = serde_json::from_str(&w.read(&format!("report-{i}.json"))).unwrap();
        assert!(recorded.iter().any(|r| r["run_id"] == report["run_id"]), "run {i} is missing");
    }
    for id in ["app.version", "legacy.flag"] {
        let item = golive(w, &["history", "--item", id, "--format", "json", "--limit", "100"], Some(store));
        assert_eq!(json(&item).as_array().unwrap().len(), 20, "an item row of {id} was lost");
    }
}

#[test]
fn twenty_concurrent_runs_into_one_sqlite_file_lose_nothing() {
    let w = workdir("concurrent");
    let store = format!("sqlite://{}", w.path("shared/history.db").display());
    twenty_at_once(&w, &store);
}

fn pg() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| PgServer::start(PgConfig { settings: Vec::new(), hba: SCRAM_HBA.to_string(), tls: None }))
}

/// A fresh database on the shared server, and its URL.
fn pg_store(name: &str) -> String {
    pg().sql("postgres", &format!("CREATE DATABASE {name}"));
    pg().super_url(name)
}

#[test]
fn postgres_store_records_diffs_and_prunes_with_no_secret() {
    let url = pg_store("history_basics");
    let w = workdir("pg basics");
    let mut c = w.command(&["run", "golive.toml", "--quiet", "-o", "json=report.json"]);
    c.env("GOLIVE_STORE", &url).env("CI_JOB_ID", "77").env_remove("GITHUB_RUN_ID");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    w.write("state.toml", "version = 2\n");
    let out = run(&w, Some(&url), &["--baseline", "last"]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(report["baseline"]["changes"][0]["change"], "newly_failing");

    let recorded = runs(&w, Some(&url), &[]);
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1]["ci_job"], "CI_JOB_ID=77");
    let out = golive(&w, &["diff", "--format", "json"], Some(&url));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json(&out)["newly_failing"][0]["id"], "app.version");
    let item = golive(&w, &["history", "--item", "app.version", "--format", "json"], Some(&url));
    let rows = json(&item);
    let outcomes: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["fail", "pass"]);
    // The same schema, applied once.
    assert_eq!(pg().scalar("history_basics", "SELECT max(version)::text FROM golive_schema"), "1");
    assert_eq!(pg().scalar("history_basics", "SELECT count(*)::text FROM golive_items"), "4");
    // The store's URL password never shows; no stored text holds it.
    let listing = golive(&w, &["history"], Some(&url));
    assert!(!stdout(&listing).contains(support::pg::SUPERUSER_PASSWORD));
    let shown = golive(&w, &["history", "show", "last"], Some(&url));
    assert_eq!(stdout(&shown), w.read("report.json"), "{}", stderr(&shown));
    let failed = golive(&w, &["history", "show", "0000"], Some(&url));
    assert_eq!(failed.status.code(), Some(2));
    let out = golive(&w, &["history", "prune", "--keep", "1"], Some(&url));
    assert!(stdout(&out).contains("Deleted 1 run"), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(pg().scalar("history_basics", "SELECT count(*)::text FROM golive_items"), "2");
}

#[test]
fn twenty_concurrent_runs_into_one_postgres_store_lose_nothing() {
    let url = pg_store("history_concurrent");
    let w = workdir("pg concurrent");
    twenty_at_once(&w, &url);
}

/// Headless Chromium's DOM of a page, as tests/it/html_browser.rs loads the report.
fn chromium_dom(profile: &std::path::Path, page: &std::path::Path) -> String {
    let binary = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is installed (./scripts/test.sh installs it)");
    let out = std::process::Command::new("timeout")
        .arg("120")
        .arg(binary)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", &format!("file://{}", page.display())])
        .output()
        .expect("chromium runs");
    stdout(&out)
}

#[test]
fn the_html_report_shows_each_items_recent_outcomes_and_the_baseline_in_chromium() {
    let w = workdir("strips");
    for version in ["1", "2", "1"] {
        w.write("state.toml", &format!("version = {version}\n"));
        run(&w, None, &[]);
    }
    w.write("state.toml", "version = 2\n");
    let out = run(&w, None, &["--baseline", "last", "-o", "html=report.html"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let dom = chromium_dom(&w.path("profile"), &w.path("report.html"));
    assert!(dom.contains("data-ready=\"true\""), "the page's script ran: {dom}");
    let strip_of = |id: &str| -> Vec<String> {
        let row = &dom[dom.find(&format!("data-id=\"{id}\"")).unwrap_or_else(|| panic!("no row {id}"))..];
        let strip = &row[row.find("class=\"strip\"").unwrap()..];
        let strip = &strip[..strip.find("</span>").unwrap()];
        strip.split("data-outcome=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_string()).collect()
    };
    assert_eq!(strip_of("app.version"), ["pass", "fail", "pass", "fail"], "three stored runs, then this one");
    assert_eq!(strip_of("legacy.flag"), ["fail", "fail", "fail", "fail"]);
    assert!(dom.contains("<section id=\"baseline\">"), "{dom}");
    assert!(dom.contains("data-change=\"newly_failing\""), "{dom}");

    // Without a store, or on a store's first run, there is no strip.
    run(&w, None, &["--no-store", "-o", "html=plain.html"]);
    assert!(!w.read("plain.html").contains("class=\"strip\""));
    let first = workdir("first strip");
    run(&first, None, &["-o", "html=report.html"]);
    assert!(!first.read("report.html").contains("class=\"strip\""));
}

#[test]
fn a_signed_report_is_stored_with_its_run_and_comes_back_byte_for_byte() {
    let w = workdir("signed");
    let mut text = checklist("signed");
    text.push_str("\n[signoff]\nroles = [\"Technical Lead\"]\n");
    w.write("golive.toml", &text);
    run(&w, None, &[]);
    assert!(w.run_blocking(&["keygen", "--out", "ann"], &[]).status.success());
    let args = ["sign", "report.json", "--role", "Technical Lead", "--name", "Ann", "--key", "ann.key"];
    let out = w.run_blocking(&[&args[..], &["--acknowledge-failed-gate"]].concat(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let shown = w.run_blocking(&["history", "show", "last", "--signed"], &[]);
    assert_eq!(shown.status.code(), Some(2), "nothing stored yet");
    let out = w.run_blocking(&["history", "add-signed", "report.signed.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let shown = w.run_blocking(&["history", "show", "last", "--signed"], &[]);
    assert_eq!(shown.stdout, std::fs::read(w.path("report.signed.json")).unwrap(), "{}", stderr(&shown));
    std::fs::write(w.path("from-store.json"), &shown.stdout).unwrap();
    w.write("keyring.toml", "[roles]\n\"Technical Lead\" = [\"ann.pub\"]\n");
    let verified = w.run_blocking(&["verify", "from-store.json", "--keys", "keyring.toml"], &[]);
    assert_eq!(verified.status.code(), Some(0), "{}{}", stdout(&verified), stderr(&verified));

    // A signed report of a run this store does not hold is refused.
    let other = workdir("signed");
    other.write("golive.toml", &text);
    run(&other, None, &[]);
    std::fs::copy(w.path("report.signed.json"), other.path("foreign.signed.json")).unwrap();
    let out = other.run_blocking(&["history", "add-signed", "foreign.signed.json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("has no run"), "{}", stderr(&out));
}
