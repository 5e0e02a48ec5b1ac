//! Programs golive starts do not leave processes behind: an `exec` program's `--describe`
//! (answered, failed or timed out) and a `command` item each end their whole process group,
//! so a background child (`sleep 300 &`) is gone soon after golive is done with them.

use crate::support as common;

use std::time::{Duration, Instant};

use common::{Workdir, assert_outcome, stderr};

/// The pid a script wrote into `name`.
pub(crate) fn recorded_pid(w: &Workdir, name: &str) -> i32 {
    let text = std::fs::read_to_string(w.path(name)).unwrap_or_else(|e| panic!("{name} was not written: {e}"));
    text.trim().parse().unwrap_or_else(|_| panic!("{name} holds no pid: {text:?}"))
}

/// True once `pid` no longer runs: `kill(pid, 0)` fails, or it is a zombie waiting for init
/// to reap it (it was killed; init reaps orphans on its own schedule).
pub(crate) fn gone(pid: i32) -> bool {
    if nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err() {
        return true;
    }
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

pub(crate) fn assert_gone_soon(pid: i32) {
    let started = Instant::now();
    while !gone(pid) {
        if started.elapsed() > Duration::from_secs(20) {
            // Do not leave it behind either.
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            panic!("background child {pid} still runs 20s after golive ended");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plugin whose `--describe` starts a background child (its output redirected, so the
/// pipes golive reads close when the script exits), records its pid, then answers what the
/// file `answer` beside it says: a description, a failure, or nothing for longer than the
/// describe timeout. (A file, not a variable: `--describe` gets the base environment only.)
const SPAWNS_ON_DESCRIBE: &str = r#"#!/bin/sh
here=$(dirname "$0")
ANSWER=$(cat "$here/answer")
if [ "$1" = "--describe" ]; then
  sleep 300 >/dev/null 2>&1 </dev/null &
  echo $! > "$here/child-$ANSWER.pid"
  case "$ANSWER" in
    ok) echo '{"facts": [{"name": "ok", "type": "bool"}]}' ;;
    fail) echo "broken" >&2; exit 3 ;;
    hang) exec sleep 30 ;;
  esac
  exit 0
fi
echo '{"facts": {"ok": true}}'
"#;

fn describe_leaves_no_child(answer: &str, expected_in_output: &str) {
    let w = Workdir::new();
    w.write_executable("plugins/spawner.sh", SPAWNS_ON_DESCRIBE);
    w.write("plugins/answer", answer);
    w.write(
        "golive.toml",
        "[[item]]\nid = \"p\"\nprobe = \"exec\"\nprogram = \"plugins/spawner.sh\"\nexpect = { ok = true }\n",
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(text.contains(expected_in_output), "validate with {answer}: {text}");
    assert_gone_soon(recorded_pid(&w, &format!("plugins/child-{answer}.pid")));
}

#[test]
fn describe_that_answers_ends_its_background_child() {
    describe_leaves_no_child("ok", "valid");
}

#[test]
fn describe_that_fails_ends_its_background_child() {
    describe_leaves_no_child("fail", "it exited with status 3: broken");
}

#[test]
fn describe_that_times_out_ends_its_background_child() {
    describe_leaves_no_child("hang", "it did not answer within 5s");
}

#[tokio::test(flavor = "multi_thread")]
async fn command_item_ends_its_background_child() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"
[[item]]
id = "detached"
probe = "command"
shell = true
argv = ["sleep 300 >/dev/null 2>&1 </dev/null & echo $! > detached.pid"]

# The child keeps the output pipes open: the item still ends when the shell exits.
[[item]]
id = "holds-stdout"
probe = "command"
shell = true
timeout = "60s"
argv = ["sleep 300 & echo $! > holds.pid; echo started"]
expect = { exit_code = 0, stdout = { contains = "started" } }
"#,
    );
    let started = Instant::now();
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "detached", "pass");
    assert_outcome(&report, "holds-stdout", "pass");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(50), "the item waited for its background child");
    assert_gone_soon(recorded_pid(&w, "detached.pid"));
    assert_gone_soon(recorded_pid(&w, "holds.pid"));
}

/// An `exec` program that leaves a background child (its output redirected) when it runs.
const LEAVES_A_CHILD: &str = r#"#!/bin/sh
if [ "$1" = "--describe" ]; then
  echo '{"facts": [{"name": "ok", "type": "bool"}]}'
  exit 0
fi
cat >/dev/null
sleep 300 >/dev/null 2>&1 </dev/null &
echo $! > plugin.pid
echo '{"facts": {"ok": true}}'
"#;

/// A group is ended when its item ends, not when golive exits: an item that runs after the
/// two that left background children finds both children gone (it waits for that, bounded
/// by its timeout, so a child that survives fails it).
#[tokio::test(flavor = "multi_thread")]
async fn command_and_exec_items_end_their_background_children_when_the_item_ends() {
    let w = Workdir::new();
    w.write_executable("plugins/leaver.sh", LEAVES_A_CHILD);
    w.write(
        "golive.toml",
        r#"
[[item]]
id = "command-leaves"
probe = "command"
shell = true
argv = ["sleep 300 >/dev/null 2>&1 </dev/null & echo $! > command.pid"]

[[item]]
id = "exec-leaves"
probe = "exec"
program = "plugins/leaver.sh"
expect = { ok = true }

[[item]]
id = "both-gone"
probe = "command"
shell = true
timeout = "30s"
depends_on = ["command-leaves", "exec-leaves"]
argv = ["""for f in command.pid plugin.pid; do p=$(cat $f); while [ -e /proc/$p ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ]; do sleep 0.05; done; done; echo gone"""]
expect = { stdout = "gone\n" }
"#,
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "command-leaves", "pass");
    assert_outcome(&report, "exec-leaves", "pass");
    assert_outcome(&report, "both-gone", "pass");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_gone_soon(recorded_pid(&w, "command.pid"));
    assert_gone_soon(recorded_pid(&w, "plugin.pid"));
}
