//! Shipped host checks that used to pass (or fail) without proving their title, each run
//! through `use = "ID"` against a real target with the defect planted (it must fail, or be
//! an error when nothing could be observed, with a reason that says why) and against one
//! set up right (it must pass):
//! - a tool that is missing is an `error` of the `command` probe (exit 126/127), not a fail;
//! - operations.no-recent-errors with no journal entries at all is an error, not "0 errors".
//!
//! No systemd, ufw, nftables or fail2ban runs here: each tool is a stand-in script printing
//! what the real one prints, first on a PATH that holds nothing else but `sh` and the few
//! utilities the checks' scripts use, so the machine's own tools never answer.

use crate::support as common;

use std::path::{Path, PathBuf};

use common::{Workdir, assert_outcome, item};
use serde_json::Value;

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// Asserts the item's outcome and that its reason contains `needle`.
fn assert_reason(report: &Value, id: &str, outcome: &str, needle: &str) {
    assert_outcome(report, id, outcome);
    let why = reason(report, id);
    assert!(why.contains(needle), "{id}: reason {why:?} lacks {needle:?}");
}

/// A directory holding links to `sh` and the utilities the checks' scripts run, and nothing
/// else: on a PATH of its own, any other tool is missing.
fn bare_bin(w: &Workdir) -> PathBuf {
    let dir = w.path("bare-bin");
    if dir.is_dir() {
        return dir;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let system_path = std::env::var("PATH").unwrap_or_default();
    for tool in ["sh", "sed", "head", "tr", "cut", "grep", "cat"] {
        let found = system_path.split(':').map(|d| Path::new(d).join(tool)).find(|p| p.is_file());
        let found = found.unwrap_or_else(|| panic!("{tool} is not on PATH"));
        std::os::unix::fs::symlink(found, dir.join(tool)).unwrap();
    }
    dir
}

/// Runs `checklist` with `tools` (name, script) as the only programs beside the bare ones,
/// in a directory of its own (`case`); returns the JSON report.
async fn run_with_tools(w: &Workdir, case: &str, checklist: &str, tools: &[(&str, &str)]) -> Value {
    let bin = w.path(&format!("{case}/bin"));
    std::fs::create_dir_all(&bin).unwrap();
    for (name, script) in tools {
        w.write_executable(&format!("{case}/bin/{name}"), script);
    }
    let file = format!("{case}/golive.toml");
    w.write(&file, checklist);
    let report = format!("{case}/report.json");
    let path = format!("{}:{}", bin.display(), bare_bin(w).display());
    let out =
        w.run_env(&["run", &file, "--output", &format!("json={report}"), "--quiet"], &[("PATH", path.as_str())]).await;
    let text = std::fs::read_to_string(w.path(&report))
        .unwrap_or_else(|e| panic!("{case}: no report ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr)));
    serde_json::from_str(&text).unwrap()
}

// ── 1. A missing tool is an error ──────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_tool_is_an_error_not_a_fail() {
    let w = Workdir::new();
    let checklist = r#"
[[item]]
id = "missing-tool"
use = "operations.command-succeeds"
vars = { command = "golive-no-such-tool --version" }

[[item]]
id = "tool-says-no"
use = "operations.command-succeeds"
vars = { command = "golive-tool" }

[[item]]
id = "tool-says-yes"
use = "operations.command-succeeds"
vars = { command = "golive-tool ok" }

[[item]]
id = "not-executable"
use = "operations.command-succeeds"
vars = { command = "./not-executable" }

[[item]]
id = "cannot-start"
probe = "command"
argv = ["/nonexistent/golive-no-such-program"]

[[item]]
id = "judged-by-expect"
probe = "command"
argv = ["sh", "-c", "golive-no-such-tool"]
error_exit_codes = []
expect = { exit_code = 0 }
"#;
    let tool = "#!/bin/sh\n[ \"$1\" = ok ] && exit 0\necho 'golive-tool: the thing is broken' >&2\nexit 1\n";
    w.write("cmd/not-executable", "#!/bin/sh\nexit 0\n");
    let report = run_with_tools(&w, "cmd", checklist, &[("golive-tool", tool)]).await;
    // The shell could not find the tool: nothing about the system was observed.
    assert_reason(&report, "missing-tool", "error", "sh: 1: golive-no-such-tool: not found (exit code 127)");
    assert_eq!(reason(&report, "missing-tool"), "sh: 1: golive-no-such-tool: not found (exit code 127)");
    assert_reason(&report, "not-executable", "error", "Permission denied (exit code 126)");
    // The tool ran and said no: that is an observation, a fail.
    assert_reason(&report, "tool-says-no", "fail", "exit_code: expected == 0, observed 1");
    assert_outcome(&report, "tool-says-yes", "pass");
    // A program that cannot be started at all was already an error.
    assert_reason(&report, "cannot-start", "error", "cannot run \"/nonexistent/golive-no-such-program\"");
    // error_exit_codes = [] hands every exit code to expect.
    assert_reason(&report, "judged-by-expect", "fail", "exit_code: expected == 0, observed 127");
}

// ── 2. No journal is no evidence ───────────────────────────────────────────────────────

/// journalctl as systemd 252 answers `--unit app.service`: `entries` for any query, the
/// lines in `errors` for `--priority err`.
fn fake_journalctl(entries: &str, errors: &str) -> String {
    format!(
        "#!/bin/sh\ncase \"$*\" in\n  *'--priority err'*) printf '%s' '{errors}' ;;\n  *) printf '%s' '{entries}' ;;\nesac\n"
    )
}

const NO_RECENT_ERRORS: &str = r#"
[[item]]
id = "errors"
use = "operations.no-recent-errors"
vars = { service_unit = "app.service" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn no_recent_errors_needs_journal_entries_before_it_counts() {
    let w = Workdir::new();
    let started = "Started app.service - the app.\n";

    // No entries at all for the unit (no journal, not readable, wrong unit): an error.
    let none = fake_journalctl("", "");
    let report = run_with_tools(&w, "none", NO_RECENT_ERRORS, &[("journalctl", none.as_str())]).await;
    assert_reason(&report, "errors", "error", "no journal entries for app.service: no evidence to count errors in");
    assert!(reason(&report, "errors").ends_with("(exit code 3)"), "{}", reason(&report, "errors"));

    // No journalctl: an error too.
    let report = run_with_tools(&w, "missing", NO_RECENT_ERRORS, &[]).await;
    assert_reason(&report, "errors", "error", "journalctl failed: sh: 1: journalctl: not found");

    // journalctl that cannot read the journal.
    let broken = "#!/bin/sh\necho 'Failed to open journal: Permission denied' >&2\nexit 1\n";
    let report = run_with_tools(&w, "broken", NO_RECENT_ERRORS, &[("journalctl", broken)]).await;
    assert_reason(&report, "errors", "error", "journalctl failed: Failed to open journal: Permission denied");

    // Entries, none of them errors: a pass.
    let clean = fake_journalctl(started, "");
    let report = run_with_tools(&w, "clean", NO_RECENT_ERRORS, &[("journalctl", clean.as_str())]).await;
    assert_outcome(&report, "errors", "pass");

    // Three errors in the last hour: a fail that says how many.
    let errors = "db timeout\npanic in handler\ndb timeout\n";
    let failing = fake_journalctl(&format!("{started}{errors}"), errors);
    let report = run_with_tools(&w, "failing", NO_RECENT_ERRORS, &[("journalctl", failing.as_str())]).await;
    assert_reason(&report, "errors", "fail", "stdout: expected matches /^\\s*0\\s*$/, observed 3\n");
}
