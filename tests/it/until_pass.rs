//! `golive run --until-pass` (issue 14, point 7): rounds against real local HTTP servers
//! that become ready after N requests, or never. What did not pass runs again, what passed
//! is kept, an item waits for its dependency in every round, and the run ends with the last
//! round's report and gate: when the gate passes, when --within runs out, when what blocks
//! cannot change (a pending manual item), at the --deadline, or at a signal.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::{HttpServer, ReadyAfter, Route, Workdir, assert_outcome, stderr};

/// The `golive: round N: …` lines of a run's stderr.
fn round_lines(err: &str) -> Vec<&str> {
    err.lines().filter(|l| l.starts_with("golive: round ")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_item_that_becomes_ready_passes_in_a_later_round_and_passes_are_kept() {
    let app = ReadyAfter::start(2).await;
    let other = HttpServer::start(vec![Route::new("/static"), Route::new("/after")]).await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            "[[item]]\nid = \"app.ready\"\nprobe = \"http\"\nurl = \"{}\"\nseverity = \"critical\"\nexpect = {{ status = 200 }}\n\n\
             [[item]]\nid = \"app.after\"\nprobe = \"http\"\nurl = \"{}\"\ndepends_on = [\"app.ready\"]\nexpect = {{ status = 200 }}\n\n\
             [[item]]\nid = \"static.ok\"\nprobe = \"http\"\nurl = \"{}\"\nexpect = {{ status = 200 }}\n",
            app.url("/health"),
            other.url("/after"),
            other.url("/static")
        ),
    );
    let (report, out) = w.run_json("golive.toml", &["--until-pass", "--within", "10m", "--interval", "0s"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    // --quiet (run_json) prints no round lines: run again without it to read them.
    assert!(round_lines(&err).is_empty(), "{err}");
    for id in ["app.ready", "app.after", "static.ok"] {
        assert_outcome(&report, id, "pass");
    }
    assert_eq!(report["gate"]["passed"], true);
    assert_eq!(app.requests(), 3, "two 503s, then the 200");
    let hits = |path: &str| other.requests().iter().filter(|r| r.path == path).count();
    assert_eq!(hits("/static"), 1, "a pass is kept, not run again");
    assert_eq!(hits("/after"), 1, "the dependent ran once, after its dependency passed");

    // The same with a log: one line per round.
    let app = ReadyAfter::start(1).await;
    w.write(
        "again.toml",
        &format!(
            "[[item]]\nid = \"app.ready\"\nprobe = \"http\"\nurl = \"{}\"\nseverity = \"critical\"\nexpect = {{ status = 200 }}\n\n\
             [[item]]\nid = \"app.after\"\nprobe = \"http\"\nurl = \"{}\"\ndepends_on = [\"app.ready\"]\n",
            app.url("/health"),
            other.url("/after")
        ),
    );
    let out = w.run(&["run", "again.toml", "--until-pass", "--interval", "0s", "-o", "json=again.json"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let rounds = round_lines(&err);
    assert_eq!(rounds.len(), 2, "{err}");
    assert!(
        rounds[0].starts_with("golive: round 1: ran 2 items: 0 pass, 1 fail, 0 error, 1 skipped — gate FAILED: 2 blocking (app.ready, app.after); next round in 0s"),
        "{}",
        rounds[0]
    );
    assert_eq!(
        rounds[1],
        "golive: round 2: ran 2 items: 2 pass, 0 fail, 0 error — gate PASSED; done: gate PASSED after 2 rounds"
    );
    assert!(
        err.ends_with("2 items: 2 pass, 0 fail, 0 error — gate PASSED (fail-on high)\n"),
        "then the summary: {err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_never_ready_ends_at_within_with_the_gate_failed() {
    let app = ReadyAfter::never().await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!("[[item]]\nid = \"app.ready\"\nprobe = \"http\"\nurl = \"{}\"\nseverity = \"critical\"\nexpect = {{ status = 200 }}\n", app.url("/")),
    );
    let out =
        w.run(&["run", "--until-pass", "--within", "300ms", "--interval", "50ms", "-o", "json=report.json"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let rounds = round_lines(&err);
    assert!(!rounds.is_empty(), "{err}");
    assert_eq!(rounds.len(), app.requests(), "each round asked once: {err}");
    let last = rounds.last().unwrap();
    assert!(
        last.ends_with("gate FAILED: 1 blocking (app.ready); done: --within 300ms ends before another round"),
        "{last}"
    );
    for line in &rounds[..rounds.len() - 1] {
        assert!(line.ends_with("next round in 50ms"), "{line}");
    }
    let report: serde_json::Value = serde_json::from_str(&Workdir::read(&w, "report.json")).unwrap();
    assert_outcome(&report, "app.ready", "fail");
    assert_eq!(report["gate"]["passed"], false);
    assert_eq!(report["items"][0]["expectations"][0]["observed"], 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_manual_item_ends_the_wait_at_once_and_the_deadline_bounds_it() {
    let app = ReadyAfter::never().await;
    let w = Workdir::new();
    w.write(
        "manual.toml",
        "[[item]]\nid = \"ops.signoff\"\nprobe = \"manual\"\nseverity = \"critical\"\nowner = \"Ops\"\n",
    );
    let out = w.run(&["run", "manual.toml", "--until-pass", "--within", "10m", "-o", "json=m.json"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        round_lines(&err),
        [
            "golive: round 1: ran 1 item: 0 pass, 0 fail, 0 error, 1 manual pending — gate FAILED: 1 blocking (ops.signoff); done: what blocks the gate cannot change by running again (a pending manual item waits for `golive attest`)"
        ]
    );

    // The --deadline bounds the whole wait: here it passes between rounds.
    w.write(
        "golive.toml",
        &format!(
            "[[item]]\nid = \"app.ready\"\nprobe = \"http\"\nurl = \"{}\"\nexpect = {{ status = 200 }}\n",
            app.url("/")
        ),
    );
    let out = w
        .run(&[
            "run",
            "--until-pass",
            "--within",
            "10m",
            "--interval",
            "5m",
            "--deadline",
            "300ms",
            "-o",
            "json=d.json",
        ])
        .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(round_lines(&err).len(), 1, "{err}");
    assert!(err.contains("golive: the --deadline came between rounds: the reports are round 1's"), "{err}");
    let report: serde_json::Value = serde_json::from_str(&w.read("d.json")).unwrap();
    assert_outcome(&report, "app.ready", "fail");

    // --within and --interval belong to --until-pass.
    let out = w.run(&["run", "--within", "1m"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--until-pass"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signal_between_rounds_writes_the_last_rounds_report() {
    let app = ReadyAfter::never().await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            "[[item]]\nid = \"app.ready\"\nprobe = \"http\"\nurl = \"{}\"\nexpect = {{ status = 200 }}\n",
            app.url("/")
        ),
    );
    let mut child = w
        .command(&["run", "--until-pass", "--within", "2h", "--interval", "1h", "-o", "json=report.json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("golive starts");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (child, err) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(child.stderr.take().unwrap());
        let mut err = String::new();
        // Waiting for the first round's line, not for a time: then golive is between rounds.
        while !err.contains("next round in 1h") {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 {
                break;
            }
            err.push_str(&line);
        }
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
        (child.wait().unwrap(), err + &rest)
    })
    .await
    .unwrap();
    assert_eq!(child.code(), Some(143), "{err}");
    assert!(err.contains("golive: a signal came between rounds: the reports are round 1's"), "{err}");
    assert_eq!(app.requests(), 1);
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "app.ready", "fail");
}
