//! Helpers for CLI tests: a temporary working directory with checklist files, and the real
//! `golive` binary run in it (from async tests without blocking their servers); the report
//! accessors (`item`, `outcome`, `fact`, `assert_outcome`).
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir { dir: tempfile::tempdir().expect("temp dir") }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Writes a script and makes it executable.
    pub fn write_executable(&self, name: &str, script: &str) -> PathBuf {
        let path = self.write(name, script);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        path
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    }

    /// The golive binary, run in this directory, as CI would (no colour, no progress).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(golive_binary());
        c.args(args).current_dir(self.dir.path()).env("CI", "true").env_remove("NO_COLOR");
        c
    }

    pub fn run_blocking(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("golive runs")
    }

    /// Runs golive without blocking the test's runtime (the servers it talks to live there).
    pub async fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[]).await
    }

    pub async fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        tokio::task::spawn_blocking(move || c.output().expect("golive runs")).await.unwrap()
    }

    /// `golive run FILE -o json=report.json`: the parsed report and the process output.
    pub async fn run_json(&self, file: &str, extra: &[&str]) -> (Value, Output) {
        let mut args = vec!["run", file, "--output", "json=report.json", "--quiet"];
        args.extend_from_slice(extra);
        let out = self.run(&args).await;
        let text = std::fs::read_to_string(self.path("report.json"))
            .unwrap_or_else(|e| panic!("no report ({e}); stderr: {}", String::from_utf8_lossy(&out.stderr)));
        (serde_json::from_str(&text).expect("report is JSON"), out)
    }
}

/// The golive binary Cargo built for this test. Cargo tells integration tests where it is;
/// examples that include support/ (examples/bench_targets.rs) are not told, and find it
/// beside their own directory (target/PROFILE/examples/NAME → target/PROFILE/golive).
pub fn golive_binary() -> PathBuf {
    match option_env!("CARGO_BIN_EXE_golive") {
        Some(path) => PathBuf::from(path),
        None => {
            let exe = std::env::current_exe().expect("current exe");
            let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target/PROFILE");
            profile_dir.join("golive")
        }
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The report entry of one item.
pub fn item<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == id)
        .unwrap_or_else(|| panic!("no item {id} in report"))
}

pub fn outcome(report: &Value, id: &str) -> String {
    item(report, id)["outcome"].as_str().unwrap().to_string()
}

pub fn fact<'a>(report: &'a Value, id: &str, fact: &str) -> &'a Value {
    &item(report, id)["facts"][fact]
}

/// Panics with the item's JSON when its outcome is not the expected one.
pub fn assert_outcome(report: &Value, id: &str, expected: &str) {
    let got = outcome(report, id);
    assert_eq!(got, expected, "item {id}: {}", serde_json::to_string_pretty(item(report, id)).unwrap());
}

/// Runs `git -C dir ARGS` as a test author would, with a fixed identity, no signing and no
/// system or user configuration (HOME is `dir`'s parent); panics with git's message when it
/// fails.
pub fn git(dir: &std::path::Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.email=t@golive.test", "-c", "user.name=golive test", "-c", "commit.gpgsign=false"])
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir.parent().unwrap_or(dir))
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Validates a JSON report against docs/report.schema.json with Python's `jsonschema`
/// (an independent validator; ./scripts/test.sh installs it), failing with every error.
pub fn assert_report_matches_schema(report: &std::path::Path) {
    const CHECK: &str = "import json, sys\nfrom jsonschema import Draft202012Validator as V\nv = V(json.load(open(sys.argv[1])), format_checker=V.FORMAT_CHECKER)\nerrors = [f\"{'/'.join(map(str, e.absolute_path))}: {e.message}\" for e in v.iter_errors(json.load(open(sys.argv[2])))]\nprint('\\n'.join(errors))\nsys.exit(1 if errors else 0)";
    let schema = format!("{}/docs/report.schema.json", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3").args(["-c", CHECK, &schema]).arg(report).output().expect("python3 runs");
    assert!(out.status.success(), "{} does not match the schema:\n{}{}", report.display(), stdout(&out), stderr(&out));
}

/// `golive run FILE` writing every report format: the table on stdout, r.json, r.xml
/// (JUnit), r.md, r.html, r.github.txt (GitHub workflow commands), r.summary.md (the
/// GitHub job summary), r.gitlab.json (GitLab code quality) and r.prom (OpenMetrics), so
/// a test can search each output.
pub fn every_format(file: &str) -> Vec<&str> {
    vec![
        "run",
        file,
        "-o",
        "table",
        "-o",
        "json=r.json",
        "-o",
        "junit=r.xml",
        "-o",
        "markdown=r.md",
        "-o",
        "html=r.html",
        "-o",
        "github=r.github.txt",
        "-o",
        "github-summary=r.summary.md",
        "-o",
        "gitlab=r.gitlab.json",
        "-o",
        "prometheus=r.prom",
    ]
}
