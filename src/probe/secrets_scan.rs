//! `secrets_scan`: walks a directory tree as git sees it (honouring .gitignore, skipping
//! .git, binary and oversized files) and looks for committed secrets: private keys, cloud
//! and service tokens, passwords assigned literal values, credentials in URLs, `.env` files.
//! A finding names the file, the line and the kind; never the secret itself.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use regex::Regex;

use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking};
use crate::value::{FactType, Value};

/// The `findings` fact lists at most this many; `count` counts them all.
const MAX_LISTED: usize = 1000;
/// Bytes looked at to tell a binary file (one with a NUL byte), as git does.
const BINARY_SNIFF: usize = 8000;

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "secrets_scan",
    summary: "Scans a directory tree, honouring .gitignore, for committed secrets; never shows them.",
    params: &[
        ParamSpec::required("path", ParamType::Path, "the directory to scan (a repository checkout, a build context)"),
        ParamSpec::with_default(
            "gitignore",
            ParamType::Bool,
            "true",
            "skip what .gitignore and .git/info/exclude exclude (also outside a git repository): what `git add .` would commit",
        ),
        ParamSpec::optional(
            "exclude",
            ParamType::StringList,
            "more paths to skip, as gitignore globs, e.g. [\"tests/fixtures/**\", \"*.min.js\"]",
        ),
        ParamSpec::with_default(
            "git",
            ParamType::Choice(&["off", "head", "history"]),
            "off",
            "also scan the repository's commits (needs `git`, read-only): `head` every file of the HEAD commit, `history` every line ever added in any commit of any branch or tag (a secret removed from the work tree but committed still leaks); `off` only the directory",
        ),
        ParamSpec::with_default(
            "max_file_size",
            ParamType::Integer,
            "1048576",
            "files larger than this many bytes are skipped (counted in files_skipped)",
        ),
    ],
    facts: &[
        FactSpec::new(
            "findings",
            FactType::StringList,
            "each finding as \"path:line: kind\" (path relative to the scanned directory; from git: \"HEAD:path:line: kind\" or \"COMMIT:path:line: kind\" with the commit's first 12 hex digits and the path from the repository's root; the secret itself is never shown)",
        ),
        FactSpec::new("count", FactType::Integer, "how many findings"),
        FactSpec::new(
            "kinds",
            FactType::StringList,
            "the kinds found: private_key, aws_access_key_id, github_token, slack_token, stripe_secret_key, password_assignment, secret_assignment, token_assignment, url_credentials, env_file",
        ),
        FactSpec::new("files_scanned", FactType::Integer, "text files read"),
        FactSpec::new("files_skipped", FactType::Integer, "binary files and files over max_file_size, not read"),
    ],
    default_expect: &[("count", "0")],
    observe: Some(observe),
    check: None,
    notes: &[],
};

struct Detector {
    kind: &'static str,
    regex: Regex,
}

fn detectors() -> &'static [Detector] {
    static ALL: OnceLock<Vec<Detector>> = OnceLock::new();
    ALL.get_or_init(|| {
        let d = |kind, re: &str| Detector { kind, regex: Regex::new(re).expect("valid detector regex") };
        vec![
            d("private_key", r"-----BEGIN ((RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----"),
            d("aws_access_key_id", r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
            d("github_token", r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
            d("slack_token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
            d("stripe_secret_key", r"\b[sr]k_live_[A-Za-z0-9]{16,}"),
        ]
    })
}

/// `db_password = "…"`, `"apiKey": "…"`, `SECRET_KEY=…`: a key ending in a sensitive word,
/// then an assignment. Group 1 is the key; the value follows the match.
fn assignment() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?i)(?:^|[^A-Za-z0-9_.-])([A-Za-z0-9_.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret|secret[_-]?key[_-]?base))["']?\s*(?::=|=>|=|:)\s*"#,
        )
        .expect("valid regex")
    })
}

/// `scheme://user:password@host`. Group 1 is the password.
fn url_credentials() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:([^/\s@]+)@").expect("valid regex"))
}

