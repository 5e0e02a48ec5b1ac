//! Shipped host checks that used to pass (or fail) without proving their title, each run
//! through `use = "ID"` against a real target with the defect planted (it must fail, or be
//! an error when nothing could be observed, with a reason that says why) and against one
//! set up right (it must pass):
//! - a tool that is missing is an `error` of the `command` probe (exit 126/127), not a fail;
//! - operations.no-recent-errors with no journal entries at all is an error, not "0 errors";
//! - security.firewall-active needs a default-deny inbound policy, not only "active";
//! - security.fail2ban-jails needs a running server with jails, not only an installed unit;
//! - operations.log-written needs a non-empty log, not only a freshly touched file;
//! - infrastructure.os-up-to-date without apt-get is an error, not "0 pending" from an
//!   empty pipe; security.sudo-limited without getent likewise, not "0 members".
//!
//! No systemd, ufw, nftables, fail2ban or apt runs here: each tool is a stand-in script printing
//! what the real one prints, first on a PATH that holds nothing else but `sh` and the few
//! utilities the checks' scripts use, so the machine's own tools never answer.

use crate::support as common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
pub(crate) fn bare_bin(w: &Workdir) -> PathBuf {
    let dir = w.path("bare-bin");
    if dir.is_dir() {
        return dir;
    }
    std::fs::create_dir_all(&dir).unwrap();
    let system_path = std::env::var("PATH").unwrap_or_default();
    for tool in ["sh", "sed", "head", "tr", "cut", "grep", "sort", "cat", "awk"] {
        let found = system_path.split(':').map(|d| Path::new(d).join(tool)).find(|p| p.is_file());
        let found = found.unwrap_or_else(|| panic!("{tool} is not on PATH"));
        std::os::unix::fs::symlink(found, dir.join(tool)).unwrap();
    }
    dir
}

