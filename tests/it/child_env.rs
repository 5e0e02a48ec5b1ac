//! The environment of the programs a checklist runs (`command`, `exec` and its `--describe`,
//! `backup`'s restore test): only PATH, HOME, USER, LOGNAME, LANG, LANGUAGE, LC_*, TZ and
//! TMPDIR from golive's environment, plus what the item sets (`env`) or names (`pass_env`),
//! unless it asks for everything (`inherit_env = true`). So a secret in golive's environment
//! that the checklist never mentions cannot reach a program, and cannot be printed by one.

use crate::support as common;

use common::{Workdir, assert_outcome, fact, stderr};

const UNUSED: (&str, &str) = ("GOLIVE_TEST_UNUSED_SECRET", "unused-secret-4711");
const USED: (&str, &str) = ("GOLIVE_TEST_USED_SECRET", "used-secret-0815");
const PASSED: (&str, &str) = ("GOLIVE_TEST_PASSED", "passed-secret-2342");
const PREFIXED: (&str, &str) = ("GOLIVE_PFX_TOKEN", "prefixed-secret-1234");

fn environment() -> Vec<(&'static str, &'static str)> {
    vec![UNUSED, USED, PASSED, PREFIXED, ("LANG", "C.UTF-8"), ("LC_TIME", "C"), ("TZ", "UTC")]
}

/// A plugin that writes its environment, in a run and for `--describe`, beside itself.
const WRITES_ITS_ENV: &str = r#"#!/bin/sh
here=$(dirname "$0")
if [ "$1" = "--describe" ]; then
  env > "$here/describe.env"
  echo '{"params": [{"name": "level", "type": "string"}], "facts": [{"name": "ok", "type": "bool"}]}'
  exit 0
fi
cat >/dev/null
env > "$here/run.env"
echo '{"facts": {"ok": true}}'
"#;

#[tokio::test(flavor = "multi_thread")]
async fn programs_get_a_minimal_environment() {
    let w = Workdir::new();
    w.write_executable("plugins/env.sh", WRITES_ITS_ENV);
    w.write("backups/app-1.dump", "data");
    w.write(
        "golive.toml",
        r#"
[[item]]
id = "command-env"
probe = "command"
argv = ["env"]

[[item]]
id = "command-set"
probe = "command"
argv = ["env"]
env = { APP_TOKEN = "${env:GOLIVE_TEST_USED_SECRET}", APP_MODE = "check" }

[[item]]
id = "exec-env"
probe = "exec"
program = "plugins/env.sh"
params = { level = "info" }
expect = { ok = true }

[[item]]
id = "backup-env"
probe = "backup"
glob = "backups/*.dump"
restore_test = ["sh", "-c", "env > restore.env"]
expect = { restore_exit_code = 0 }
"#,
    );
    let out = w.run_env(&["run", "-o", "json=report.json", "--quiet"], &environment()).await;
    let text = w.read("report.json");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    for id in ["command-env", "command-set", "exec-env", "backup-env"] {
        assert_outcome(&report, id, "pass");
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let command = fact(&report, "command-env", "stdout").as_str().unwrap().to_string();
    let written = |name: &str| w.read(name);
    for (what, env) in [
        ("command", command.clone()),
        ("exec", written("plugins/run.env")),
        ("--describe", written("plugins/describe.env")),
        ("restore test", written("restore.env")),
    ] {
        for (name, value) in [UNUSED, PASSED, PREFIXED] {
            assert!(!env.contains(name) && !env.contains(value), "{what} got {name}:\n{env}");
        }
        for base in ["PATH=", "HOME=", "LANG=C.UTF-8", "LC_TIME=C", "TZ=UTC"] {
            assert!(env.lines().any(|l| l.starts_with(base)), "{what} lacks {base}:\n{env}");
        }
        assert!(!env.contains(USED.0), "{what} got the used secret's variable itself:\n{env}");
    }
    // What the item sets, it gets (a secret set from ${env:…} is masked when printed).
    let set = fact(&report, "command-set", "stdout").as_str().unwrap();
    assert!(set.lines().any(|l| l == "APP_TOKEN=***"), "{set}");
    assert!(set.lines().any(|l| l == "APP_MODE=check"), "{set}");
    let run_env = written("plugins/run.env");
    assert!(run_env.lines().any(|l| l == "GOLIVE_PLUGIN_PROTOCOL=1"), "{run_env}");
    assert!(run_env.lines().any(|l| l == "GOLIVE_PARAM_LEVEL=info"), "{run_env}");
    assert!(written("restore.env").lines().any(|l| l == "GOLIVE_BACKUP_FILE=backups/app-1.dump"));
    for (_, value) in [UNUSED, USED, PASSED, PREFIXED] {
        assert!(!text.contains(value), "{value} in the report");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pass_env_and_inherit_env_give_a_program_more_and_what_is_passed_is_masked() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"
[vars]
more = "GOLIVE_PFX_*"

[[item]]
id = "passed"
probe = "command"
argv = ["env"]
pass_env = ["GOLIVE_TEST_PASSED", "${more}"]

[[item]]
id = "inherited"
probe = "command"
argv = ["env"]
inherit_env = true
"#,
    );
    let out = w.run_env(&["run", "-o", "json=report.json", "--quiet"], &environment()).await;
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let passed = fact(&report, "passed", "stdout").as_str().unwrap();
    assert!(passed.lines().any(|l| l == "GOLIVE_TEST_PASSED=***"), "passed by name, masked:\n{passed}");
    assert!(passed.lines().any(|l| l == "GOLIVE_PFX_TOKEN=***"), "passed by prefix, masked:\n{passed}");
    assert!(!passed.contains(UNUSED.0), "{passed}");
    let inherited = fact(&report, "inherited", "stdout").as_str().unwrap();
    assert!(inherited.lines().any(|l| l.starts_with("GOLIVE_TEST_UNUSED_SECRET=")), "everything:\n{inherited}");
    assert!(item_params_hide_nothing(&report));
}

/// `pass_env` lists names, not values: the report shows it as written.
fn item_params_hide_nothing(report: &serde_json::Value) -> bool {
    common::item(report, "passed")["params"]["pass_env"] == serde_json::json!(["GOLIVE_TEST_PASSED", "GOLIVE_PFX_*"])
}

#[test]
fn a_pass_env_entry_that_is_not_a_name_is_a_diagnostic_at_its_place() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[[item]]\nid = \"c\"\nprobe = \"command\"\nargv = [\"env\"]\npass_env = [\"AWS_PROFILE\", \"NOT-A-NAME\"]\n",
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("golive.toml:5:28: error[GL003]")
            && text.contains("`pass_env`: \"NOT-A-NAME\" is not an environment variable name"),
        "{text}"
    );
}
