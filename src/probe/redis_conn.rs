//! Connections for the `redis` probe: where an item connects (a URL or separate fields), one
//! connection per distinct setting shared by every item of a run, and the read-only
//! allow-list that every command golive sends to Redis passes through.
//!
//! golive speaks RESP2 itself (`resp.rs`): it connects (TCP, or TLS with rustls), sends
//! AUTH and SELECT through the same allow-list, and reads every reply through a parser that
//! bounds its size and refuses whatever is not RESP2. So `Connection::send` is the only way
//! a command reaches the server, and no server can make golive buffer more than
//! [`resp::MAX_REPLY_BYTES`] for one reply.

use crate::redact::percent_decode;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::OnceCell;

use super::resp::{self, ReadError, Reply};

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
    /// The connection could not be opened, or SELECT failed: the whole message, naming the
    /// server.
    Open(String),
    /// The server refused the item's credentials (AUTH answered an error): the whole
    /// message, naming the server, and why in short (`WRONGPASS: wrong username or
    /// password`), never the credentials.
    AuthRefused {
        message: String,
        why: String,
    },
    /// The connection failed or broke.
    Connection(String),
    /// The reply is not RESP2, or not what the command answers (a PING not answered PONG).
    Protocol(String),
    /// The reply is larger than golive reads (`resp::MAX_REPLY_BYTES`).
    TooLarge(String),
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
            SendError::Open(e)
            | SendError::AuthRefused { message: e, .. }
            | SendError::Connection(e)
            | SendError::Protocol(e)
            | SendError::TooLarge(e) => f.write_str(e),
        }
    }
}

impl From<ReadError> for SendError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io(_) => SendError::Connection(e.to_string()),
            ReadError::Protocol(_) => SendError::Protocol(e.to_string()),
            ReadError::TooLarge(_) => SendError::TooLarge(e.to_string()),
        }
    }
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
const NO_CREDENTIALS: &str =
    "the item gives no password (write redis://:password@host or redis://user:password@host, or password)";
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

/// A byte stream to a server: TCP, or TLS over TCP.
trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// An open connection, buffered for reading replies.
type Io = BufReader<Box<dyn Stream>>;

/// Writes one command and reads its reply. An error reply (`-ERR …`) is a reply: the
/// connection stays usable; any other error leaves it out of step with the server.
async fn exchange(io: &mut Io, args: &[&str]) -> Result<Reply, SendError> {
    let broken = |e: std::io::Error| SendError::Connection(e.to_string());
    io.get_mut().write_all(&resp::encode(args)).await.map_err(broken)?;
    io.get_mut().flush().await.map_err(broken)?;
    Ok(resp::read_reply(io).await?)
}

/// An error reply as [`SendError::Server`]; other replies as they are.
fn server_error(reply: Reply) -> Result<Reply, SendError> {
    match reply {
        Reply::Error(text) => {
            let (code, detail) = text.split_once(' ').unwrap_or((text.as_str(), ""));
            Err(SendError::Server { code: code.to_string(), detail: detail.to_string() })
        }
        other => Ok(other),
    }
}

/// A reply to AUTH or SELECT: `+OK`, else the server does not speak Redis.
fn expect_ok(name: &str, reply: Reply) -> Result<(), SendError> {
    match server_error(reply)? {
        Reply::Simple(s) if s == "OK" => Ok(()),
        other => Err(SendError::Protocol(format!("{name} was answered with {}, not OK", other.kind()))),
    }
}

/// One connection of a run, shared by every item with the same [`Target`]. Commands take
/// turns on it. A command that does not finish (its item timed out, the connection broke,
/// the reply was not RESP) takes the connection with it, and the next command opens a new
/// one, authenticated and in its db: a reply is never read by the wrong command.
pub struct Connection {
    target: Target,
    /// Send AUTH and SELECT after connecting (false for the `auth_required` check).
    authenticate: bool,
    io: tokio::sync::Mutex<Option<Io>>,
    opened: Arc<AtomicUsize>,
}

