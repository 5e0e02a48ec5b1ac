//! Shards and merged reports: `golive run --shard K/N` (and `--shard auto` from a Kubernetes
//! Indexed Job's or GitLab's variables) splits one checklist, keeping items that wait for
//! each other together; `golive report merge` combines the shard reports into the report the
//! unsharded run writes, refuses mixed, duplicate and missing parts, and its report signs
//! and verifies. The probes run against a real HTTP server on loopback.

use crate::support as common;

use std::collections::BTreeMap;
use std::process::Output;

use common::{HttpServer, Route, Workdir, assert_report_matches_schema, stderr, stdout};
use serde_json::Value;

/// Three dependency chains, a `when` on another item's fact, independent items, a failing
/// critical item with a dependent, and a manual item.
fn checklist(server: &HttpServer) -> String {
    let ok = server.url("/ok");
    let down = server.url("/down");
    format!(
        r#"[checklist]
name = "sharded go-live"
version = "1.0.0"

[defaults]
severity = "high"

[[item]]
id = "web.health"
probe = "http"
url = "{ok}"

[[item]]
id = "web.ready"
probe = "http"
url = "{ok}"
depends_on = ["web.health"]

[[item]]
id = "web.version"
probe = "http"
url = "{ok}"
depends_on = ["web.ready"]

[[item]]
id = "api.down"
probe = "http"
url = "{down}"
severity = "critical"
expect = {{ status = 200 }}

[[item]]
id = "api.after-down"
probe = "http"
url = "{ok}"
depends_on = ["api.down"]

[[item]]
id = "cdn.base"
probe = "http"
url = "{ok}"

[[item]]
id = "cdn.cache"
probe = "http"
url = "{ok}"
when = {{ item = "cdn.base", fact = "status", is = 200 }}

[[item]]
id = "ind.one"
probe = "http"
url = "{ok}"

[[item]]
id = "ind.two"
probe = "http"
url = "{ok}"

[[item]]
id = "ind.three"
probe = "http"
url = "{down}"
severity = "low"
expect = {{ status = 200 }}

[[item]]
id = "ops.rollback"
probe = "manual"
title = "Rollback tested"
owner = "Operations Lead"
"#
    )
}

const ALL: [&str; 11] = [
    "web.health",
    "web.ready",
    "web.version",
    "api.down",
    "api.after-down",
    "cdn.base",
    "cdn.cache",
    "ind.one",
    "ind.two",
    "ind.three",
    "ops.rollback",
];

async fn server() -> HttpServer {
    HttpServer::start(vec![Route::new("/ok").body("ok"), Route::new("/down").status(503)]).await
}

async fn setup() -> (HttpServer, Workdir) {
    let server = server().await;
    let w = Workdir::new();
    w.write("golive.toml", &checklist(&server));
    (server, w)
}

fn read(w: &Workdir, name: &str) -> Value {
    serde_json::from_str(&w.read(name)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// `golive run --shard K/N -o json=NAME`, without a history store.
async fn run_shard(w: &Workdir, shard: &str, name: &str, env: &[(&str, &str)]) -> Output {
    let json = format!("json={name}");
    w.run_env(&["run", "--shard", shard, "-o", &json, "--no-store", "--quiet"], env).await
}

fn ids(report: &Value) -> Vec<String> {
    report["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// Runs shards 1..=n into sK.json; every one exits by its own gate (0 or 1).
async fn run_all_shards(w: &Workdir, n: usize) -> Vec<Value> {
    let mut reports = Vec::new();
    for k in 1..=n {
        let out = run_shard(w, &format!("{k}/{n}"), &format!("s{k}.json"), &[]).await;
        assert!(matches!(out.status.code(), Some(0 | 1)), "shard {k}/{n}: {}", stderr(&out));
        reports.push(read(w, &format!("s{k}.json")));
    }
    reports
}

/// Each item's outcome, state and whether it blocks.
fn outcomes(report: &Value) -> BTreeMap<String, (String, String, bool)> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                (
                    i["outcome"].as_str().unwrap().to_string(),
                    i["state"].as_str().unwrap().to_string(),
                    i["blocking"].as_bool().unwrap(),
                ),
            )
        })
        .collect()
}

