//! Masking in every output (issue 11, findings 8, 9, 10): URL passwords a server sends back
//! (redirects, headers) are masked known or not; secrets that spell common words (`probe`,
//! `error`, `true`, `id`) are masked in values and free text but never in keys, markup or
//! fixed words, so every format still parses (JSON against its schema, JUnit with
//! junitparser, HTML with Python's parser); and a secret planted through `${env:…}` shows in
//! no command's output.

use crate::support;

use std::collections::BTreeSet;
use std::process::{Command, Output};

use base64::Engine as _;
use serde_json::Value;
use support::{HttpServer, Route, Workdir, assert_outcome, fact, item, stderr, stdout};

/// Every text output of a run in `w`: stdout and stderr of each command, and every file.
pub(crate) fn everything(w: &Workdir, outputs: &[(&str, &Output)]) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = outputs
        .iter()
        .flat_map(|(what, o)| [(format!("{what} stdout"), stdout(o)), (format!("{what} stderr"), stderr(o))])
        .collect();
    for entry in std::fs::read_dir(w.dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            // A signed report carries the report base64-encoded: search it decoded too.
            if let Ok(json) = serde_json::from_str::<Value>(&text) {
                for payload in payloads(&json) {
                    all.push((format!("{} payload", path.display()), payload));
                }
            }
            all.push((path.display().to_string(), text));
        }
    }
    all
}

/// The decoded `payload` of every DSSE envelope in a JSON document.
fn payloads(json: &Value) -> Vec<String> {
    let mut found = Vec::new();
    match json {
        Value::Object(map) => {
            if let Some(Value::String(p)) = map.get("payload")
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(p)
            {
                found.push(String::from_utf8_lossy(&bytes).into_owned());
            }
            map.values().for_each(|v| found.extend(payloads(v)));
        }
        Value::Array(items) => items.iter().for_each(|v| found.extend(payloads(v))),
        _ => {}
    }
    found
}

pub(crate) fn assert_nowhere(all: &[(String, String)], secrets: &[&str]) {
    for (what, text) in all {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
        }
    }
}

fn keygen_and_sign(w: &Workdir, report: &str) -> (Output, Output) {
    let out = w.run_blocking(&["keygen", "--out", "ann"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w.write("keyring.toml", "[roles]\n\"Technical Lead\" = [\"ann.pub\"]\n");
    let sign = w.run_blocking(
        &[
            "sign",
            report,
            "--role",
            "Technical Lead",
            "--name",
            "Ann Lee",
            "--key",
            "ann.key",
            "--acknowledge-failed-gate",
        ],
        &[],
    );
    assert_eq!(sign.status.code(), Some(0), "{}", stderr(&sign));
    let signed = report.replace(".json", ".signed.json");
    let verify = w.run_blocking(&["verify", &signed, "--keys", "keyring.toml"], &[]);
    (sign, verify)
}

#[tokio::test(flavor = "multi_thread")]
async fn url_passwords_and_cookies_a_server_sends_are_masked_in_every_output() {
    // The landing URL is on the same server; the redirect gives it a password.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let landing = format!("http://deploy:Redirect-pw-8812@127.0.0.1:{port}/landing");
    let server = HttpServer::start(vec![
        Route::redirect("/go", &landing, 302)
            .header("content-location", "ftp://mirror:Mirror-pw-3301@files.example.test/pub")
            .header("link", "<https://bot:Link-pw-7720@api.example.test/next>; rel=next")
            .header("set-cookie", "session=Cookie-val-5521; Path=/; HttpOnly")
            .header("set-cookie", "csrf=Cookie-val-9034; Secure"),
        Route::new("/landing").body("landed"),
    ])
    .await;
    let go = server.url("/go");
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            r#"[checklist]
name = "redirects"

[signoff]
roles = ["Technical Lead"]

[[item]]
id = "redirect"
probe = "http"
url = "{go}"
expect = {{ status = 302, redirect_location = {{ contains = "/landing" }}, "headers.location" = {{ contains = "deploy:" }} }}

[[item]]
id = "redirect-fails"
probe = "http"
url = "{go}"
expect = {{ redirect_location = "https://elsewhere.example/", "headers.content-location" = "x", "headers.link" = "y" }}

[[item]]
id = "cookies"
probe = "http"
url = "{go}"
expect = {{ "headers.set-cookie" = {{ contains = "HttpOnly" }} }}

[[item]]
id = "cookies-fail"
probe = "http"
url = "{go}"
expect = {{ "headers.set-cookie" = {{ contains = "SameSite" }} }}
"#
        ),
    );
    let run = w
        .run(&[
            "run",
            "-o",
            "table",
            "-o",
            "json=report.json",
            "-o",
            "junit=junit.xml",
            "-o",
            "markdown=report.md",
            "-o",
            "html=report.html",
        ])
        .await;
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "redirect", "pass");
    assert_outcome(&report, "cookies", "pass");
    assert_outcome(&report, "redirect-fails", "fail");
    assert_outcome(&report, "cookies-fail", "fail");
    // Shown masked, matched as sent.
    assert_eq!(
        fact(&report, "redirect", "redirect_location"),
        &Value::from(format!("http://deploy:***@127.0.0.1:{port}/landing"))
    );
    assert_eq!(fact(&report, "redirect", "headers.location"), fact(&report, "redirect", "redirect_location"));
    assert_eq!(fact(&report, "redirect-fails", "headers.content-location"), "ftp://mirror:***@files.example.test/pub");
    assert_eq!(fact(&report, "cookies", "headers.set-cookie"), "session=***; Path=/; HttpOnly, csrf=***; Secure");
    let (sign, verify) = keygen_and_sign(&w, "report.json");
    let rendered = w.run_blocking(&["report", "report.signed.json", "-o", "html=again.html", "-o", "markdown"], &[]);
    assert_eq!(rendered.status.code(), Some(0), "{}", stderr(&rendered));
    let all = everything(&w, &[("run", &run), ("sign", &sign), ("verify", &verify), ("report", &rendered)]);
    assert!(all.iter().any(|(what, _)| what.ends_with("payload")), "the signed payload was searched");
    assert_nowhere(&all, &["Redirect-pw-8812", "Mirror-pw-3301", "Link-pw-7720", "Cookie-val-5521", "Cookie-val-9034"]);
}

