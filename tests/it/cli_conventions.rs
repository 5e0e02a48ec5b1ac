//! The conventions of a command-line tool: closed pipes end a command quietly, machine-readable
//! output for every listing, shell completions and man pages, `-v` logs that never show a
//! secret, `--quiet`, and `run`'s options from `GOLIVE_*` variables.

use std::process::{Command, Stdio};

use crate::support::{Workdir, stderr, stdout};

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
        (&["list", "--format", "json"], 0),
        (&["validate", "--format", "json"], 0),
        (&["checks", "--format", "json"], 0),
        (&["completions", "bash"], 0),
        (&["man", "run"], 0),
        (&["run", "--help"], 0),
        (&["--version"], 0),
        (&["keygen", "--out", "approver"], 0),
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
        .command(&["run", "-o", "json=report.json", "-vv"])
        .stdout(Stdio::from(writer))
        .stderr(Stdio::from(writer2))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(work.read("report.json").contains("\"ops.rollback\""));
}

// ---------------------------------------------------------------- machine-readable output

#[test]
fn list_prints_json_with_masked_text_and_locations() {
    let work = Workdir::new();
    work.write(
        "golive.toml",
        &format!(
            "{PENDING}\n[vars]\ntoken = \"${{env:GOLIVE_TEST_LIST_TOKEN}}\"\n\n[[item]]\nid = \"app.env\"\ntitle = \"token List-Secret-9931 set\"\nprobe = \"http\"\nurl = \"http://127.0.0.1:1/?t=${{token}}\"\ntags = [\"smoke\"]\ndepends_on = [\"app.true\"]\n"
        ),
    );
    let out = work.run_blocking(&["list", "--format", "json"], &[("GOLIVE_TEST_LIST_TOKEN", "List-Secret-9931")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("List-Secret-9931"), "{text}");
    let items: serde_json::Value = serde_json::from_str(&text).expect("list --format json is JSON");
    let items = items.as_array().unwrap();
    assert_eq!(
        items.iter().map(|i| i["id"].as_str().unwrap()).collect::<Vec<_>>(),
        ["app.true", "ops.rollback", "app.env"]
    );
    let env = &items[2];
    assert_eq!(env["title"], "token *** set");
    assert_eq!(env["probe"], "http");
    assert_eq!(env["tags"], serde_json::json!(["smoke"]));
    assert_eq!(env["depends_on"], serde_json::json!(["app.true"]));
    assert_eq!(env["location"]["file"], "golive.toml");
    assert_eq!(env["location"]["line"], 19);
    assert_eq!(items[1]["manual"], true);
    assert_eq!(items[1]["owner"], "Operations Lead");
}

#[test]
fn checks_prints_the_catalogue_and_one_check_as_json() {
    let work = Workdir::new();
    let out = work.run_blocking(&["checks", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("checks --format json is JSON");
    let checks = json["checks"].as_array().unwrap();
    let tls = checks.iter().find(|c| c["id"] == "security.tls-certificate").expect("the TLS check is listed");
    assert_eq!(tls["probe"], "tls");
    assert_eq!(tls["severity"], "critical");
    assert!(json["checklists"].as_array().unwrap().iter().any(|c| c == "go-live"), "{json}");

    let out = work.run_blocking(&["checks", "security.tls-certificate", "--format", "json"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let check: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(check["id"], "security.tls-certificate");
    assert_eq!(check["definition"]["check"]["probe"], "tls");
    assert!(check["source"].as_str().unwrap().contains("[check]"));

    let out = work.run_blocking(&["checks", "no.such-check", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_prints_checklist_errors_as_json_when_asked() {
    let work = Workdir::new();
    work.write(
        "golive.toml",
        "[checklist]\nname = \"broken\"\n\n[[item]]\nid = \"a\"\nprobe = \"http\"\nurll = \"http://127.0.0.1:1/\"\n",
    );
    let out = work.run_blocking(&["run", "--diagnostics-format", "json"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    // stderr is exactly one JSON array: the layout of `golive validate --format json`.
    let diagnostics: serde_json::Value = serde_json::from_str(stderr(&out).trim()).expect("stderr is JSON");
    let validate = work.run_blocking(&["validate", "--format", "json"], &[]);
    let expected: serde_json::Value = serde_json::from_str(&stdout(&validate)).unwrap();
    assert_eq!(diagnostics, expected);
    let first = &diagnostics[0];
    assert_eq!(first["level"], "error");
    assert!(first["code"].as_str().unwrap().starts_with("GL"), "{first}");
    assert_eq!(first["location"]["line"], 7);

    // The same from the environment, and `short` is one line per problem.
    let out = work.run_blocking(&["run"], &[("GOLIVE_DIAGNOSTICS_FORMAT", "short")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("golive.toml:7:1: error[GL"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- man pages and completions

#[test]
fn man_pages_in_docs_match_the_command_line() {
    let work = Workdir::new();
    let out = work.run_blocking(&["man", "--out-dir", "man", "--quiet"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let names = |dir: &std::path::Path| {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    };
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/man");
    let generated = names(&work.path("man"));
    assert_eq!(names(&docs), generated, "docs/man/ is out of date; regenerate it with: golive man --out-dir docs/man");
    assert!(generated.contains(&"golive-run.1".to_string()) && generated.contains(&"golive.1".to_string()));
    for name in &generated {
        let written = std::fs::read_to_string(docs.join(name)).unwrap();
        assert!(
            written == work.read(&format!("man/{name}")),
            "docs/man/{name} is out of date; regenerate it with: golive man --out-dir docs/man"
        );
    }
}

#[test]
fn man_prints_one_page_with_its_options() {
    let work = Workdir::new();
    let out = work.run_blocking(&["man", "run"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH golive-run 1"), "{page}");
    for option in [r"\-\-fail\-on", r"\-\-deadline", r"\-\-concurrency", "GOLIVE_FAIL_ON"] {
        assert!(page.contains(option), "golive man run lacks {option}");
    }
    let main = stdout(&work.run_blocking(&["man"], &[]));
    assert!(main.contains(".TH golive 1") && main.contains(r"golive\-validate(1)"), "{main}");
    let out = work.run_blocking(&["man", "runn"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("run, validate"), "{}", stderr(&out));
}

/// What bash completes for the words of `line` with golive's completion script loaded.
fn bash_completes(work: &Workdir, line: &str) -> Vec<String> {
    let script = work.path("golive.bash");
    let out = work.run_blocking(&["completions", "bash"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::write(&script, &out.stdout).unwrap();
    // The script registers `complete -F _golive golive`; call that function as bash's
    // completion does, with COMP_WORDS and COMP_CWORD set, and print what it offers.
    let program = r#"source "$1"
COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
read -r -a COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
func=$(complete -p golive | sed -E 's/.*-F ([^ ]+).*/\1/')
"$func" golive "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}""#;
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-c", program, "bash"])
        .arg(&script)
        .arg(line)
        .current_dir(work.dir.path())
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "bash: {}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn bash_completes_subcommands_and_options() {
    let work = Workdir::new();
    let mut words = bash_completes(&work, "golive r");
    words.sort();
    assert_eq!(words, ["report", "run"]);
    assert_eq!(bash_completes(&work, "golive run --fail-on-"), ["--fail-on-regression"]);
    assert_eq!(bash_completes(&work, "golive run --dea"), ["--deadline"]);
    assert_eq!(bash_completes(&work, "golive validate --form"), ["--format"]);
    let severities = bash_completes(&work, "golive run --fail-on ");
    assert!(severities.contains(&"critical".to_string()), "{severities:?}");
}

#[test]
fn every_shell_gets_a_script_that_names_the_subcommands() {
    let work = Workdir::new();
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = work.run_blocking(&["completions", shell], &[]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for sub in ["run", "validate", "checks", "completions"] {
            assert!(script.contains(sub), "the {shell} script does not name {sub}");
        }
        assert!(script.contains("fail-on"), "the {shell} script does not complete run's options");
    }
    assert!(stdout(&work.run_blocking(&["completions", "zsh"], &[])).starts_with("#compdef golive"));
    assert!(stdout(&work.run_blocking(&["completions", "fish"], &[])).contains("complete -c golive"));
    let out = work.run_blocking(&["completions", "tcsh"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------- logs and --quiet

#[tokio::test(flavor = "multi_thread")]
async fn verbose_logs_say_what_golive_does_and_never_a_secret() {
    const TOKEN: &str = "Log-Token-Secret-5521";
    const PASSWORD: &str = "Url-Password-7713";
    let server =
        crate::support::HttpServer::start(vec![crate::support::Route::new("/health").body(format!("ok {TOKEN}"))])
            .await;
    let url = server.url("/health").replace("http://", &format!("http://ops:{PASSWORD}@"));
    let work = Workdir::new();
    work.write(
        "golive.toml",
        &format!(
            r#"[checklist]
name = "logs"

[vars]
token = "${{env:GOLIVE_TEST_LOG_TOKEN}}"

[[item]]
id = "web.health"
probe = "http"
url = "{url}"
headers = {{ Authorization = "Bearer ${{token}}", X-Plain = "${{token}}" }}
expect = {{ status = 200 }}

[[item]]
id = "web.down"
probe = "tcp"
address = "127.0.0.1:{closed}"
retries = 1
retry_delay = "1ms"
severity = "low"
"#,
            closed = crate::support::closed_port()
        ),
    );
    for (args, env) in [
        (vec!["run", "-vv", "-o", "json=report.json"], vec![]),
        (vec!["run", "-o", "json=report.json"], vec![("RUST_LOG", "trace")]),
        (vec!["run", "-v", "-o", "json=report.json"], vec![("GOLIVE_LOG", "debug")]),
    ] {
        let mut env = env;
        env.push(("GOLIVE_TEST_LOG_TOKEN", TOKEN));
        let out = work.run_env(&args, &env).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?} {env:?}: {err}");
        assert!(!err.contains(TOKEN) && !err.contains(PASSWORD), "{args:?} {env:?} logged a secret: {err}");
        assert!(err.contains("checklist loaded") && err.contains("items=2"), "{args:?} {env:?}: {err}");
        assert!(err.contains("item finished") && err.contains("item=web.health"), "{err}");
        assert!(err.contains("retrying") && err.contains("item=web.down"), "{err}");
        assert!(err.contains("report written"), "{err}");
        if args.contains(&"-vv") {
            // What the item connects to, as reports show it.
            assert!(err.contains(&format!("url=http://ops:***@127.0.0.1:{}/health", server.port())), "{err}");
        }
    }
    // The secret was used: the requests carried it.
    assert!(server.requests().iter().any(|r| r.header("x-plain") == Some(TOKEN)), "{:?}", server.requests());
    // Without -v or a log variable nothing is logged.
    let out = work.run_env(&["run", "-o", "json=report.json"], &[("GOLIVE_TEST_LOG_TOKEN", TOKEN)]).await;
    assert!(!stderr(&out).contains("item finished"), "{}", stderr(&out));
}

#[test]
fn a_bad_log_filter_is_a_warning_not_a_failure() {
    let work = Workdir::new();
    work.write("golive.toml", PENDING);
    let out = work.run_blocking(&["validate"], &[("GOLIVE_LOG", "golive=loud")]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("GOLIVE_LOG=golive=loud is not a log filter"), "{}", stderr(&out));
}

#[test]
fn quiet_leaves_only_errors_on_stderr() {
    let work = Workdir::new();
    // A warning (an unset environment variable) and nothing wrong.
    work.write(
        "golive.toml",
        &format!(
            "{PENDING}\n[vars]\ntoken = \"${{env:GOLIVE_TEST_UNSET_VAR}}\"\n\n[[item]]\nid = \"app.token\"\nprobe = \"command\"\nargv = [\"true\", \"${{token}}\"]\n"
        ),
    );
    work.write("pending.toml", PENDING);
    let cases: [&[&str]; 4] =
        [&["validate"], &["list"], &["run", "pending.toml", "-o", "json=report.json"], &["man", "--out-dir", "man"]];
    for args in cases {
        let loud = work.run_blocking(args, &[]);
        assert!(!stderr(&loud).is_empty(), "golive {args:?} says something without --quiet");
        let mut quiet_args = args.to_vec();
        quiet_args.push("--quiet");
        let quiet = work.run_blocking(&quiet_args, &[]);
        assert_eq!(quiet.status.code(), loud.status.code(), "{args:?}");
        assert_eq!(stderr(&quiet), "", "golive {args:?} --quiet");
        // -q before the subcommand works too.
        let mut before = vec!["-q"];
        before.extend_from_slice(args);
        assert_eq!(stderr(&work.run_blocking(&before, &[])), "", "golive -q {args:?}");
    }
    // A RUST_LOG meant for the service being checked does not make a quiet golive talk;
    // GOLIVE_LOG, golive's own, still does.
    let out = work.run_blocking(&["run", "pending.toml", "-o", "json=report.json", "-q"], &[("RUST_LOG", "trace")]);
    assert_eq!(stderr(&out), "");
    let out =
        work.run_blocking(&["run", "pending.toml", "-o", "json=report.json", "-q"], &[("GOLIVE_LOG", "golive=info")]);
    assert!(stderr(&out).contains("item finished"), "{}", stderr(&out));
    // Errors are still said.
    work.write("broken.toml", "[checklist]\nnme = 1\n");
    let out = work.run_blocking(&["validate", "broken.toml", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error["), "{}", stderr(&out));
    // -q and -v contradict each other.
    assert_eq!(work.run_blocking(&["validate", "-q", "-v"], &[]).status.code(), Some(2));
}

// ---------------------------------------------------------------- GOLIVE_* variables

#[test]
fn run_options_come_from_golive_variables() {
    let work = Workdir::new();
    work.write("golive.toml", PENDING);
    // The pending manual item is high: it blocks at the default threshold, not at critical.
    let out = work.run_blocking(&["run", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let out = work.run_blocking(
        &["run", "--quiet"],
        &[
            ("GOLIVE_FAIL_ON", "critical"),
            ("GOLIVE_OUTPUT", "json=report.json,markdown=report.md"),
            ("GOLIVE_CONCURRENCY", "3"),
            ("GOLIVE_DEADLINE", "5m"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "both outputs went to files");
    let report: serde_json::Value = serde_json::from_str(&work.read("report.json")).unwrap();
    assert_eq!(report["gate"]["passed"], true);
    assert_eq!(report["options"]["concurrency"], 3);
    assert!(work.read("report.md").contains("ops.rollback"));
    // The command line wins over the environment.
    let out = work.run_blocking(&["run", "--quiet", "--fail-on", "high"], &[("GOLIVE_FAIL_ON", "critical")]);
    assert_eq!(out.status.code(), Some(1));
    // A bad value from the environment is a command-line error, naming the variable.
    for (name, value) in
        [("GOLIVE_CONCURRENCY", "0"), ("GOLIVE_DEADLINE", "soon"), ("GOLIVE_FAIL_ON", "hgh"), ("GOLIVE_THREADS", "0")]
    {
        let out = work.run_blocking(&["run", "--quiet"], &[(name, value)]);
        assert_eq!(out.status.code(), Some(2), "{name}={value}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
        assert!(stderr(&out).contains(&format!("comes from the environment variable {name}")), "{}", stderr(&out));
    }
    // A bad value typed on the command line is not blamed on the variable.
    let out = work.run_blocking(&["run", "--concurrency", "0"], &[("GOLIVE_CONCURRENCY", "3")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!stderr(&out).contains("environment variable"), "{}", stderr(&out));
}

/// `--threads auto` runs a small checklist on one thread and a large one on every core;
/// a number is taken as asked; `-v` says which and why (docs/cli.md#threads).
#[test]
fn the_probe_threads_follow_the_run_s_work_or_the_option() {
    let work = Workdir::new();
    work.write("golive.toml", PENDING);
    // 130 `tls` items (about 250 µs of golive's CPU each, estimated): more than one thread's
    // worth. They end at once (nothing listens on port 1).
    let mut large = String::from("[checklist]\nname = \"large\"\n");
    for i in 0..130 {
        large.push_str(&format!(
            "\n[[item]]\nid = \"tls.{i}\"\nprobe = \"tls\"\naddress = \"127.0.0.1:1\"\nexpect = {{ chain_trusted = true }}\n"
        ));
    }
    work.write("large.toml", &large);
    let chosen = |args: &[&str]| {
        let mut all = vec!["run", "-v", "-o", "json=report.json"];
        all.extend_from_slice(args);
        let out = work.run_blocking(&all, &[]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let line =
            err.lines().find(|l| l.contains("probe threads chosen")).unwrap_or_else(|| panic!("{args:?}: {err}"));
        let threads = line.split("threads=").nth(1).and_then(|t| t.split_whitespace().next()).unwrap().to_string();
        let report: serde_json::Value = serde_json::from_str(&work.read("report.json")).unwrap();
        (threads, report["summary"]["total"].as_u64().unwrap())
    };
    assert_eq!(chosen(&[]), ("1".to_string(), 2));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let expected = if cores > 1 { cores.to_string() } else { "1".to_string() };
    assert_eq!(chosen(&["large.toml"]), (expected, 130));
    assert_eq!(chosen(&["large.toml", "--threads", "1"]), ("1".to_string(), 130));
    // Items the filters leave out cost nothing: one `tls` item picked from the 130 is a
    // one-thread run.
    assert_eq!(chosen(&["large.toml", "--only", "tls.0"]).0, "1");
    assert_eq!(chosen(&["--threads", "3"]), ("3".to_string(), 2));
    let out = work.run_blocking(&["run", "--threads", "many"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected auto or a number of threads from 1 to 1024"), "{}", stderr(&out));
}
