//! `golive validate` and load-time errors: every problem in every file at once, each at its
//! file:line:column with a stable code and a hint; exit 2 for an invalid checklist.

use crate::support as common;

use assert_cmd::Command;
use common::Workdir;

fn golive(w: &Workdir) -> Command {
    let mut c = Command::cargo_bin("golive").unwrap();
    c.current_dir(w.dir.path()).env("CI", "true");
    c
}

const ROOT: &str = r#"[checklist]
name = "broken"
include = ["db.toml"]

[[item]]
id = "infra.health"
probe = "http"
url = "https://api.example.test/health"
timout = "5s"
expect = { status = 200, statuss = 200, latency = "fast" }

[[item]]
id = "security.tls"
probe = "tls"
address = "api.example.test:443"
expect = { days_left = ">= 30", hostname_valid = "yes" }

[[item]]
id = "db.reachable"
probe = "tcp"
address = "db:5432"
depends_on = ["db.reachble"]

[[item]]
id = "app.a"
probe = "tcp"
address = "a:1"
depends_on = ["app.b"]

[[item]]
id = "app.b"
probe = "tcp"
address = "b:1"
depends_on = ["app.a"]

[[item]]
id = "x.probe"
probe = "htp"
"#;

const DB: &str = r#"[[item]]
id = "db.reachable"
probe = "tcp"
address = "db:5432"
"#;

#[test]
fn every_problem_is_reported_at_once_with_positions_and_hints() {
    let w = Workdir::new();
    w.write("golive.toml", ROOT);
    w.write("db.toml", DB);
    let out = golive(&w).args(["validate", "--format", "short"]).assert().code(2);
    let text = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let expected = [
        "golive.toml:9:1: error[GL002]: unknown key `timout` in item `infra.health` (hint: did you mean `timeout`?)",
        "golive.toml:10:26: error[GL006]: item `infra.health`: probe `http` has no fact `statuss` (hint: did you mean `status`?",
        "golive.toml:10:51: error[GL007]: item `infra.health`: `latency` (duration): `fast` is not a duration",
        "golive.toml:16:12: error[GL006]: item `security.tls`: probe `tls` has no fact `days_left` (hint: did you mean `days_remaining`? its facts are: days_remaining, chain_min_days_remaining",
        "golive.toml:16:50: error[GL007]: item `security.tls`: `hostname_valid` (bool): \"yes\" does not fit a bool fact (hint: write true or false without quotes)",
        "golive.toml:38:9: error[GL005]: item `x.probe`: unknown probe `htp` (hint: did you mean `http`?)",
        "error[GL008]: duplicate item id `db.reachable`",
        "golive.toml:22:14: error[GL009]: item `db.reachable`: `depends_on` names unknown item `db.reachble` (hint: did you mean `db.reachable`?)",
        "error[GL010]: dependency cycle: app.a → app.b → app.a",
    ];
    for e in expected {
        assert!(text.contains(e), "missing {e:?} in:\n{text}");
    }
    assert!(text.contains("invalid: 9 errors"), "{text}");
}

#[test]
fn duplicate_ids_across_files_name_both_locations() {
    let w = Workdir::new();
    w.write("golive.toml", ROOT);
    w.write("db.toml", DB);
    let out = golive(&w).args(["validate", "--format", "json"]).assert().code(2);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let dup = json.as_array().unwrap().iter().find(|d| d["code"] == "GL008").expect("GL008 reported");
    let places = [dup["location"]["file"].as_str().unwrap(), dup["related"][0]["location"]["file"].as_str().unwrap()];
    assert!(places.contains(&"golive.toml") && places.contains(&"db.toml"), "{dup}");
    assert_eq!(dup["related"][0]["message"], "first defined here");
}

#[test]
fn text_diagnostics_underline_the_offending_key() {
    let w = Workdir::new();
    w.write("golive.toml", "[[item]]\nid = \"a\"\nprobe = \"tcp\"\naddress = \"x:1\"\ntimout = \"5s\"\n");
    let out = golive(&w).arg("validate").assert().code(2);
    let text = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(text.contains("error[GL002]: unknown key `timout` in item `a`"), "{text}");
    assert!(text.contains("┌─ golive.toml:5:1"), "{text}");
    assert!(text.contains("5 │ timout = \"5s\""), "{text}");
    assert!(text.contains("^^^^^^"), "{text}");
    assert!(text.contains("hint: did you mean `timeout`?"), "{text}");
}

#[test]
fn include_cycles_missing_includes_and_syntax_errors() {
    let w = Workdir::new();
    w.write("a.toml", "[checklist]\ninclude = [\"b.toml\", \"missing.toml\"]\n");
    w.write("b.toml", "[checklist]\ninclude = [\"a.toml\"]\n");
    w.write("bad.toml", "[[item]]\nid = \"x\nprobe = 1\n");
    let out = golive(&w).args(["validate", "--format", "short", "a.toml", "bad.toml"]).assert().code(2);
    let text = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(text.contains("error[GL012]: include cycle: a.toml → b.toml → a.toml"), "{text}");
    assert!(text.contains("b.toml:2:12: error[GL012]"), "{text}");
    assert!(text.contains("a.toml:2:22: error[GL011]: cannot read included file"), "{text}");
    assert!(text.contains("bad.toml:2:8: error[GL001]: invalid TOML"), "{text}");
}

