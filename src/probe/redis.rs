//! `redis`: connects to a Redis (or Valkey) server and observes what a go-live checklist asks
//! about it: reachability, whether it demands a password, version, mode and role,
//! replication, persistence, memory limits, `CONFIG GET` values and any INFO field. It sends
//! read commands only (see `redis_conn`), and only those the item's `expect` needs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;

use super::redis_conn::{Connection, SendError, Target, command_name, expect_pong};
use super::resp::Reply;
use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "redis",
    summary: "Connects to Redis with read commands only; observes auth, version, role, replication, persistence, memory, CONFIG and INFO.",
    params: &[
        ParamSpec::optional(
            "url",
            ParamType::Url,
            "redis://[user:password@]host[:port][/db], or rediss:// for TLS; the password is never shown. Give url or host",
        ),
        ParamSpec::optional("host", ParamType::String, "host name or IP of the server, instead of url"),
        ParamSpec::optional("port", ParamType::Integer, "port, with host (default 6379)"),
        ParamSpec::optional("tls", ParamType::Bool, "connect with TLS, with host (default false)"),
        ParamSpec::optional(
            "username",
            ParamType::String,
            "ACL user name (Redis 6+), with password; overrides the url's",
        ),
        ParamSpec {
            name: "password",
            ty: ParamType::String,
            required: false,
            default: None,
            secret: true,
            doc: "password (requirepass, or the ACL user's); overrides the url's; never shown",
        },
        ParamSpec::optional("db", ParamType::Integer, "database number to select (default: the url's /db, or 0)"),
        ParamSpec::with_default(
            "tls_verify",
            ParamType::Bool,
            "true",
            "with TLS, verify the server certificate and name (false trusts any certificate)",
        ),
        ParamSpec::optional(
            "ca_file",
            ParamType::Path,
            "with TLS, a PEM file of the CA certificates to trust instead of the system's (a private CA)",
        ),
    ],
    facts: &[
        FactSpec::new("reachable", FactType::Bool, "the server answered PING (an unreachable server is an error)"),
        FactSpec::new(
            "auth_required",
            FactType::Bool,
            "a connection without credentials is refused with NOAUTH (checked on a separate connection)",
        ),
        FactSpec::new(
            "credentials_accepted",
            FactType::Bool,
            "the server accepts the item's credentials (the url's, or username and password): false when AUTH is refused (WRONGPASS…) or the item gives none",
        ),
        FactSpec::new(
            "auth_error",
            FactType::String,
            "why the credentials were not accepted: the server's answer to AUTH (WRONGPASS: wrong username or password), or that the item gives none; never the credentials (absent when they were accepted)",
        ),
        FactSpec::new("version", FactType::Version, "server version (INFO server redis_version), e.g. \">= 6\""),
        FactSpec::new("mode", FactType::String, "standalone, cluster or sentinel (INFO server redis_mode)"),
        FactSpec::new("role", FactType::String, "master or replica (INFO replication role)"),
        FactSpec::new("connected_replicas", FactType::Integer, "replicas connected to this master"),
        FactSpec::new(
            "master_link_status",
            FactType::String,
            "up or down: a replica's link to its master (absent on a master)",
        ),
        FactSpec::new("aof_enabled", FactType::Bool, "append-only file persistence is on"),
        FactSpec::new("rdb_last_bgsave_ok", FactType::Bool, "the last RDB snapshot (BGSAVE) succeeded"),
        FactSpec::new(
            "rdb_last_save_age",
            FactType::Duration,
            "time since the last successful RDB save (since start-up when it never saved)",
        ),
        FactSpec::new("aof_last_write_ok", FactType::Bool, "the last append-only file write succeeded"),
        FactSpec::new("maxmemory", FactType::Bytes, "the memory limit; 0 means none"),
        FactSpec::new(
            "maxmemory_policy",
            FactType::String,
            "what happens at the limit: noeviction, allkeys-lru, volatile-lru…",
        ),
        FactSpec::new(
            "protected_mode",
            FactType::Bool,
            "protected mode is on (CONFIG GET protected-mode; an error where CONFIG is unavailable)",
        ),
        FactSpec::new("used_memory", FactType::Bytes, "memory in use (INFO memory used_memory)"),
        FactSpec::new("keys", FactType::Integer, "number of keys in the selected db (DBSIZE)"),
        FactSpec::new(
            "config.<name>",
            FactType::Any,
            "a setting by CONFIG GET, e.g. config.appendfsync; an error, never a pass, where CONFIG is renamed or denied; settings holding credentials (requirepass, masterauth…) are shown as `***`",
        ),
        FactSpec::new(
            "info.<section>.<field>",
            FactType::Any,
            "any INFO field, e.g. info.clients.connected_clients, info.stats.evicted_keys",
        ),
    ],
    default_expect: &[("reachable", "true")],
    observe: Some(observe),
    check: Some(super::redis_conn::check_params),
    notes: &[],
};

