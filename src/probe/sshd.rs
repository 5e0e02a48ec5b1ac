//! `sshd`: reads an sshd_config as sshd does (keywords case-insensitive, the first value
//! wins, `Include` globs relative to /etc/ssh, `Match` blocks apart) and observes the
//! effective global settings, with OpenSSH's defaults for those left unset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::future::BoxFuture;

use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking};
use crate::value::{FactType, Value};

/// sshd refuses deeper nesting of `Include`, and so do we.
const MAX_INCLUDE_DEPTH: usize = 16;
const MAX_FILE_SIZE: u64 = 1 << 20;

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "sshd",
    summary: "Parses sshd_config and its Include files; observes the effective global settings.",
    params: &[
        ParamSpec::with_default("path", ParamType::Path, "/etc/ssh/sshd_config", "the sshd_config file to read"),
        ParamSpec::with_default(
            "include_dir",
            ParamType::Path,
            "/etc/ssh",
            "where relative Include paths point, as sshd resolves them (change it to check a config outside /etc/ssh)",
        ),
    ],
    facts: &[
        FactSpec::new(
            "setting.<keyword>",
            FactType::String,
            "the effective global value of a keyword, any case (setting.PermitRootLogin): the first one outside Match blocks, else OpenSSH's default for common keywords; yes/no-style values in lower case; Port, ListenAddress, HostKey, AcceptEnv, Allow/DenyUsers/Groups and Subsystem collect every line, joined by spaces",
        ),
        FactSpec::new(
            "permit_root_login",
            FactType::String,
            "PermitRootLogin: yes, no, prohibit-password or forced-commands-only",
        ),
        FactSpec::new("password_authentication", FactType::Bool, "PasswordAuthentication"),
        FactSpec::new("pubkey_authentication", FactType::Bool, "PubkeyAuthentication"),
        FactSpec::new(
            "kbd_interactive_authentication",
            FactType::Bool,
            "KbdInteractiveAuthentication, or its older name ChallengeResponseAuthentication",
        ),
        FactSpec::new("permit_empty_passwords", FactType::Bool, "PermitEmptyPasswords"),
        FactSpec::new("x11_forwarding", FactType::Bool, "X11Forwarding"),
        FactSpec::new("max_auth_tries", FactType::Integer, "MaxAuthTries"),
        FactSpec::new("ports", FactType::StringList, "every Port, e.g. [\"22\"]"),
        FactSpec::new(
            "explicit_settings",
            FactType::StringList,
            "keywords set outside Match blocks (lower case), as opposed to defaults",
        ),
        FactSpec::new(
            "match_blocks",
            FactType::StringList,
            "the criteria of each Match block, e.g. [\"User backup\", \"Address 10.0.0.0/8\"]",
        ),
        FactSpec::new(
            "match_settings",
            FactType::StringList,
            "settings inside Match blocks, as \"<criteria>: <keyword> <value>\" (keyword in lower case)",
        ),
        FactSpec::new("files", FactType::StringList, "the files read: the config and every included file"),
    ],
    default_expect: &[],
    observe: Some(observe),
    check: None,
    notes: &[],
};

/// OpenSSH's compiled-in defaults (sshd_config(5), OpenSSH 9) for keywords checklists ask about.
const DEFAULTS: &[(&str, &str)] = &[
    ("permitrootlogin", "prohibit-password"),
    ("passwordauthentication", "yes"),
    ("pubkeyauthentication", "yes"),
    ("kbdinteractiveauthentication", "yes"),
    ("permitemptypasswords", "no"),
    ("x11forwarding", "no"),
    ("maxauthtries", "6"),
    ("maxsessions", "10"),
    ("port", "22"),
    ("logingracetime", "120"),
    ("clientaliveinterval", "0"),
    ("clientalivecountmax", "3"),
    ("allowtcpforwarding", "yes"),
    ("allowagentforwarding", "yes"),
    ("allowstreamlocalforwarding", "yes"),
    ("gatewayports", "no"),
    ("permittunnel", "no"),
    ("permituserenvironment", "no"),
    ("hostbasedauthentication", "no"),
    ("ignorerhosts", "yes"),
    ("strictmodes", "yes"),
    ("usedns", "no"),
    ("usepam", "no"),
    ("loglevel", "info"),
    ("authenticationmethods", "any"),
    ("banner", "none"),
    ("compression", "yes"),
    ("printmotd", "yes"),
    ("tcpkeepalive", "yes"),
];

