//! The `exec` protocol end to end, with real programs: the shipped example
//! (checks/plugins/mount_options.sh) and small shell scripts written here that answer with
//! facts, an error, invalid JSON, undeclared or mistyped facts, a failing exit, a hang, and
//! broken `--describe` output that `golive validate` must report.

use crate::support as common;

use std::path::Path;
use std::time::Duration;

use common::{Workdir, assert_outcome, fact, item, stderr, stdout};
use serde_json::json;

/// A plugin that declares several fact types, records its request and environment, and
/// answers from its parameters. Every `--describe` appends a line to describe.log.
const GREETER: &str = r#"#!/bin/sh
here=$(dirname "$0")
if [ "$1" = "--describe" ]; then
  echo described >> "$here/describe.log"
  cat <<'JSON'
{
  "summary": "greets",
  "params": [
    {"name": "name", "type": "string", "required": true, "doc": "who to greet"},
    {"name": "times", "type": "integer", "default": 3},
    {"name": "token", "type": "string", "secret": true, "doc": "an API token"},
    {"name": "tags", "type": "list"}
  ],
  "facts": [
    {"name": "greeting", "type": "string"},
    {"name": "times", "type": "integer"},
    {"name": "took", "type": "duration"},
    {"name": "size", "type": "bytes"},
    {"name": "version", "type": "version"},
    {"name": "tags", "type": "list"},
    {"name": "labels.<name>", "type": "string"},
    {"name": "nothing", "type": "string"}
  ]
}
JSON
  exit 0