/// Runs python3 with a script and arguments; panics with its output unless it succeeds.
fn python(script: &str, args: &[&std::path::Path]) -> String {
    let out = Command::new("python3").arg("-c").arg(script).args(args).output().expect("python3 runs");
    assert!(
        out.status.success(),
        "python failed (./scripts/test.sh installs what it needs):\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

const JUNIT_CHECK: &str = "import sys\nfrom junitparser import JUnitXml\nxml = JUnitXml.fromfile(sys.argv[1])\nprint(sum(1 for s in xml for c in s), sum(s.errors for s in xml), sum(s.failures for s in xml))";

/// Parses HTML with Python's parser and prints the start tags' counts by name, failing on
/// an end tag that closes nothing open.
const HTML_CHECK: &str = r#"
import sys, json
from html.parser import HTMLParser
VOID = {"meta", "link", "br", "hr", "img", "input", "col", "wbr", "source"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.counts = {}
    def handle_starttag(self, tag, attrs):
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in VOID: self.stack.append(tag)
    def handle_endtag(self, tag):
        if tag not in self.stack: raise SystemExit(f"</{tag}> closes nothing")
        while self.stack.pop() != tag: pass
p = P(); p.feed(open(sys.argv[1]).read()); p.close()
if p.stack: raise SystemExit(f"unclosed: {p.stack}")
print(json.dumps(p.counts, sort_keys=True))
"#;

/// The keys of every object in a JSON document, with their paths (array indexes dropped).
fn key_paths(json: &Value, path: &str, out: &mut BTreeSet<String>) {
    match json {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}/{k}");
                out.insert(here.clone());
                key_paths(v, &here, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| key_paths(v, path, out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_that_spell_common_words_mask_values_never_keys_or_markup() {
    let server =
        HttpServer::start(vec![Route::new("/echo").status(500).body("internal error: the probe said true")]).await;
    let echo = server.url("/echo").replace("http://", "");
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            r#"[checklist]
name = "weak secrets"
description = "a checklist whose secrets are ordinary words"

[signoff]
roles = ["Technical Lead"]

[vars]
user_pw = "${{env:GL_WEAK_PROBE}}"
token = "${{env:GL_WEAK_ERROR}}"
flag = "${{env:GL_WEAK_TRUE}}"
short = "${{env:GL_WEAK_ID}}"

[[item]]
id = "web.echo"
title = "the probe page answers"
description = "fails with an error, as the server says"
probe = "http"
url = "http://ops:${{user_pw}}@{echo}?t=${{token}}"
headers = {{ "X-Flag" = {{ value = "${{flag}}", secret = true }}, "X-Short" = {{ value = "${{short}}", secret = true }} }}
expect = {{ status = 200, body = {{ contains = "ok" }} }}

[[item]]
id = "tls.bad-ca"
title = "TLS with a missing CA file"
probe = "tls"
address = "127.0.0.1:1"
ca_file = "no-such-ca.pem"

[[item]]
id = "ops.manual"
title = "someone checked the error budget"
probe = "manual"
owner = "Ops"
"#
        ),
    );
    // The same checklist with secrets that spell nothing: what the structure must be.
    let strong = [
        ("GL_WEAK_PROBE", "Strong-pw-7741"),
        ("GL_WEAK_ERROR", "Strong-tok-2209"),
        ("GL_WEAK_TRUE", "Strong-flag-5536"),
        ("GL_WEAK_ID", "Strong-id-8820"),
    ];
    let weak = [("GL_WEAK_PROBE", "probe"), ("GL_WEAK_ERROR", "error"), ("GL_WEAK_TRUE", "true"), ("GL_WEAK_ID", "id")];
    let outputs = [
        "-o",
        "json=report.json",
        "-o",
        "junit=junit.xml",
        "-o",
        "html=report.html",
        "-o",
        "markdown=report.md",
        "-o",
        "table",
    ];
    let mut runs = Vec::new();
    for (name, env) in [("strong", &strong), ("weak", &weak)] {
        // No history store: the second run's HTML would show the first run in its history
        // strip, and the shapes compared below are those of one run each.
        let mut args = vec!["run", "--no-store"];
        args.extend_from_slice(&outputs);
        let run = w.run_env(&args, env).await;
        assert_eq!(run.status.code(), Some(1), "{name}: {}", stderr(&run));
        let validate_text = w.run_env(&["validate"], env).await;
        let validate_json = w.run_env(&["validate", "--format", "json"], env).await;
        let list = w.run_env(&["list"], env).await;
        let dir = w.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["report.json", "junit.xml", "report.html", "report.md"] {
            std::fs::rename(w.path(file), dir.join(file)).unwrap();
        }
        runs.push((name, run, validate_text, validate_json, list, dir));
    }
    let mut shapes = Vec::new();
    for (name, run, validate_text, validate_json, list, dir) in &runs {
        support::assert_report_matches_schema(&dir.join("report.json"));
        let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
        for (id, outcome) in [("web.echo", "fail"), ("tls.bad-ca", "error"), ("ops.manual", "manual")] {
            assert_outcome(&report, id, outcome);
            assert!(item(&report, id)["probe"].as_str().is_some(), "{name}: the `probe` key is there");
        }
        assert_eq!(report["summary"]["error"], 1, "{name}");
        assert_eq!(fact(&report, "web.echo", "status"), 500);
        let mut keys = BTreeSet::new();
        key_paths(&report, "", &mut keys);
        let junit = python(JUNIT_CHECK, &[&dir.join("junit.xml")]);
        assert_eq!(junit.trim(), "3 1 1", "{name}: 3 cases, 1 error, 1 failure");
        let html = python(HTML_CHECK, &[&dir.join("report.html")]);
        let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
        let markdown_rows = markdown.lines().filter(|l| l.starts_with('|')).count();
        let table = stdout(run);
        assert!(table.contains("error") && table.contains("fail"), "{name}: outcomes in the table:\n{table}");
        let diagnostics: Value = serde_json::from_str(&stdout(validate_json)).unwrap();
        assert!(diagnostics.as_array().unwrap().iter().all(|d| d["level"] == "warning" || d["level"] == "error"));
        assert_eq!(validate_text.status.code(), Some(0), "{}", stderr(validate_text));
        assert!(stderr(validate_text).contains("valid: 3 items"), "{}", stderr(validate_text));
        assert!(stdout(list).contains("Probe") && stdout(list).contains("3 items"), "{}", stdout(list));
        shapes.push((keys, html, markdown_rows, table.lines().count() > 5));
    }
    assert_eq!(shapes[0].0, shapes[1].0, "the JSON report has the same keys whatever the secrets spell");
    assert_eq!(shapes[0].1, shapes[1].1, "the HTML report has the same elements");
    assert_eq!(shapes[0].2, shapes[1].2, "the Markdown report has the same table rows");

    // Complete for values and free text: the weak secrets are masked where they are values.
    let weak_report: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("weak/report.json")).unwrap()).unwrap();
    let echo_item = item(&weak_report, "web.echo");
    let url = echo_item["params"]["url"].as_str().unwrap();
    assert!(url.starts_with("http://ops:***@") || url.contains("${"), "{url}");
    assert_eq!(echo_item["params"]["headers"]["X-Flag"], "***");
    assert_eq!(echo_item["params"]["headers"]["X-Short"], "***", "a 2-letter secret is masked where it is known");
    assert_eq!(echo_item["title"], "the *** page answers");
    let body = fact(&weak_report, "web.echo", "body").as_str().unwrap();
    assert_eq!(body, "internal ***: the *** said ***");
    let strong_report: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("strong/report.json")).unwrap()).unwrap();
    assert_eq!(item(&strong_report, "web.echo")["title"], "the probe page answers");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_planted_through_env_shows_in_no_command_output() {
    const PLANTED: &str = "Planted-Secret-4417";
    let server = HttpServer::start(vec![Route::new("/health").body(format!("ok, token {PLANTED} echoed"))]).await;
    let health = server.url("/health");
    let w = Workdir::new();
    // The secret reaches the checklist through the environment, and is also typed into
    // every kind of text a checklist holds.
    w.write(
        "golive.toml",
        &format!(
            r#"[checklist]
name = "release {PLANTED}"
description = "built with {PLANTED}"

[signoff]
roles = ["Technical Lead"]

[vars]
token = "${{env:GOLIVE_PLANTED}}"

[[item]]
id = "web.health"
section = "web {PLANTED}"
title = "health answers {PLANTED} ${{env:GOLIVE_PLANTED_UNSET}}"
description = "uses {PLANTED}"
owner = "owner {PLANTED}"
references = ["https://wiki.example/{PLANTED}"]
tags = ["tag-{PLANTED}"]
probe = "http"
url = "{health}"
headers = {{ Authorization = "Bearer ${{token}}" }}
expect = {{ body = {{ contains = "nothing like {PLANTED}" }} }}

[[item]]
id = "ops.rollback"
title = "rollback tested ({PLANTED})"
probe = "manual"
owner = "Ops {PLANTED}"

[[waiver]]
item = "web.health"
reason = "known, see {PLANTED}"
approved_by = "CTO {PLANTED}"
until = "2099-12-31"
"#
        ),
    );
    let env = [("GOLIVE_PLANTED", PLANTED)];
    let list = w.run_env(&["list"], &env).await;
    assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
    assert!(stdout(&list).contains("web.health"), "{}", stdout(&list));
    let validate = w.run_env(&["validate"], &env).await;
    assert!(stderr(&validate).contains("GL014"), "the unset variable warns, quoting the line: {}", stderr(&validate));
    let validate_short = w.run_env(&["validate", "--format", "short"], &env).await;
    let validate_json = w.run_env(&["validate", "--format", "json"], &env).await;
    let attest = w
        .run_env(
            &["attest", "ops.rollback", "--by", &format!("Dana {PLANTED}"), "--evidence", &format!("ticket {PLANTED}")],
            &env,
        )
        .await;
    assert_eq!(attest.status.code(), Some(0), "{}", stderr(&attest));
    let run_env = [("GOLIVE_PLANTED", PLANTED), ("GOLIVE_PLANTED_UNSET", "set")];
    let run = w
        .run_env(
            &[
                "run",
                "-o",
                "table",
                "-o",
                "json=report.json",
                "-o",
                "junit=junit.xml",
                "-o",
                "markdown=report.md",
                "-o",
                "html=report.html",
            ],
            &run_env,
        )
        .await;
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "web.health", "waived");
    assert_outcome(&report, "ops.rollback", "manual");
    // With the other variable unset the run refuses, quoting the line: masked too.
    let refused = w.run_env(&["run", "-o", "json=refused.json"], &env).await;
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("health answers *******************"), "{}", stderr(&refused));
    let (sign, verify) = keygen_and_sign(&w, "report.json");
    let rendered = w.run_blocking(
        &["report", "report.signed.json", "-o", "table", "-o", "html=again.html", "-o", "junit=again.xml"],
        &[],
    );
    let checks = w.run_env(&["checks"], &env).await;
    let all = everything(
        &w,
        &[
            ("list", &list),
            ("validate", &validate),
            ("validate --format short", &validate_short),
            ("validate --format json", &validate_json),
            ("attest", &attest),
            ("run", &run),
            ("run without the variable", &refused),
            ("sign", &sign),
            ("verify", &verify),
            ("report", &rendered),
            ("checks", &checks),
        ],
    );
    // The checklist itself holds the secret as typed; no output may, the attestations file
    // golive wrote included.
    let outputs: Vec<(String, String)> = all.into_iter().filter(|(what, _)| !what.ends_with("golive.toml")).collect();
    assert!(outputs.iter().any(|(what, _)| what.ends_with("attestations.toml")), "the attestations file is searched");
    assert_nowhere(&outputs, &[PLANTED, "Planted-Secret"]);
    assert!(stdout(&list).contains("health answers ***"), "{}", stdout(&list));
}

