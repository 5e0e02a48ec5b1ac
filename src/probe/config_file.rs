//! `config.<key>` facts of the `file` probe: the value of one key of a structured config
//! file (`probe::config_formats` parses it), typed as the format types it, with the line it
//! is on in the explanation of a failed expectation (`debug = true (line 3)`), and, for a
//! key that is not there, what the file has instead. Only the keys an item's expectations
//! name are looked up.
//!
//! A key is named by its path, dots between the levels: `config.database.pool_size`; a
//! list entry by its index from 0: `config.servers.0.host`. A key that itself holds dots
//! (`"spring.datasource.url"` in JSON, a quoted TOML key) is named with them; where both
//! readings exist, the nested one wins. Values under a name that says it holds a
//! credential (`redact::is_secret_name`: `password`, `api_key`, `token`…) are secrets.

use std::collections::BTreeSet;

use super::Facts;
use super::config_formats::{Entry, Node};
use crate::redact::{MASK, is_secret_name};
use crate::value::Value;

/// The fact family's prefix.
pub const PREFIX: &str = "config.";

/// The wanted `config.<key>` facts: (fact name, key).
pub fn wanted_keys(wanted: &BTreeSet<String>) -> impl Iterator<Item = (&str, &str)> {
    wanted.iter().filter_map(|name| Some((name.as_str(), name.strip_prefix(PREFIX).filter(|k| !k.is_empty())?)))
}

/// Sets every wanted `config.<key>` fact the file has, and for each an explanation: the
/// key, its value (masked when secret) and its line, or why it is not there. `file` is the
/// path as the item gave it.
pub fn set_facts(facts: &mut Facts, wanted: &BTreeSet<String>, root: &Entry, file: &str) {
    for (name, key) in wanted_keys(wanted) {
        let segments: Vec<&str> = key.split('.').collect();
        match lookup(root, &segments, false) {
            Some((entry, secret)) => {
                let value = to_value(entry);
                let mut hidden = Vec::new();
                let shown = shown_value(entry, secret, &mut hidden);
                facts.explain(name, format!("{key} = {} (line {})", describe(&shown), entry.line));
                if hidden.is_empty() {
                    facts.set(name, value);
                } else if matches!(entry.node, Node::Scalar(_)) {
                    facts.set_secret(name, value);
                } else {
                    facts.set_partly_secret(name, value, shown, hidden);
                }
            }
            None => facts.explain(name, missing(root, &segments, file)),
        }
    }
}

/// For a file that does not exist: each wanted key's explanation says so.
pub fn no_file(facts: &mut Facts, wanted: &BTreeSet<String>, file: &str) {
    for (name, _) in wanted_keys(wanted) {
        facts.explain(name, format!("{file} does not exist"));
    }
}

/// The entry at `segments` under `entry`, and whether a name on the way says it is a
/// secret.
fn lookup<'a>(entry: &'a Entry, segments: &[&str], secret: bool) -> Option<(&'a Entry, bool)> {
    if segments.is_empty() {
        return Some((entry, secret));
    }
    match &entry.node {
        Node::Map(map) => (1..=segments.len()).find_map(|n| {
            let key = segments[..n].join(".");
            let (_, child) = map.iter().find(|(k, _)| *k == key)?;
            lookup(child, &segments[n..], secret || is_secret_name(&key))
        }),
        Node::List(items) => {
            let index: usize = segments[0].parse().ok()?;
            lookup(items.get(index)?, &segments[1..], secret)
        }
        Node::Scalar(_) => None,
    }
}

/// The deepest entry on the way to `segments` and how many segments it took.
fn deepest<'a>(entry: &'a Entry, segments: &[&str]) -> (&'a Entry, usize) {
    let mut best = (entry, 0);
    match &entry.node {
        Node::Map(map) => {
            for n in 1..=segments.len() {
                let key = segments[..n].join(".");
                if let Some((_, child)) = map.iter().find(|(k, _)| *k == key) {
                    let (e, depth) = deepest(child, &segments[n..]);
                    if n + depth > best.1 {
                        best = (e, n + depth);
                    }
                }
            }
        }
        Node::List(items) => {
            if let Some(child) = segments.first().and_then(|s| s.parse::<usize>().ok()).and_then(|i| items.get(i)) {
                let (e, depth) = deepest(child, &segments[1..]);
                best = (e, 1 + depth);
            }
        }
        Node::Scalar(_) => {}
    }
    best
}