/// Source files, where an unquoted right-hand side is an expression (`os.environ[…]`), not a
/// literal. In other files (.env, ini, YAML, shell), an unquoted value is the value.
const CODE_EXTENSIONS: &[&str] = &[
    "rs", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "go", "java", "kt", "kts", "scala", "rb", "php", "cs", "c",
    "h", "cc", "cpp", "hpp", "swift", "ex", "exs", "erl", "hrl", "clj", "groovy", "dart", "lua", "vue", "svelte",
];

/// `.env.example` and friends document variables; they are meant to be committed.
const ENV_TEMPLATES: &[&str] = &["example", "sample", "template", "dist", "defaults"];

/// What the right-hand side of an assignment holds: true for a literal secret, false for a
/// reference (`${DB_PASSWORD}`, `{{ vault }}`, `$X`), an expression or an empty value.
fn literal_secret(rest: &str, code_file: bool) -> bool {
    let rest = rest.trim();
    let (value, quoted) = match rest.chars().next() {
        Some(q @ ('"' | '\'' | '`')) => {
            let inner = &rest[1..];
            (inner.find(q).map_or(inner, |end| &inner[..end]), true)
        }
        _ => {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '}' | ']' | ')' | '`' | '"' | '\''))
                .unwrap_or(rest.len());
            (&rest[..end], false)
        }
    };
    if value.chars().count() < 4 || (code_file && !quoted) {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    // `${X}`, `{{ x }}`, `{PASSWORD}`, `$X`, `%(x)s`, `<your token>`, `!vault`, `ENC[…]`, `****`.
    let reference = value.contains("${")
        || value.starts_with(['$', '{', '%', '<', '!'])
        || value.starts_with("ENC[")
        || value.chars().all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '-' | '_'));
    // An expression in a config file or a document: `os.environ["X"]`, `System.get_env("X")`,
    // `process.env.TOKEN`, `config.secret`.
    let expression = !quoted && (value.contains(['(', '[']) || attribute_access(value));
    let not_a_value = [
        "null",
        "none",
        "nil",
        "true",
        "false",
        "undefined",
        "required",
        "optional",
        "password",
        "passwd",
        "pass",
        "secret",
        "token",
    ]
    .contains(&lower.as_str());
    !(reference || expression || not_a_value)
}

/// `process.env.TOKEN`, `config.secret`: an identifier, a dot, an identifier.
fn attribute_access(value: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_.]*$").expect("valid regex"))
        .is_match(value)
}

fn is_env_file(name: &str) -> bool {
    name == ".env"
        || name
            .strip_prefix(".env.")
            .is_some_and(|suffix| !ENV_TEMPLATES.iter().any(|t| suffix.eq_ignore_ascii_case(t)))
}

/// The kinds found on one line, each once.
fn scan_line(line: &str, code_file: bool, kinds: &mut BTreeSet<&'static str>) {
    for d in detectors() {
        if d.regex.is_match(line) {
            kinds.insert(d.kind);
        }
    }
    for caps in assignment().captures_iter(line) {
        let key = caps[1].to_ascii_lowercase();
        let rest = &line[caps.get(0).map_or(line.len(), |m| m.end())..];
        if literal_secret(rest, code_file) {
            kinds.insert(if key.ends_with("password") || key.ends_with("passwd") || key.ends_with("pwd") {
                "password_assignment"
            } else if key.ends_with("token") {
                "token_assignment"
            } else {
                "secret_assignment"
            });
        }
    }
    for caps in url_credentials().captures_iter(line) {
        let password = &caps[1];
        if literal_secret(&format!("\"{password}\""), false) {
            kinds.insert("url_credentials");
        }
    }
}

#[derive(Default)]
pub struct ScanResult {
    pub findings: Vec<String>,
    pub files_scanned: u64,
    pub files_skipped: u64,
}

