//! SIGINT, SIGTERM and SIGHUP during `golive` (docs/cli.md#signals): the first signal during a
//! run stops it (no item starts, running ones are cancelled, their process groups end),
//! every requested report is written with the unfinished items as `error: interrupted`, and
//! golive exits 128 + the signal's number; a second signal, or a signal while a checklist is
//! loading, exits at once and still ends every program golive started.

use crate::support as common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{Workdir, item};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::process_groups::{assert_gone_soon, recorded_pid};

/// Waits (bounded, so a bug fails instead of hanging) until `path` exists.
fn wait_for_file(path: &Path, child: &mut Child) {
    let started = Instant::now();
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("golive ended ({status}) before {} appeared", path.display());
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("{} did not appear within 60s", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (bounded) for golive to exit; its exit code.
fn exit_code(child: &mut Child) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or_else(|| panic!("golive was killed: {status}"));
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("golive did not exit within 60s of the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(child: &Child, signal: Signal) {
    kill(Pid::from_raw(child.id() as i32), signal).expect("signal golive");
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        let _ = pipe.read_to_string(&mut text);
    }
    text
}

/// `quick` runs first (everything depends on it); then three slow items wait for the one
/// slot: exactly one of them runs (it records its shell's pid and a background child's),
/// the others never start; `after` waits for all three.
const SLOW_RUN: &str = r#"
[[item]]
id = "quick"
probe = "command"
argv = ["true"]

[[item]]
id = "slow-1"
probe = "command"
shell = true
timeout = "5m"
depends_on = ["quick"]
argv = ["echo $$ > slow-1.started; sleep 300 >/dev/null 2>&1 & echo $! > slow-1.tmp; mv slow-1.tmp slow-1.child; wait"]

[[item]]
id = "slow-2"
probe = "command"
shell = true
timeout = "5m"
depends_on = ["quick"]
argv = ["echo $$ > slow-2.started; sleep 300 >/dev/null 2>&1 & echo $! > slow-2.tmp; mv slow-2.tmp slow-2.child; wait"]

[[item]]
id = "slow-3"
probe = "command"
shell = true
timeout = "5m"
depends_on = ["quick"]
argv = ["echo $$ > slow-3.started; sleep 300 >/dev/null 2>&1 & echo $! > slow-3.tmp; mv slow-3.tmp slow-3.child; wait"]

[[item]]
id = "after"
probe = "command"
depends_on = ["slow-1", "slow-2", "slow-3"]
argv = ["touch", "after.ran"]
"#;

fn the_first_signal_stops_the_run_and_writes_the_reports(signal: Signal, name: &str, code: i32) {
    let w = Workdir::new();
    w.write("golive.toml", SLOW_RUN);
    let mut child = w
        .command(&[
            "run",
            "-o",
            "json=report.json",
            "-o",
            "junit=report.xml",
            "-o",
            "markdown=report.md",
            "--concurrency",
            "1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("golive starts");
    // Whichever slow item got the slot is running once its pid is written.
    let started = Instant::now();
    let running = loop {
        if let Some(n) = (1..=3).find(|n| w.path(&format!("slow-{n}.child")).exists()) {
            break n;
        }
        assert!(child.try_wait().unwrap().is_none(), "golive ended before a slow item ran");
        assert!(started.elapsed() < Duration::from_secs(60), "no slow item started within 60s");
        std::thread::sleep(Duration::from_millis(20));
    };
    send(&child, signal);
    assert_eq!(exit_code(&mut child), code, "{name}");
    let stderr = stderr_of(&mut child);
    assert!(
        stderr.contains(&format!("golive: stopped by {name}: 4 items did not finish (error: interrupted)")),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).expect("the JSON report");
    assert_eq!(item(&report, "quick")["outcome"], "pass");
    let reason = format!("interrupted: golive received {name} before this item finished");
    for id in ["slow-1", "slow-2", "slow-3", "after"] {
        assert_eq!(item(&report, id)["outcome"], "error", "{id}");
        assert_eq!(item(&report, id)["reason"], reason.as_str(), "{id}");
    }
    assert_eq!(report["gate"]["passed"], false);
    assert!(w.read("report.xml").contains(&reason), "the JUnit report");
    assert!(w.read("report.md").contains("interrupted"), "the Markdown report");
    // No item started after the signal; the one slot was taken by one slow item only.
    for n in (1..=3).filter(|n| *n != running) {
        assert!(
            !w.path(&format!("slow-{n}.started")).exists(),
            "slow-{n} started; slow-{running} ran; {}\n{stderr}",
            serde_json::to_string_pretty(&report["items"]).unwrap()
        );
    }
    assert!(!w.path("after.ran").exists(), "an item started after the signal");
    // The running item's program and the background child it left are gone.
    assert_gone_soon(recorded_pid(&w, &format!("slow-{running}.started")));
    assert_gone_soon(recorded_pid(&w, &format!("slow-{running}.child")));
    // Reports were replaced in one step: no temporary file is left beside them.
    let names: Vec<String> =
        std::fs::read_dir(w.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert!(!names.iter().any(|n| n.contains("golive-tmp")), "{names:?}");
}

#[test]
fn sigint_stops_the_run_writes_every_report_and_ends_the_programs() {
    the_first_signal_stops_the_run_and_writes_the_reports(Signal::SIGINT, "SIGINT", 130);
}

#[test]
fn sigterm_stops_the_run_writes_every_report_and_ends_the_programs() {
    the_first_signal_stops_the_run_and_writes_the_reports(Signal::SIGTERM, "SIGTERM", 143);
}

/// A second signal while golive is stuck writing the reports (here: the table, to a pipe
/// nobody reads once it is full) exits at once, with the second signal's code.
#[test]
fn a_second_signal_exits_at_once() {
    let w = Workdir::new();
    // Enough rows that the table is many times a pipe's 64 KiB buffer.
    let mut checklist = String::new();
    for i in 0..600 {
        checklist.push_str(&format!(
            "[[item]]\nid = \"env-{i}\"\ntitle = \"{}\"\nprobe = \"env\"\nname = \"HOME\"\nsecret = false\n\n",
            "a title long enough to fill the table ".repeat(3)
        ));
    }
    w.write("golive.toml", &checklist);
    let mut child = w
        .command(&["run", "-o", "table", "-o", "json=report.json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("golive starts");
    // The table is being written once its first bytes arrive; then nobody reads. Pipes are
    // read on threads, so a golive that does not behave fails the test instead of hanging it.
    let bound = Duration::from_secs(60);
    let stdout = child.stdout.take().unwrap();
    let (started_tx, started) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut stdout = stdout;
        let mut first = [0u8; 64];
        let ok = stdout.read_exact(&mut first).is_ok();
        let _ = started_tx.send((ok, stdout));
    });
    let (ok, stdout) = started.recv_timeout(bound).unwrap_or_else(|_| {
        let _ = child.kill();
        panic!("the table did not start within 60s")
    });
    assert!(ok, "golive closed stdout before the table");
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    send(&child, Signal::SIGINT);
    // The first signal is handled (golive says so) before the second is sent, so the two
    // cannot merge into one.
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains("SIGINT: stopping")) {
        match lines.recv_timeout(bound) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = child.kill();
                panic!("golive did not answer the first signal: {seen:?}");
            }
        }
    }
    assert!(child.try_wait().unwrap().is_none(), "golive waits for its reader, it has not exited");
    send(&child, Signal::SIGTERM);
    assert_eq!(exit_code(&mut child), 143);
    let rest: Vec<String> = lines.iter().collect();
    assert!(
        rest.iter().any(|l| l == "golive: SIGTERM: exiting at once; the reports are not written; exit 143"),
        "{rest:?}"
    );
    assert!(!w.path("report.json").exists(), "the JSON report comes after the table");
    let names: Vec<String> =
        std::fs::read_dir(w.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert_eq!(names, ["golive.toml"], "nothing half-written is left");
    drop(stdout);
}

/// A plugin whose `--describe` records its pid and a background child's, then hangs.
const HANGS_ON_DESCRIBE: &str = r#"#!/bin/sh
here=$(dirname "$0")
if [ "$1" = "--describe" ]; then
  sleep 300 >/dev/null 2>&1 </dev/null &
  echo $! > "$here/child.pid"
  echo $$ > "$here/describe.tmp"
  mv "$here/describe.tmp" "$here/describe.pid"
  exec sleep 300
fi
echo '{"facts": {"ok": true}}'
"#;

/// While the checklist loads, nothing runs yet: a signal exits at once, ending the programs
/// loading started (an `exec` program's `--describe` and what it left).
#[test]
fn a_signal_while_loading_exits_at_once_and_ends_what_loading_started() {
    let w = Workdir::new();
    w.write_executable("plugins/hangs.sh", HANGS_ON_DESCRIBE);
    w.write(
        "golive.toml",
        "[[item]]\nid = \"p\"\nprobe = \"exec\"\nprogram = \"plugins/hangs.sh\"\nexpect = { ok = true }\n",
    );
    let mut child = w
        .command(&["run", "-o", "json=report.json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("golive starts");
    // golive waits up to 5 s for a description: the signal comes long before that.
    wait_for_file(&w.path("plugins/describe.pid"), &mut child);
    send(&child, Signal::SIGTERM);
    assert_eq!(exit_code(&mut child), 143);
    let stderr = stderr_of(&mut child);
    assert!(stderr.contains("golive: SIGTERM: stopping at once; nothing more is written; exit 143"), "{stderr}");
    assert!(!w.path("report.json").exists());
    assert_gone_soon(recorded_pid(&w, "plugins/describe.pid"));
    assert_gone_soon(recorded_pid(&w, "plugins/child.pid"));
}