async fn merge(w: &Workdir, args: &[&str]) -> Output {
    let mut all = vec!["report", "merge"];
    all.extend_from_slice(args);
    w.run(&all).await
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_cover_every_item_exactly_once_and_keep_waiting_items_together() {
    let (_server, w) = setup().await;
    let reports = run_all_shards(&w, 3).await;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut shard_of: BTreeMap<String, usize> = BTreeMap::new();
    for (k, report) in reports.iter().enumerate() {
        assert_eq!(report["shard"]["index"], k + 1);
        assert_eq!(report["shard"]["total"], 3);
        let planned: Vec<&str> =
            report["shard"]["planned_items"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(planned, ALL, "every shard records the whole run's items, in checklist order");
        for id in ids(report) {
            *seen.entry(id.clone()).or_default() += 1;
            shard_of.insert(id, k);
        }
    }
    let expected: BTreeMap<String, usize> = ALL.iter().map(|id| (id.to_string(), 1)).collect();
    assert_eq!(seen, expected, "every item is in exactly one shard");
    for (a, b) in [
        ("web.health", "web.ready"),
        ("web.ready", "web.version"),
        ("api.down", "api.after-down"),
        ("cdn.base", "cdn.cache"),
    ] {
        assert_eq!(shard_of[a], shard_of[b], "{a} and {b} wait for each other and share a shard");
    }
    // Balanced: the components are 3, 2, 2 and four single items: 11 items over 3 shards.
    let sizes: Vec<usize> = reports.iter().map(|r| ids(r).len()).collect();
    assert_eq!(sizes, [4, 4, 3], "components dealt heaviest first to the lightest shard");
    // Dependencies ran in their shard: a chain that passes passes, the dependent of a
    // failure is skipped for it, and the `when` was decided.
    let k = shard_of["web.version"];
    assert_eq!(common::outcome(&reports[k], "web.version"), "pass");
    let k = shard_of["api.after-down"];
    assert_eq!(common::item(&reports[k], "api.after-down")["state"], "skipped_by_dependency");
    let k = shard_of["cdn.cache"];
    assert_eq!(common::outcome(&reports[k], "cdn.cache"), "pass");
    for k in 1..=3 {
        assert_report_matches_schema(&w.path(&format!("s{k}.json")));
    }
    // The table says which shard it is and what the others hold.
    let out = w.run(&["report", "s2.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Shard 2 of 3: 4 of the run's 11 items; the other shards hold 7"),
        "{}",
        stdout(&out)
    );
    let out = w.run(&["report", "s2.json", "-o", "markdown"]).await;
    assert!(stdout(&out).contains("Shard 2 of 3: 4 of the run's 11 items"), "{}", stdout(&out));
    let out = w.run(&["report", "s2.json", "-o", "html"]).await;
    assert!(stdout(&out).contains("<dt>Shard</dt><dd>Shard 2 of 3: 4 of the run"), "the HTML header says it too");
}

#[tokio::test(flavor = "multi_thread")]
async fn more_shards_than_components_leave_empty_shards_that_pass_and_merge() {
    let (_server, w) = setup().await;
    // 7 components over 10 shards: shards 8 to 10 hold nothing.
    let reports = run_all_shards(&w, 10).await;
    let sizes: Vec<usize> = reports.iter().map(|r| ids(r).len()).collect();
    assert_eq!(sizes, [3, 2, 2, 1, 1, 1, 1, 0, 0, 0]);
    let out = run_shard(&w, "10/10", "empty.json", &[]).await;
    assert_eq!(out.status.code(), Some(0), "an empty shard passes: {}", stderr(&out));
    assert_eq!(read(&w, "empty.json")["shard"]["planned_items"].as_array().unwrap().len(), ALL.len());
    let files: Vec<String> = (1..=10).map(|k| format!("s{k}.json")).collect();
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    args.extend(["-o", "json=all.json"]);
    let out = merge(&w, &args).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(ids(&read(&w, "all.json")), ALL);
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_that_select_different_items_merge_their_results_over_not_selected_rows() {
    let (_server, w) = setup().await;
    let whole = w.run(&["run", "-o", "json=whole.json", "--no-store", "--quiet"]).await;
    assert!(whole.status.code().is_some());
    // Host A checks the web chain, host B everything else.
    let a = w.run(&["run", "--only", "web.version", "-o", "json=a.json", "--no-store", "-q"]).await;
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    let b = w
        .run(&[
            "run",
            "--skip",
            "web.health",
            "--skip",
            "web.ready",
            "--skip",
            "web.version",
            "-o",
            "json=b.json",
            "--no-store",
            "-q",
        ])
        .await;
    assert_eq!(b.status.code(), Some(1), "{}", stderr(&b));
    assert_eq!(common::item(&read(&w, "b.json"), "web.ready")["state"], "skipped_by_filter");
    let out = merge(&w, &["a.json", "b.json", "-o", "json=all.json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let merged = read(&w, "all.json");
    assert_eq!(outcomes(&merged), outcomes(&read(&w, "whole.json")), "each item's result, none `not selected`");
    assert_eq!(merged["gate"], read(&w, "whole.json")["gate"]);
    assert_eq!(merged["options"]["only"], serde_json::json!(["web.version"]));
    assert_eq!(merged["options"]["skip"], serde_json::json!(["web.health", "web.ready", "web.version"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_checklist_splits_the_same_way_every_time() {
    let (_server, w) = setup().await;
    let first: Vec<Vec<String>> = run_all_shards(&w, 4).await.iter().map(ids).collect();
    let second: Vec<Vec<String>> = run_all_shards(&w, 4).await.iter().map(ids).collect();
    assert_eq!(first, second);
    // Where the run happens does not matter: the same files in another directory, on
    // another port, split alike.
    let (_other_server, other) = setup().await;
    let third: Vec<Vec<String>> = run_all_shards(&other, 4).await.iter().map(ids).collect();
    assert_eq!(first, third);
    assert!(first.iter().all(|s| !s.is_empty()), "4 shards of 7 components: none empty: {first:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn merged_shards_give_the_outcomes_and_gate_of_the_unsharded_run() {
    let (_server, w) = setup().await;
    let whole = w.run(&["run", "-o", "json=whole.json", "--no-store", "--quiet"]).await;
    assert_eq!(whole.status.code(), Some(1), "api.down is critical and fails: {}", stderr(&whole));
    let whole = read(&w, "whole.json");
    run_all_shards(&w, 3).await;
    let out = merge(&w, &["s3.json", "s1.json", "s2.json", "-o", "json=all.json", "-o", "table"]).await;
    assert_eq!(out.status.code(), Some(1), "the merged gate fails as the run's does: {}", stderr(&out));
    let merged = read(&w, "all.json");
    assert_eq!(outcomes(&merged), outcomes(&whole));
    assert_eq!(ids(&merged), ALL, "checklist order, whatever the order of the inputs");
    assert_eq!(merged["gate"], whole["gate"]);
    assert_eq!(merged["summary"], whole["summary"]);
    assert!(merged.get("shard").is_none(), "a merged report is a whole run");
    assert_report_matches_schema(&w.path("all.json"));
    // Run metadata: the earliest start, the latest end, every input's file, digest, run and host.
    let shards: Vec<Value> = (1..=3).map(|k| read(&w, &format!("s{k}.json"))).collect();
    let earliest = shards.iter().map(|s| s["started_at"].as_str().unwrap()).min().unwrap();
    let latest = shards.iter().map(|s| s["finished_at"].as_str().unwrap()).max().unwrap();
    assert_eq!(merged["started_at"], earliest);
    assert_eq!(merged["finished_at"], latest);
    let inputs = merged["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 3);
    assert_eq!(inputs[0]["file"], "s3.json");
    assert_eq!(inputs[0]["shard"], serde_json::json!({"index": 3, "total": 3}));
    assert_eq!(inputs[0]["run_id"], shards[2]["run_id"]);
    assert_eq!(inputs[0]["host"], shards[2]["host"]);
    use sha2::Digest;
    assert_eq!(inputs[0]["sha256"], hex::encode(sha2::Sha256::digest(std::fs::read(w.path("s3.json")).unwrap())));
    // The run id is derived from the inputs': merging them again gives the same one.
    let again = merge(&w, &["s1.json", "s2.json", "s3.json", "-o", "json=again.json"]).await;
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(read(&w, "again.json")["run_id"], merged["run_id"]);
    assert_ne!(merged["run_id"], shards[0]["run_id"]);
    let table = stdout(&out);
    assert!(table.contains("Merged from 3 reports"), "{table}");
    assert!(table.contains("s1.json: shard 1/3, run "), "{table}");
    assert!(table.contains("merged from 3 reports: 11 items:"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_whose_gate_passes_exits_0() {
    let server = HttpServer::start(vec![Route::new("/ok")]).await;
    let w = Workdir::new();
    let text = checklist(&server).replace(&server.url("/down"), &server.url("/ok")).replace(
        "[[item]]\nid = \"ops.rollback\"\nprobe = \"manual\"\ntitle = \"Rollback tested\"\nowner = \"Operations Lead\"\n",
        "",
    );
    w.write("golive.toml", &text);
    run_all_shards(&w, 2).await;
    let out = merge(&w, &["s1.json", "s2.json", "-o", "json=all.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read(&w, "all.json")["gate"]["passed"], true);
    assert!(stderr(&out).contains("gate PASSED"), "the summary line on stderr: {}", stderr(&out));
}

/// A merge that is refused: exit 2, nothing written, each problem on stderr.
async fn refused(w: &Workdir, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["-o", "json=merged.json"]);
    let out = merge(w, &all).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!w.path("merged.json").exists(), "a refused merge writes nothing");
    assert!(stderr(&out).contains("nothing was written"), "{}", stderr(&out));
    stderr(&out)
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_refuses_reports_of_a_different_checklist() {
    let (server, w) = setup().await;
    assert!(run_shard(&w, "1/2", "s1.json", &[]).await.status.code().is_some());
    // The checklist changes between the two jobs (a title edited): another checklist.
    w.write("golive.toml", &checklist(&server).replace("Rollback tested", "Rollback rehearsed"));
    assert!(run_shard(&w, "2/2", "s2.json", &[]).await.status.code().is_some());
    let err = refused(&w, &["s1.json", "s2.json"]).await;
    assert!(err.contains("s2.json is a report of another checklist than s1.json: golive.toml has sha256"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_refuses_the_same_shard_twice_and_lists_every_duplicate_item() {
    let (_server, w) = setup().await;
    let reports = run_all_shards(&w, 2).await;
    std::fs::copy(w.path("s1.json"), w.path("s1-again.json")).unwrap();
    let err = refused(&w, &["s1.json", "s2.json", "s1-again.json"]).await;
    assert!(err.contains("shard 1/2 is given twice: s1.json, s1-again.json"), "{err}");
    for id in ids(&reports[0]) {
        assert!(
            err.contains(&format!("item `{id}` has a result in more than one input: s1.json, s1-again.json")),
            "{id}: {err}"
        );
    }
    // Two whole runs of the same checklist hold the same items: duplicates too.
    let out = w.run(&["run", "-o", "json=whole.json", "--no-store", "--quiet"]).await;
    assert!(out.status.code().is_some());
    std::fs::copy(w.path("whole.json"), w.path("whole-again.json")).unwrap();
    let err = refused(&w, &["whole.json", "whole-again.json"]).await;
    assert!(err.contains("item `web.health` has a result in more than one input"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_lists_every_missing_item_of_a_left_out_shard() {
    let (_server, w) = setup().await;
    let reports = run_all_shards(&w, 3).await;
    let err = refused(&w, &["s1.json", "s3.json"]).await;
    assert!(err.contains("shard 2/3 is missing: no input is its report"), "{err}");
    let missing = ids(&reports[1]);
    assert!(!missing.is_empty());
    for id in &missing {
        assert!(
            err.contains(&format!("item `{id}` is missing: s1.json plans it and no input has a result for it")),
            "{id}: {err}"
        );
    }
    let listed = err.lines().filter(|l| l.contains("is missing: s1.json plans it")).count();
    assert_eq!(listed, missing.len(), "one line per missing item, and only those: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn merge_refuses_shards_of_different_splits_signed_reports_and_mixed_fail_on() {
    let (_server, w) = setup().await;
    assert!(run_shard(&w, "1/2", "a.json", &[]).await.status.code().is_some());
    assert!(run_shard(&w, "2/3", "b.json", &[]).await.status.code().is_some());
    let err = refused(&w, &["a.json", "b.json"]).await;
    assert!(err.contains("the shard reports are of different splits: a.json 1/2, b.json 2/3"), "{err}");

    // A shard and a whole run.
    let out = w.run(&["run", "-o", "json=whole.json", "--no-store", "--quiet"]).await;
    assert!(out.status.code().is_some());
    let err = refused(&w, &["a.json", "whole.json"]).await;
    assert!(
        err.contains("some reports are shards and some are whole runs: shards a.json; whole runs whole.json"),
        "{err}"
    );

    // Different --fail-on.
    let out = w.run(&["run", "--shard", "2/2", "--fail-on", "critical", "-o", "json=c.json", "--no-store", "-q"]).await;
    assert!(out.status.code().is_some());
    let err = refused(&w, &["a.json", "c.json"]).await;
    assert!(err.contains("the reports were run with different --fail-on: a.json high, c.json critical"), "{err}");

    // A signed report, and a file that is no report: every problem at once.
    let key = w.run(&["keygen", "--out", "ann"]).await;
    assert_eq!(key.status.code(), Some(0), "{}", stderr(&key));
    let out = w
        .run(&[
            "sign",
            "a.json",
            "--role",
            "Technical Lead",
            "--name",
            "Ann",
            "--key",
            "ann.key",
            "--acknowledge-failed-gate",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w.write("notes.json", "{\"hello\": 1}");
    let err = refused(&w, &["a.signed.json", "notes.json", "missing.json"]).await;
    assert!(err.contains("a.signed.json is a signed report: merge the JSON reports"), "{err}");
    assert!(err.contains("notes.json: not a golive report"), "{err}");
    assert!(err.contains("missing.json: cannot read it"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merged_report_signs_and_verifies() {
    let (_server, w) = setup().await;
    run_all_shards(&w, 2).await;
    let out = merge(&w, &["s1.json", "s2.json", "-o", "json=all.json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let key = w.run(&["keygen", "--out", "ann"]).await;
    assert_eq!(key.status.code(), Some(0), "{}", stderr(&key));
    w.write("keyring.toml", "[roles]\n\"Technical Lead\" = [\"ann.pub\"]\n");
    let out = w.run(&["sign", "all.json", "--role", "Technical Lead", "--name", "Ann Lee", "--key", "ann.key"]).await;
    assert_eq!(out.status.code(), Some(1), "the merged gate failed: signing needs an acknowledgement");
    let out = w
        .run(&[
            "sign",
            "all.json",
            "--role",
            "Technical Lead",
            "--name",
            "Ann Lee",
            "--key",
            "ann.key",
            "--acknowledge-failed-gate",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.run(&["verify", "all.signed.json", "--keys", "keyring.toml"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("VERIFIED"), "{}", stdout(&out));
    // The signed merged report renders with its inputs.
    let out = w.run(&["report", "all.signed.json", "--keys", "keyring.toml"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Merged from 2 reports"), "{}", stdout(&out));
    // Tampering with the merged report inside is caught.
    let mut signed = read(&w, "all.signed.json");
    let payload = signed["report"]["payload"].as_str().unwrap().to_string();
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let text = String::from_utf8(engine.decode(&payload).unwrap()).unwrap();
    let forged = text.replace("\"passed\":false", "\"passed\":true");
    assert_ne!(forged, text);
    signed["report"]["payload"] = Value::String(engine.encode(forged));
    w.write("forged.json", &signed.to_string());
    let out = w.run(&["verify", "forged.json", "--keys", "keyring.toml"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn shard_auto_reads_kubernetes_and_gitlab_variables() {
    let (_server, w) = setup().await;
    let fixed: Vec<Vec<String>> = run_all_shards(&w, 3).await.iter().map(ids).collect();
    // A Kubernetes Indexed Job: JOB_COMPLETION_INDEX counts from 0; N from auto/N or GOLIVE_SHARD_TOTAL.
    let out = run_shard(&w, "auto/3", "k8s.json", &[("JOB_COMPLETION_INDEX", "1")]).await;
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let k8s = read(&w, "k8s.json");
    assert_eq!((k8s["shard"]["index"].as_u64(), k8s["shard"]["total"].as_u64()), (Some(2), Some(3)));
    assert_eq!(ids(&k8s), fixed[1]);
    let out =
        run_shard(&w, "auto", "k8s-total.json", &[("JOB_COMPLETION_INDEX", "0"), ("GOLIVE_SHARD_TOTAL", "3")]).await;
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    assert_eq!(ids(&read(&w, "k8s-total.json")), fixed[0]);
    // GitLab `parallel:`: CI_NODE_INDEX counts from 1.
    let out = run_shard(&w, "auto", "gitlab.json", &[("CI_NODE_INDEX", "3"), ("CI_NODE_TOTAL", "3")]).await;
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let gitlab = read(&w, "gitlab.json");
    assert_eq!((gitlab["shard"]["index"].as_u64(), gitlab["shard"]["total"].as_u64()), (Some(3), Some(3)));
    assert_eq!(ids(&gitlab), fixed[2]);
    // Nothing set, or not enough: a command-line error that says what to set; nothing runs.
    let mut bare = w.command(&["run", "--shard", "auto", "-o", "json=none.json", "--no-store"]);
    for name in ["JOB_COMPLETION_INDEX", "GOLIVE_SHARD_TOTAL", "CI_NODE_INDEX", "CI_NODE_TOTAL"] {
        bare.env_remove(name);
    }
    let out = tokio::task::spawn_blocking(move || bare.output().unwrap()).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--shard auto: no shard in the environment: set JOB_COMPLETION_INDEX"),
        "{}",
        stderr(&out)
    );
    assert!(!w.path("none.json").exists());
    let out = run_shard(&w, "auto", "none.json", &[("JOB_COMPLETION_INDEX", "0")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("give --shard auto/N or set GOLIVE_SHARD_TOTAL"), "{}", stderr(&out));
    let out = run_shard(&w, "auto/3", "none.json", &[("JOB_COMPLETION_INDEX", "3")]).await;
    assert_eq!(out.status.code(), Some(2), "index 3 counted from 0 is shard 4 of 3");
    assert!(!w.path("none.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_shard_values_are_command_line_errors() {
    let (_server, w) = setup().await;
    for (value, says) in [
        ("0/3", "K must be in 1..=3"),
        ("4/3", "K must be in 1..=3"),
        ("2/0", "the number of shards must be in"),
        ("two", "is not K/N"),
        ("1-3", "is not K/N"),
    ] {
        let out = run_shard(&w, value, "bad.json", &[]).await;
        assert_eq!(out.status.code(), Some(2), "{value}");
        assert!(stderr(&out).contains(says), "{value}: {}", stderr(&out));
    }
    assert!(!w.path("bad.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn report_of_a_file_still_works_beside_merge() {
    let (_server, w) = setup().await;
    let out = w.run(&["run", "-o", "json=whole.json", "--no-store", "--quiet"]).await;
    assert!(out.status.code().is_some());
    let out = w.run(&["report", "whole.json", "-o", "markdown"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("# Go-live report: sharded go-live 1.0.0"), "{}", stdout(&out));
    // A report in a file named `merge` is given as ./merge.
    std::fs::copy(w.path("whole.json"), w.path("merge")).unwrap();
    let out = w.run(&["report", "./merge"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("web.health"));
    // `merge` needs reports; `report` needs a file.
    assert_eq!(w.run(&["report", "merge"]).await.status.code(), Some(2));
    assert_eq!(w.run(&["report"]).await.status.code(), Some(2));
    let help = w.run(&["report", "--help"]).await;
    assert!(stdout(&help).contains("merge"), "{}", stdout(&help));
}

/// Every CI recipe is YAML a CI service can read, and each runs shards, merges, then signs.
#[test]
fn ci_recipes_are_valid_yaml_that_merge_and_sign() {
    use saphyr::LoadableYamlNode;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/recipes");
    let mut texts = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".yml") || name.ends_with(".yaml")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let docs = saphyr::Yaml::load_from_str(&text).unwrap_or_else(|e| panic!("{name} is not YAML: {e}"));
        assert!(!docs.is_empty() && docs.iter().all(|d| d.is_mapping()), "{name}: every document is a mapping");
        texts.insert(name, text);
    }
    let names: Vec<&str> = texts.keys().map(String::as_str).collect();
    assert_eq!(names, ["github-actions.yml", "gitlab-ci.yml", "kubernetes-job.yaml", "kubernetes-merge-job.yaml"]);
    let kubernetes = format!("{}{}", texts["kubernetes-job.yaml"], texts["kubernetes-merge-job.yaml"]);
    for (recipe, text) in [
        ("GitHub Actions", &texts["github-actions.yml"]),
        ("GitLab", &texts["gitlab-ci.yml"]),
        ("Kubernetes", &kubernetes),
    ] {
        assert!(text.contains("golive run --shard"), "{recipe} runs shards");
        assert!(text.contains("golive report merge"), "{recipe} merges");
        assert!(text.contains("golive sign"), "{recipe} signs");
    }
    assert!(texts["gitlab-ci.yml"].contains("parallel:") && texts["gitlab-ci.yml"].contains("--shard auto"));
    assert!(texts["kubernetes-job.yaml"].contains("completionMode: Indexed"));
    assert!(
        texts["github-actions.yml"].contains("upload-artifact")
            && texts["github-actions.yml"].contains("download-artifact")
    );
}
