//! The checklist model: what the loader produces from TOML files after every include, var
//! and default is resolved and every item is validated against its probe's declaration.
//! Plain data, below the loader's stages and the engine.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::diag::Loc;
use crate::lang::matcher::Matcher;
use crate::probe::{ParamMap, Params, ProbeSpec};
use crate::redact::Redactor;

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

/// A calendar date written year-month-day (`2026-12-31`).
pub fn parse_date(text: &str) -> Result<time::Date, time::error::Parse> {
    time::Date::parse(text.trim(), DATE)
}

pub fn format_date(d: time::Date) -> String {
    d.format(DATE).unwrap_or_else(|_| d.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const NAMES: &'static [&'static str] = &["critical", "high", "medium", "low", "info"];

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "critical" => Severity::Critical,
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            "info" => Severity::Info,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

/// A fully loaded, valid checklist.
#[derive(Debug)]
pub struct Checklist {
    pub name: String,
    pub version: Option<String>,
    pub description: Option<String>,
    /// Every file loaded (the roots and all includes), with its sha256.
    pub files: Vec<LoadedFile>,
    pub items: Vec<Arc<Item>>,
    /// Indexes into `items`, every item after the items it depends on.
    pub order: Vec<usize>,
    /// `[[waiver]]` entries of every loaded file, at most one per item.
    pub waivers: Vec<Waiver>,
    /// `[signoff] roles`: the roles that must sign a report, in order, each once.
    pub signoff_roles: Vec<String>,
    /// The attestations file read for this run (it may not exist yet).
    pub attestations: AttestationFile,
    /// Every secret this checklist uses, for masking every output.
    pub redactor: Redactor,
    /// The machines host-level items run on (`[[target]]`, `--target`, `--inventory`);
    /// empty when everything runs where golive runs.
    pub targets: Vec<Target>,
}

/// A machine items run on over SSH.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    /// How it was written (`deploy@10.0.0.11:2222`, or an OpenSSH `Host` alias), for reports.
    pub ssh: String,
    /// What ssh is given as the destination: a host name, an address or a `Host` alias.
    pub host: String,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub groups: Vec<String>,
    /// Answers to ssh's password and key passphrase prompts: secrets, never shown.
    pub password: Option<String>,
    pub passphrase: Option<String>,
    /// Where it is defined: `file:line:column`, `--target`, or `inventory FILE:LINE`.
    pub source: String,
}

impl Target {
    /// Reads `[user@]host[:port]` (an IPv6 address in brackets: `[::1]:2222`). A host that
    /// is not a name or address (it starts with `-`, or holds spaces or quotes) is refused:
    /// it goes on ssh's command line.
    pub fn parse_ssh(text: &str) -> Result<(Option<String>, String, Option<u16>), String> {
        let text = text.trim();
        let (user, rest) = match text.rsplit_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, text),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (h, after) = inner.split_once(']').ok_or_else(|| format!("`{text}`: `[` without `]`"))?;
            match after {
                "" => (h, None),
                _ => (h, Some(after.strip_prefix(':').ok_or_else(|| format!("`{text}`: expected `:PORT` after `]`"))?)),
            }
        } else {
            match rest.split_once(':') {
                Some((h, p)) if !p.contains(':') => (h, Some(p)),
                Some(_) => return Err(format!("`{text}`: write an IPv6 address in brackets, e.g. [::1]:22")),
                None => (rest, None),
            }
        };
        let port = match port {
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(format!("`{text}`: port `{p}` is not a number from 1 to 65535")),
            },
            None => None,
        };
        let plain = |s: &str| {
            !s.is_empty()
                && !s.starts_with('-')
                && s.chars().all(|c| !c.is_whitespace() && !c.is_control() && !"'\"\\`$;&|<>(){}".contains(c))
        };
        if !plain(host) {
            return Err(format!("`{text}`: `{host}` is not a host name, address or ssh config alias"));
        }
        if let Some(u) = user
            && !plain(u)
        {
            return Err(format!("`{text}`: `{u}` is not a user name"));
        }
        Ok((user.map(str::to_string), host.to_string(), port))
    }

    /// True when `pattern` (`web-*`, `group:db`, a name) selects this target.
    pub fn matches(&self, pattern: &str) -> bool {
        match pattern.strip_prefix("group:") {
            Some(group) => self.groups.iter().any(|g| glob_match(group, g)),
            None => glob_match(pattern, &self.name),
        }
    }
}

/// `*`, `?` and `[…]` as in shell globs, over the whole name.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    match glob::Pattern::new(pattern) {
        Ok(p) => p.matches(name),
        Err(_) => pattern == name,
    }
}

impl Checklist {
    /// The same checklist with only the items `keep` marks (by index), in the same order;
    /// `order` keeps every kept item after the kept items it depends on. Everything else
    /// (files, waivers, sign-off, attestations, secrets) is the whole checklist's.
    pub fn with_items(&self, keep: &[bool]) -> Checklist {
        let kept = |i: usize| keep.get(i).copied().unwrap_or(false);
        let mut new_index = vec![usize::MAX; self.items.len()];
        let mut items = Vec::new();
        for (i, item) in self.items.iter().enumerate().filter(|(i, _)| kept(*i)) {
            new_index[i] = items.len();
            items.push(item.clone());
        }
        let order = self.order.iter().filter(|&&i| kept(i)).map(|&i| new_index[i]).collect();
        Checklist {
            name: self.name.clone(),
            version: self.version.clone(),
            description: self.description.clone(),
            files: self.files.clone(),
            items,
            order,
            waivers: self.waivers.clone(),
            signoff_roles: self.signoff_roles.clone(),
            attestations: self.attestations.clone(),
            redactor: self.redactor.clone(),
            targets: self.targets.clone(),
        }
    }
}