/// `${file:PATH}` (a Kubernetes or Docker secret mounted as a file): the contents, without
/// the trailing newline, are what the probe sends; every output shows `${file:PATH}`, never
/// the contents; a relative PATH is relative to the checklist file; a missing file is a
/// warning in `validate` and an error in `run`.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_read_from_a_file_is_used_and_shown_nowhere() {
    const TOKEN: &str = "golive-file-secret-5b1e27";
    let server = HttpServer::start(vec![Route::new("/")]).await;
    let w = Workdir::new();
    w.write("deploy/secrets/api-token", &format!("{TOKEN}\n"));
    w.write(
        "deploy/golive.toml",
        &format!(
            "[vars]\ntoken = \"${{file:secrets/api-token}}\"\n[[item]]\nid = \"token\"\ntitle = \"API answers with token ${{token}}\"\nprobe = \"http\"\nurl = \"{}\"\nheaders = {{ X-Deploy = {{ value = \"Bearer ${{token}}\", secret = false }} }}\n",
            server.url("/")
        ),
    );
    let run =
        w.run(&["run", "deploy/golive.toml", "--output", "json=report.json", "--output", "junit=report.xml"]).await;
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let sent: Vec<String> = server.requests().iter().filter_map(|r| r.header("x-deploy").map(str::to_string)).collect();
    assert_eq!(sent, [format!("Bearer {TOKEN}")], "the file's contents, without the newline");
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "token", "pass");
    assert_eq!(item(&report, "token")["title"], "API answers with token ${file:secrets/api-token}");
    let validate = w.run_blocking(&["validate", "deploy/golive.toml"], &[]);
    for (what, text) in everything(&w, &[("run", &run), ("validate", &validate)]) {
        assert!(!text.contains(TOKEN), "{what} shows the file's secret");
    }

    w.write("missing.toml", "[[item]]\nid = \"m\"\nprobe = \"env\"\nname = \"${file:nope/token}\"\n");
    let validate = w.run_blocking(&["validate", "missing.toml"], &[]);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    assert!(stderr(&validate).contains("warning[GL014]: secret file"), "{}", stderr(&validate));
    let run = w.run_blocking(&["run", "missing.toml"], &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("error[GL014]: secret file") && stderr(&run).contains("nope/token"),
        "{}",
        stderr(&run)
    );
}