impl Connection {
    /// Sends one command and waits at most `limit` for its reply, opening the connection
    /// first when needed (that counts toward `limit` too). Every command golive sends to
    /// Redis goes through here, and anything not on [`READ_ONLY_COMMANDS`] is refused
    /// unsent.
    pub async fn send(&self, args: &[&str], limit: Duration) -> Result<Reply, SendError> {
        if !is_read_only(args) {
            return Err(SendError::NotReadOnly(command_name(args)));
        }
        let work = async {
            let mut slot = self.io.lock().await;
            // Taken out while the command runs: dropped half-way, it is gone for good.
            let mut io = match slot.take() {
                Some(io) => io,
                None => self.open(limit).await?,
            };
            let reply = exchange(&mut io, args).await?;
            *slot = Some(io);
            server_error(reply)
        };
        tokio::time::timeout(limit, work).await.unwrap_or(Err(SendError::Timeout(limit)))
    }

    async fn open(&self, limit: Duration) -> Result<Io, SendError> {
        let target = &self.target;
        let address = target.address();
        self.opened.fetch_add(1, Ordering::SeqCst);
        let mut io = connect(target, limit)
            .await
            .map_err(|e| SendError::Open(format!("cannot connect to redis at {address}: {e}")))?;
        if !self.authenticate {
            return Ok(io);
        }
        if let Some(password) = &target.password {
            let mut args = vec!["AUTH"];
            if let Some(username) = &target.username {
                args.push(username);
            }
            args.push(password);
            let answer = match exchange(&mut io, &args).await {
                Ok(reply) => expect_ok("AUTH", reply),
                Err(e) => Err(e),
            };
            match answer {
                Ok(()) => {}
                Err(SendError::Server { code, detail }) => {
                    // The server's own words name neither the user nor the password.
                    let why = match code.as_str() {
                        "WRONGPASS" => "WRONGPASS: wrong username or password".to_string(),
                        _ if detail.contains("no password is set") || detail.contains("without any password") => {
                            format!("{code}: the server has no password set, yet the item gives one")
                        }
                        _ => format!("{code} {detail}"),
                    };
                    let message = format!("authentication to redis at {address} failed: {why}");
                    return Err(SendError::AuthRefused { message, why });
                }
                Err(e) => return Err(SendError::Open(format!("authentication to redis at {address} failed: {e}"))),
            }
        }
        if target.db != 0 {
            let db = target.db.to_string();
            let answer = match exchange(&mut io, &["SELECT", &db]).await {
                Ok(reply) => expect_ok("SELECT", reply),
                Err(e) => Err(e),
            };
            answer.map_err(|e| SendError::Open(format!("cannot select db {db} on redis at {address}: {e}")))?;
        }
        Ok(io)
    }
}

/// Opens TCP, then TLS when the target asks for it.
async fn connect(target: &Target, limit: Duration) -> Result<Io, String> {
    let connecting = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port)).await.map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        if !target.tls {
            return Ok(BufReader::new(Box::new(tcp) as Box<dyn Stream>));
        }
        // Files are read (ca_file, the system's store the first time) off the async
        // threads: with one probe thread a slow disk would hold up every item.
        let config = {
            let target = target.clone();
            tokio::task::spawn_blocking(move || tls_config(&target)).await.map_err(|e| e.to_string())??
        };
        let name =
            ServerName::try_from(target.host.clone()).map_err(|_| format!("invalid server name {:?}", target.host))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {}", root_cause(&e)))?;
        Ok(BufReader::new(Box::new(tls) as Box<dyn Stream>))
    };
    match tokio::time::timeout(limit, connecting).await {
        Err(_) => Err(format!("no answer within {}", humantime::format_duration(limit))),
        Ok(result) => result,
    }
}