/// Scans `root`; stops with an error once `deadline` has passed.
pub fn scan(
    root: &Path,
    gitignore: bool,
    exclude: &[String],
    max_file_size: u64,
    deadline: Instant,
) -> Result<ScanResult, ProbeError> {
    if !root.is_dir() {
        return Err(ProbeError::new(format!("{} is not a directory", root.display())));
    }
    let mut overrides = ignore::overrides::OverrideBuilder::new(root);
    for pattern in exclude {
        overrides
            .add(&format!("!{pattern}"))
            .map_err(|e| ProbeError::new(format!("exclude: bad glob {pattern:?}: {e}")))?;
    }
    let overrides = overrides.build().map_err(|e| ProbeError::new(format!("exclude: {e}")))?;
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .ignore(false)
        .git_global(false)
        .git_ignore(gitignore)
        .git_exclude(gitignore)
        .require_git(false)
        .parents(gitignore)
        .follow_links(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .overrides(overrides)
        .filter_entry(|entry| entry.file_name() != ".git")
        .build();
    let mut result = ScanResult::default();
    for entry in walker {
        if Instant::now() > deadline {
            return Err(ProbeError::new(format!(
                "the scan did not finish within the item's timeout ({} files read); raise timeout or exclude large directories",
                result.files_scanned
            )));
        }
        let entry = entry.map_err(|e| ProbeError::new(format!("cannot scan {}: {e}", root.display())))?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
        let name = entry.file_name().to_string_lossy();
        if is_env_file(&name) {
            result.findings.push(format!("{shown}: env_file"));
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if size > max_file_size {
            result.files_skipped += 1;
            continue;
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(max_file_size).read_to_end(&mut bytes))
            .map_err(|e| ProbeError::new(format!("cannot read {shown}: {e}")))?;
        if bytes[..bytes.len().min(BINARY_SNIFF)].contains(&0) {
            result.files_skipped += 1;
            continue;
        }
        result.files_scanned += 1;
        let code_file = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| CODE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        let text = String::from_utf8_lossy(&bytes);
        for (number, line) in text.lines().enumerate() {
            let mut kinds = BTreeSet::new();
            scan_line(line, code_file, &mut kinds);
            for kind in kinds {
                result.findings.push(format!("{shown}:{}: {kind}", number + 1));
            }
        }
    }
    Ok(result)
}

#[derive(Clone, Copy, PartialEq)]
enum GitScope {
    Head,
    History,
}

/// `git` reading the repository at `root`, with no configuration but the repository's own,
/// no prompt, no pager and no external diff program: read-only.
fn git(root: &Path, args: &[&str]) -> std::process::Command {
    let mut c = std::process::Command::new("git");
    c.arg("-C").arg(root).args(["-c", "core.quotepath=off", "-c", "log.showRoot=true", "--no-pager"]).args(args);
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    c
}

fn git_error(what: &str, output: &[u8]) -> ProbeError {
    let text = String::from_utf8_lossy(output);
    ProbeError::new(format!("git {what}: {}", crate::diag::clip(text.trim(), 300)))
}

/// Adds the findings in the repository's HEAD commit or its whole history to `result`.
fn git_scan(
    root: &Path,
    scope: GitScope,
    max_file_size: u64,
    deadline: Instant,
    result: &mut ScanResult,
) -> Result<(), ProbeError> {
    let check = git(root, &["rev-parse", "--verify", "--quiet", "HEAD"])
        .output()
        .map_err(|e| ProbeError::new(format!("git = \"history\"/\"head\" needs git: {e}")))?;
    if !check.status.success() {
        return Err(match git(root, &["rev-parse", "--git-dir"]).output() {
            Ok(o) if !o.status.success() => git_error(&format!("cannot read {}", root.display()), &o.stderr),
            _ => ProbeError::new(format!("{}: the repository has no commit yet", root.display())),
        });
    }
    let mut cmd = match scope {
        // Every file of HEAD, as a diff from the empty tree: each of its lines is "added".
        GitScope::Head => {
            let empty = git(root, &["hash-object", "-t", "tree", "/dev/null"])
                .output()
                .map_err(|e| ProbeError::new(format!("cannot run git: {e}")))?;
            let empty = String::from_utf8_lossy(&empty.stdout).trim().to_string();
            git(
                root,
                &[
                    "diff",
                    "--no-color",
                    "--no-ext-diff",
                    "--no-renames",
                    "--src-prefix=a/",
                    "--dst-prefix=b/",
                    "-U0",
                    &empty,
                    "HEAD",
                    "--",
                    ".",
                ],
            )
        }
        GitScope::History => git(
            root,
            &[
                "log",
                "--all",
                "--format=%x00commit %H",
                "--no-color",
                "--no-ext-diff",
                "--no-renames",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                "-p",
                "-U0",
                "--",
                ".",
            ],
        ),
    };
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| ProbeError::new(format!("cannot run git: {e}")))?;
    let stdout = child.stdout.take().expect("piped");
    let mut reader = std::io::BufReader::new(stdout);
    let mut commit = if scope == GitScope::Head { "HEAD".to_string() } else { String::new() };
    let (mut path, mut code_file, mut line_no, mut file_bytes) = (None::<String>, false, 0usize, 0u64);
    let mut raw = Vec::new();
    let mut read = 0usize;
    loop {
        raw.clear();
        let n = std::io::BufRead::read_until(&mut reader, b'\n', &mut raw)
            .map_err(|e| ProbeError::new(format!("cannot read git's output: {e}")))?;
        if n == 0 {
            break;
        }
        read += 1;
        if read.is_multiple_of(4096) && Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(ProbeError::new(
                "the git history scan did not finish within the item's timeout; raise timeout".to_string(),
            ));
        }
        let line = String::from_utf8_lossy(&raw);
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(id) = line.strip_prefix("\0commit ") {
            commit = id.chars().take(12).collect();
            path = None;
        } else if let Some(added) = line.strip_prefix("+++ ") {
            path = added.strip_prefix("b/").map(str::to_string);
            file_bytes = 0;
            if let Some(p) = &path {
                code_file = Path::new(p)
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| CODE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
                let name = p.rsplit('/').next().unwrap_or(p);
                if is_env_file(name) {
                    result.findings.push(format!("{commit}:{p}: env_file"));
                }
                result.files_scanned += 1;
            }
        } else if line.starts_with("--- ") || line.starts_with("diff --git ") {
            continue;
        } else if let Some(hunk) = line.strip_prefix("@@ ") {
            // `@@ -a,b +c,d @@`: added lines are numbered from c.
            line_no = hunk
                .split_whitespace()
                .find_map(|w| w.strip_prefix('+'))
                .and_then(|c| c.split(',').next()?.parse().ok())
                .unwrap_or(1);
        } else if let (Some(text), Some(p)) = (line.strip_prefix('+'), &path) {
            file_bytes += text.len() as u64 + 1;
            if file_bytes <= max_file_size {
                let mut kinds = BTreeSet::new();
                scan_line(text, code_file, &mut kinds);
                for kind in kinds {
                    result.findings.push(format!("{commit}:{p}:{line_no}: {kind}"));
                }
            }
            line_no += 1;
        }
    }
    let mut stderr = Vec::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    let status = child.wait().map_err(|e| ProbeError::new(format!("git: {e}")))?;
    if !status.success() {
        return Err(git_error("failed", &stderr));
    }
    Ok(())
}

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    let p = &input.params;
    let root = PathBuf::from(p.str("path").unwrap_or("."));
    let gitignore = p.bool("gitignore");
    let exclude = p.list("exclude");
    let max = p.int("max_file_size").unwrap_or(1 << 20).max(0) as u64;
    let git = p.str("git").unwrap_or("off").to_string();
    // The engine gives up at the timeout; the scan thread stops then too.
    let deadline = Instant::now() + input.timeout + Duration::from_millis(100);
    Box::pin(blocking(move || {
        let mut result = scan(&root, gitignore, &exclude, max, deadline)?;
        match git.as_str() {
            "head" => git_scan(&root, GitScope::Head, max, deadline, &mut result)?,
            "history" => git_scan(&root, GitScope::History, max, deadline, &mut result)?,
            _ => {}
        }
        let kinds: BTreeSet<String> =
            result.findings.iter().filter_map(|f| f.rsplit_once(": ").map(|(_, k)| k.to_string())).collect();
        let mut facts = Facts::default();
        facts.set("count", Value::Int(result.findings.len() as i64));
        facts.set("kinds", Value::string_list(kinds));
        facts.set("findings", Value::string_list(result.findings.into_iter().take(MAX_LISTED)));
        facts.set("files_scanned", Value::Int(result.files_scanned as i64));
        facts.set("files_skipped", Value::Int(result.files_skipped as i64));
        Ok(facts)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str, code: bool) -> Vec<&'static str> {
        let mut k = BTreeSet::new();
        scan_line(line, code, &mut k);
        k.into_iter().collect()
    }

    #[test]
    fn literal_values_are_findings_and_references_are_not() {
        assert_eq!(kinds("DB_PASSWORD=hunter2hunter2", false), ["password_assignment"]);
        assert_eq!(kinds("  \"apiKey\": \"0123456789abcdef\",", false), ["secret_assignment"]);
        assert_eq!(kinds("auth_token: 'abcd1234efgh'", false), ["token_assignment"]);
        assert_eq!(kinds("password = \"correct horse\"", true), ["password_assignment"]);
        assert!(kinds("password = os.environ[\"DB_PASSWORD\"]", true).is_empty());
        assert!(kinds("password: ${DB_PASSWORD}", false).is_empty());
        assert!(kinds("password: \"{{ vault_db_password }}\"", false).is_empty());
        assert!(kinds("secret_key_base: <%= ENV['X'] %>", false).is_empty());
        assert!(kinds("password = \"\"", false).is_empty());
        assert!(kinds("password: null", false).is_empty());
        assert!(kinds("API_TOKEN=<your token>", false).is_empty());
        assert_eq!(kinds("PASSWORD=s3cr3t-value # comment", false), ["password_assignment"]);
        assert_eq!(kinds("{\"password\": \"hunter2hunter2\", \"user\": \"x\"}", false), ["password_assignment"]);
        // Prose and examples in documents.
        assert!(kinds("- An `${env:…}` value is a secret: it is masked", false).is_empty());
        assert!(kinds("{ value = \"…\", secret = true } are never shown", false).is_empty());
        assert!(kinds("since `password = os.environ[\"X\"]` is code", false).is_empty());
        assert!(kinds("secret_key_base: System.get_env(\"SECRET_KEY_BASE\")", false).is_empty());
        assert!(kinds("token: process.env.TOKEN", false).is_empty());
        assert!(kinds("unless the item sets `secret = false` |", false).is_empty());
        assert_eq!(kinds("export API_TOKEN=… DB_PASSWORD='pa55 w0rd!'", false), ["password_assignment"]);
        assert!(kinds("(`scheme://user:password@host`)", false).is_empty());
        assert!(kinds("url = \"http://app:{PASSWORD}@127.0.0.1/\"", true).is_empty());
        assert!(kinds("token_url = \"https://auth.example.com/token\"", false).is_empty());
        assert!(kinds("if password == other:", true).is_empty());
        assert_eq!(kinds("url = postgres://app:s3cr3tpw@db:5432/app", false), ["url_credentials"]);
        assert!(kinds("url = postgres://app:${DB_PW}@db:5432/app", false).is_empty());
        assert_eq!(kinds("key = AKIAIOSFODNN7EXAMPLE", false), ["aws_access_key_id"]);
        // Phoenix's session signing key, a literal in config/prod.exs.
        assert_eq!(kinds("  secret_key_base: \"f3Jq9sLx0pZr7Yk2Vb8Nw4Tg6Hc1Md5Ue\",", true), ["secret_assignment"]);
        assert_eq!(kinds("-----BEGIN OPENSSH PRIVATE KEY-----", false), ["private_key"]);
        assert!(kinds("-----BEGIN PUBLIC KEY-----", false).is_empty());
    }

    #[test]
    fn env_templates_are_not_env_files() {
        assert!(is_env_file(".env") && is_env_file(".env.production"));
        assert!(!is_env_file(".env.example") && !is_env_file(".envrc") && !is_env_file("env"));
    }
}
