//! The conventions of a command-line tool: closed pipes end a command quietly.

use std::process::Stdio;

use crate::support::{Workdir, stderr};

/// A checklist that needs no server: a command that passes and a manual item that is pending,
/// which blocks the gate (exit 1).
const PENDING: &str = r#"[checklist]
name = "conventions"

[[item]]
id = "app.true"
title = "true exits 0"
probe = "command"
argv = ["true"]

[[item]]
id = "ops.rollback"
title = "Rollback tested"
probe = "manual"
owner = "Operations Lead"
"#;

/// Runs golive with stdout a pipe whose read end is already closed, as `golive … | head` is
/// once head has what it wanted; stderr is captured. Returns (exit code, stderr).
fn with_closed_stdout(work: &Workdir, args: &[&str]) -> (Option<i32>, String) {
    let mut child = work.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("golive starts");
    // Closing the only read end: golive's first write to stdout fails with EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("golive ends");
    (out.status.code(), stderr(&out))
}

#[test]
fn a_closed_stdout_ends_every_command_quietly() {
    let work = Workdir::new();
    work.write("golive.toml", PENDING);
    let cases: &[(&[&str], i32)] = &[
        (&["checks"], 0),
        (&["checks", "security.tls-certificate"], 0),
        (&["probes"], 0),
        (&["probes", "--format", "json"], 0),
        (&["probes", "http", "--format", "markdown"], 0),
        (&["list"], 0),
        (&["validate", "--format", "json"], 0),
        // The gate still decides run's exit code: the manual item is pending.
        (&["run", "--quiet"], 1),
        (&["run", "-o", "json", "--quiet"], 1),
    ];
    for (args, expected) in cases {
        let (code, err) = with_closed_stdout(&work, args);
        assert_eq!(code, Some(*expected), "golive {args:?} exited {code:?}; stderr: {err}");
        assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "golive {args:?}: stderr: {err}");
        assert!(err.is_empty(), "golive {args:?} said something on stderr: {err}");
    }
}

#[test]
fn a_run_with_a_closed_stdout_still_writes_its_files() {
    let work = Workdir::new();
    work.write("golive.toml", PENDING);
    let (code, err) = with_closed_stdout(&work, &["run", "-o", "table", "-o", "json=report.json"]);
    assert_eq!(code, Some(1), "stderr: {err}");
    let report: serde_json::Value = serde_json::from_str(&work.read("report.json")).unwrap();
    assert_eq!(report["gate"]["passed"], false);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_closed_stdout_and_stderr_do_not_change_the_exit_code() {
    // `golive run 2>&1 | head`: both streams are the closed pipe.
    let work = Workdir::new();
    work.write("golive.toml", PENDING);
    let (_reader, writer) = std::io::pipe().unwrap();
    drop(_reader);
    let writer2 = writer.try_clone().unwrap();
    let status = work
        .command(&["run", "-o", "json=report.json"])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(writer2))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(work.read("report.json").contains("\"ops.rollback\""));
}
