//! Connections for the `redis` probe: where an item connects (a URL or separate fields), one
//! multiplexed connection per distinct setting shared by every item of a run, and the
//! read-only allow-list that every command golive sends to Redis passes through.
//!
//! golive does its own connection setup (AUTH, SELECT) through the same allow-list: the
//! redis crate is told to send nothing by itself (RESP2, no `CLIENT SETINFO`), so `send` is
//! the only way a command reaches the server.

use crate::redact::percent_decode;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, ProtocolVersion, RedisConnectionInfo,
    RedisError, TlsCertificates,
};
use tokio::sync::OnceCell;

use super::{ParamProblem, Params, ProbeError};

pub const DEFAULT_PORT: u16 = 6379;

/// The only commands golive sends to Redis: a name, or a name and its subcommand. Each one
/// reads, or sets up golive's own connection (AUTH, SELECT); none changes data or settings.
pub const READ_ONLY_COMMANDS: &[&str] = &["AUTH", "SELECT", "PING", "INFO", "DBSIZE", "CONFIG GET"];

/// True when `args` (command name first) is on the read-only allow-list.
pub fn is_read_only(args: &[&str]) -> bool {
    let Some(name) = args.first() else {
        return false;
    };
    let sub = args.get(1);
    READ_ONLY_COMMANDS.iter().any(|entry| match entry.split_once(' ') {
        Some((command, subcommand)) => {
            command.eq_ignore_ascii_case(name) && sub.is_some_and(|s| s.eq_ignore_ascii_case(subcommand))
        }
        None => entry.eq_ignore_ascii_case(name),
    })
}

/// Why a command did not give a reply.
#[derive(Debug)]
pub enum SendError {
    /// Not on the allow-list: never sent.
    NotReadOnly(String),
    /// The server answered with an error (`NOAUTH`, `NOPERM`, `ERR unknown command`…).
    Server {
        code: String,
        detail: String,
    },
    Timeout(Duration),
    /// The connection failed or broke.
    Connection(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::NotReadOnly(name) => {
                write!(f, "{name} is not a read-only command; golive sends Redis read commands only")
            }
            SendError::Server { code, detail } if detail.is_empty() => f.write_str(code),
            SendError::Server { code, detail } => write!(f, "{code} {detail}"),
            SendError::Timeout(limit) => write!(f, "no answer within {}", humantime::format_duration(*limit)),
            SendError::Connection(e) => f.write_str(e),
        }
    }
}

/// The command's name as shown in messages: never its arguments (AUTH carries a password).
pub fn command_name(args: &[&str]) -> String {
    match args {
        [] => String::new(),
        [name, sub, ..]
            if READ_ONLY_COMMANDS
                .iter()
                .any(|e| e.split_once(' ').is_some_and(|(c, _)| c.eq_ignore_ascii_case(name))) =>
        {
            format!("{} {}", name.to_ascii_uppercase(), sub.to_ascii_uppercase())
        }
        [name, ..] => name.to_ascii_uppercase(),
    }
}

/// Sends one command and waits at most `limit` for its reply. Every command golive sends to
/// Redis goes through here, and anything not on [`READ_ONLY_COMMANDS`] is refused unsent.
pub async fn send(
    conn: &mut MultiplexedConnection,
    args: &[&str],
    limit: Duration,
) -> Result<::redis::Value, SendError> {
    if !is_read_only(args) {
        return Err(SendError::NotReadOnly(command_name(args)));
    }
    let mut cmd = ::redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    match tokio::time::timeout(limit, cmd.query_async::<::redis::Value>(conn)).await {
        Err(_) => Err(SendError::Timeout(limit)),
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(describe(&e)),
    }
}

fn describe(e: &RedisError) -> SendError {
    if let Some(code) = e.code() {
        return SendError::Server { code: code.to_string(), detail: e.detail().unwrap_or_default().to_string() };
    }
    if e.is_timeout() {
        return SendError::Connection("timed out".into());
    }
    SendError::Connection(root_cause(e))
}

/// The innermost cause of an error ("Connection refused (os error 111)").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// Where and how an item connects. Two items with equal targets share a connection.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    pub tls_verify: bool,
    pub ca_file: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("address", &self.address())
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| crate::redact::MASK))
            .field("db", &self.db)
            .finish()
    }
}