/// Why a key is not in the file: where the path stops, and a near name if there is one.
fn missing(root: &Entry, segments: &[&str], file: &str) -> String {
    let key = segments.join(".");
    let (entry, depth) = deepest(root, segments);
    let rest = segments[depth..].join(".");
    let mut out = format!("{file} has no key {key}");
    if depth > 0 {
        let found = segments[..depth].join(".");
        match &entry.node {
            Node::Map(_) => out.push_str(&format!(": {found} (line {}) has no {rest}", entry.line)),
            Node::List(items) => {
                out.push_str(&format!(": {found} (line {}) is a list of {} entries", entry.line, items.len()))
            }
            Node::Scalar(v) => {
                out.push_str(&format!(": {found} (line {}) is a {}, not a table", entry.line, v.type_name()))
            }
        }
    }
    if let Node::Map(map) = &entry.node {
        let near = crate::diag::did_you_mean(&rest, map.iter().map(|(k, _)| k.as_str()));
        if let Some((k, e)) = near.and_then(|n| map.iter().find(|(k, _)| k == n)) {
            let prefix = if depth > 0 { format!("{}.", segments[..depth].join(".")) } else { String::new() };
            out.push_str(&format!(" (did you mean {prefix}{k}, line {}?)", e.line));
        }
    }
    out
}

fn to_value(entry: &Entry) -> Value {
    match &entry.node {
        Node::Scalar(v) => v.clone(),
        Node::Map(map) => Value::Map(map.iter().map(|(k, e)| (k.clone(), to_value(e))).collect()),
        Node::List(items) => Value::List(items.iter().map(to_value).collect()),
    }
}

/// The value as reports show it: every secret in it masked, and collected in `hidden`.
/// Text and numbers under a secret name are secrets; booleans and nulls (a switch such
/// as `password_required = true`) are not, nor is an empty string.
fn shown_value(entry: &Entry, secret: bool, hidden: &mut Vec<String>) -> Value {
    match &entry.node {
        Node::Scalar(v) => {
            let is_secret = secret
                && match v {
                    Value::Str(s) => !s.is_empty(),
                    Value::Int(_) | Value::Float(_) => true,
                    _ => false,
                };
            if is_secret {
                hidden.push(v.to_string());
                Value::str(MASK)
            } else {
                v.clone()
            }
        }
        Node::Map(map) => Value::Map(
            map.iter().map(|(k, e)| (k.clone(), shown_value(e, secret || is_secret_name(k), hidden))).collect(),
        ),
        Node::List(items) => Value::List(items.iter().map(|e| shown_value(e, secret, hidden)).collect()),
    }
}