/// The INFO section each built-in fact is read from.
const INFO_FACTS: &[(&str, &str)] = &[
    ("version", "server"),
    ("mode", "server"),
    ("role", "replication"),
    ("connected_replicas", "replication"),
    ("master_link_status", "replication"),
    ("aof_enabled", "persistence"),
    ("rdb_last_bgsave_ok", "persistence"),
    ("rdb_last_save_age", "persistence"),
    ("aof_last_write_ok", "persistence"),
    ("maxmemory", "memory"),
    ("maxmemory_policy", "memory"),
    ("used_memory", "memory"),
];

fn observe<'a>(input: &'a ProbeInput, shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let target = Target::from_params(&input.params)?;
        let mut facts = Facts::default();
        if input.wants("auth_required") {
            let required = shared.redis.auth_required(&target, input.timeout).await?;
            facts.set("auth_required", Value::Bool(required));
        }
        if input.wants("credentials_accepted") || input.wants("auth_error") {
            let refused = shared.redis.credentials_refused(&target, input.timeout).await?;
            facts.set("credentials_accepted", Value::Bool(refused.is_none()));
            if let Some(why) = refused {
                facts.set("auth_error", Value::Str(why));
            }
        }
        // An item that names no fact still connects: it checks that the server answers.
        let answered = ["auth_required", "credentials_accepted", "auth_error"];
        let needs_connection = input.wanted.is_empty() || input.wanted.iter().any(|w| !answered.contains(&w.as_str()));
        if !needs_connection {
            return Ok(facts);
        }
        let conn = shared.redis.connection(&target);
        let mut session = Session { conn, target: &target, limit: input.timeout };
        session.observe(input, &mut facts).await?;
        Ok(facts)
    })
}

struct Session<'a> {
    conn: std::sync::Arc<Connection>,
    target: &'a Target,
    limit: Duration,
}