#[test]
fn matcher_types_and_operators_are_checked() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"[[item]]
id = "a"
probe = "http"
url = "http://127.0.0.1:1/"
expect = { status = "200", body = { containz = "ok" }, latency = 500, headers = { server = { includes = ["x"] } } }
"#,
    );
    let out = golive(&w).args(["validate", "--format", "short"]).assert().code(2);
    let text = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        text.contains("`status` (integer): \"200\" does not fit a integer fact")
            || text.contains("`status` (integer): \"200\" does not fit an integer fact"),
        "{text}"
    );
    assert!(text.contains("unknown matcher `containz`") && text.contains("did you mean `contains`?"), "{text}");
    assert!(text.contains("`latency` (duration): 500 does not fit a duration fact"), "{text}");
    assert!(text.contains("`includes` applies to list facts"), "{text}");
}

#[test]
fn vars_env_and_run_time_values() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"[vars]
api = { description = "base URL of the API" }
[[item]]
id = "a"
probe = "http"
url = "${api}/health"
headers = { Authorization = "Bearer ${env:GOLIVE_TEST_UNSET_TOKEN}" }
[[item]]
id = "b"
probe = "tcp"
address = "${apx}:1"
"#,
    );
    // validate: the unknown var is an error; values only known at run time are warnings.
    let out = golive(&w).args(["validate", "--format", "short"]).assert().code(2);
    let text = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(text.contains("error[GL013]: unknown var `apx` (hint: did you mean `api`?)"), "{text}");
    assert!(text.contains("warning[GL016]: var `api` has no value"), "{text}");
    assert!(text.contains("warning[GL014]: environment variable `GOLIVE_TEST_UNSET_TOKEN` is not set"), "{text}");

    // run: missing values are errors, exit 2, nothing runs.
    w.write("ok.toml", "[vars]\napi = { description = \"base URL\" }\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurl = \"${api}/health\"\n");
    let out = golive(&w).args(["run", "ok.toml"]).assert().code(2);
    let text = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(text.contains("error[GL016]: var `api` has no value") && text.contains("pass --var api="), "{text}");
    assert!(text.contains("nothing was run"), "{text}");
    golive(&w).args(["validate", "ok.toml", "--var", "api=http://127.0.0.1:1"]).assert().code(0);
    golive(&w).args(["validate", "ok.toml", "--strict"]).assert().code(2);
}

#[test]
fn conflicting_vars_from_two_includes_are_an_error() {
    let w = Workdir::new();
    w.write("root.toml", "[checklist]\ninclude = [\"a.toml\", \"b.toml\"]\n");
    w.write("a.toml", "[vars]\nhost = \"a.example\"\n");
    w.write("b.toml", "[vars]\nhost = \"b.example\"\n");
    let out = golive(&w).args(["validate", "--format", "short", "root.toml"]).assert().code(2);
    let text = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(text.contains("error[GL015]: var `host` is given two different values"), "{text}");
    // So does --var.
    golive(&w).args(["validate", "root.toml", "--var", "host=cli.example"]).assert().code(0);
    // The including file settles it.
    w.write("root.toml", "[checklist]\ninclude = [\"a.toml\", \"b.toml\"]\n[vars]\nhost = \"root.example\"\n");
    golive(&w).args(["validate", "root.toml"]).assert().code(0);
}

#[test]
fn a_valid_checklist_validates_and_lists() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[checklist]\nname = \"ok\"\n[defaults]\nseverity = \"medium\"\n[[item]]\nid = \"a\"\ntitle = \"Port open\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:1\"\ntags = [\"net\"]\n",
    );
    let out = golive(&w).arg("validate").assert().code(0);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("valid: 1 item in 1 file"));
    let out = golive(&w).arg("list").assert().code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("Port open") && text.contains("medium") && text.contains("net"), "{text}");
}

#[test]
fn command_line_errors_exit_2() {
    let w = Workdir::new();
    golive(&w).args(["run", "--fail-on", "severe"]).assert().code(2);
    golive(&w).args(["run", "--output", "xml"]).assert().code(2);
    golive(&w).args(["run", "missing.toml"]).assert().code(2);
    w.write("golive.toml", "[[item]]\nid = \"a\"\nprobe = \"manual\"\n");
    golive(&w).args(["run", "--output", "table", "--output", "json"]).assert().code(2);
    golive(&w).args(["run", "--only", "nope"]).assert().code(2);
}

#[test]
fn probes_are_described_from_their_declarations() {
    let w = Workdir::new();
    let out = golive(&w).args(["probes", "tls"]).assert().code(0);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("days_remaining") && text.contains("server_name") && text.contains("ca_file"), "{text}");
    let out = golive(&w).args(["probes", "--format", "json"]).assert().code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let kinds: Vec<&str> = json.as_array().unwrap().iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds[..5], ["http", "tcp", "dns", "tls", "postgres"]);
    assert_eq!(kinds.last(), Some(&"manual"), "manual items come last");
    for kind in
        ["file", "env", "command", "host", "redis", "ports", "sshd", "secrets_scan", "systemd", "backup", "exec"]
    {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    golive(&w).args(["probes", "nope"]).assert().code(2);
}
