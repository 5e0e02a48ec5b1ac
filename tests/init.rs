//! `golive init`: from nothing to a first real run in two commands.

mod common;

use common::{Workdir, stderr, stdout};

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