const URL_AND_HOST: &str = "give either url or host (with port, tls…), not both";
const NO_SERVER: &str = "give url (redis://…) or host";
const HOST_SETTINGS_WITH_URL: &str = "port and tls go with host; with url, write them in the URL";
const USERNAME_WITHOUT_PASSWORD: &str = "username needs a password";
const CA_FILE_WITHOUT_TLS: &str = "ca_file is for TLS connections: write rediss:// (or tls = true with host)";

fn bad_port(port: i64) -> String {
    format!("port {port} is not a TCP port")
}

fn bad_db(db: i64) -> String {
    format!("db {db} is not a database number")
}

/// The problems `Target::from_params` would refuse that show from which parameters are given
/// and their booleans and numbers; what a URL says is left to the run (while validating, a
/// URL from an unset `${env:…}` is empty).
pub fn check_params(p: &Params) -> Vec<ParamProblem> {
    let mut problems = Vec::new();
    let (url, host) = (p.get("url").is_some(), p.get("host").is_some());
    match (url, host) {
        (true, true) => problems.push(ParamProblem::new("host", URL_AND_HOST)),
        (false, false) => problems.push(ParamProblem::new("url", NO_SERVER)),
        (true, false) => {
            for name in ["port", "tls"] {
                if p.get(name).is_some() {
                    problems.push(ParamProblem::new(name, HOST_SETTINGS_WITH_URL));
                }
            }
        }
        (false, true) => {
            if let Some(port) = p.int("port")
                && !(1..=i64::from(u16::MAX)).contains(&port)
            {
                problems.push(ParamProblem::new("port", bad_port(port)));
            }
            if p.get("username").is_some() && p.get("password").is_none() {
                problems.push(ParamProblem::new("username", USERNAME_WITHOUT_PASSWORD));
            }
            if p.get("ca_file").is_some() && !p.bool("tls") {
                problems.push(ParamProblem::new("ca_file", CA_FILE_WITHOUT_TLS).hint("add tls = true"));
            }
        }
    }
    if let Some(db) = p.int("db")
        && db < 0
    {
        problems.push(ParamProblem::new("db", bad_db(db)));
    }
    problems
}

impl Target {
    /// Reads `url` or `host`/`port`/`tls`, then `username`, `password` and `db`, which
    /// override what the URL says.
    pub fn from_params(p: &Params) -> Result<Target, ProbeError> {
        let mut target = match (p.str("url"), p.str("host")) {
            (Some(_), Some(_)) => {
                return Err(ProbeError::new(URL_AND_HOST));
            }
            (None, None) => return Err(ProbeError::new(NO_SERVER)),
            (Some(url), None) => {
                if p.get("port").is_some() || p.get("tls").is_some() {
                    return Err(ProbeError::new(HOST_SETTINGS_WITH_URL));
                }
                Target::from_url(url)?
            }
            (None, Some(host)) => Target {
                host: host.to_string(),
                port: match p.int("port") {
                    None => DEFAULT_PORT,
                    Some(port) => {
                        u16::try_from(port).ok().filter(|p| *p > 0).ok_or_else(|| ProbeError::new(bad_port(port)))?
                    }
                },
                tls: p.bool("tls"),
                tls_verify: true,
                ca_file: None,
                username: None,
                password: None,
                db: 0,
            },
        };
        if let Some(username) = p.str("username") {
            target.username = Some(username.to_string());
        }
        if let Some(password) = p.str("password") {
            target.password = Some(password.to_string());
        }
        if let Some(db) = p.int("db") {
            target.db = db;
        }
        if target.db < 0 {
            return Err(ProbeError::new(bad_db(target.db)));
        }
        if target.username.is_some() && target.password.is_none() {
            return Err(ProbeError::new(USERNAME_WITHOUT_PASSWORD));
        }
        if p.get("tls_verify").is_some() {
            target.tls_verify = p.bool("tls_verify");
        }
        target.ca_file = p.str("ca_file").map(PathBuf::from);
        if target.ca_file.is_some() && !target.tls {
            return Err(ProbeError::new(CA_FILE_WITHOUT_TLS));
        }
        Ok(target)
    }

