//! Run history (docs/history.md): every `golive run` records its masked JSON report, with a
//! row per file and per item for queries, into a store: an SQLite file by default
//! (`.golive/history.db` beside the first checklist file) or a shared PostgreSQL database.
//! `golive history`, `golive diff` and `golive run --baseline` read it back.

use std::path::{Path, PathBuf};
use std::time::Duration;

mod schema;
mod store;

pub use store::{BUSY_TIMEOUT, Backend, CONNECT_TIMEOUT, ItemRow, RunFilter, RunRow, Store};

/// The environment variable that names the store when `--store` does not.
pub const STORE_ENV: &str = "GOLIVE_STORE";
/// The default store, relative to the directory of the first checklist file.
pub const DEFAULT_PATH: &str = ".golive/history.db";

/// CI job ids, in the order they are looked for: the first one set is recorded as `NAME=value`.
pub const CI_JOB_VARIABLES: &[&str] = &[
    "GITHUB_RUN_ID",
    "CI_JOB_ID",
    "BUILDKITE_JOB_ID",
    "CIRCLE_WORKFLOW_JOB_ID",
    "CIRCLE_BUILD_NUM",
    "TRAVIS_JOB_ID",
    "BUILD_BUILDID",
    "CODEBUILD_BUILD_ID",
    "BITBUCKET_BUILD_NUMBER",
    "DRONE_BUILD_NUMBER",
    "BUILD_ID",
];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the history store {location}: {message}")]
    Open { location: String, message: String },
    #[error("history store {location}: {message}")]
    Query { location: String, message: String },
    #[error("the stored report of run {run_id} cannot be read: {message}")]
    Corrupt { run_id: String, message: String },
    #[error("`{0}` is the start of more than one run id; give more of it")]
    Ambiguous(String),
    #[error("{0}")]
    Usage(String),
}

/// Where the store is: a sqlx URL, and how to show it (with any password masked).
#[derive(Clone, Debug)]
pub struct StoreLocation {
    pub url: String,
    /// The URL as messages show it: the password replaced by `***`.
    pub shown: String,
    /// The database file, for SQLite.
    pub sqlite_path: Option<PathBuf>,
    password: Option<String>,
}

impl StoreLocation {
    /// `sqlite://PATH`, `sqlite:PATH`, `postgres://…`/`postgresql://…`, or a plain path
    /// (taken as an SQLite file).
    pub fn parse(text: &str) -> Result<StoreLocation, StoreError> {
        let password = crate::redact::url_password(text);
        let shown = crate::redact::mask_url_password(text);
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(StoreLocation { url: text.to_string(), shown, sqlite_path: None, password });
        }
        let path = match text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")) {
            Some(path) => path.split('?').next().unwrap_or(path),
            None if text.contains("://") => {
                return Err(StoreError::Usage(format!(
                    "--store `{shown}` is neither sqlite://PATH nor postgres://…; see docs/history.md"
                )));
            }
            None => text,
        };
        if path.is_empty() {
            return Err(StoreError::Usage(
                "--store sqlite:// needs a file path, e.g. sqlite://.golive/history.db".into(),
            ));
        }
        Ok(StoreLocation::sqlite(Path::new(path)))
    }

    pub fn sqlite(path: &Path) -> StoreLocation {
        let text = path.display().to_string();
        let mut encoded = String::new();
        for c in text.chars() {
            match c {
                '%' => encoded.push_str("%25"),
                '?' => encoded.push_str("%3F"),
                '#' => encoded.push_str("%23"),
                c => encoded.push(c),
            }
        }
        StoreLocation {
            url: format!("sqlite://{encoded}?mode=rwc"),
            shown: format!("sqlite://{text}"),
            sqlite_path: Some(path.to_path_buf()),
            password: None,
        }
    }

    /// `--store`, else `GOLIVE_STORE`, else `.golive/history.db` in `dir`.
    pub fn choose(flag: Option<&str>, dir: &Path) -> Result<StoreLocation, StoreError> {
        match flag.map(str::to_string).or_else(|| std::env::var(STORE_ENV).ok().filter(|v| !v.is_empty())) {
            Some(text) => StoreLocation::parse(&text),
            None => Ok(StoreLocation::sqlite(&dir.join(DEFAULT_PATH))),
        }
    }

    /// A message with the store's password (if any) masked.
    pub fn mask(&self, text: &str) -> String {
        let text = crate::redact::mask_url_passwords(text).into_owned();
        match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.as_str(), "***"),
            _ => text,
        }
    }
}