/// A `[[waiver]]`: an approved exception for one item until a date (inclusive, UTC).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiver {
    pub item: String,
    pub reason: String,
    pub approved_by: String,
    pub until: time::Date,
    /// `file:line:column` of the `[[waiver]]` table.
    pub source: String,
}

impl Waiver {
    /// A waiver applies through the whole of its `until` day.
    pub fn expired(&self, today: time::Date) -> bool {
        today > self.until
    }
}

/// One entry of the attestations file: a person confirmed a manual item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    pub item: String,
    pub by: String,
    pub at: time::OffsetDateTime,
    pub evidence: String,
    pub note: Option<String>,
    /// Valid through this day (UTC); `None`: no end.
    pub until: Option<time::Date>,
    /// `file:line:column` of the `[[attestation]]` table.
    pub source: String,
}

impl Attestation {
    pub fn expired(&self, today: time::Date) -> bool {
        self.until.is_some_and(|until| today > until)
    }
}

/// The attestations file beside the checklist and what it holds.
#[derive(Clone, Debug, Default)]
pub struct AttestationFile {
    pub path: PathBuf,
    /// Hex SHA-256 of the file's bytes; `None` when the file does not exist.
    pub sha256: Option<String>,
    /// In file order, which is the order they were recorded.
    pub entries: Vec<Attestation>,
}

impl AttestationFile {
    /// The latest attestation of an item (the last one appended).
    pub fn latest(&self, item: &str) -> Option<&Attestation> {
        self.entries.iter().rev().find(|a| a.item == item)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoadedFile {
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Clone, Debug)]
pub struct Item {
    pub id: String,
    pub title: String,
    pub section: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub depends_on: Vec<String>,
    /// Where `depends_on` is written, for diagnostics.
    pub depends_on_loc: Option<Loc>,
    pub timeout: Duration,
    pub retries: u32,
    pub retry_delay: Duration,
    pub description: Option<String>,
    pub references: Vec<String>,
    pub owner: Option<String>,
    pub probe: &'static ProbeSpec,
    /// Parameters as the probe uses them (secrets included: never print these).
    pub params: Params,
    /// Parameters as reports show them (`${env:…}` references kept, URL passwords and
    /// secret headers masked) when that differs from `params`: see `shown_params`.
    pub params_shown: Option<ParamMap>,
    pub expect: Vec<Expectation>,
    /// `when`: every condition must hold for the item to apply; otherwise it is not
    /// applicable (never run, never blocking).
    pub when: Vec<Condition>,
    /// Where the item is defined (`file:line:col` of its `[[item]]` table).
    pub loc: Loc,
    pub source: String,
    /// `targets`: the patterns naming where the item runs (`web-*`, `group:db`, `local`),
    /// as written; empty when the item does not say. Read by the loader's targets stage.
    pub targets: Vec<String>,
    pub targets_loc: Option<Loc>,
    /// The target this item runs on (`None`: where golive runs). An item that runs on
    /// several targets is one item per target, whose id is `ID@TARGET`.
    pub target: Option<String>,
}

impl Item {
    /// The id as the checklist writes it: without the `@TARGET` of a per-target copy.
    pub fn base_id(&self) -> &str {
        match &self.target {
            Some(t) => self.id.strip_suffix(t.as_str()).and_then(|s| s.strip_suffix('@')).unwrap_or(&self.id),
            None => &self.id,
        }
    }

    /// Parameters as reports show them: `${env:…}` references kept, URL passwords and
    /// secret headers masked.
    pub fn shown_params(&self) -> &ParamMap {
        self.params_shown.as_ref().unwrap_or(&self.params.values)
    }

    pub fn is_manual(&self) -> bool {
        self.probe.observe.is_none()
    }

    /// The items this one waits for: its `depends_on`, then the items its `when` reads.
    pub fn waits_for(&self) -> impl Iterator<Item = &str> {
        let watched = self.when.iter().filter_map(|c| match &c.subject {
            Subject::Fact { item, .. } => Some(item.as_str()),
            Subject::Var { .. } => None,
        });
        self.depends_on.iter().map(String::as_str).chain(watched)
    }
}

/// One `when` condition of an item: a matcher on a var's value or on a fact another item
/// observed.
#[derive(Clone, Debug)]
pub struct Condition {
    pub subject: Subject,
    pub matcher: Matcher,
    /// Where it is written.
    pub loc: Loc,
}

#[derive(Clone, Debug)]
pub enum Subject {
    /// A var's value as loaded (`None` when it had none while validating); numbers and
    /// booleans written as text are read as such.
    Var { name: String, value: Option<crate::value::Value> },
    /// A fact of another item, judged once that item has run.
    Fact { item: String, fact: String },
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Var { name, .. } => write!(f, "var `{name}`"),
            Subject::Fact { item, fact } => write!(f, "`{item}` {fact}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Expectation {
    pub fact: String,
    pub matcher: Matcher,
}