    fn from_url(text: &str) -> Result<Target, ProbeError> {
        // Errors here never quote the URL: it may hold a password.
        let url = reqwest::Url::parse(text).map_err(|e| ProbeError::new(format!("url is not a valid URL ({e})")))?;
        let tls = match url.scheme() {
            "redis" | "valkey" => false,
            "rediss" | "valkeys" => true,
            other => {
                return Err(ProbeError::new(format!(
                    "url scheme {other}:// is not supported; write redis://host:port/db or rediss:// for TLS"
                )));
            }
        };
        let host = match url.host_str() {
            Some(host) if !host.is_empty() => host.trim_start_matches('[').trim_end_matches(']').to_string(),
            _ => return Err(ProbeError::new("url has no host")),
        };
        let db = match url.path().trim_matches('/') {
            "" => 0,
            path => path.parse::<i64>().map_err(|_| {
                ProbeError::new(format!("url path /{path} is not a database number (write redis://host:port/0)"))
            })?,
        };
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ProbeError::new(
                "url options (?… or #…) are not supported; use the item's db, tls_verify and ca_file instead",
            ));
        }
        Ok(Target {
            host,
            port: url.port().unwrap_or(DEFAULT_PORT),
            tls,
            tls_verify: true,
            ca_file: None,
            username: Some(percent_decode(url.username())).filter(|u| !u.is_empty()),
            password: url.password().map(percent_decode),
            db,
        })
    }

    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The same server, without credentials and in db 0.
    fn anonymous(&self) -> Target {
        Target { username: None, password: None, db: 0, ..self.clone() }
    }
}

type Slot<T> = Arc<OnceCell<T>>;

/// Redis connections of one run: one per distinct [`Target`], opened by the first item that
/// needs it while the others wait, and whether each server requires authentication.
#[derive(Default)]
pub struct ConnectionCache {
    connections: Mutex<HashMap<Target, Slot<MultiplexedConnection>>>,
    auth_required: Mutex<HashMap<Target, Slot<bool>>>,
    opened: AtomicUsize,
}

impl ConnectionCache {
    /// The run's connection for `target`, authenticated and in its db.
    pub async fn connection(&self, target: &Target, limit: Duration) -> Result<MultiplexedConnection, ProbeError> {
        let slot = self.connections.lock().unwrap().entry(target.clone()).or_default().clone();
        slot.get_or_try_init(|| self.open(target, limit, true)).await.cloned()
    }

    /// Forgets a broken connection, so the next item (or a retry) opens a new one.
    pub fn forget(&self, target: &Target) {
        self.connections.lock().unwrap().remove(target);
    }

    /// Whether a connection without credentials is refused with NOAUTH. Asked once per server
    /// per run, on a connection of its own that sends only PING.
    pub async fn auth_required(&self, target: &Target, limit: Duration) -> Result<bool, ProbeError> {
        let anonymous = target.anonymous();
        let slot = self.auth_required.lock().unwrap().entry(anonymous.clone()).or_default().clone();
        let answer = slot
            .get_or_try_init(|| async {
                let mut conn = self.open(&anonymous, limit, false).await?;
                match send(&mut conn, &["PING"], limit).await {
                    Ok(_) => Ok(false),
                    Err(SendError::Server { code, .. }) if code == "NOAUTH" => Ok(true),
                    Err(e) => Err(ProbeError::new(format!(
                        "PING without credentials to redis at {}: {e}",
                        anonymous.address()
                    ))),
                }
            })
            .await?;
        Ok(*answer)
    }

    /// Connections opened so far in this run.
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }

    async fn open(
        &self,
        target: &Target,
        limit: Duration,
        authenticate: bool,
    ) -> Result<MultiplexedConnection, ProbeError> {
        let address = target.address();
        let client = client(target)?;
        let config = AsyncConnectionConfig::new().set_connection_timeout(Some(limit)).set_response_timeout(None);
        self.opened.fetch_add(1, Ordering::SeqCst);
        let connected = tokio::time::timeout(limit, client.get_multiplexed_async_connection_with_config(&config)).await;
        let mut conn = match connected {
            Err(_) => {
                return Err(ProbeError::new(format!(
                    "cannot connect to redis at {address}: no answer within {}",
                    humantime::format_duration(limit)
                )));
            }
            Ok(Err(e)) => {
                let cause = match describe(&e) {
                    SendError::Server { code, detail } => format!("{code} {detail}"),
                    other => other.to_string(),
                };
                return Err(ProbeError::new(format!("cannot connect to redis at {address}: {cause}")));
            }
            Ok(Ok(conn)) => conn,
        };
        if !authenticate {
            return Ok(conn);
        }
        if let Some(password) = &target.password {
            let mut args = vec!["AUTH"];
            if let Some(username) = &target.username {
                args.push(username);
            }
            args.push(password);
            match send(&mut conn, &args, limit).await {
                Ok(_) => {}
                Err(SendError::Server { code, detail }) => {
                    let why = match code.as_str() {
                        "WRONGPASS" => "wrong username or password".to_string(),
                        _ if detail.contains("no password is set") => {
                            "the server has no password set, yet the item gives one".to_string()
                        }
                        _ => format!("{code} {detail}"),
                    };
                    return Err(ProbeError::new(format!("authentication to redis at {address} failed: {why}")));
                }
                Err(e) => return Err(ProbeError::new(format!("authentication to redis at {address} failed: {e}"))),
            }
        }
        if target.db != 0 {
            let db = target.db.to_string();
            send(&mut conn, &["SELECT", &db], limit)
                .await
                .map_err(|e| ProbeError::new(format!("cannot select db {db} on redis at {address}: {e}")))?;
        }
        Ok(conn)
    }
}