fi
cat > "$here/request-$GOLIVE_PARAM_NAME.json"
env | grep '^GOLIVE_' | sort > "$here/env-$GOLIVE_PARAM_NAME.txt"
printf '{"facts": {"greeting": "hello %s", "times": %s, "took": 1500, "size": "2KiB", "version": "15.4", "tags": ["a", "b"], "labels.team": "payments", "nothing": null}}\n' "$GOLIVE_PARAM_NAME" "$GOLIVE_PARAM_TIMES"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn facts_params_secrets_and_one_describe_per_program() {
    let w = Workdir::new();
    w.write_executable("checks/plugins/greeter.sh", GREETER);
    w.write(
        "checks/greet.toml",
        r#"
[[item]]
id = "greet"
probe = "exec"
program = "plugins/greeter.sh"
params = { name = "ops", token = "${env:GREETER_TOKEN}", tags = ["x"] }
expect = { greeting = "hello ops", times = 3, took = "< 2s", size = ">= 2KiB", version = ">= 15", tags = { includes = ["a"] }, labels = { team = "payments" }, nothing = { present = false } }

[[item]]
id = "greet-again"
probe = "exec"
program = "plugins/greeter.sh"
params = { name = "dev", times = 5 }
expect = { greeting = "hello ops" }
"#,
    );
    // Run from another directory: the program is found relative to the checklist file.
    let out = w
        .run_env(
            &["run", "checks/greet.toml", "--output", "json=report.json", "--output", "table"],
            &[("GREETER_TOKEN", "tok-planted-secret-123")],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "greet", "pass");
    assert_eq!(fact(&report, "greet", "took"), 1500.0);
    assert_eq!(fact(&report, "greet", "labels.team"), "payments");
    assert_outcome(&report, "greet-again", "fail");
    assert_eq!(fact(&report, "greet-again", "greeting"), "hello dev");
    assert_eq!(fact(&report, "greet-again", "times"), 5);
    assert_eq!(
        item(&report, "greet")["params"]["params"],
        json!({ "name": "ops", "times": 3, "token": "***", "tags": ["x"] })
    );

    // The request: parameters with defaults filled in (the secret included: stdin is private),
    // the facts the item asks for, its timeout and id.
    let request: serde_json::Value = serde_json::from_str(&w.read("checks/plugins/request-dev.json")).unwrap();
    assert_eq!(request["params"], json!({ "name": "dev", "times": 5 }));
    assert_eq!(request["facts"], json!(["greeting"]));
    assert_eq!(request["timeout_ms"], 10_000);
    assert_eq!(request["item"], "greet-again");

    // `--describe` ran once for two items, at load time.
    assert_eq!(w.read("checks/plugins/describe.log").lines().count(), 1);
    for text in [w.read("report.json"), stdout(&out), stderr(&out)] {
        assert!(!text.contains("tok-planted-secret-123"), "the secret leaked:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_params_stay_out_of_the_environment() {
    let w = Workdir::new();
    w.write_executable("greeter.sh", GREETER);
    w.write(
        "golive.toml",
        "[[item]]\nid = \"g\"\nprobe = \"exec\"\nprogram = \"./greeter.sh\"\nparams = { name = \"ops\", token = \"literal-token-value\" }\n",
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "g", "pass");
    let env = w.read("env-ops.txt");
    assert!(env.contains("GOLIVE_PARAM_NAME=ops\n") && env.contains("GOLIVE_PARAM_TIMES=3\n"), "{env}");
    assert!(env.contains("GOLIVE_PLUGIN_PROTOCOL=1\n"), "{env}");
    assert!(!env.contains("literal-token-value") && !env.contains("GOLIVE_PARAM_TOKEN"), "{env}");
    let request: serde_json::Value = serde_json::from_str(&w.read("request-ops.json")).unwrap();
    assert_eq!(request["params"]["token"], "literal-token-value");
    assert!(!w.read("report.json").contains("literal-token-value"));
}

/// `--describe` declares one integer fact `n`; a run does what `$1`… cannot say, so the
/// behaviour is chosen by the program's file name.
const MISBEHAVING: &str = r#"#!/bin/sh
if [ "$1" = "--describe" ]; then
  echo '{"facts": [{"name": "n", "type": "integer"}]}'
  exit 0
fi
cat > /dev/null
case "$(basename "$0")" in
  error.sh) echo '{"error": "the backend refused: 503"}' ;;
  not-json.sh) echo 'all good!' ;;
  undeclared.sh) echo '{"facts": {"n": 1, "m": 2}}' ;;
  mistyped.sh) echo '{"facts": {"n": "seven"}}' ;;
  exits.sh) echo 'disk on fire' >&2; exit 3 ;;
  error-and-exit.sh) echo '{"error": "no permission to read /var/lib/x"}'; exit 2 ;;
  slow.sh) sleep 3; touch "$(dirname "$0")/slow-still-running"; echo '{"facts": {"n": 1}}' ;;
esac
"#;

#[tokio::test(flavor = "multi_thread")]
async fn error_replies_invalid_output_and_timeouts_are_errors() {
    let w = Workdir::new();
    let names = ["error", "not-json", "undeclared", "mistyped", "exits", "error-and-exit", "slow"];
    let mut toml = String::new();
    for name in names {
        w.write_executable(&format!("p/{name}.sh"), MISBEHAVING);
        toml.push_str(&format!(
            "[[item]]\nid = \"{name}\"\nprobe = \"exec\"\nprogram = \"p/{name}.sh\"\ntimeout = \"{}\"\n",
            if name == "slow" { "500ms" } else { "10s" }
        ));
    }
    w.write("golive.toml", &toml);
    let (report, _) = w.run_json("golive.toml", &[]).await;
    let reason = |id: &str| item(&report, id)["reason"].as_str().unwrap().to_string();
    for name in names {
        assert_outcome(&report, name, "error");
    }
    assert_eq!(reason("error"), "the backend refused: 503");
    assert!(
        reason("not-json").contains("did not print {\"facts\": {…}} or {\"error\": \"…\"} as JSON"),
        "{}",
        reason("not-json")
    );
    assert!(reason("undeclared").contains("returned fact `m`, which its --describe does not declare"));
    assert!(reason("mistyped").contains("fact `n`: expected integer, got \"seven\""), "{}", reason("mistyped"));
    assert!(reason("exits").ends_with("exited with status 3 (disk on fire)"), "{}", reason("exits"));
    assert_eq!(reason("error-and-exit"), "no permission to read /var/lib/x");
    assert_eq!(reason("slow"), "timed out after 500ms");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!w.path("p/slow-still-running").exists(), "the program survived its timeout");
}

