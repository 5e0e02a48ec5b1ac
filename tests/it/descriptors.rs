//! A low open-file limit never fails items with "Too many open files": golive raises its soft
//! limit to the hard one at start, and with a low hard limit it runs fewer probes at once
//! than `--concurrency` asks, saying so once. Programs it starts get the limit golive was
//! started with back.

use crate::support as common;

use std::time::Duration;

use common::{HttpServer, Route, Workdir, stderr};

/// 400 items against servers on loopback: HTTP requests the server holds for a moment (so
/// many are in flight at once), TCP connects, and a few programs.
fn many_loopback_items(http: &HttpServer, tcp_port: u16) -> String {
    let mut text = String::new();
    for i in 0..300 {
        text.push_str(&format!(
            "[[item]]\nid = \"http-{i}\"\nprobe = \"http\"\nurl = \"{}\"\nexpect = {{ status = 200 }}\n\n",
            http.url(&format!("/slow?n={i}"))
        ));
    }
    for i in 0..80 {
        text.push_str(&format!("[[item]]\nid = \"tcp-{i}\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{tcp_port}\"\n\n"));
    }
    for i in 0..20 {
        text.push_str(&format!(
            "[[item]]\nid = \"command-{i}\"\nprobe = \"command\"\nshell = true\nargv = [\"ulimit -n\"]\n\n"
        ));
    }
    text
}

/// Runs golive under `sh -c 'ulimit …; exec golive …'`; the report and stderr.
async fn run_limited(w: &Workdir, ulimit: &str) -> (serde_json::Value, String) {
    let golive = common::golive_binary();
    let script = format!(
        "ulimit {ulimit} 256 && exec '{}' run golive.toml --concurrency 1000 -o json=report.json --quiet",
        golive.display()
    );
    let mut command = std::process::Command::new("sh");
    command.args(["-c", &script]).current_dir(w.dir.path()).env("CI", "true");
    let out = tokio::task::spawn_blocking(move || command.output().expect("sh runs")).await.unwrap();
    let report =
        serde_json::from_str(&w.read("report.json")).unwrap_or_else(|e| panic!("no report ({e}): {}", stderr(&out)));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    (report, stderr(&out))
}

fn assert_every_item_passed(report: &serde_json::Value) {
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), 400);
    let failed: Vec<String> =
        items.iter().filter(|i| i["outcome"] != "pass").map(|i| format!("{}: {}", i["id"], i["reason"])).collect();
    assert!(failed.is_empty(), "{} items did not pass, e.g. {:?}", failed.len(), &failed[..failed.len().min(5)]);
}

/// An HTTP server holding each answer for a moment and a TCP listener, on loopback.
async fn servers() -> (HttpServer, u16, tokio::task::JoinHandle<()>) {
    let http = HttpServer::start(vec![Route::new("/slow").delay(Duration::from_millis(50)).body("ok")]).await;
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let accepting = tokio::spawn(async move { while tcp.accept().await.is_ok() {} });
    (http, port, accepting)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_low_hard_limit_lowers_the_concurrency_and_no_item_runs_out_of_descriptors() {
    let (http, port, accepting) = servers().await;
    let w = Workdir::new();
    w.write("golive.toml", &many_loopback_items(&http, port));
    // `ulimit -n` sets the soft and the hard limit: golive cannot raise it.
    let (report, errors) = run_limited(&w, "-n").await;
    assert_every_item_passed(&report);
    assert_eq!(report["options"]["concurrency"], 19, "the concurrency used is the one reported");
    let said = "golive: the open-file limit is 256 (hard limit 256): at most 19 probes run at once instead of --concurrency 1000";
    assert_eq!(errors.matches(said).count(), 1, "said once: {errors}");
    assert!(!errors.contains("Too many open files"), "{errors}");
    accepting.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_low_soft_limit_is_raised_and_programs_get_it_back() {
    let (http, port, accepting) = servers().await;
    let w = Workdir::new();
    w.write("golive.toml", &many_loopback_items(&http, port));
    // `ulimit -S -n` lowers only the soft limit: golive raises it to the hard one.
    let (report, errors) = run_limited(&w, "-S -n").await;
    assert_every_item_passed(&report);
    assert_eq!(report["options"]["concurrency"], 1000, "nothing lowered");
    assert!(!errors.contains("open-file limit"), "{errors}");
    for i in 0..20 {
        let id = format!("command-{i}");
        assert_eq!(common::fact(&report, &id, "stdout"), "256\n", "{id}: programs get the limit golive started with");
    }
    accepting.abort();
}