/// A value for an explanation: text quoted (so `"10"` and `10` read differently), a
/// masked secret as `***`, a table or list cut short.
fn describe(v: &Value) -> String {
    match v {
        Value::Str(s) if s == MASK => MASK.to_string(),
        Value::Str(s) => crate::diag::clip(&format!("{s:?}"), 120).into_owned(),
        other => crate::diag::clip(&other.to_string(), 120).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::config_formats::{Format, parse};

    fn facts(format: Format, text: &str, wanted: &[&str]) -> Facts {
        let root = parse(format, text).unwrap();
        let wanted: BTreeSet<String> = wanted.iter().map(|s| s.to_string()).collect();
        let mut facts = Facts::default();
        set_facts(&mut facts, &wanted, &root, "config/prod.toml");
        facts
    }

    #[test]
    fn keys_are_looked_up_by_dotted_path_with_their_line() {
        let text = "title = \"x\"\n\ndebug = true\n[database]\npool_size = 10\n[[servers]]\nhost = \"a\"\n[\"spring.boot\"]\nport = 1\n";
        let wanted = ["config.debug", "config.database.pool_size", "config.servers.0.host", "config.spring.boot.port"];
        let f = facts(Format::Toml, text, &wanted);
        assert_eq!(f.get("config.debug"), Some(&Value::Bool(true)));
        assert_eq!(f.explanations["config.debug"], "debug = true (line 3)");
        assert_eq!(f.get("config.database.pool_size"), Some(&Value::Int(10)));
        assert_eq!(f.explanations["config.database.pool_size"], "database.pool_size = 10 (line 5)");
        assert_eq!(f.get("config.servers.0.host"), Some(&Value::str("a")));
        assert_eq!(f.explanations["config.servers.0.host"], "servers.0.host = \"a\" (line 7)");
        assert_eq!(f.get("config.spring.boot.port"), Some(&Value::Int(1)), "a key with a dot in it");
        assert!(f.get("config.title").is_none(), "only what is asked");
        let f = facts(Format::Toml, text, &["config.database"]);
        assert_eq!(f.get("config.database"), Some(&Value::Map([("pool_size".to_string(), Value::Int(10))].into())));
    }

    #[test]
    fn a_missing_key_is_absent_and_says_what_is_there() {
        let text = "debug = true\n[database]\npool_size = 10\nhost = \"db\"\n[[servers]]\nhost = \"a\"\n";
        let wanted = [
            "config.debgu",
            "config.database.pool_sise",
            "config.database.host.x",
            "config.servers.3",
            "config.nothing",
        ];
        let f = facts(Format::Toml, text, &wanted);
        for w in wanted {
            assert!(f.get(w).is_none(), "{w}");
        }
        assert_eq!(f.explanations["config.debgu"], "config/prod.toml has no key debgu (did you mean debug, line 1?)");
        assert_eq!(
            f.explanations["config.database.pool_sise"],
            "config/prod.toml has no key database.pool_sise: database (line 2) has no pool_sise (did you mean database.pool_size, line 3?)"
        );
        assert_eq!(
            f.explanations["config.database.host.x"],
            "config/prod.toml has no key database.host.x: database.host (line 4) is a string, not a table"
        );
        assert_eq!(
            f.explanations["config.servers.3"],
            "config/prod.toml has no key servers.3: servers (line 5) is a list of 1 entries"
        );
        assert_eq!(f.explanations["config.nothing"], "config/prod.toml has no key nothing");
    }

    #[test]
    fn values_under_secret_names_are_masked() {
        let text = "db_password = \"hunter2hunter2\"\npassword_required = true\ntoken_ttl = 3600\npin_token = 12345678\n[database]\nhost = \"db\"\npassword = \"s3cr3t-pw\"\n[credentials]\nuser = \"svc-user\"\n";
        let wanted = [
            "config.db_password",
            "config.password_required",
            "config.token_ttl",
            "config.pin_token",
            "config.database",
            "config.credentials.user",
        ];
        let f = facts(Format::Toml, text, &wanted);
        assert_eq!(f.get("config.db_password"), Some(&Value::str("hunter2hunter2")), "matched as it is");
        assert_eq!(f.shown("config.db_password"), Some(Value::str("***")));
        assert_eq!(f.explanations["config.db_password"], "db_password = *** (line 1)");
        assert_eq!(f.shown("config.password_required"), Some(Value::Bool(true)), "a switch is no secret");
        assert_eq!(f.shown("config.token_ttl"), Some(Value::Int(3600)));
        assert_eq!(f.shown("config.pin_token"), Some(Value::str("***")));
        assert_eq!(f.shown("config.credentials.user"), Some(Value::str("***")), "under a secret name");
        let db = f.shown("config.database").unwrap();
        assert_eq!(db.to_string(), "{host = db, password = ***}");
        assert!(!f.explanations["config.database"].contains("s3cr3t"), "{}", f.explanations["config.database"]);
        let secrets = f.secret_values();
        for s in ["hunter2hunter2", "12345678", "s3cr3t-pw", "svc-user"] {
            assert!(secrets.iter().any(|v| v == s), "{s} is masked everywhere: {secrets:?}");
        }
        assert!(!secrets.iter().any(|v| v == "3600" || v == "true" || v == "db"), "{secrets:?}");
    }
}
