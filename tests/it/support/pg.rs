//! Real PostgreSQL servers for tests, from the system's binaries (`initdb`, `postgres`,
//! `pg_basebackup`, found through `initdb` on PATH or in /usr/lib/postgresql/*/bin).
//!
//! Each server lives in its own temporary directory under /tmp and listens on 127.0.0.1 and a
//! random port. PostgreSQL refuses to run as root, so when the tests run as root (CI does)
//! every server process runs as the `postgres` system user, which owns the directory.
//!
//! A server stops when its handle is dropped. Servers kept in a `static` are never dropped,
//! so they are also stopped, and their directories removed, when the test process exits,
//! and the kernel sends the postmaster SIGQUIT (immediate shutdown) if the test process dies
//! without exiting: reaper.rs says how.
//!
//! [`PgFixture`] is the setup the golive tests share: a well-configured primary with TLS and a
//! misconfigured streaming standby of it, with roles, databases, extensions and migration
//! tables.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User, chown};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row, ValueRef};

use super::certs::TestPki;
use super::reaper;

pub const SUPERUSER: &str = "golive_super";
pub const SUPERUSER_PASSWORD: &str = "Super-s3cret-9d41";
/// The application role: may log in, nothing more.
pub const APP_USER: &str = "app";
pub const APP_PASSWORD: &str = "App-s3cret-7c2e";
/// A role whose every statement the server logs (log_statement = all), to see exactly what
/// golive sends.
pub const AUDITED_USER: &str = "audited";
pub const AUDITED_PASSWORD: &str = "Audited-s3cret-41b0";
/// A role only the connection-sharing test uses, so its connections can be counted.
pub const POOLED_USER: &str = "pooled";
pub const POOLED_PASSWORD: &str = "Pooled-s3cret-0b7d";

/// The directory holding `initdb`, `postgres` and `pg_basebackup`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let initdb = dir.join("initdb");
            if initdb.is_file() {
                // On Debian, /usr/local/bin/initdb may be a link into the versioned directory
                // that also holds `postgres`.
                let real = fs::canonicalize(&initdb).unwrap_or(initdb);
                return real.parent().map(Path::to_path_buf);
            }
        }
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Who runs the server processes: the `postgres` user when we are root, else ourselves.
fn server_user() -> (Uid, Gid, bool) {
    if Uid::effective().is_root() {
        let user = User::from_name("postgres")
            .expect("read the user database")
            .expect("tests run as root need the `postgres` system user (apt-get install postgresql creates it)");
        (user.uid, user.gid, true)
    } else {
        (Uid::effective(), Gid::effective(), false)
    }
}

/// Immediate shutdown; waits until the postmaster is gone (SIGKILL after 10 s).
fn stop_pid(pid: i32) {
    if kill(Pid::from_raw(pid), Signal::SIGQUIT).is_err() {
        return;
    }
    reaper::wait_gone(pid, Duration::from_secs(10));
}

/// How to start one server.
pub struct PgConfig {
    /// `-c name=value` settings on top of the ones every test server gets.
    pub settings: Vec<(String, String)>,
    /// The whole pg_hba.conf.
    pub hba: String,
    /// Serve TLS with this certificate (chain PEM, key PEM).
    pub tls: Option<(String, String)>,
}

/// pg_hba.conf that asks everybody for a SCRAM password.
pub const SCRAM_HBA: &str = "\
local all all scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
";

pub struct PgServer {
    pub port: u16,
    /// The temporary directory: data/, postgres.log, archive/, certificates.
    pub dir: PathBuf,
    pub data: PathBuf,
    pub log: PathBuf,
    pid: i32,
    stopped: AtomicBool,
}