/// Keywords that may appear several times, every line adding to the value.
const ACCUMULATING: &[&str] = &[
    "port",
    "listenaddress",
    "hostkey",
    "acceptenv",
    "allowusers",
    "denyusers",
    "allowgroups",
    "denygroups",
    "subsystem",
];

/// Keywords whose values are words, compared case-insensitively by sshd: kept in lower case.
const WORD_VALUED: &[&str] = &[
    "permitrootlogin",
    "passwordauthentication",
    "pubkeyauthentication",
    "kbdinteractiveauthentication",
    "challengeresponseauthentication",
    "permitemptypasswords",
    "x11forwarding",
    "allowtcpforwarding",
    "allowagentforwarding",
    "allowstreamlocalforwarding",
    "gatewayports",
    "permittunnel",
    "permituserenvironment",
    "hostbasedauthentication",
    "ignorerhosts",
    "strictmodes",
    "usedns",
    "usepam",
    "loglevel",
    "compression",
    "printmotd",
    "tcpkeepalive",
    "gssapiauthentication",
    "kerberosauthentication",
];

/// What parsing a config found.
#[derive(Debug, Default)]
pub struct SshdConfig {
    /// Global settings: keyword (lower case) → value, first one wins (accumulating keywords
    /// collect every line).
    pub global: BTreeMap<String, String>,
    /// In order of appearance.
    pub explicit: Vec<String>,
    pub match_blocks: Vec<String>,
    pub match_settings: Vec<String>,
    pub files: Vec<String>,
}

impl SshdConfig {
    /// The effective value: the explicit one, else the default.
    pub fn effective(&self, keyword: &str) -> Option<String> {
        let keyword = keyword.to_ascii_lowercase();
        // The two names of keyboard-interactive authentication are one setting.
        let keyword = if keyword == "challengeresponseauthentication" {
            "kbdinteractiveauthentication".to_string()
        } else {
            keyword
        };
        self.global
            .get(&keyword)
            .cloned()
            .or_else(|| DEFAULTS.iter().find(|(k, _)| *k == keyword).map(|(_, v)| v.to_string()))
    }
}

/// Parses `path` and its includes. `include_dir` is where relative Include paths point.
pub fn parse(path: &Path, include_dir: &Path) -> Result<SshdConfig, ProbeError> {
    let mut config = SshdConfig::default();
    parse_file(path, include_dir, None, 0, &mut config)?;
    Ok(config)
}

fn parse_file(
    path: &Path,
    include_dir: &Path,
    match_context: Option<&str>,
    depth: usize,
    config: &mut SshdConfig,
) -> Result<(), ProbeError> {
    if depth > MAX_INCLUDE_DEPTH {
        return Err(ProbeError::new(format!(
            "{}: Include nested more than {MAX_INCLUDE_DEPTH} levels deep (an include loop?)",
            path.display()
        )));
    }
    let meta = std::fs::metadata(path).map_err(|e| ProbeError::new(format!("cannot read {}: {e}", path.display())))?;
    if meta.len() > MAX_FILE_SIZE {
        return Err(ProbeError::new(format!("{} is larger than 1 MiB; not an sshd_config", path.display())));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| ProbeError::new(format!("cannot read {}: {e}", path.display())))?;
    config.files.push(path.display().to_string());
    // A Match block in an included file ends with that file, as in sshd.
    let mut current_match: Option<String> = match_context.map(str::to_string);
    for (number, line) in text.lines().enumerate() {
        let Some((keyword, args)) = split_line(line) else { continue };
        let keyword = keyword.to_ascii_lowercase();
        if keyword == "match" {
            if args.is_empty() {
                return Err(ProbeError::new(format!("{}:{}: Match without criteria", path.display(), number + 1)));
            }
            // Even `Match all` opens a block: its settings override the global ones for
            // every connection, so they are reported with the other Match settings.
            let criteria = args.join(" ");
            config.match_blocks.push(criteria.clone());
            current_match = Some(criteria);
            continue;
        }
        if keyword == "include" {
            for pattern in &args {
                let pattern =
                    if Path::new(pattern).is_absolute() { PathBuf::from(pattern) } else { include_dir.join(pattern) };
                let text = pattern.to_string_lossy().into_owned();
                let mut matched: Vec<PathBuf> = glob::glob(&text)
                    .map_err(|e| {
                        ProbeError::new(format!("{}:{}: bad Include pattern: {e}", path.display(), number + 1))
                    })?
                    .filter_map(Result::ok)
                    .collect();
                matched.sort();
                for file in matched {
                    parse_file(&file, include_dir, current_match.as_deref(), depth + 1, config)?;
                }
            }
            continue;
        }
        let value =
            if WORD_VALUED.contains(&keyword.as_str()) { args.join(" ").to_ascii_lowercase() } else { args.join(" ") };
        let keyword = if keyword == "challengeresponseauthentication" {
            "kbdinteractiveauthentication".to_string()
        } else {
            keyword
        };
        match &current_match {
            Some(criteria) => config.match_settings.push(format!("{criteria}: {keyword} {value}")),
            None => {
                if !config.explicit.contains(&keyword) {
                    config.explicit.push(keyword.clone());
                }
                if ACCUMULATING.contains(&keyword.as_str()) {
                    let entry = config.global.entry(keyword).or_default();
                    if !entry.is_empty() {
                        entry.push(' ');
                    }
                    entry.push_str(&value);
                } else {
                    config.global.entry(keyword).or_insert(value);
                }
            }
        }
    }
    Ok(())
}