/// Runs `checklist` with `tools` (name, script) as the only programs beside the bare ones,
/// in a directory of its own (`case`); returns the JSON report.
pub(crate) async fn run_with_tools(w: &Workdir, case: &str, checklist: &str, tools: &[(&str, &str)]) -> Value {
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

// ── 3. The firewall denies by default; fail2ban has jails ──────────────────────────────

const UFW_ACTIVE_DENY: &str = "Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n\nTo                         Action      From\n--                         ------      ----\n22/tcp                     ALLOW IN    Anywhere\n443/tcp                    ALLOW IN    Anywhere\n";
const UFW_ACTIVE_ALLOW: &str = "Status: active\nLogging: on (low)\nDefault: allow (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n";
const UFW_INACTIVE: &str = "Status: inactive\n";

const NFT_DROP: &str = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept\n\t\tiif \"lo\" accept\n\t\ttcp dport { 22, 443 } accept\n\t}\n\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n\t}\n\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t}\n}\n";
const NFT_ACCEPT: &str = "table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n\n\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n\t}\n}\n";

/// A tool that prints `output` (for the arguments the check uses) and exits `code`.
fn fake_tool(expected_args: &str, output: &str, code: i32) -> String {
    format!(
        "#!/bin/sh\n[ \"$*\" = '{expected_args}' ] || {{ echo \"unexpected arguments: $*\" >&2; exit 64; }}\ncat <<'OUT'\n{output}OUT\nexit {code}\n"
    )
}

fn firewall_checklist(firewall: &str) -> String {
    format!("[[item]]\nid = \"fw\"\nuse = \"security.firewall-active\"\nvars = {{ firewall = \"{firewall}\" }}\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn firewall_active_needs_a_default_deny_inbound_policy() {
    let w = Workdir::new();
    let ufw = firewall_checklist("ufw");
    let run_ufw = |case: &'static str, output: &'static str, code: i32| {
        let script = fake_tool("status verbose", output, code);
        let (w, ufw) = (&w, &ufw);
        async move { run_with_tools(w, case, ufw, &[("ufw", script.as_str())]).await }
    };

    let report = run_ufw("ufw-deny", UFW_ACTIVE_DENY, 0).await;
    assert_outcome(&report, "fw", "pass");
    assert_eq!(
        item(&report, "fw")["title"],
        "The host firewall (ufw) is active and denies incoming traffic by default"
    );

    let report = run_ufw("ufw-inactive", UFW_INACTIVE, 0).await;
    assert_reason(&report, "fw", "fail", "stdout_json./active: expected == true, observed false");

    let report = run_ufw("ufw-allow", UFW_ACTIVE_ALLOW, 0).await;
    assert_reason(&report, "fw", "fail", "stdout_json./default_incoming: expected one of");
    assert!(reason(&report, "fw").ends_with("observed allow"), "{}", reason(&report, "fw"));

    // ufw asked by someone who is not root: it could not say.
    let report = run_ufw("ufw-not-root", "ERROR: You need to be root to run this script\n", 1).await;
    assert_reason(&report, "fw", "error", "ERROR: You need to be root to run this script (exit code 3)");

    let report = run_with_tools(&w, "ufw-missing", &ufw, &[]).await;
    assert_reason(&report, "fw", "error", "ufw: command not found (exit code 127)");

    // nftables: an input chain with policy drop passes; accept-all or an empty ruleset fails.
    let nft = firewall_checklist("nftables");
    for (case, output, outcome, why) in [
        ("nft-drop", NFT_DROP, "pass", ""),
        ("nft-accept", NFT_ACCEPT, "fail", "stdout_json./default_incoming: expected one of"),
        ("nft-empty", "", "fail", "stdout_json./active: expected == true, observed false"),
    ] {
        let script = fake_tool("list ruleset", output, 0);
        let report = run_with_tools(&w, case, &nft, &[("nft", script.as_str())]).await;
        assert_reason(&report, "fw", outcome, why);
    }
    let report = run_with_tools(&w, "nft-missing", &nft, &[]).await;
    assert_reason(&report, "fw", "error", "nft: command not found (exit code 127)");

    // A firewall golive does not know is an error, not a guess.
    let report = run_with_tools(&w, "other", &firewall_checklist("pf"), &[]).await;
    assert_reason(&report, "fw", "error", "firewall must be ufw or nftables, not \"pf\"");
}

const F2B_SSHD: &str = "Status\n|- Number of jail:\t2\n`- Jail list:\tnginx-http-auth, sshd\n";
const F2B_NGINX_ONLY: &str = "Status\n|- Number of jail:\t1\n`- Jail list:\tnginx-http-auth\n";
const F2B_NO_JAILS: &str = "Status\n|- Number of jail:\t0\n`- Jail list:\t\n";
const F2B_NOT_RUNNING: &str = "2026-12-01 16:00:00,000 fail2ban                [1]: ERROR   Failed to access socket path: /var/run/fail2ban/fail2ban.sock. Is fail2ban running?\n";
const F2B_NOT_ROOT: &str = "2026-12-01 16:00:00,000 fail2ban                [1]: ERROR   Permission denied to socket: /var/run/fail2ban/fail2ban.sock, (you must be root)\n";

#[tokio::test(flavor = "multi_thread")]
async fn fail2ban_must_run_with_jails_enabled() {
    let w = Workdir::new();
    let checklist = |jails: Option<&str>| {
        let vars = jails.map(|j| format!("vars = {{ required_jails = \"{j}\" }}\n")).unwrap_or_default();
        format!("[[item]]\nid = \"f2b\"\nuse = \"security.fail2ban-jails\"\n{vars}")
    };
    let run = |case: &'static str, jails: Option<&'static str>, output: &'static str, code: i32| {
        let script = fake_tool("status", output, code);
        let (w, text) = (&w, checklist(jails));
        async move { run_with_tools(w, case, &text, &[("fail2ban-client", script.as_str())]).await }
    };

    // The default requires the sshd jail.
    let report = run("sshd", None, F2B_SSHD, 0).await;
    assert_outcome(&report, "f2b", "pass");
    assert_eq!(item(&report, "f2b")["facts"]["stdout_json./jails"], 2);

    let report = run("nginx-only", None, F2B_NGINX_ONLY, 0).await;
    assert_reason(&report, "f2b", "fail", "stdout_json./missing_jails: expected == \"\", observed sshd");
    // Any jail will do when none is required.
    let report = run("nginx-any", Some(""), F2B_NGINX_ONLY, 0).await;
    assert_outcome(&report, "f2b", "pass");

    let report = run("no-jails", Some(""), F2B_NO_JAILS, 0).await;
    assert_reason(&report, "f2b", "fail", "stdout_json./jails: expected >= 1, observed 0");

    let report = run("not-running", None, F2B_NOT_RUNNING, 255).await;
    assert_reason(&report, "f2b", "fail", "stdout_json./running: expected == true, observed false");

    let report = run("not-root", None, F2B_NOT_ROOT, 255).await;
    assert_reason(&report, "f2b", "error", "Permission denied to socket: /var/run/fail2ban/fail2ban.sock");

    let report = run_with_tools(&w, "f2b-missing", &checklist(None), &[]).await;
    assert_reason(&report, "f2b", "error", "fail2ban-client: command not found (exit code 127)");
}

// ── 4. The access log holds something ──────────────────────────────────────────────────

fn set_age(path: &Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn log_written_needs_a_recent_non_empty_log() {
    let w = Workdir::new();
    let line = "127.0.0.1 - - [01/Dec/2026:16:00:00 +0000] \"GET / HTTP/1.1\" 200 5\n";
    w.write("logs/empty.log", "");
    let stale = w.write("logs/stale.log", line);
    set_age(&stale, Duration::from_secs(2 * 3600));
    w.write("logs/fresh.log", line);
    let mut checklist = String::new();
    for name in ["empty", "stale", "fresh", "missing"] {
        let path = w.path(&format!("logs/{name}.log"));
        checklist.push_str(&format!(
            "[[item]]\nid = \"{name}\"\nuse = \"operations.log-written\"\nvars = {{ log_file = \"{}\" }}\n",
            path.display()
        ));
    }
    let report = run_with_tools(&w, "log", &checklist, &[]).await;
    assert_reason(&report, "empty", "fail", "size: expected > 0");
    assert_reason(&report, "stale", "fail", "modified_age: expected < 1h");
    assert_reason(&report, "missing", "fail", "exists: expected == true, observed false");
    assert_outcome(&report, "fresh", "pass");
    assert!(
        item(&report, "fresh")["title"]
            .as_str()
            .unwrap()
            .ends_with("exists, is not empty and was written in the last 1h")
    );
}

// ── 5. No package manager is no count ───────────────────────────────────────────────────

const APT_TWO_PENDING: &str = "Reading package lists...\nBuilding dependency tree...\nCalculating upgrade...\nThe following packages will be upgraded:\n  libssl3 openssl\n2 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\nInst libssl3 [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])\nInst openssl [3.0.11-1~deb12u1] (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])\nConf libssl3 (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])\nConf openssl (3.0.13-1~deb12u1 Debian-Security:12/stable-security [amd64])\n";
const APT_NONE_PENDING: &str = "Reading package lists...\nBuilding dependency tree...\nCalculating upgrade...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n";

#[tokio::test(flavor = "multi_thread")]
async fn os_up_to_date_needs_apt_to_answer() {
    let w = Workdir::new();
    let checklist = "[[item]]\nid = \"os\"\nuse = \"infrastructure.os-up-to-date\"\n";
    let args = "-s -o Debug::NoLocking=true upgrade";

    let current = fake_tool(args, APT_NONE_PENDING, 0);
    let report = run_with_tools(&w, "apt-current", checklist, &[("apt-get", current.as_str())]).await;
    assert_outcome(&report, "os", "pass");

    let behind = fake_tool(args, APT_TWO_PENDING, 0);
    let report = run_with_tools(&w, "apt-behind", checklist, &[("apt-get", behind.as_str())]).await;
    assert_reason(&report, "os", "fail", "stdout: expected matches /^\\s*0\\s*$/, observed 2\n");

    let broken = fake_tool(args, "E: The package lists or status file could not be parsed or opened.\n", 100);
    let report = run_with_tools(&w, "apt-broken", checklist, &[("apt-get", broken.as_str())]).await;
    assert_reason(
        &report,
        "os",
        "error",
        "apt-get failed: E: The package lists or status file could not be parsed or opened. (exit code 3)",
    );

    // No apt-get (another distribution): the empty pipe used to count 0 and pass.
    let report = run_with_tools(&w, "apt-missing", checklist, &[]).await;
    assert_reason(&report, "os", "error", "apt-get: command not found (set pending_updates_command");
}

#[tokio::test(flavor = "multi_thread")]
async fn sudo_limited_needs_getent_to_answer() {
    let w = Workdir::new();
    let checklist = "[[item]]\nid = \"sudo\"\nuse = \"security.sudo-limited\"\n";
    let args = "group sudo wheel admin";

    let few = fake_tool(args, "sudo:x:27:alice,bob\nadmin:x:110:bob\n", 0);
    let report = run_with_tools(&w, "sudo-few", checklist, &[("getent", few.as_str())]).await;
    assert_outcome(&report, "sudo", "pass");
    assert_eq!(item(&report, "sudo")["facts"]["stdout_json./count"], 2);

    let many = fake_tool(args, "sudo:x:27:alice,bob,carol\nwheel:x:10:dave\n", 0);
    let report = run_with_tools(&w, "sudo-many", checklist, &[("getent", many.as_str())]).await;
    assert_reason(&report, "sudo", "fail", "stdout_json./count: expected <= 3, observed 4");

    // No getent: the empty pipe used to count 0 members and pass.
    let report = run_with_tools(&w, "sudo-missing", checklist, &[]).await;
    assert_reason(&report, "sudo", "error", "getent: command not found (exit code 127)");
}