/// A var whose value a secret manager's client prints (`{ command = [...] }`): the program
/// runs once in `run`, from the checklist's directory, with its `pass_env` only; its output
/// is what the probe sends and is shown nowhere (every output, `validate` included, which
/// never runs it); a failing command is GL014 at the var, exit 2, nothing run.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_printed_by_a_command_is_used_and_shown_nowhere() {
    const TOKEN: &str = "golive-command-secret-7c41";
    let server = HttpServer::start(vec![Route::new("/")]).await;
    let w = Workdir::new();
    // A stand-in for `vault kv get -field=token …`: reads its credential from the one
    // variable it is given, and records each run.
    w.write_executable(
        "deploy/bin/vault",
        "#!/bin/sh\necho run >> runs.log\n[ -n \"$VAULT_TOKEN\" ] || { echo 'missing VAULT_TOKEN' >&2; exit 2; }\n[ -z \"$CI_JOB_TOKEN\" ] || { echo 'saw CI_JOB_TOKEN' >&2; exit 3; }\necho \"$1-7c41\"\n",
    );
    w.write(
        "deploy/golive.toml",
        &format!(
            "[vars]\ntoken = {{ description = \"API token\", command = [\"./bin/vault\", \"golive-command-secret\"], pass_env = [\"VAULT_TOKEN\"] }}\n[[item]]\nid = \"token\"\ntitle = \"API answers with token ${{token}}\"\nprobe = \"http\"\nurl = \"{}\"\nheaders = {{ X-Deploy = {{ value = \"Bearer ${{token}}\", secret = false }} }}\n[[item]]\nid = \"again\"\nprobe = \"http\"\nurl = \"{}?t=${{token}}\"\n",
            server.url("/"),
            server.url("/")
        ),
    );
    let env = [("VAULT_TOKEN", "vault-login-token-7c41"), ("CI_JOB_TOKEN", "ci-token-7c41")];
    let mut args = vec!["run", "deploy/golive.toml"];
    for o in ["json=report.json", "junit=report.xml", "markdown=report.md", "html=report.html"] {
        args.extend(["--output", o]);
    }
    let run = w.run_blocking(&args, &env);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let sent: Vec<String> = server.requests().iter().filter_map(|r| r.header("x-deploy").map(str::to_string)).collect();
    assert_eq!(sent, [format!("Bearer {TOKEN}")], "the program's output, without the newline");
    assert_eq!(w.read("deploy/runs.log"), "run\n", "one run for two items, in the checklist's directory");
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "token", "pass");
    assert_eq!(item(&report, "token")["title"], "API answers with token ${token}");
    let validate = w.run_blocking(&["validate", "deploy/golive.toml"], &env);
    assert_eq!(validate.status.code(), Some(0), "{}", stderr(&validate));
    assert_eq!(w.read("deploy/runs.log"), "run\n", "validate does not run it");
    for (what, text) in everything(&w, &[("run", &run), ("validate", &validate)]) {
        for secret in [TOKEN, "vault-login-token-7c41"] {
            assert!(!text.contains(secret), "{what} shows {secret}");
        }
    }

    let failed = w.run_blocking(&["run", "deploy/golive.toml"], &[]);
    assert_eq!(failed.status.code(), Some(2), "{}", stderr(&failed));
    let err = stderr(&failed);
    assert!(
        err.contains("error[GL014]: var `token`: its command `./bin/vault`: exited with status 2: missing VAULT_TOKEN"),
        "{err}"
    );
    assert!(err.contains("deploy/golive.toml:2:1"), "{err}");
    assert_eq!(server.requests().len(), 2, "nothing ran after the failure");

    // A command that outlives its timeout is ended with its process group.
    w.write("slow.toml", "[vars]\nslow = { command = [\"sleep\", \"30\"], timeout = \"300ms\" }\n[[item]]\nid = \"s\"\nprobe = \"env\"\nname = \"${slow}\"\n");
    let started = std::time::Instant::now();
    let slow = w.run_blocking(&["run", "slow.toml"], &[]);
    assert_eq!(slow.status.code(), Some(2), "{}", stderr(&slow));
    assert!(
        stderr(&slow).contains("var `slow`: its command `sleep`: it did not finish within 300ms"),
        "{}",
        stderr(&slow)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "the sleep was not ended");

    // A process that left the group (setsid) and keeps the output open does not hold the
    // load: golive stops waiting shortly after the program itself exits.
    // The program exits only once its child has left the group (the marker is written after
    // setsid), so golive's ending the group cannot win the race and take the child with it.
    w.write(
        "held.toml",
        "[vars]\nheld = { command = [\"sh\", \"-c\", \"setsid sh -c 'touch escaped; exec sleep 61.37' & until [ -e escaped ]; do sleep 0.01; done; echo tok\"] }\n[[item]]\nid = \"h\"\nprobe = \"env\"\nname = \"${held}\"\n",
    );
    let started = std::time::Instant::now();
    let held = w.run_blocking(&["run", "held.toml"], &[]);
    assert_eq!(held.status.code(), Some(2), "{}", stderr(&held));
    assert!(stderr(&held).contains("kept its output open"), "{}", stderr(&held));
    let waited = started.elapsed();
    // The escaped process is the test's to end (golive cannot reach outside the groups it
    // started): nothing may outlive the test.
    let _ = Command::new("pkill").args(["-f", "sleep 61.37"]).status();
    assert!(waited < std::time::Duration::from_secs(20), "golive waited for the escaped process");
}