/// rustls with the ring provider: the system's CAs, or `ca_file` instead; with
/// `tls_verify = false`, any certificate (handshake signatures are still checked).
fn tls_config(target: &Target) -> Result<rustls::ClientConfig, String> {
    let provider = super::trust::ring_provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?;
    if !target.tls_verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(super::http::AnyCertificate(provider)))
            .with_no_client_auth());
    }
    let roots = match &target.ca_file {
        Some(path) => {
            let pem = std::fs::read(path).map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                let cert = cert.map_err(|e| format!("invalid PEM in ca_file {}: {e}", path.display()))?;
                roots.add(cert).map_err(|e| format!("unusable certificate in ca_file {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!("ca_file {} holds no PEM certificate", path.display()));
            }
            roots
        }
        None => super::trust::load(None)?.roots().as_ref().clone(),
    };
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// The innermost cause of an error ("invalid peer certificate: UnknownIssuer").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

/// Redis connections of one run: one per distinct [`Target`], opened by the first item that
/// sends on it while the others wait, and whether each server requires authentication.
#[derive(Default)]
pub struct ConnectionCache {
    connections: Mutex<HashMap<Target, Arc<Connection>>>,
    auth_required: Mutex<HashMap<Target, Arc<OnceCell<bool>>>>,
    opened: Arc<AtomicUsize>,
}

impl ConnectionCache {
    /// The run's connection for `target`: authenticated and in its db once it is opened by
    /// its first command.
    pub fn connection(&self, target: &Target) -> Arc<Connection> {
        self.connections
            .lock()
            .unwrap()
            .entry(target.clone())
            .or_insert_with(|| {
                Arc::new(Connection {
                    target: target.clone(),
                    authenticate: true,
                    io: Default::default(),
                    opened: self.opened.clone(),
                })
            })
            .clone()
    }

    /// Whether a connection without credentials is refused with NOAUTH. Asked once per server
    /// per run, on a connection of its own that sends only PING.
    pub async fn auth_required(&self, target: &Target, limit: Duration) -> Result<bool, ProbeError> {
        let anonymous = target.anonymous();
        let slot = self.auth_required.lock().unwrap().entry(anonymous.clone()).or_default().clone();
        let answer = slot
            .get_or_try_init(|| async {
                let conn = Connection {
                    target: anonymous.clone(),
                    authenticate: false,
                    io: Default::default(),
                    opened: self.opened.clone(),
                };
                let failed = |e: SendError| match e {
                    SendError::Open(message) | SendError::AuthRefused { message, .. } => ProbeError::new(message),
                    e => ProbeError::new(format!("PING without credentials to redis at {}: {e}", anonymous.address())),
                };
                match conn.send(&["PING"], limit).await {
                    Ok(reply) => expect_pong(reply).map(|_| false).map_err(failed),
                    Err(SendError::Server { code, .. }) if code == "NOAUTH" => Ok(true),
                    Err(e) => Err(failed(e)),
                }
            })
            .await?;
        Ok(*answer)
    }

    /// Whether the server accepts the item's own credentials (the url's, or `username` and
    /// `password`): `None` when it does, else why not (AUTH's answer, or that the item gives
    /// none). Asked on the run's shared connection for `target` with a PING, so it costs no
    /// connection of its own; an error when the server cannot be asked at all.
    pub async fn credentials_refused(&self, target: &Target, limit: Duration) -> Result<Option<String>, ProbeError> {
        if target.password.is_none() {
            return Ok(Some(NO_CREDENTIALS.to_string()));
        }
        let conn = self.connection(target);
        let failed = |e: SendError| match e {
            SendError::Open(message) => ProbeError::new(message),
            e => ProbeError::new(format!("PING on redis at {} failed: {e}", target.address())),
        };
        match conn.send(&["PING"], limit).await {
            Ok(reply) => expect_pong(reply).map(|_| None).map_err(failed),
            Err(SendError::AuthRefused { why, .. }) => Ok(Some(why)),
            Err(e) => Err(failed(e)),
        }
    }

    /// Connections opened so far in this run.
    pub fn opened(&self) -> usize {
        self.opened.load(Ordering::SeqCst)
    }
}

/// PING is answered `+PONG`; anything else is not a Redis server.
pub fn expect_pong(reply: Reply) -> Result<(), SendError> {
    match reply {
        Reply::Simple(s) if s == "PONG" => Ok(()),
        other => Err(SendError::Protocol(format!("PING was answered with {}, not PONG", other.kind()))),
    }
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
        // A listener that records everything that arrives until the client goes: the
        // refused commands must not even be written to the socket, only the PING after them.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = tokio::spawn(async move {
            use tokio::io::AsyncReadExt;
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut all = Vec::new();
            let mut buf = vec![0u8; 1024];
            while let Ok(Ok(n @ 1..)) = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf)).await {
                all.extend_from_slice(&buf[..n]);
            }
            all
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
        let conn = cache.connection(&target);
        for write in [&["SET", "k", "v"][..], &["FLUSHALL"], &["CONFIG", "SET", "maxmemory", "1"]] {
            let err = conn.send(write, Duration::from_secs(1)).await.unwrap_err();
            assert!(matches!(err, SendError::NotReadOnly(_)), "{err}");
        }
        // The listener never answers: the PING times out and its connection is closed.
        let err = conn.send(&["PING"], Duration::from_millis(300)).await.unwrap_err();
        assert!(matches!(err, SendError::Timeout(_)), "{err}");
        assert_eq!(received.await.unwrap(), resp::encode(&["PING"]), "only the PING reached the server");
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