/// A client that sends nothing on connect: no credentials (golive authenticates through
/// `send`), RESP2 (no HELLO), no `CLIENT SETINFO`.
fn client(target: &Target) -> Result<Client, ProbeError> {
    // The redis crate builds its rustls config from the process default provider: ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let addr = if target.tls {
        ConnectionAddr::TcpTls {
            host: target.host.clone(),
            port: target.port,
            insecure: !target.tls_verify,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(target.host.clone(), target.port)
    };
    let settings = RedisConnectionInfo::default().set_protocol(ProtocolVersion::RESP2).set_skip_set_lib_name();
    let info = addr
        .into_connection_info()
        .map_err(|e| ProbeError::new(format!("invalid redis address: {e}")))?
        .set_redis_settings(settings);
    let built = match (&target.ca_file, target.tls) {
        (Some(path), true) => {
            let pem = std::fs::read(path)
                .map_err(|e| ProbeError::new(format!("cannot read ca_file {}: {e}", path.display())))?;
            Client::build_with_tls(info, TlsCertificates { client_tls: None, root_cert: Some(pem) })
        }
        _ => Client::open(info),
    };
    built.map_err(|e| ProbeError::new(format!("cannot set up the redis client: {}", root_cause(&e))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn only_read_commands_are_allowed() {
        for ok in [
            &["PING"][..],
            &["info", "server"],
            &["INFO"],
            &["CONFIG", "GET", "maxmemory"],
            &["config", "get", "maxmemory"],
            &["DBSIZE"],
            &["AUTH", "user", "pw"],
            &["SELECT", "1"],
        ] {
            assert!(is_read_only(ok), "{ok:?} should be allowed");
        }
        for refused in [
            &["SET", "k", "v"][..],
            &["DEL", "k"],
            &["FLUSHALL"],
            &["FLUSHDB"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["CONFIG", "REWRITE"],
            &["CONFIG", "RESETSTAT"],
            &["CONFIG"],
            &["SHUTDOWN"],
            &["DEBUG", "SLEEP", "0"],
            &["BGSAVE"],
            &["SAVE"],
            &["EVAL", "return 1", "0"],
            &["CLIENT", "KILL", "ID", "1"],
            &["REPLICAOF", "NO", "ONE"],
            &["MONITOR"],
            &["INFOX"],
            &[],
        ] {
            assert!(!is_read_only(refused), "{refused:?} should be refused");
        }
    }

    #[test]
    fn refusal_names_the_command_never_its_arguments() {
        let e = SendError::NotReadOnly(command_name(&["config", "set", "requirepass", "hunter2-secret"]));
        assert_eq!(e.to_string(), "CONFIG SET is not a read-only command; golive sends Redis read commands only");
        let e = SendError::NotReadOnly(command_name(&["set", "hunter2-secret", "v"]));
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[tokio::test]
    async fn a_write_command_is_refused_before_anything_is_sent() {
        // A listener that records whether anything arrives: a refused command must not even
        // be written to the socket.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 1024];
            match tokio::time::timeout(Duration::from_millis(500), socket.read(&mut buf)).await {
                Ok(Ok(n)) => buf[..n].to_vec(),
                _ => Vec::new(),
            }
        });
        let target = Target {
            host: "127.0.0.1".into(),
            port,
            tls: false,
            tls_verify: true,
            ca_file: None,
            username: None,
            password: None,
            db: 0,
        };
        let cache = ConnectionCache::default();
        let mut conn = cache.connection(&target, Duration::from_secs(5)).await.unwrap();
        for write in [&["SET", "k", "v"][..], &["FLUSHALL"], &["CONFIG", "SET", "maxmemory", "1"]] {
            let err = send(&mut conn, write, Duration::from_secs(1)).await.unwrap_err();
            assert!(matches!(err, SendError::NotReadOnly(_)), "{err}");
        }
        assert_eq!(received.await.unwrap(), b"", "nothing reaches the server");
    }

    fn params(pairs: &[(&str, Value)]) -> Params {
        Params { values: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() }
    }

    #[test]
    fn targets_from_url_and_fields() {
        let t =
            Target::from_params(&params(&[("url", Value::str("rediss://app:p%40ss@cache.internal:6380/2"))])).unwrap();
        assert_eq!((t.host.as_str(), t.port, t.tls, t.db), ("cache.internal", 6380, true, 2));
        assert_eq!((t.username.as_deref(), t.password.as_deref()), (Some("app"), Some("p@ss")));

        let t = Target::from_params(&params(&[
            ("url", Value::str("redis://cache")),
            ("password", Value::str("pw")),
            ("db", Value::Int(3)),
        ]))
        .unwrap();
        assert_eq!((t.port, t.tls, t.db, t.password.as_deref(), t.username), (6379, false, 3, Some("pw"), None));

        let t = Target::from_params(&params(&[("host", Value::str("::1")), ("port", Value::Int(7000))])).unwrap();
        assert_eq!(t.address(), "[::1]:7000");

        for bad in [
            params(&[]),
            params(&[("url", Value::str("redis://a")), ("host", Value::str("b"))]),
            params(&[("url", Value::str("http://a"))]),
            params(&[("url", Value::str("redis://a/x"))]),
            params(&[("url", Value::str("redis://a/0?protocol=resp3"))]),
            params(&[("host", Value::str("a")), ("port", Value::Int(70000))]),
            params(&[("host", Value::str("a")), ("username", Value::str("u"))]),
            params(&[("url", Value::str("redis://a")), ("ca_file", Value::str("/ca.pem"))]),
            params(&[("url", Value::str("redis://a")), ("tls", Value::Bool(true))]),
        ] {
            assert!(Target::from_params(&bad).is_err(), "{:?}", bad.values.keys().collect::<Vec<_>>());
        }
    }

    #[test]
    fn parameter_checks_find_what_the_run_would_refuse() {
        type Case<'a> = (&'a [(&'a str, Value)], &'a [&'a str]);
        let cases: &[Case] = &[
            (&[], &["url"]),
            (&[("url", Value::str("redis://a")), ("host", Value::str("b"))], &["host"]),
            (
                &[("url", Value::str("redis://a")), ("port", Value::Int(1)), ("tls", Value::Bool(true))],
                &["port", "tls"],
            ),
            (&[("host", Value::str("a")), ("port", Value::Int(70000))], &["port"]),
            (&[("host", Value::str("a")), ("port", Value::Int(0))], &["port"]),
            (&[("host", Value::str("a")), ("username", Value::str("u"))], &["username"]),
            (&[("host", Value::str("a")), ("ca_file", Value::str("/ca.pem"))], &["ca_file"]),
            (&[("host", Value::str("a")), ("db", Value::Int(-1))], &["db"]),
            (
                &[
                    ("host", Value::str("a")),
                    ("port", Value::Int(6380)),
                    ("tls", Value::Bool(true)),
                    ("ca_file", Value::str("/ca.pem")),
                ],
                &[],
            ),
            // What the URL says (scheme, password, TLS) is the run's to judge.
            (&[("url", Value::str("")), ("username", Value::str("u")), ("ca_file", Value::str("/ca.pem"))], &[]),
        ];
        for (pairs, expected) in cases {
            let p = params(pairs);
            let found: Vec<&str> = check_params(&p).iter().map(|problem| problem.param).collect();
            assert_eq!(&found, expected, "{:?}", p.values.keys().collect::<Vec<_>>());
            if !expected.is_empty() {
                let refused = Target::from_params(&p).unwrap_err();
                assert!(check_params(&p).iter().any(|problem| problem.message == refused.0), "{refused}");
            }
        }
    }

    #[test]
    fn url_errors_never_quote_the_password() {
        let e = Target::from_params(&params(&[("url", Value::str("redis://u:hunter2-secret@a/notadb"))])).unwrap_err();
        assert!(!e.0.contains("hunter2"), "{e}");
        assert!(!format!("{:?}", Target::from_url("redis://u:hunter2-secret@a").unwrap()).contains("hunter2"));
    }
}
