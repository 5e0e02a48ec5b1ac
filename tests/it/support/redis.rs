//! Real `redis-server` processes for the Redis probe tests: each one runs from a generated
//! config in its own temporary directory, listens on 127.0.0.1 on a random port (plus a TLS
//! port when asked), and is killed when its handle is dropped, also when a test panics, and
//! when the test binary ends, also for servers kept in a `static` (reaper.rs).
//!
//! The harness talks to the servers with its own small RESP client (`RespConn`), not with
//! the redis crate golive uses, so what it observes (keys, connection counts, the commands
//! MONITOR saw) does not depend on the code under test.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::certs::TestPki;
use super::reaper;

/// How a server is configured before it starts.
#[derive(Clone, Debug, Default)]
pub struct RedisConfig {
    password: Option<String>,
    tls: bool,
    lines: Vec<String>,
}

impl RedisConfig {
    pub fn new() -> RedisConfig {
        RedisConfig::default()
    }

    /// `requirepass`: connections must AUTH with this password.
    pub fn password(mut self, password: &str) -> RedisConfig {
        self.password = Some(password.to_string());
        self
    }

    /// Also listen with TLS on a second port, with a certificate for localhost/127.0.0.1
    /// from a fresh [`TestPki`] (its CA is written to [`RedisServer::ca_file`]).
    pub fn tls(mut self) -> RedisConfig {
        self.tls = true;
        self
    }

    /// Any redis.conf line: `"maxmemory 64mb"`, `"rename-command CONFIG \"\""`,
    /// `"user app on >pw ~* &* +@all -config"`.
    pub fn line(mut self, line: &str) -> RedisConfig {
        self.lines.push(line.to_string());
        self
    }

    /// Starts the server and waits until it accepts connections. Panics with the server's
    /// log when it does not start.
    pub fn start(self) -> RedisServer {
        let binary = redis_server_binary();
        let mut last_log = String::new();
        // A port picked free can be taken before the server binds it: try a few.
        for _ in 0..5 {
            // The tag in the directory's name, and so in the server's command line (its
            // config file's path), lets scripts/check-no-leftovers.sh find it.
            let dir = tempfile::Builder::new()
                .prefix(&format!("golive-redis-{}-", reaper::tag()))
                .tempdir()
                .expect("temp dir");
            let port = free_port();
            let tls_port = self.tls.then(free_port);
            let ca_file = self.tls.then(|| write_tls_files(dir.path()));
            let conf = self.render(dir.path(), port, tls_port);
            std::fs::write(dir.path().join("redis.conf"), conf).expect("write redis.conf");
            let mut command = Command::new(&binary);
            command
                .arg(dir.path().join("redis.conf"))
                .current_dir(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let stop = reaper::Stop { signal: nix::sys::signal::Signal::SIGKILL, dir: Some(dir.path().to_path_buf()) };
            let child =
                reaper::spawn(command, stop).unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let mut server = RedisServer {
                child,
                dir,
                port,
                tls_port,
                ca_file,
                password: self.password.clone(),
                admin: Mutex::new(None),
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(log) => last_log = log,
            }
        }
        panic!("redis-server did not start; its log:\n{last_log}");
    }

    fn render(&self, dir: &Path, port: u16, tls_port: Option<u16>) -> String {
        let mut conf = vec![
            "bind 127.0.0.1".to_string(),
            format!("port {port}"),
            format!("dir {}", dir.display()),
            format!("logfile {}", dir.join("redis.log").display()),
            "daemonize no".into(),
            "save \"\"".into(),
            "appendonly no".into(),
            // Keep the command line (with the config file's path) as the process title.
            "set-proc-title no".into(),
        ];
        if let Some(password) = &self.password {
            conf.push(format!("requirepass \"{password}\""));
        }
        if let Some(tls_port) = tls_port {
            conf.push(format!("tls-port {tls_port}"));
            conf.push(format!("tls-cert-file {}", dir.join("cert.pem").display()));
            conf.push(format!("tls-key-file {}", dir.join("key.pem").display()));
            conf.push(format!("tls-ca-cert-file {}", dir.join("golive-test-ca.pem").display()));
            conf.push("tls-auth-clients no".into());
        }
        conf.extend(self.lines.iter().cloned());
        conf.join("\n") + "\n"
    }
}

/// The CA is written as `golive-test-ca.pem`, the server's chain and key as cert.pem and key.pem.
fn write_tls_files(dir: &Path) -> PathBuf {
    let pki = TestPki::new();
    pki.valid(&["localhost", "127.0.0.1"]).write_files(dir);
    pki.write_ca_file(dir)
}

/// `redis-server` from PATH or Debian's location.
fn redis_server_binary() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|d| d.join("redis-server")).collect::<Vec<_>>())
        .unwrap_or_default();
    candidates
        .into_iter()
        .chain([PathBuf::from("/usr/bin/redis-server"), PathBuf::from("/usr/sbin/redis-server")])
        .find(|p| p.is_file())
        .expect(
            "redis-server is not installed: run scripts/test.sh, which installs it, or apt-get install redis-server",
        )
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// A running redis-server; dropping it kills the process and removes its directory.
pub struct RedisServer {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    tls_port: Option<u16>,
    ca_file: Option<PathBuf>,
    password: Option<String>,
    /// One kept connection for the harness's own commands, so they add no connections.
    admin: Mutex<Option<RespConn>>,
}