impl Session<'_> {
    async fn observe(&mut self, input: &ProbeInput, facts: &mut Facts) -> Result<(), ProbeError> {
        if input.wanted.is_empty() || input.wants("reachable") {
            let reply = self.run(&["PING"]).await?;
            expect_pong(reply).map_err(|e| self.failed(&["PING"], e))?;
            facts.set("reachable", Value::Bool(true));
        }

        let mut sections: BTreeSet<String> = BTreeSet::new();
        for (fact, section) in INFO_FACTS {
            if input.wants(fact) {
                sections.insert(section.to_string());
            }
        }
        if input.wants("rdb_last_save_age") {
            sections.insert("server".into()); // the server's clock
        }
        let mut info_fields = Vec::new();
        for name in &input.wanted {
            if let Some(rest) = name.strip_prefix("info.") {
                match rest.split_once('.') {
                    Some((section, field)) if !section.is_empty() && !field.is_empty() => {
                        sections.insert(section.to_ascii_lowercase());
                        info_fields.push((name.clone(), section.to_ascii_lowercase(), field.to_string()));
                    }
                    _ => {
                        return Err(ProbeError::new(format!(
                            "`{name}`: write info.<section>.<field>, e.g. info.clients.connected_clients"
                        )));
                    }
                }
            }
        }
        let mut info: BTreeMap<String, HashMap<String, String>> = BTreeMap::new();
        for section in sections {
            let args = ["INFO", section.as_str()];
            let reply = self.run(&args).await?;
            let fields = match reply {
                Reply::Bulk(Some(bytes)) => parse_info(&String::from_utf8_lossy(&bytes)),
                other => Err(format!("INFO was answered with {}, not a bulk string", other.kind())),
            };
            let fields = fields.map_err(|why| self.failed(&args, SendError::Protocol(why)))?;
            info.insert(section, fields);
        }
        let field = |section: &str, name: &str| info.get(section).and_then(|fields| fields.get(name)).cloned();

        let mut set = |fact: &str, value: Option<Value>| {
            if input.wants(fact)
                && let Some(value) = value
            {
                facts.set(fact, value);
            }
        };
        set("version", field("server", "redis_version").map(Value::Version));
        set("mode", field("server", "redis_mode").map(Value::Str));
        set("role", field("replication", "role").map(|r| Value::Str(if r == "slave" { "replica".into() } else { r })));
        set("connected_replicas", field("replication", "connected_slaves").and_then(|v| integer(&v)));
        set("master_link_status", field("replication", "master_link_status").map(Value::Str));
        set("aof_enabled", field("persistence", "aof_enabled").map(|v| Value::Bool(v == "1")));
        set("rdb_last_bgsave_ok", field("persistence", "rdb_last_bgsave_status").map(|v| Value::Bool(v == "ok")));
        set("aof_last_write_ok", field("persistence", "aof_last_write_status").map(|v| Value::Bool(v == "ok")));
        set(
            "rdb_last_save_age",
            save_age(field("persistence", "rdb_last_save_time"), field("server", "server_time_usec")),
        );
        set("maxmemory", field("memory", "maxmemory").and_then(|v| v.parse().ok()).map(Value::Bytes));
        set("maxmemory_policy", field("memory", "maxmemory_policy").map(Value::Str));
        set("used_memory", field("memory", "used_memory").and_then(|v| v.parse().ok()).map(Value::Bytes));
        for (fact, section, name) in &info_fields {
            if let Some(value) = field(section, name) {
                facts.set(fact.clone(), scalar(&value));
            }
        }

        if input.wants("keys") {
            let reply = self.run(&["DBSIZE"]).await?;
            match reply {
                Reply::Int(n) => facts.set("keys", Value::Int(n)),
                other => {
                    let why = format!("DBSIZE was answered with {}, not an integer", other.kind());
                    return Err(self.failed(&["DBSIZE"], SendError::Protocol(why)));
                }
            }
        }
        if input.wants("protected_mode") {
            let value = self.config_get("protected-mode").await?;
            facts.set("protected_mode", Value::Bool(value == "yes"));
        }
        for name in &input.wanted {
            if let Some(parameter) = name.strip_prefix("config.") {
                let value = scalar(&self.config_get(parameter).await?);
                if is_credential(parameter) {
                    facts.set_secret(name.clone(), value);
                } else {
                    facts.set(name.clone(), value);
                }
            }
        }
        Ok(())
    }

    /// One setting by CONFIG GET. Where CONFIG is renamed, disabled or denied by an ACL this
    /// is an error: the setting was not observed.
    async fn config_get(&mut self, parameter: &str) -> Result<String, ProbeError> {
        if parameter.is_empty() || parameter.contains(['*', '?', '[']) {
            return Err(ProbeError::new(format!(
                "config.{parameter}: name one setting, not a pattern (e.g. config.maxmemory-policy)"
            )));
        }
        let args = ["CONFIG", "GET", parameter];
        let reply = self.run(&args).await?;
        // Names and values, as bulk strings: anything else is not a CONFIG GET reply.
        let pairs: Option<Vec<String>> = match &reply {
            Reply::Array(Some(items)) if items.len() % 2 == 0 => items.iter().map(Reply::text).collect(),
            _ => None,
        };
        let pairs = pairs.ok_or_else(|| {
            let why = format!("CONFIG GET was answered with {}, not pairs of names and values", reply.kind());
            self.failed(&args, SendError::Protocol(why))
        })?;
        let found = pairs.chunks(2).find(|kv| kv.len() == 2 && kv[0].eq_ignore_ascii_case(parameter));
        match (found, pairs.as_slice()) {
            (Some(kv), _) => Ok(kv[1].clone()),
            // An alias (slaveof → replicaof) answers under its own name.
            (None, [_, value]) => Ok(value.clone()),
            _ => Err(ProbeError::new(format!(
                "redis at {} has no setting `{parameter}` (CONFIG GET returned nothing)",
                self.target.address()
            ))),
        }
    }

    /// Sends one command through the read-only allow-list (a broken connection is opened
    /// again by the next command).
    async fn run(&mut self, args: &[&str]) -> Result<Reply, ProbeError> {
        self.conn.send(args, self.limit).await.map_err(|e| self.failed(args, e))
    }

    /// Why a command gave no usable reply, naming it and the server.
    fn failed(&self, args: &[&str], e: SendError) -> ProbeError {
        let name = command_name(args);
        let address = self.target.address();
        match e {
            SendError::Server { code, detail } => {
                let why = if code == "ERR" && detail.starts_with("unknown command") {
                    format!(
                        "{code} {detail} (the command is renamed or disabled on this server, so this fact cannot be observed)"
                    )
                } else if code == "NOPERM" {
                    format!("{code} {detail} (the ACL user may not run it, so this fact cannot be observed)")
                } else if code == "NOAUTH" {
                    format!("{code} {detail} (give a password, in the url or as password)")
                } else {
                    format!("{code} {detail}")
                };
                ProbeError::new(format!("{name} on redis at {address} failed: {why}"))
            }
            e @ SendError::NotReadOnly(_) => ProbeError::new(e.to_string()),
            SendError::Open(message) | SendError::AuthRefused { message, .. } => ProbeError::new(message),
            e => ProbeError::new(format!("{name} on redis at {address} failed: {e}")),
        }
    }
}