/// `Keyword value …`, `Keyword=value`, quoted arguments, `#` comments (a whole line, or
/// from a word starting with `#`, as sshd reads them).
fn split_line(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (keyword, rest) = match line.find(|c: char| c.is_whitespace() || c == '=') {
        Some(at) => (&line[..at], line[at..].trim_start()),
        None => (line, ""),
    };
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim_start();
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '#' {
            break;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                word.push(c);
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        args.push(word);
    }
    Some((keyword.to_string(), args))
}

fn yes(value: Option<String>) -> Option<Value> {
    value.map(|v| Value::Bool(v.eq_ignore_ascii_case("yes")))
}

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    let path = PathBuf::from(input.params.str("path").unwrap_or("/etc/ssh/sshd_config"));
    let include_dir = PathBuf::from(input.params.str("include_dir").unwrap_or("/etc/ssh"));
    let wanted: Vec<String> = input.wanted.iter().cloned().collect();
    Box::pin(blocking(move || {
        let config = parse(&path, &include_dir)?;
        let mut facts = Facts::default();
        // Every explicit setting is reported; defaults only when asked for (in any case:
        // `setting.PermitRootLogin`), so reports are not flooded with them.
        for (keyword, value) in &config.global {
            facts.set(format!("setting.{keyword}"), Value::Str(value.clone()));
        }
        for name in &wanted {
            if let Some(keyword) = name.strip_prefix("setting.")
                && let Some(value) = config.effective(keyword)
            {
                facts.set(name.clone(), Value::Str(value));
            }
        }
        if let Some(v) = config.effective("permitrootlogin") {
            facts.set("permit_root_login", Value::Str(v));
        }
        for (fact, keyword) in [
            ("password_authentication", "passwordauthentication"),
            ("pubkey_authentication", "pubkeyauthentication"),
            ("kbd_interactive_authentication", "kbdinteractiveauthentication"),
            ("permit_empty_passwords", "permitemptypasswords"),
            ("x11_forwarding", "x11forwarding"),
        ] {
            if let Some(v) = yes(config.effective(keyword)) {
                facts.set(fact, v);
            }
        }
        if let Some(tries) = config.effective("maxauthtries").and_then(|v| v.parse::<i64>().ok()) {
            facts.set("max_auth_tries", Value::Int(tries));
        }
        let ports = config.effective("port").unwrap_or_default();
        facts.set("ports", Value::string_list(ports.split_whitespace()));
        facts.set("explicit_settings", Value::string_list(config.explicit.clone()));
        facts.set("match_blocks", Value::string_list(config.match_blocks.clone()));
        facts.set("match_settings", Value::string_list(config.match_settings.clone()));
        facts.set("files", Value::string_list(config.files.clone()));
        Ok(facts)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_like_sshd_reads_them() {
        assert_eq!(split_line("  PermitRootLogin no"), Some(("PermitRootLogin".into(), vec!["no".into()])));
        assert_eq!(split_line("Port=2222"), Some(("Port".into(), vec!["2222".into()])));
        assert_eq!(split_line("Port = 2222 # admin"), Some(("Port".into(), vec!["2222".into()])));
        assert_eq!(split_line("Banner \"/etc/issue net\""), Some(("Banner".into(), vec!["/etc/issue net".into()])));
        assert_eq!(split_line("   # comment"), None);
        assert_eq!(split_line(""), None);
    }
}