impl PgServer {
    /// initdb (superuser `golive_super`, SCRAM passwords) and start.
    pub fn start(config: PgConfig) -> PgServer {
        let bin = bin_dir().expect("PostgreSQL binaries (initdb) not found: apt-get install postgresql");
        let dir = new_dir();
        let data = dir.join("data");
        let pwfile = dir.join("pwfile");
        write_owned(&pwfile, SUPERUSER_PASSWORD, 0o600);
        let status = as_server_user(Command::new(bin.join("initdb")))
            .args(["-D", data.to_str().unwrap(), "-U", SUPERUSER, "-A", "scram-sha-256", "-E", "UTF8"])
            .args(["--locale=C", "--no-sync", "--pwfile", pwfile.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run initdb");
        assert!(status.status.success(), "initdb failed: {}", String::from_utf8_lossy(&status.stderr));
        PgServer::launch(&bin, dir, data, config)
    }

    /// A streaming standby of `primary` (pg_basebackup -R), with its own settings and
    /// pg_hba.conf.
    pub fn standby_of(primary: &PgServer, config: PgConfig) -> PgServer {
        let bin = bin_dir().expect("PostgreSQL binaries not found");
        let dir = new_dir();
        let data = dir.join("data");
        let out = as_server_user(Command::new(bin.join("pg_basebackup")))
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string(), "-U", SUPERUSER])
            .args(["-D", data.to_str().unwrap(), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"])
            .env("PGPASSWORD", SUPERUSER_PASSWORD)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run pg_basebackup");
        assert!(out.status.success(), "pg_basebackup failed: {}", String::from_utf8_lossy(&out.stderr));
        PgServer::launch(&bin, dir, data, config)
    }

    fn launch(bin: &Path, dir: PathBuf, data: PathBuf, config: PgConfig) -> PgServer {
        write_owned(&data.join("pg_hba.conf"), &config.hba, 0o600);
        let archive = dir.join("archive");
        fs::create_dir_all(&archive).unwrap();
        chown_to_server_user(&archive);
        let mut settings: Vec<(String, String)> = vec![
            ("listen_addresses".into(), "127.0.0.1".into()),
            ("unix_socket_directories".into(), dir.to_str().unwrap().into()),
            ("log_connections".into(), "on".into()),
            ("fsync".into(), "off".into()),
            ("synchronous_commit".into(), "off".into()),
            ("full_page_writes".into(), "off".into()),
            ("max_connections".into(), "60".into()),
            ("shared_buffers".into(), "16MB".into()),
            ("ssl".into(), "off".into()),
        ];
        if let Some((chain, key)) = &config.tls {
            let (cert_file, key_file) = (dir.join("server.crt"), dir.join("server.key"));
            write_owned(&cert_file, chain, 0o644);
            write_owned(&key_file, key, 0o600);
            settings.push(("ssl".into(), "on".into()));
            settings.push(("ssl_cert_file".into(), cert_file.to_str().unwrap().into()));
            settings.push(("ssl_key_file".into(), key_file.to_str().unwrap().into()));
        }
        settings.extend(config.settings.iter().map(|(k, v)| (k.clone(), v.replace("{dir}", dir.to_str().unwrap()))));
        let log = dir.join("postgres.log");
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let mut args: Vec<String> = vec!["-D".into(), data.to_str().unwrap().into()];
            args.extend(["-c".into(), format!("port={port}")]);
            for (k, v) in &settings {
                args.extend(["-c".into(), format!("{k}={v}")]);
            }
            let log_file = fs::OpenOptions::new().create(true).append(true).open(&log).expect("open server log");
            let (pid, exited) = spawn_postmaster(bin.join("postgres"), args, log_file, &dir);
            let server = PgServer {
                port,
                dir: dir.clone(),
                data: data.clone(),
                log: log.clone(),
                pid,
                stopped: AtomicBool::new(false),
            };
            match server.wait_ready(&exited) {
                Ok(()) => return server,
                Err(e) => {
                    last_error = e;
                    server.stop_process();
                    // Not dropped: its Drop would remove the directory (data/ included) that
                    // the next attempt starts the server from again.
                    std::mem::forget(server);
                }
            }
        }
        panic!("PostgreSQL did not start: {last_error}\n--- log ---\n{}", fs::read_to_string(&log).unwrap_or_default());
    }

    fn wait_ready(&self, exited: &Arc<AtomicBool>) -> Result<(), String> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if exited.load(Ordering::SeqCst) {
                return Err("the postmaster exited".into());
            }
            match self.try_sql("postgres", "select 1") {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > until => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    pub fn url(&self, user: &str, password: &str, database: &str) -> String {
        format!("postgres://{user}:{password}@127.0.0.1:{}/{database}", self.port)
    }

    pub fn super_url(&self, database: &str) -> String {
        self.url(SUPERUSER, SUPERUSER_PASSWORD, database)
    }

    pub fn app_url(&self, database: &str) -> String {
        self.url(APP_USER, APP_PASSWORD, database)
    }

    /// Runs SQL (several statements allowed; not CREATE DATABASE among others) as the
    /// superuser; returns every row of the last result as text.
    pub fn sql(&self, database: &str, sql: &str) -> Vec<Vec<Option<String>>> {
        self.try_sql(database, sql).unwrap_or_else(|e| panic!("SQL failed on port {}: {e}\n{sql}", self.port))
    }

    /// The first column of the first row.
    pub fn scalar(&self, database: &str, sql: &str) -> String {
        self.sql(database, sql).into_iter().next().and_then(|r| r.into_iter().next().flatten()).unwrap_or_default()
    }

    pub fn try_sql(&self, database: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, String> {
        let url = self.super_url(database);
        let sql = sql.to_string();
        // A private runtime on its own thread: callable from sync and async tests alike.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async move {
                let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
                let mut conn = options
                    .ssl_mode(sqlx::postgres::PgSslMode::Prefer)
                    .application_name("golive-tests")
                    .connect()
                    .await
                    .map_err(|e| e.to_string())?;
                let rows = sqlx::raw_sql(AssertSqlSafe(sql)).fetch_all(&mut conn).await.map_err(|e| e.to_string())?;
                let _ = conn.close().await;
                let mut out = Vec::new();
                for row in rows {
                    let mut cells = Vec::new();
                    for i in 0..row.len() {
                        let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
                        cells.push(if raw.is_null() {
                            None
                        } else {
                            Some(raw.as_str().map_err(|e| e.to_string())?.to_string())
                        });
                    }
                    out.push(cells);
                }
                Ok(out)
            })
        })
        .join()
        .expect("SQL thread")
    }

    /// Polls `sql` until its first value equals `want` (generous bound: it must not hang).
    pub fn wait_for(&self, database: &str, sql: &str, want: &str) {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.scalar(database, sql);
            if got == want {
                return;
            }
            assert!(Instant::now() < until, "waited 60s for `{sql}` = {want}, still {got}; log:\n{}", self.log_text());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Length of the log now, to read only what a later step adds.
    pub fn log_mark(&self) -> usize {
        fs::metadata(&self.log).map(|m| m.len() as usize).unwrap_or(0)
    }

    pub fn log_since(&self, mark: usize) -> String {
        let bytes = fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(bytes.get(mark..).unwrap_or_default()).into_owned()
    }

    fn stop_process(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst) {
            reaper::unregister(self.pid);
            stop_pid(self.pid);
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop_process();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Starts the postmaster (reaper.rs: stopped with SIGQUIT when the test process ends);
/// returns its pid and a flag set when it exits.
fn spawn_postmaster(program: PathBuf, args: Vec<String>, log: fs::File, dir: &Path) -> (i32, Arc<AtomicBool>) {
    let mut command = as_server_user(Command::new(program));
    command.args(args).stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log);
    let stop = reaper::Stop { signal: Signal::SIGQUIT, dir: Some(dir.to_path_buf()) };
    let mut child = reaper::spawn(command, stop).expect("start postgres");
    let pid = child.id() as i32;
    let exited = Arc::new(AtomicBool::new(false));
    let flag = exited.clone();
    std::thread::spawn(move || {
        let _ = child.wait();
        flag.store(true, Ordering::SeqCst);
    });
    (pid, exited)
}

fn as_server_user(mut command: Command) -> Command {
    let (uid, gid, switch) = server_user();
    if switch {
        command.uid(uid.as_raw()).gid(gid.as_raw());
        command.env("HOME", "/tmp");
    }
    command.current_dir("/tmp");
    command
}

/// A fresh directory under /tmp owned by the server user.
fn new_dir() -> PathBuf {
    // The tag (reaper.rs) is in the postmaster's command line (`-D DIR/data`), for
    // scripts/check-no-leftovers.sh.
    let prefix = format!("golive-pg-{}-", reaper::tag());
    let dir = tempfile::Builder::new().prefix(&prefix).tempdir_in("/tmp").expect("temp dir").keep();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    chown_to_server_user(&dir);
    dir
}

fn chown_to_server_user(path: &Path) {
    let (uid, gid, switch) = server_user();
    if switch {
        chown(path, Some(uid), Some(gid)).unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
}

fn write_owned(path: &Path, content: &str, mode: u32) {
    fs::write(path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    chown_to_server_user(path);
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// The servers the golive tests share.
pub struct PgFixture {
    /// Well configured: TLS on, SCRAM everywhere, slow-query logging, pg_stat_statements
    /// preloaded, idle-in-transaction timeout, WAL archiving that works, one streaming standby,
    /// connections, disconnections and DDL logged.
    pub primary: PgServer,
    /// Misconfigured: no TLS, trust and clear-text password lines in pg_hba.conf, md5 password
    /// encryption, no slow-query logging, WAL archiving that fails. Same roles and databases (it replicates primary).
    pub standby: PgServer,
    pub pki: TestPki,
    /// The CA that signed the primary's certificate, as a PEM file.
    pub ca_file: PathBuf,
}

/// Databases of the fixture:
/// - `app` (owned by `app`): pgcrypto and pg_stat_statements, `users` without test rows,
///   `_sqlx_migrations` with 3 applied migrations (20240101000001 … 03), `app_schema_version`
///   (custom table, versions 1 and 2).
/// - `legacy`: no extensions, `users` with 3 rows at example.test, `flyway_schema_history`
///   with versions 1, 1.1 applied and 2 failed.
/// - `diesel_app`, `rails_app`, `gomigrate_app`: one framework table each (the last with a
///   dirty migration).
pub const FIXTURE_DATABASES: &[&str] = &["app", "legacy", "diesel_app", "rails_app", "gomigrate_app"];

impl PgFixture {
    pub fn start() -> PgFixture {
        let pki = TestPki::new();
        let leaf = pki.valid(&["localhost", "127.0.0.1"]);
        let primary = PgServer::start(PgConfig {
            settings: vec![
                ("shared_preload_libraries".into(), "pg_stat_statements".into()),
                ("log_min_duration_statement".into(), "500".into()),
                ("archive_mode".into(), "on".into()),
                ("archive_command".into(), "cp %p {dir}/archive/%f".into()),
                ("password_encryption".into(), "scram-sha-256".into()),
                ("idle_in_transaction_session_timeout".into(), "60s".into()),
                ("log_disconnections".into(), "on".into()),
                ("log_statement".into(), "ddl".into()),
            ],
            hba: SCRAM_HBA.into(),
            tls: Some((leaf.cert_chain_pem.clone(), leaf.key_pem.clone())),
        });
        let ca_file = pki.write_ca_file(&primary.dir);
        fs::set_permissions(&ca_file, fs::Permissions::from_mode(0o644)).unwrap();
        setup_data(&primary);

        let standby = PgServer::standby_of(
            &primary,
            PgConfig {
                settings: vec![
                    ("shared_preload_libraries".into(), "".into()),
                    ("log_min_duration_statement".into(), "-1".into()),
                    ("archive_mode".into(), "always".into()),
                    ("archive_command".into(), "false".into()),
                    ("hot_standby".into(), "on".into()),
                    ("password_encryption".into(), "md5".into()),
                ],
                hba: "\
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host all all 10.0.0.0/8 trust
host all all 192.168.0.0/16 password
"
                .into(),
                tls: None,
            },
        );
        primary.wait_for("postgres", "select count(*) from pg_stat_replication where state = 'streaming'", "1");
        // Write some WAL and finish its segment: the primary archives it, the standby's
        // archiving fails.
        let archived = primary.scalar("postgres", "select archived_count from pg_stat_archiver");
        primary.sql("postgres", "create table golive_wal_marker (); drop table golive_wal_marker;");
        primary.sql("postgres", "select pg_switch_wal()");
        primary.wait_for("postgres", &format!("select archived_count > {archived} from pg_stat_archiver"), "t");
        standby.wait_for("postgres", "select failed_count > 0 from pg_stat_archiver", "t");
        // The standby has replayed everything the tests read.
        let lsn = primary.scalar("postgres", "select pg_current_wal_lsn()");
        standby.wait_for("postgres", &format!("select pg_last_wal_replay_lsn() >= '{lsn}'"), "t");
        PgFixture { primary, standby, pki, ca_file }
    }
}

fn setup_data(pg: &PgServer) {
    pg.sql(
        "postgres",
        &format!(
            "create role {APP_USER} login password '{APP_PASSWORD}';
             create role reporting nologin createdb;
             create role {AUDITED_USER} login password '{AUDITED_PASSWORD}';
             alter role {AUDITED_USER} set log_statement = 'all';
             create role {POOLED_USER} login password '{POOLED_PASSWORD}';"
        ),
    );
    for db in FIXTURE_DATABASES {
        let owner = if *db == "app" { APP_USER } else { SUPERUSER };
        pg.sql("postgres", &format!("create database {db} owner {owner}"));
    }
    pg.sql(
        "app",
        "create extension pgcrypto;
         create extension pg_stat_statements;",
    );
    // Tables of the app belong to the app role, as its own migrations would create them.
    pg.sql(
        "app",
        "set role app;
         create table users (id serial primary key, email text not null);
         insert into users (email) values ('ada@company.invalid'), ('grace@company.invalid');
         create table _sqlx_migrations (
             version bigint primary key, description text not null,
             installed_on timestamptz not null default now(), success boolean not null,
             checksum bytea not null, execution_time bigint not null);
         insert into _sqlx_migrations (version, description, success, checksum, execution_time) values
             (20240101000001, 'create users', true, '\\x00', 1),
             (20240101000002, 'add email index', true, '\\x00', 1),
             (20240101000003, 'add audit log', true, '\\x00', 1);
         create table app_schema_version (version text not null);
         insert into app_schema_version values ('1'), ('2');
         grant select on all tables in schema public to pooled;
         reset role;",
    );
    pg.sql(
        "legacy",
        "create table users (id serial primary key, email text not null);
         insert into users (email) values ('test1@example.test'), ('test2@example.test'), ('qa@example.test');
         grant select, insert, update, delete on users to app;
         create table flyway_schema_history (
             installed_rank int primary key, version varchar(50), description varchar(200) not null,
             type varchar(20) not null, script varchar(1000) not null, success boolean not null);
         insert into flyway_schema_history values
             (1, '1', 'init', 'SQL', 'V1__init.sql', true),
             (2, '1.1', 'users', 'SQL', 'V1_1__users.sql', true),
             (3, null, 'views', 'SQL', 'R__views.sql', true),
             (4, '2', 'broken', 'SQL', 'V2__broken.sql', false);
         grant select on flyway_schema_history to app;",
    );
    pg.sql(
        "diesel_app",
        "create table __diesel_schema_migrations (version varchar(50) primary key, run_on timestamp not null default now());
         insert into __diesel_schema_migrations (version) values ('20240101120000'), ('20240301120000');",
    );
    pg.sql(
        "rails_app",
        "create table schema_migrations (version varchar primary key);
         insert into schema_migrations values ('20230105100000'), ('20230210100000'), ('20231201100000');",
    );
    pg.sql(
        "gomigrate_app",
        "create table schema_migrations (version bigint primary key, dirty boolean not null);
         insert into schema_migrations values (7, true);",
    );
}