/// Which run: `last`, `last~N`, `last-pass`, or a run id (or a unique prefix of one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunSpec {
    /// The last run, or the Nth before it.
    Last(i64),
    LastPass,
    Id(String),
}

impl std::str::FromStr for RunSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<RunSpec, String> {
        match s {
            "last" => Ok(RunSpec::Last(0)),
            "last-pass" => Ok(RunSpec::LastPass),
            _ => {
                if let Some(n) = s.strip_prefix("last~") {
                    return n.parse().map(RunSpec::Last).map_err(|_| format!("`{s}`: expected last~N, N a number"));
                }
                if !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
                    Ok(RunSpec::Id(s.to_ascii_lowercase()))
                } else {
                    Err(format!("`{s}` is not a run: give last, last~N, last-pass or a run id"))
                }
            }
        }
    }
}

impl std::fmt::Display for RunSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunSpec::Last(0) => f.write_str("last"),
            RunSpec::Last(n) => write!(f, "last~{n}"),
            RunSpec::LastPass => f.write_str("last-pass"),
            RunSpec::Id(id) => f.write_str(id),
        }
    }
}

/// `prune --keep`: runs younger than a duration, or the newest N runs of each checklist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Newer(Duration),
    Count(usize),
}

impl std::str::FromStr for Keep {
    type Err = String;
    fn from_str(s: &str) -> Result<Keep, String> {
        if let Ok(n) = s.parse::<usize>() {
            return Ok(Keep::Count(n));
        }
        humantime::parse_duration(s)
            .map(Keep::Newer)
            .map_err(|_| format!("`{s}`: give a duration (90d, 12h) or a number of runs"))
    }
}

/// The CI job this run belongs to, from the usual CI variables: `NAME=value`.
pub fn ci_job() -> Option<String> {
    CI_JOB_VARIABLES
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()).map(|v| format!("{name}={v}")))
}

/// Milliseconds since the Unix epoch of an RFC 3339 instant (0 when it does not parse).
pub fn unix_ms(instant: &str) -> i64 {
    time::OffsetDateTime::parse(instant, &time::format_description::well_known::Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .unwrap_or(0)
}

pub fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Runs store work on the store's own runtime (the run's runtime is gone by then). It is one
/// runtime for the whole process: a pool's connections belong to the runtime that opened them.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a current-thread runtime starts")
        })
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_specs_parse() {
        assert_eq!("last".parse(), Ok(RunSpec::Last(0)));
        assert_eq!("last~3".parse(), Ok(RunSpec::Last(3)));
        assert_eq!("last-pass".parse(), Ok(RunSpec::LastPass));
        assert_eq!("3F2A-9c".parse(), Ok(RunSpec::Id("3f2a-9c".into())));
        assert!("last~x".parse::<RunSpec>().is_err());
        assert!("50%".parse::<RunSpec>().is_err(), "a LIKE wildcard is not a run id");
    }

    #[test]
    fn keep_is_a_count_or_an_age() {
        assert_eq!("20".parse(), Ok(Keep::Count(20)));
        assert_eq!("90d".parse(), Ok(Keep::Newer(Duration::from_secs(90 * 86400))));
        assert!("soon".parse::<Keep>().is_err());
    }

    #[test]
    fn store_locations_hide_the_password() {
        let pg = StoreLocation::parse("postgres://ci:hunter2x@db.internal:5432/golive").unwrap();
        assert_eq!(pg.shown, "postgres://ci:***@db.internal:5432/golive");
        assert_eq!(pg.mask("password authentication failed: hunter2x"), "password authentication failed: ***");
        let file = StoreLocation::parse("sqlite://runs/a?b.db").unwrap();
        assert_eq!(file.sqlite_path.as_deref(), Some(Path::new("runs/a")), "the query part is not the path");
        assert_eq!(StoreLocation::sqlite(Path::new("odd?name.db")).url, "sqlite://odd%3Fname.db?mode=rwc");
        assert!(StoreLocation::parse("mysql://x").is_err());
        assert_eq!(StoreLocation::parse("plain.db").unwrap().sqlite_path.as_deref(), Some(Path::new("plain.db")));
    }
}