impl RedisServer {
    /// A server without a password.
    pub fn start() -> RedisServer {
        RedisConfig::new().start()
    }

    /// A server with `requirepass password`.
    pub fn with_password(password: &str) -> RedisServer {
        RedisConfig::new().password(password).start()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The redis-server process.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The TLS port (servers started with [`RedisConfig::tls`]).
    pub fn tls_port(&self) -> u16 {
        self.tls_port.expect("server started without tls")
    }

    /// The CA that issued the TLS certificate.
    pub fn ca_file(&self) -> &Path {
        self.ca_file.as_deref().expect("server started without tls")
    }

    /// `redis://127.0.0.1:PORT`, without credentials.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `redis://:PASSWORD@127.0.0.1:PORT` (or without credentials when there is no password).
    pub fn url_with_password(&self) -> String {
        match &self.password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => self.url(),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("(exited: {status})\n{}", self.log()));
            }
            if self.log().contains("Ready to accept connections") && RespConn::connect(self.port, None).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!("(not ready after 20s)\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new connection of the harness's own, authenticated when the server has a password.
    pub fn connect(&self) -> RespConn {
        RespConn::connect(self.port, self.password.as_deref()).expect("connect to redis-server")
    }

    /// Runs a command on the harness's kept connection; panics on an error reply.
    pub fn cmd(&self, args: &[&str]) -> Resp {
        let mut admin = self.admin.lock().unwrap();
        let conn = admin.get_or_insert_with(|| self.connect());
        match conn.command(args) {
            Resp::Error(e) => panic!("{args:?} failed: {e}"),
            reply => reply,
        }
    }

    /// A field of `INFO section`.
    pub fn info_field(&self, section: &str, field: &str) -> Option<String> {
        let text = self.cmd(&["INFO", section]).text();
        text.lines().filter_map(|l| l.split_once(':')).find(|(k, _)| *k == field).map(|(_, v)| v.trim().to_string())
    }

    /// Connections the server has accepted since it started (INFO stats).
    pub fn total_connections(&self) -> u64 {
        self.info_field("stats", "total_connections_received").and_then(|v| v.parse().ok()).expect("INFO stats")
    }

    /// Calls per command since the server started (INFO commandstats), by Redis's names:
    /// `info`, `config|get`. Unlike MONITOR, this counts admin commands such as CONFIG too.
    pub fn command_stats(&self) -> std::collections::BTreeMap<String, u64> {
        let text = self.cmd(&["INFO", "commandstats"]).text();
        text.lines()
            .filter_map(|line| {
                let (name, stats) = line.strip_prefix("cmdstat_")?.split_once(':')?;
                let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?.parse().ok()?;
                Some((name.to_string(), calls))
            })
            .collect()
    }

    /// Starts recording the commands the server runs (MONITOR), except admin commands such
    /// as CONFIG, which MONITOR leaves out: see [`RedisServer::command_stats`].
    pub fn monitor(&self) -> Monitor {
        Monitor::start(self)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        reaper::unregister(self.pid());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply in RESP2.
#[derive(Clone, Debug, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<String>),
    Array(Vec<Resp>),
}

impl Resp {
    /// The text of a simple or bulk string reply.
    pub fn text(&self) -> String {
        match self {
            Resp::Simple(s) | Resp::Bulk(Some(s)) => s.clone(),
            other => panic!("not a string reply: {other:?}"),
        }
    }
}

/// A minimal blocking RESP2 client for the harness.
pub struct RespConn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RespConn {
    pub fn connect(port: u16, password: Option<&str>) -> std::io::Result<RespConn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut conn = RespConn { reader: BufReader::new(stream.try_clone()?), writer: stream };
        if let Some(password) = password
            && let Resp::Error(e) = conn.command(&["AUTH", password])
        {
            return Err(std::io::Error::other(format!("AUTH failed: {e}")));
        }
        Ok(conn)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.writer.local_addr().expect("local addr")
    }

    pub fn send(&mut self, args: &[&str]) {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.writer.write_all(&out).expect("write to redis-server");
    }

    pub fn command(&mut self, args: &[&str]) -> Resp {
        self.send(args);
        self.read()
    }

    pub fn read(&mut self) -> Resp {
        let line = self.line();
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Resp::Simple(rest.to_string()),
            "-" => Resp::Error(rest.to_string()),
            ":" => Resp::Int(rest.parse().expect("integer reply")),
            "$" => {
                let len: i64 = rest.parse().expect("bulk length");
                if len < 0 {
                    return Resp::Bulk(None);
                }
                let mut buf = vec![0u8; len as usize + 2];
                self.reader.read_exact(&mut buf).expect("read bulk");
                buf.truncate(len as usize);
                Resp::Bulk(Some(String::from_utf8_lossy(&buf).into_owned()))
            }
            "*" => {
                let len: i64 = rest.parse().expect("array length");
                Resp::Array((0..len.max(0)).map(|_| self.read()).collect())
            }
            _ => panic!("unexpected RESP line {line:?}"),
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("read from redis-server");
        assert!(!line.is_empty(), "redis-server closed the connection");
        line.trim_end_matches(['\r', '\n']).to_string()
    }
}

/// One command MONITOR saw: the client's address and the command's words.
#[derive(Clone, Debug)]
pub struct Seen {
    pub client: String,
    pub args: Vec<String>,
}

/// Records the commands a server runs, from a MONITOR connection of its own.
pub struct Monitor {
    seen: Arc<Mutex<Vec<Seen>>>,
    reader: Option<JoinHandle<()>>,
    stream: TcpStream,
    port: u16,
    password: Option<String>,
}

impl Monitor {
    fn start(server: &RedisServer) -> Monitor {
        let mut conn = server.connect();
        assert_eq!(conn.command(&["MONITOR"]), Resp::Simple("OK".into()));
        let stream = conn.writer.try_clone().expect("clone stream");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let reader = std::thread::spawn(move || {
            let mut reader = conn.reader;
            let mut line = String::new();
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if let Some(seen) = parse_monitor_line(line.trim_end()) {
                            sink.lock().unwrap().push(seen);
                        }
                    }
                }
            }
        });
        Monitor { seen, reader: Some(reader), stream, port: server.port, password: server.password.clone() }
    }

    /// Every command seen until now, except the harness's own: waits until a marker
    /// command sent after everything else has come through, so nothing is missed.
    pub fn finish(mut self) -> Vec<Seen> {
        let mut marker = RespConn::connect(self.port, self.password.as_deref()).expect("connect");
        let marker_client = marker.local_addr().to_string();
        let word = "golive-monitor-marker";
        marker.command(&["ECHO", word]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !self.seen.lock().unwrap().iter().any(|s| s.args.iter().any(|a| a == word)) {
            assert!(Instant::now() < deadline, "MONITOR did not show the marker");
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let seen = self.seen.lock().unwrap().clone();
        seen.into_iter().filter(|s| s.client != marker_client).collect()
    }
}

/// `+1700000000.123456 [0 127.0.0.1:5555] "CONFIG" "GET" "maxmemory"`.
fn parse_monitor_line(line: &str) -> Option<Seen> {
    let open = line.find('[')?;
    let close = line[open..].find(']')? + open;
    let client = line[open + 1..close].split_whitespace().nth(1)?.to_string();
    let mut args = Vec::new();
    let mut chars = line[close + 1..].chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut arg = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => arg.extend(chars.next()),
                '"' => break,
                c => arg.push(c),
            }
        }
        args.push(arg);
    }
    Some(Seen { client, args })
}