#[test]
fn validate_checks_items_against_describe() {
    let w = Workdir::new();
    w.write_executable("plugins/greeter.sh", GREETER);
    w.write_executable("plugins/fails.sh", "#!/bin/sh\necho 'usage: fails.sh HOST' >&2\nexit 64\n");
    w.write_executable(
        "plugins/bad-json.sh",
        "#!/bin/sh\necho '{\"facts\": [{\"name\": \"x\", \"type\": \"float\"}]}'\n",
    );
    w.write(
        "golive.toml",
        r#"
[[item]]
id = "typo-fact"
probe = "exec"
program = "plugins/greeter.sh"
params = { name = "ops" }
expect = { greting = "hi" }

[[item]]
id = "typo-param"
probe = "exec"
program = "plugins/greeter.sh"
params = { nam = "ops", times = "three" }

[[item]]
id = "wrong-matcher"
probe = "exec"
program = "plugins/greeter.sh"
params = { name = "ops" }
expect = { took = "fast" }

[[item]]
id = "fails"
probe = "exec"
program = "plugins/fails.sh"
expect = { anything = 1 }

[[item]]
id = "bad-json"
probe = "exec"
program = "plugins/bad-json.sh"

[[item]]
id = "missing"
probe = "exec"
program = "plugins/nope.sh"

[[item]]
id = "extra-key"
probe = "exec"
program = "plugins/greeter.sh"
params = { name = "ops" }
name = "ops"
"#,
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    let expected = [
        "golive.toml:7:12: error[GL006]: item `typo-fact`: probe `exec",
        "has no fact `greting` (hint: did you mean `greeting`? its facts are: greeting, times, took, size, version, tags, labels.<name>, nothing)",
        "golive.toml:13:12: error[GL002]: item `typo-param`: `plugins/greeter.sh` takes no parameter `nam` (hint: did you mean `name`?)",
        "golive.toml:13:33: error[GL003]: `times` must be a whole number, found \"three\"",
        "golive.toml:13:10: error[GL004]: item `typo-param`: `plugins/greeter.sh` needs parameter `name`",
        "golive.toml:20:19: error[GL007]: item `wrong-matcher`: `took` (duration): `fast` is not a duration",
        "golive.toml:25:11: error[GL022]: item `fails`: `plugins/fails.sh --describe` failed: it exited with status 64: usage: fails.sh HOST",
        "golive.toml:31:11: error[GL022]: item `bad-json`: `plugins/bad-json.sh --describe` failed: fact `x` has unknown type \"float\"",
        "golive.toml:36:11: error[GL022]: item `missing`: `plugins/nope.sh --describe` failed: cannot run it: No such file or directory",
        "golive.toml:43:1: error[GL002]: unknown key `name` in item `extra-key`",
    ];
    for e in expected {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }
    assert_eq!(text.matches("error[").count(), expected.len() - 1, "{text}");
}

#[test]
fn a_describe_that_hangs_is_a_diagnostic() {
    let w = Workdir::new();
    w.write_executable("hangs.sh", "#!/bin/sh\nsleep 30\n");
    w.write("golive.toml", "[[item]]\nid = \"h\"\nprobe = \"exec\"\nprogram = \"./hangs.sh\"\n");
    let started = std::time::Instant::now();
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("error[GL022]: item `h`: `./hangs.sh --describe` failed: it did not answer within 5s")
    );
    assert!(started.elapsed() < Duration::from_secs(20), "validate waited for the hung program");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_example_plugin() {
    let w = Workdir::new();
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/plugins/mount_options.sh");
    w.write(
        "fstab",
        "# <device> <dir> <type> <options>\n/dev/sda1 / ext4 rw,relatime 0 1\ntmpfs /tmp tmpfs rw,nosuid,nodev,noexec,size=512m 0 0\ntmpfs /dev/shm tmpfs rw,nosuid 0 0\n",
    );
    w.write(
        "golive.toml",
        &format!(
            r#"
[vars]
plugin = "{plugin}"

[[item]]
id = "tmp"
probe = "exec"
program = "${{plugin}}"
params = {{ mount_point = "/tmp", mounts_file = "fstab" }}
expect = {{ mounted = true, fstype = "tmpfs", missing_hardening = [], options = {{ includes = ["noexec", "size=512m"] }} }}

[[item]]
id = "shm"
probe = "exec"
program = "${{plugin}}"
params = {{ mount_point = "/dev/shm", mounts_file = "fstab" }}
expect = {{ missing_hardening = [] }}

[[item]]
id = "not-mounted"
probe = "exec"
program = "${{plugin}}"
params = {{ mount_point = "/srv/nothing", mounts_file = "fstab" }}
expect = {{ mounted = false }}

[[item]]
id = "root-really-mounted"
probe = "exec"
program = "${{plugin}}"
params = {{ mount_point = "/" }}
expect = {{ mounted = true, options = {{ length = ">= 1" }} }}

[[item]]
id = "no-table"
probe = "exec"
program = "${{plugin}}"
params = {{ mount_point = "/", mounts_file = "no-such-file" }}
"#,
            plugin = plugin.display()
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "tmp", "pass");
    assert_outcome(&report, "shm", "fail");
    assert_eq!(fact(&report, "shm", "missing_hardening"), &json!(["nodev", "noexec"]));
    assert_outcome(&report, "not-mounted", "pass");
    assert_outcome(&report, "root-really-mounted", "pass");
    assert_outcome(&report, "no-table", "error");
    assert_eq!(item(&report, "no-table")["reason"], "cannot read no-such-file");
}

/// The Python example in docs/plugins.md, as written there.
#[tokio::test(flavor = "multi_thread")]
async fn the_python_example_in_the_docs() {
    if std::process::Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 is not installed: skipped (scripts/test.sh installs it)");
        return;
    }
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plugins.md")).unwrap();
    let script = docs.split("```python\n").nth(1).and_then(|b| b.split_once("```")).unwrap().0;
    let w = Workdir::new();
    w.write_executable("disk_free.py", script);
    w.write(
        "golive.toml",
        "[[item]]\nid = \"free\"\nprobe = \"exec\"\nprogram = \"./disk_free.py\"\nexpect = { free = \"> 0\", free_percent = \"<= 100\" }\n\n[[item]]\nid = \"nowhere\"\nprobe = \"exec\"\nprogram = \"./disk_free.py\"\nparams = { path = \"/no/such/dir\" }\n",
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "free", "pass");
    assert_eq!(item(&report, "free")["params"]["params"], json!({ "path": "/" }), "the declared default");
    assert_outcome(&report, "nowhere", "error");
    assert!(item(&report, "nowhere")["reason"].as_str().unwrap().contains("No such file or directory"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bare_program_name_is_looked_up_in_path() {
    let w = Workdir::new();
    w.write_executable("bin/golive-greeter", GREETER);
    w.write(
        "golive.toml",
        "[[item]]\nid = \"g\"\nprobe = \"exec\"\nprogram = \"golive-greeter\"\nparams = { name = \"path\" }\nexpect = { greeting = \"hello path\" }\n",
    );
    let path = format!("{}:{}", w.path("bin").display(), std::env::var("PATH").unwrap_or_default());
    let out =
        w.run_env(&["run", "golive.toml", "--output", "json=report.json", "--quiet"], &[("PATH", path.as_str())]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "g", "pass");
    // Without it in PATH, validate says the program cannot describe itself.
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert!(stderr(&out).contains("error[GL022]: item `g`: `golive-greeter --describe` failed: cannot run it"));
}