/// Settings that hold credentials (requirepass, masterauth, tls-key-file-pass…): matched
/// like any other, but shown as `***`, even when the item authenticates as another user.
fn is_credential(setting: &str) -> bool {
    let setting = setting.to_ascii_lowercase();
    setting.contains("pass") || setting.contains("auth")
}

/// `field:value` lines of an INFO reply; `# Section` headers and blank lines are skipped. A
/// line of another form means the reply is not INFO.
fn parse_info(text: &str) -> Result<HashMap<String, String>, String> {
    let mut fields = HashMap::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err("INFO was answered with lines that are not field:value".into());
        };
        fields.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(fields)
}

fn integer(text: &str) -> Option<Value> {
    text.parse::<i64>().ok().map(Value::Int)
}

/// A value as Redis wrote it, typed: an integer, a decimal number, or text.
fn scalar(text: &str) -> Value {
    if let Some(v) = integer(text) {
        return v;
    }
    let numeric = !text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    match text.parse::<f64>() {
        Ok(f) if numeric => Value::Float(f),
        _ => Value::str(text),
    }
}

/// Time since `rdb_last_save_time` (unix seconds), by the server's clock when INFO gives it.
fn save_age(last_save: Option<String>, server_time_usec: Option<String>) -> Option<Value> {
    let last_save: u64 = last_save?.parse().ok()?;
    let now = match server_time_usec.and_then(|t| t.parse::<u64>().ok()) {
        Some(usec) => Duration::from_micros(usec),
        None => SystemTime::now().duration_since(UNIX_EPOCH).ok()?,
    };
    Some(Value::Duration(now.saturating_sub(Duration::from_secs(last_save))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_replies_parse_into_fields() {
        let fields = parse_info(
            "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n",
        )
        .unwrap();
        assert_eq!(fields["redis_version"], "7.0.15");
        assert_eq!(fields["redis_mode"], "standalone");
        assert_eq!(fields["db0"], "keys=3,expires=0,avg_ttl=0");
        assert_eq!(fields.len(), 3);
        assert!(parse_info("PONG").is_err(), "not INFO");
    }

    #[test]
    fn values_are_typed_as_written() {
        assert_eq!(scalar("42"), Value::Int(42));
        assert_eq!(scalar("-1"), Value::Int(-1));
        assert_eq!(scalar("0.75"), Value::Float(0.75));
        assert_eq!(scalar("7.0.15"), Value::str("7.0.15"));
        assert_eq!(scalar("inf"), Value::str("inf"));
        assert_eq!(scalar("allkeys-lru"), Value::str("allkeys-lru"));
        assert_eq!(scalar(""), Value::str(""));
    }

    #[test]
    fn save_age_uses_the_server_clock() {
        let age = save_age(Some("1000".into()), Some("1090500000".into()));
        assert_eq!(age, Some(Value::Duration(Duration::from_micros(90_500_000))));
        assert_eq!(save_age(Some("2000".into()), Some("1000000000".into())), Some(Value::Duration(Duration::ZERO)));
        assert_eq!(save_age(None, None), None);
    }
}
