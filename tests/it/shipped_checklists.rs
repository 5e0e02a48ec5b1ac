//! The shipped checklists (checklists/*.toml, built in as `golive:NAME`) run against real
//! local servers started here: HTTPS and HTTP servers, a DNS server, a PostgreSQL primary
//! and its misconfigured standby, Redis with and without a password, backup files made with
//! the real pg_dump, sshd_config files, environment files and source trees. Each checklist
//! runs once against a site set up to pass and once against one set up to fail, and the
//! tests assert each item's outcome and the reason it gives.
//!
//! What this container cannot provide is said where it matters: there is no systemd, so
//! systemd items end in `error` (asserted as such, and skipped with --skip where a run must
//! pass); a few commands the checks run by default (cargo audit, apt, journalctl) are
//! replaced through their vars by stand-ins with the same contract, ufw and fail2ban-client
//! by stand-in scripts first on PATH that print what the real ones print, and the default
//! commands are run too where the outcome does not depend on the machine.

use crate::support as common;
use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use common::{Workdir, assert_outcome, fact, item, stderr, stdout};
use serde_json::Value;
use support::{DnsServer, HttpServer, PgFixture, RedisConfig, RedisServer, Route, TestPki, TestRecord, TlsServer};

const REDIS_PASSWORD: &str = "Redis-s3cret-5e1d";
/// A 40-character database password: long enough for security.database-password-length.
const LONG_DB_PASSWORD: &str = "Zq8vN3kR7tW2yB6mP4xL9cH5jD1fG0sA-e8uT7iO";

pub(crate) fn pg() -> &'static PgFixture {
    static FIXTURE: OnceLock<PgFixture> = OnceLock::new();
    FIXTURE.get_or_init(PgFixture::start)
}

/// Redis as it should be: a password, a memory limit with an eviction policy.
fn redis_good() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        RedisConfig::new().password(REDIS_PASSWORD).line("maxmemory 64mb").line("maxmemory-policy allkeys-lru").start()
    })
}

/// Redis as it should not be: no password, no memory limit.
fn redis_open() -> &'static RedisServer {
    static SERVER: OnceLock<RedisServer> = OnceLock::new();
    SERVER.get_or_init(RedisServer::start)
}

/// Everything one site needs to stay up while golive runs against it, and the vars that
/// point the shipped checklists at it.
struct Site {
    _servers: Vec<HttpServer>,
    _tls: Option<TlsServer>,
    _dns: DnsServer,
    vars: Vec<(String, String)>,
    env: Vec<(String, String)>,
    /// The database the restore test restores into (one per site: tests run in parallel).
    scratch_db: String,
}

impl Site {
    /// `--var` for each of this site's vars that the checklist or a check it uses declares
    /// (a --var that no loaded file declares is an error).
    fn args(&self, checklist: &str) -> Vec<String> {
        let opts = golive::checklist::LoadOptions {
            vars: Vec::new(),
            mode: golive::checklist::LoadMode::Validate,
            attestations: None,
            targets: Vec::new(),
        };
        let declared = golive::checklist::load(&[checklist.into()], &opts).declared_vars;
        self.vars
            .iter()
            .filter(|(k, _)| declared.contains(k))
            .flat_map(|(k, v)| ["--var".to_string(), format!("{k}={v}")])
            .collect()
    }

    /// `golive run CHECKLIST` with this site's vars and `extra` arguments; the JSON report
    /// and the process output.
    async fn run(&self, w: &Workdir, checklist: &str, extra: &[&str]) -> (Value, Output) {
        let _ = std::fs::remove_file(w.path("report.json"));
        let mut args: Vec<String> =
            vec!["run".into(), checklist.into(), "--output".into(), "json=report.json".into(), "--quiet".into()];
        args.extend(self.args(checklist));
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = w.run_env(&args, &env).await;
        let text = std::fs::read_to_string(w.path("report.json"))
            .unwrap_or_else(|e| panic!("no report ({e}); stderr: {}", stderr(&out)));
        (serde_json::from_str(&text).expect("report is JSON"), out)
    }

    /// `golive attest ID` for each manual item, into `attestations.toml`.
    async fn attest(&self, w: &Workdir, checklist: &str, ids: &[&str]) {
        for id in ids {
            let mut args: Vec<String> = vec![
                "attest".into(),
                (*id).into(),
                "--by".into(),
                "Dana Ops".into(),
                "--evidence".into(),
                format!("https://tickets.example.test/{id}"),
                "--file".into(),
                checklist.into(),
                "--attestations".into(),
                "attestations.toml".into(),
            ];
            args.extend(self.args(checklist));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = w.run(&args).await;
            assert_eq!(out.status.code(), Some(0), "attest {id}: {}", stderr(&out));
        }
    }
}

/// A healthy service's metrics page: a counter, a histogram, a gauge.
const METRICS_PAGE: &str = "# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 1027\n# TYPE http_request_duration_seconds histogram\nhttp_request_duration_seconds_bucket{le=\"0.1\"} 990\nhttp_request_duration_seconds_sum 31.2\nhttp_request_duration_seconds_count 1027\nprocess_resident_memory_bytes 4.2e+07\n";

/// The deployed rules of the good site: service down and error rate (the database's are in
/// a second file of the directory).
const ALERT_RULES: &str = "groups:\n  - name: service\n    rules:\n      - alert: ServiceDown\n        expr: up{job=\"app\"} == 0\n        for: 1m\n      - record: job:http_errors:rate5m\n        expr: sum(rate(http_requests_total{code=~\"5..\"}[5m]))\n      - alert: HighErrorRate\n        expr: job:http_errors:rate5m > 1\n";

fn var(vars: &mut Vec<(String, String)>, name: &str, value: impl Into<String>) {
    vars.push((name.to_string(), value.into()));
}

fn write_mode(path: &Path, content: &str, mode: u32) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Stand-ins for `ufw status verbose` and `fail2ban-client status` (neither runs here),
/// printing `ufw` and `fail2ban`, in `dir`; the PATH that finds them first.
fn fake_host_tools(dir: &Path, ufw: &str, fail2ban: &str) -> String {
    for (name, output) in [("ufw", ufw), ("fail2ban-client", fail2ban)] {
        write_mode(&dir.join(name), &format!("#!/bin/sh\ncat <<'OUT'\n{output}OUT\n"), 0o755);
    }
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

fn set_age(path: &Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// A custom-format dump of the fixture's `app` database, made by the real pg_dump.
fn pg_dump(to: &Path) {
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--no-owner", "--dbname", &pg().primary.super_url("app"), "--file"])
        .arg(to)
        .output()
        .expect("pg_dump runs");
    assert!(out.status.success(), "pg_dump: {}", String::from_utf8_lossy(&out.stderr));
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

/// The migration files of the release: the three versions the fixture's `app` database has
/// applied (sqlx naming).
fn write_migrations(dir: &Path) {
    for (version, name) in
        [("20240101000001", "create_users"), ("20240101000002", "add_email_index"), ("20240101000003", "add_audit_log")]
    {
        write_mode(&dir.join(format!("{version}_{name}.sql")), "select 1;\n", 0o644);
    }
}

/// A site set up as the shipped checklists want it.
async fn good_site(w: &Workdir) -> Site {
    let root = w.path("good");
    let pki = TestPki::new();
    let ca = pki.write_ca_file(w.dir.path());
    let leaf = pki.valid(&["localhost", "127.0.0.1"]);
    let secure = |route: Route| {
        route
            .header("strict-transport-security", "max-age=63072000; includeSubDomains")
            .header("content-security-policy", "default-src 'self'")
            .header("x-frame-options", "DENY")
            .header("x-content-type-options", "nosniff")
            .header("referrer-policy", "strict-origin-when-cross-origin")
            .header("server", "nginx")
    };
    let https = HttpServer::start_tls(
        vec![
            secure(Route::new("/").body("welcome")),
            secure(Route::new("/health").body("ok")),
            secure(Route::new("/ready").body("ready")),
            secure(Route::new("/login").header("set-cookie", "sid=7f3a; Path=/; Secure; HttpOnly; SameSite=Lax")),
            secure(Route::new("/api/account").status(401).header("www-authenticate", "Bearer")),
            secure(Route::new("/metrics").body(METRICS_PAGE)),
        ],
        leaf.server_config(),
    )
    .await;
    let base_url = format!("https://localhost:{}", https.port());
    let http = HttpServer::start(vec![Route::redirect("/", &format!("{base_url}/"), 301)]).await;
    let dns = DnsServer::start(vec![TestRecord::a("api.golive.test.", "127.0.0.1", 300)]).await;

    let env_file = root.join("app.env");
    write_mode(
        &env_file,
        &format!(
            "DATABASE_URL=postgres://app:{LONG_DB_PASSWORD}@db.internal:5432/app\nREDIS_URL=redis://cache.internal:6379\nRUST_LOG=info\nAPP_DEBUG=false\n"
        ),
        0o600,
    );
    let sshd = root.join("ssh/sshd_config");
    write_mode(
        &sshd,
        "PermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nMaxAuthTries 3\n",
        0o644,
    );
    let source = root.join("src-tree");
    write_mode(
        &source.join("src/main.rs"),
        "fn main() {\n    let url = std::env::var(\"DATABASE_URL\").unwrap();\n    println!(\"{url}\");\n}\n",
        0o644,
    );
    write_mode(&source.join("Cargo.lock"), "# stand-in lock file\n", 0o644);
    commit_all(&source);
    write_mode(&source.join(".gitignore"), ".env\n", 0o644);
    write_mode(&source.join(".env"), "DATABASE_URL=postgres://dev:devpass@localhost/dev\n", 0o600);
    write_migrations(&root.join("migrations"));

    // Seven nightly dumps, the newest an hour old, the oldest six and a half days.
    let backups = root.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o700)).unwrap();
    for day in 0..7u64 {
        let file = backups.join(format!("app-2026010{}.dump", day + 1));
        pg_dump(&file);
        set_age(&file, hours(1 + day * 26));
    }
    let offsite = root.join("offsite/app-latest.dump");
    write_mode(&offsite, "copy", 0o600);
    let access_log = root.join("access.log");
    write_mode(&access_log, "127.0.0.1 - - \"GET / HTTP/1.1\" 200\n", 0o640);

    let pg = pg();
    static SCRATCH: AtomicUsize = AtomicUsize::new(0);
    let scratch_db = format!("restore_check_{}", SCRATCH.fetch_add(1, Ordering::SeqCst));
    pg.primary.sql("postgres", &format!("create database {scratch_db}"));
    let restore = format!(
        "pg_restore --clean --if-exists --no-owner --exit-on-error --dbname '{}' \"$GOLIVE_BACKUP_FILE\" && test \"$(psql -At '{}' -c 'select count(*) from users')\" = 2",
        pg.primary.super_url(&scratch_db),
        pg.primary.super_url(&scratch_db),
    );
    let mut v = Vec::new();
    // infrastructure
    var(&mut v, "hostname", "api.golive.test");
    var(&mut v, "expected_addresses", "127.0.0.1");
    var(&mut v, "dns_server", dns.addr().to_string());
    var(&mut v, "base_url", &base_url);
    var(&mut v, "response_time_path", "/");
    var(&mut v, "log_level_setting", "RUST_LOG");
    var(&mut v, "debug_setting", "APP_DEBUG");
    var(&mut v, "app_binary", "/bin/sh");
    var(&mut v, "env_file", env_file.to_str().unwrap());
    var(&mut v, "required_env", "DATABASE_URL REDIS_URL");
    var(&mut v, "min_cpus", "1");
    var(&mut v, "min_memory", "256MiB");
    var(&mut v, "min_disk_free", "1MiB");
    // Generous latency budgets: the machine running the tests may be busy.
    var(&mut v, "max_latency", "5s");
    var(&mut v, "max_response_time", "5s");
    // Stand-in for `apt-get -s upgrade | grep -c ^Inst`: what apt says depends on the machine.
    var(&mut v, "pending_updates_command", "echo 0");
    // security
    var(&mut v, "tls_address", format!("localhost:{}", https.port()));
    var(&mut v, "http_url", http.url("/"));
    var(&mut v, "public_host", "127.0.0.1");
    var(&mut v, "scan_ports", https.port().to_string());
    var(&mut v, "allowed_ports", format!("22, 80, 443, {}", https.port()));
    var(&mut v, "sshd_config", sshd.to_str().unwrap());
    var(&mut v, "sshd_include_dir", sshd.parent().unwrap().to_str().unwrap());
    var(&mut v, "source_dir", source.to_str().unwrap());
    var(&mut v, "protected_path", "/api/account");
    // Stand-in: cargo audit would fetch its advisory database.
    var(&mut v, "audit_command", "test -f Cargo.lock");
    // database
    var(&mut v, "database_url", format!("{}?sslmode=require", pg.primary.app_url("app")));
    var(&mut v, "database_admin_url", pg.primary.super_url("app"));
    var(&mut v, "migrations_dir", root.join("migrations").to_str().unwrap());
    var(&mut v, "test_data_query", "select count(*) from users where email like '%@example.test'");
    var(&mut v, "min_shared_buffers", "16MB");
    var(&mut v, "redis_url", format!("redis://:{REDIS_PASSWORD}@127.0.0.1:{}/0", redis_good().port()));
    // backup
    var(&mut v, "backup_dir", backups.to_str().unwrap());
    var(&mut v, "backup_glob", backups.join("app-*.dump").to_str().unwrap());
    var(&mut v, "restore_test_command", restore);
    var(&mut v, "offsite_check_command", format!("test -s {}", offsite.display()));
    // go-live
    var(&mut v, "service_unit", "golive-test-app.service");
    write_mode(&root.join("rules/service.yml"), ALERT_RULES, 0o644);
    write_mode(
        &root.join("rules/database.yaml"),
        "groups:\n  - name: db\n    rules:\n      - alert: DatabaseConnectionsHigh\n        expr: pg_stat_activity_count > 50\n",
        0o644,
    );
    var(&mut v, "alert_rules", root.join("rules").to_str().unwrap());
    var(&mut v, "required_alerts", "ServiceDown HighErrorRate DatabaseConnectionsHigh");
    var(&mut v, "required_metrics", "http_requests_total http_request_duration_seconds");
    var(&mut v, "test_command", "test -f src/main.rs");
    var(&mut v, "lint_command", "test -f Cargo.lock");
    var(&mut v, "access_log", access_log.to_str().unwrap());
    // Stand-in for journalctl (no journal here): no errors.
    var(&mut v, "recent_errors_command", "echo 0");
    // ufw active and denying by default, fail2ban with its sshd jail.
    let path = fake_host_tools(
        &root.join("bin"),
        "Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n",
        "Status\n|- Number of jail:\t1\n`- Jail list:\tsshd\n",
    );
    Site {
        _servers: vec![https, http],
        _tls: None,
        _dns: dns,
        vars: v,
        env: vec![
            ("SSL_CERT_FILE".into(), ca.to_str().unwrap().into()),
            ("TZ".into(), "UTC".into()),
            ("PATH".into(), path),
        ],
        scratch_db,
    }
}

/// A site with the mistakes the shipped checklists are there to catch.
async fn bad_site(w: &Workdir) -> Site {
    let root = w.path("bad");
    let pki = TestPki::new();
    let ca = pki.write_ca_file(w.dir.path());
    let expired = TlsServer::with_cert(&pki.expired()).await;
    let http = HttpServer::start(vec![
        Route::new("/")
            .body("welcome")
            .header("server", "nginx/1.25.3")
            .header("x-powered-by", "PHP/8.2.1")
            .header("access-control-allow-origin", "https://golive-cors-check.invalid")
            .header("access-control-allow-credentials", "true"),
        Route::new("/health").status(503).body("database down"),
        Route::new("/slow").delay(Duration::from_millis(1500)),
        Route::new("/login").header("set-cookie", "sid=7f3a; Path=/"),
        Route::new("/api/account").body("{\"email\": \"dana@example.test\"}"),
        Route::new("/metrics").body("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n"),
        Route::new("/debug/pprof/").body("profiles"),
        Route::new("/.env").body("SECRET=1"),
        Route::new("/golive-no-such-page-7f3a").status(404).body(
            "<h1>RuntimeError at /golive-no-such-page-7f3a</h1><pre>Traceback (most recent call last):\n  File \"app.py\", line 12</pre>",
        ),
    ])
    .await;
    let dns = DnsServer::start(vec![TestRecord::a("other.golive.test.", "127.0.0.1", 300)]).await;

    let env_file = root.join("app.env");
    write_mode(&env_file, "DATABASE_URL=postgres://app:short@db.internal/app\nRUST_LOG=debug\nAPP_DEBUG=true\n", 0o644);
    let not_a_binary = root.join("app");
    write_mode(&not_a_binary, "#!/bin/sh\necho not an ELF file\n", 0o644);
    let sshd = root.join("ssh/sshd_config");
    write_mode(&sshd, "PermitRootLogin yes\nPasswordAuthentication yes\n", 0o644);
    let source = root.join("src-tree");
    write_mode(&source.join("config/prod.yml"), "aws_access_key_id: AKIAQ3EXAMPLE7KEY2ZX\n", 0o644);
    write_mode(&source.join(".env"), "DATABASE_URL=postgres://app:hunter2hunter2@db/app\n", 0o644);
    commit_all(&source);
    write_migrations(&root.join("migrations"));

    // Two dumps three and four days old, the newer one cut short.
    let backups = root.join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    std::fs::set_permissions(&backups, std::fs::Permissions::from_mode(0o755)).unwrap();
    let older = backups.join("app-20260101.dump");
    pg_dump(&older);
    set_age(&older, hours(4 * 24));
    let newer = backups.join("app-20260102.dump");
    pg_dump(&newer);
    let bytes = std::fs::read(&newer).unwrap();
    std::fs::write(&newer, &bytes[..bytes.len() / 2]).unwrap();
    set_age(&newer, hours(3 * 24));

    let pg = pg();
    let mut v = Vec::new();
    var(&mut v, "hostname", "api.golive.test");
    var(&mut v, "expected_addresses", "127.0.0.1");
    var(&mut v, "dns_server", dns.addr().to_string());
    var(&mut v, "base_url", http.url(""));
    var(&mut v, "response_time_path", "/slow");
    var(&mut v, "log_level_setting", "RUST_LOG");
    var(&mut v, "debug_setting", "APP_DEBUG");
    var(&mut v, "max_response_time", "1s");
    var(&mut v, "app_binary", not_a_binary.to_str().unwrap());
    var(&mut v, "env_file", env_file.to_str().unwrap());
    var(&mut v, "required_env", "DATABASE_URL REDIS_URL");
    var(&mut v, "min_cpus", "100000");
    var(&mut v, "timezone", "CET");
    var(&mut v, "pending_updates_command", "echo 3");
    var(&mut v, "tls_address", format!("localhost:{}", expired.port()));
    var(&mut v, "http_url", http.url("/"));
    var(&mut v, "public_host", "127.0.0.1");
    var(&mut v, "scan_ports", format!("{}, {}", http.port(), expired.port()));
    var(&mut v, "sshd_config", sshd.to_str().unwrap());
    var(&mut v, "sshd_include_dir", sshd.parent().unwrap().to_str().unwrap());
    var(&mut v, "source_dir", source.to_str().unwrap());
    var(&mut v, "protected_path", "/api/account");
    var(&mut v, "max_sudo_users", "-1");
    var(&mut v, "audit_command", "echo 'RUSTSEC-2099-0001: vulnerable dependency' >&2; exit 1");
    // The standby: no TLS, trust in pg_hba.conf, md5, no slow-query log, failing archiving;
    // `legacy` has no extensions, test rows and a failed migration.
    var(&mut v, "database_url", pg.standby.app_url("legacy"));
    var(&mut v, "database_admin_url", pg.standby.super_url("legacy"));
    var(&mut v, "migrations_dir", root.join("migrations").to_str().unwrap());
    var(&mut v, "test_data_query", "select count(*) from users where email like '%@example.test'");
    var(&mut v, "redis_url", redis_open().url());
    var(&mut v, "backup_dir", backups.to_str().unwrap());
    var(&mut v, "backup_glob", backups.join("app-*.dump").to_str().unwrap());
    var(&mut v, "restore_test_command", "pg_restore --list \"$GOLIVE_BACKUP_FILE\" >/dev/null && exit 1");
    var(&mut v, "offsite_check_command", format!("test -s {}", root.join("offsite/none.dump").display()));
    var(&mut v, "service_unit", "golive-test-app.service");
    // Only the service-down alert was written, and the page lacks the request series.
    write_mode(
        &root.join("rules.yml"),
        "groups:\n  - name: svc\n    rules:\n      - alert: ServiceDown\n        expr: up == 0\n",
        0o644,
    );
    var(&mut v, "alert_rules", root.join("rules.yml").to_str().unwrap());
    var(&mut v, "required_alerts", "ServiceDown HighErrorRate DatabaseConnectionsHigh");
    var(&mut v, "required_metrics", "http_requests_total http_request_duration_seconds");
    var(&mut v, "test_command", "echo '2 tests failed' >&2; exit 101");
    var(&mut v, "lint_command", "true");
    var(&mut v, "access_log", root.join("no-such.log").to_str().unwrap());
    var(&mut v, "recent_errors_command", "echo 12");
    // ufw installed but never enabled, fail2ban running without a jail.
    let path =
        fake_host_tools(&root.join("bin"), "Status: inactive\n", "Status\n|- Number of jail:\t0\n`- Jail list:\t\n");
    Site {
        _servers: vec![http],
        _tls: Some(expired),
        _dns: dns,
        vars: v,
        env: vec![
            ("SSL_CERT_FILE".into(), ca.to_str().unwrap().into()),
            ("TZ".into(), "UTC".into()),
            ("PATH".into(), path),
        ],
        scratch_db: String::new(),
    }
}

/// Makes `dir` a git repository with everything in it committed (the secrets check scans
/// the history by default).
fn commit_all(dir: &Path) {
    for args in [&["init", "-q"][..], &["add", "-A"], &["commit", "-q", "-m", "release"]] {
        support::git(dir, args);
    }
}

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// Asserts the item failed and its reason contains `needle`.
fn assert_fails_with(report: &Value, id: &str, needle: &str) {
    assert_outcome(report, id, "fail");
    let reason = reason(report, id);
    assert!(reason.contains(needle), "{id}: reason {reason:?} lacks {needle:?}");
}

fn assert_passes(report: &Value, ids: &[&str]) {
    for id in ids {
        assert_outcome(report, id, "pass");
    }
}

/// systemd is not running in this container: its items end in `error`, with the reason.
fn assert_no_systemd(report: &Value, id: &str) {
    assert_outcome(report, id, "error");
    assert!(reason(report, id).contains("systemctl"), "{id}: {}", reason(report, id));
}

fn assert_pending(report: &Value, id: &str, owner: &str) {
    assert_outcome(report, id, "manual");
    assert_eq!(item(report, id)["manual_status"], "pending", "{id}");
    assert_eq!(item(report, id)["owner"], owner, "{id}");
}

const INFRA_SYSTEMD: &[&str] = &["infrastructure.time-sync", "infrastructure.reverse-proxy"];
const INFRA_MANUAL: &[&str] =
    &["infrastructure.load-balancer-cdn", "infrastructure.staging-parity", "infrastructure.clustering"];

fn skips(ids: &[&str]) -> Vec<String> {
    ids.iter().flat_map(|id| ["--skip".to_string(), id.to_string()]).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn infrastructure_passes_on_a_good_server_and_names_each_problem_on_a_bad_one() {
    let w = Workdir::new();
    let good = good_site(&w).await;
    let (report, out) = good.run(&w, "golive:infrastructure", &[]).await;
    assert_eq!(out.status.code(), Some(1), "systemd errors and pending items block: {}", stderr(&out));
    assert_passes(
        &report,
        &[
            "infrastructure.host-resources",
            "infrastructure.os-up-to-date",
            "infrastructure.timezone",
            "infrastructure.binary-libraries",
            "infrastructure.dns-resolves",
            "infrastructure.health-endpoint",
            "infrastructure.readiness-endpoint",
            "infrastructure.response-time",
            "operations.env-file-complete",
            "config.log-level",
            "config.debug-off",
        ],
    );
    assert_eq!(fact(&report, "config.log-level", "config.RUST_LOG"), "info");
    assert_eq!(fact(&report, "config.debug-off", "config.APP_DEBUG"), false, "read as a boolean");
    for id in INFRA_SYSTEMD {
        assert_no_systemd(&report, id);
    }
    assert_pending(&report, "infrastructure.load-balancer-cdn", "Operations Lead");
    assert_pending(&report, "infrastructure.clustering", "Technical Lead");

    // Attested manual items and the systemd items skipped (no systemd here): the gate passes.
    good.attest(&w, "golive:infrastructure", INFRA_MANUAL).await;
    let mut extra = skips(INFRA_SYSTEMD);
    extra.extend(["--attestations".into(), "attestations.toml".into()]);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let (report, out) = good.run(&w, "golive:infrastructure", &extra).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    for id in INFRA_MANUAL {
        assert_eq!(item(&report, id)["manual_status"], "attested", "{id}");
    }
    assert_eq!(report["summary"]["manual_attested"], 3);

    let bad = bad_site(&w).await;
    let (report, out) = bad.run(&w, "golive:infrastructure", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_fails_with(&report, "infrastructure.host-resources", "cpu_count: expected >= 100000");
    assert_fails_with(&report, "infrastructure.os-up-to-date", "observed 3");
    assert_fails_with(&report, "infrastructure.timezone", "stdout: expected matches /^CET\\s*$/");
    assert_fails_with(&report, "infrastructure.binary-libraries", "exit_code: expected == 0");
    assert_fails_with(&report, "infrastructure.dns-resolves", "resolves: expected == true, observed false");
    assert_fails_with(&report, "infrastructure.health-endpoint", "status: expected == 200, observed 503");
    assert_fails_with(&report, "infrastructure.readiness-endpoint", "status: expected == 200, observed 404");
    assert_fails_with(&report, "infrastructure.response-time", "latency: expected < 1s");
    assert_fails_with(&report, "operations.env-file-complete", "observed REDIS_URL");
    assert_fails_with(&report, "config.log-level", "observed debug (RUST_LOG = \"debug\" (line 2))");
    assert_fails_with(&report, "config.debug-off", "observed true (APP_DEBUG = true (line 3))");
    assert_eq!(item(&report, "config.debug-off")["severity"], "critical");
}

#[tokio::test(flavor = "multi_thread")]
async fn security_passes_on_a_hardened_site_and_names_each_weakness_of_a_careless_one() {
    let w = Workdir::new();
    let good = good_site(&w).await;
    let (report, out) = good.run(&w, "golive:security", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_passes(
        &report,
        &[
            "security.tls-certificate",
            "security.tls-legacy-refused",
            "security.https-redirect",
            "security.security-headers",
            "security.no-version-banner",
            "security.cors",
            "security.cookies-secure",
            "security.auth-required",
            "security.forged-token-rejected",
            "security.error-pages-quiet",
            "security.no-debug-endpoints",
            "security.open-ports",
            "security.firewall-active",
            "security.fail2ban-jails",
            "security.sshd",
            "security.sudo-limited",
            "security.no-committed-secrets",
            "security.env-file-permissions",
            "security.database-password-length",
            "security.dependency-audit",
        ],
    );
    assert_eq!(fact(&report, "security.database-password-length", "stdout_json./length"), 40);
    assert_eq!(fact(&report, "security.open-ports", "unexpected_open"), &serde_json::json!([]));
    assert_no_systemd(&report, "security.fail2ban");
    assert_pending(&report, "security.access-control", "Security Lead");
    assert_pending(&report, "security.app-protections", "Technical Lead");
    // The database password never appears, only its length.
    let text = std::fs::read_to_string(w.path("report.json")).unwrap();
    assert!(!text.contains(LONG_DB_PASSWORD));

    let bad = bad_site(&w).await;
    let (report, out) = bad.run(&w, "golive:security", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_fails_with(&report, "security.tls-certificate", "days_remaining: expected >= 30");
    // The careless site's TLS server is rustls, which cannot speak TLS 1.0/1.1 or weak suites:
    // refused there too (legacy_tls.rs has the servers that accept them).
    assert_outcome(&report, "security.tls-legacy-refused", "pass");
    assert_eq!(
        fact(&report, "security.tls-legacy-refused", "tls10_answer"),
        "server refused TLS 1.0: alert handshake_failure (40)"
    );
    assert_fails_with(&report, "security.https-redirect", "redirects_to_https: expected == true, observed false");
    assert_fails_with(&report, "security.security-headers", "missing_security_headers: expected == []");
    assert_fails_with(&report, "security.no-version-banner", "server_banner_version: expected == false, observed true");
    assert_fails_with(&report, "security.cors", "cors_allows_any_origin_with_credentials: expected == false");
    assert_fails_with(&report, "security.cookies-secure", "sid (no Secure, no HttpOnly, no SameSite)");
    assert_fails_with(&report, "security.auth-required", "status: expected one of [401, 403], observed 200");
    assert_fails_with(&report, "security.forged-token-rejected", "status: expected one of [401, 403], observed 200");
    assert_fails_with(&report, "security.error-pages-quiet", "body: expected not (matches /");
    assert!(
        reason(&report, "security.error-pages-quiet").contains("Traceback"),
        "{}",
        reason(&report, "security.error-pages-quiet")
    );
    assert_fails_with(&report, "security.no-debug-endpoints", "/debug/pprof/");
    assert!(reason(&report, "security.no-debug-endpoints").contains("/.env"));
    let http_port = bad.vars.iter().find(|(k, _)| k == "scan_ports").unwrap().1.split(", ").next().unwrap().to_string();
    assert_fails_with(&report, "security.open-ports", &http_port);
    assert_fails_with(&report, "security.firewall-active", "stdout_json./active: expected == true, observed false");
    assert_fails_with(&report, "security.fail2ban-jails", "stdout_json./jails: expected >= 1, observed 0");
    assert_fails_with(&report, "security.sshd", "permit_root_login: expected == \"no\", observed yes");
    assert_fails_with(&report, "security.sudo-limited", "stdout_json./count: expected <= -1");
    assert_fails_with(&report, "security.no-committed-secrets", "count: expected == 0");
    let findings = fact(&report, "security.no-committed-secrets", "findings").to_string();
    assert!(findings.contains("config/prod.yml:1: aws_access_key_id"), "{findings}");
    assert!(findings.contains("\".env: env_file\""), "{findings}");
    // The same secrets, committed: found in the history too.
    assert!(findings.contains(":config/prod.yml:1: aws_access_key_id"), "{findings}");
    assert!(
        regex::Regex::new(r#""[0-9a-f]{12}:config/prod.yml:1: aws_access_key_id""#).unwrap().is_match(&findings),
        "{findings}"
    );
    assert_fails_with(
        &report,
        "security.env-file-permissions",
        "mode: expected one of [\"0600\", \"0400\"], observed 0644",
    );
    assert_fails_with(&report, "security.database-password-length", "stdout_json./length: expected >= 32, observed 5");
    assert_fails_with(&report, "security.dependency-audit", "exit_code: expected == 0, observed 1");
    let text = std::fs::read_to_string(w.path("report.json")).unwrap();
    assert!(!text.contains("AKIAQ3EXAMPLE7KEY2ZX") && !text.contains("hunter2hunter2"), "a secret leaked");
}

const DATABASE_ITEMS: &[&str] = &[
    "database.postgres-version",
    "database.tls",
    "database.listen-local",
    "database.hba-no-trust",
    "database.password-encryption",
    "database.app-not-superuser",
    "database.app-role-minimal",
    "database.superuser-count",
    "database.connection-headroom",
    "database.idle-transaction-timeout",
    "database.extensions",
    "database.pg-stat-statements-loaded",
    "database.slow-query-log",
    "database.memory-tuned",
    "database.vacuum-analyze",
    "database.unindexed-scans",
    "database.migrations-applied",
    "database.test-data-removed",
    "cache.redis-reachable",
    "cache.redis-version",
    "cache.redis-auth-required",
    "cache.redis-protected-mode",
    "cache.redis-maxmemory",
    "cache.redis-persistence",
];

#[tokio::test(flavor = "multi_thread")]
async fn database_passes_on_the_primary_and_fails_on_the_misconfigured_standby_for_each_reason() {
    let w = Workdir::new();
    let good = good_site(&w).await;
    let (report, out) = good.run(&w, "golive:database", &[]).await;
    assert_eq!(out.status.code(), Some(1), "only the two manual items block: {}", stderr(&out));
    assert_passes(&report, DATABASE_ITEMS);
    assert_pending(&report, "database.query-review", "Technical Lead");
    assert_pending(&report, "database.migration-plan", "Technical Lead");
    good.attest(&w, "golive:database", &["database.query-review", "database.migration-plan"]).await;
    let (report, out) = good.run(&w, "golive:database", &["--attestations", "attestations.toml"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(report["summary"]["pass"], DATABASE_ITEMS.len());

    let bad = bad_site(&w).await;
    let (report, out) = bad.run(&w, "golive:database", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_fails_with(&report, "database.tls", "setting.ssl: expected == true, observed false");
    assert_fails_with(&report, "database.hba-no-trust", "hba_insecure_rules: expected == []");
    assert_fails_with(&report, "database.password-encryption", "observed md5");
    assert_fails_with(&report, "database.idle-transaction-timeout", "observed 0");
    assert_fails_with(&report, "database.extensions", "extensions: expected includes");
    assert_fails_with(&report, "database.pg-stat-statements-loaded", "setting.shared_preload_libraries");
    assert_fails_with(&report, "database.slow-query-log", "setting.log_min_duration_statement");
    assert_fails_with(&report, "database.memory-tuned", "value: expected == true, observed false");
    assert_fails_with(&report, "database.migrations-applied", "migrations_failed_count: expected == 0");
    assert_fails_with(&report, "database.test-data-removed", "value: expected == 0, observed 3");
    assert_fails_with(&report, "cache.redis-auth-required", "auth_required: expected == true, observed false");
    assert_fails_with(&report, "cache.redis-maxmemory", "maxmemory: expected > 0");
    // What the standby does right still passes: the application role is not a superuser.
    assert_passes(&report, &["database.postgres-version", "database.app-not-superuser", "cache.redis-reachable"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_passes_with_fresh_readable_restorable_backups_and_fails_with_stale_truncated_ones() {
    let w = Workdir::new();
    let good = good_site(&w).await;
    let (report, out) = good.run(&w, "golive:backup", &[]).await;
    assert_eq!(out.status.code(), Some(1), "the manual item blocks: {}", stderr(&out));
    assert_passes(
        &report,
        &[
            "backup.directory-permissions",
            "backup.recent",
            "backup.retention",
            "backup.pg-dump-readable",
            "backup.restore-test",
            "backup.offsite-copy",
            "database.wal-archiving",
        ],
    );
    assert_eq!(fact(&report, "backup.retention", "count"), 7);
    assert_eq!(fact(&report, "backup.restore-test", "restore_exit_code"), 0);
    // The restore really happened: the scratch database has the dumped rows.
    assert_eq!(pg().primary.scalar(&good.scratch_db, "select count(*) from users"), "2");
    assert_pending(&report, "backup.disaster-recovery", "Operations Lead");

    let bad = bad_site(&w).await;
    let (report, out) = bad.run(&w, "golive:backup", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_fails_with(&report, "backup.directory-permissions", "world_readable: expected == false, observed true");
    assert_fails_with(&report, "backup.recent", "age: expected < 26h");
    assert_fails_with(&report, "backup.retention", "count: expected >= 7, observed 2");
    assert_fails_with(&report, "backup.pg-dump-readable", "pg_dump_ok: expected == true, observed false");
    assert_fails_with(&report, "backup.restore-test", "restore_exit_code: expected == 0, observed 1");
    assert_fails_with(&report, "backup.offsite-copy", "exit_code: expected == 0, observed 1");
    assert_fails_with(&report, "database.wal-archiving", "");
}

/// Every manual item of go-live.toml that blocks the gate (post-launch ones are low).
const GO_LIVE_MANUAL: &[&str] = &[
    "infrastructure.load-balancer-cdn",
    "infrastructure.staging-parity",
    "infrastructure.clustering",
    "database.query-review",
    "database.migration-plan",
    "security.app-protections",
    "security.rate-limiting",
    "security.access-control",
    "security.security-review",
    "security.secrets-management",
    "security.data-protection",
    "security.dependency-hygiene",
    "security.security-monitoring",
    "security.network-access",
    "backup.disaster-recovery",
    "operations.deployment-plan",
    "operations.rollback-tested",
    "operations.monitoring",
    "operations.alerting",
    "operations.on-call",
    "operations.incident-response",
    "operations.documentation",
    "operations.team-training",
    "operations.communication-plan",
    "operations.performance-testing",
    "operations.functional-testing",
    "operations.compliance",
    "operations.launch-readiness",
    "operations.smoke-tests",
    "operations.launch-announced",
];
const GO_LIVE_SYSTEMD: &[&str] =
    &["infrastructure.time-sync", "infrastructure.reverse-proxy", "security.fail2ban", "operations.service-unit"];

#[tokio::test(flavor = "multi_thread")]
async fn go_live_includes_the_four_and_passes_once_people_attest_and_fails_on_a_bad_release() {
    let w = Workdir::new();
    let good = good_site(&w).await;

    // A required var left out is a clear error naming it, and nothing runs.
    let out = w.run(&["run", "golive:go-live", "--var", "hostname=api.golive.test"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("GL016") && stderr(&out).contains("`base_url`"), "{}", stderr(&out));

    let (report, out) = good.run(&w, "golive:go-live", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let files: Vec<&str> =
        report["checklist"]["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    for name in [
        "golive:go-live",
        "golive:infrastructure.toml",
        "golive:database.toml",
        "golive:security.toml",
        "golive:backup.toml",
    ] {
        assert!(files.contains(&name), "{name} not among {files:?}");
    }
    assert_eq!(
        report["signoff"]["roles"],
        serde_json::json!(["Technical Lead", "Operations Lead", "Security Lead", "Product Owner"])
    );
    assert_passes(
        &report,
        &[
            "release.tests",
            "release.lint",
            "operations.release-binary",
            "operations.access-log",
            "operations.metrics-endpoint",
            "operations.alert-rules",
            "launch.final-backup",
            "launch.no-recent-errors",
            "infrastructure.health-endpoint",
            "security.tls-certificate",
            "security.tls-legacy-refused",
            "database.migrations-applied",
            "backup.restore-test",
        ],
    );
    for id in GO_LIVE_SYSTEMD {
        assert_no_systemd(&report, id);
    }
    for id in GO_LIVE_MANUAL {
        assert_eq!(item(&report, id)["manual_status"], "pending", "{id}");
    }
    for id in ["operations.first-day-review", "operations.first-week-review", "operations.monthly-review"] {
        assert_eq!(item(&report, id)["severity"], "low", "{id}");
        assert_eq!(item(&report, id)["section"], "post-launch", "{id}");
    }

    // Every blocking manual item attested, systemd items skipped (no systemd here): the gate
    // passes, and the post-launch items stay pending without blocking it.
    good.attest(&w, "golive:go-live", GO_LIVE_MANUAL).await;
    let mut extra = skips(GO_LIVE_SYSTEMD);
    extra.extend(["--attestations".into(), "attestations.toml".into()]);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let (report, out) = good.run(&w, "golive:go-live", &extra).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(report["summary"]["manual_attested"], GO_LIVE_MANUAL.len());
    assert_eq!(report["summary"]["manual_pending"], 3);

    let bad = bad_site(&w).await;
    let (report, out) = bad.run(&w, "golive:go-live", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_fails_with(&report, "release.tests", "exit_code: expected == 0, observed 101");
    assert_fails_with(
        &report,
        "operations.release-binary",
        "stdout_json./executable: expected == true, observed false",
    );
    assert_fails_with(&report, "operations.access-log", "exists: expected == true, observed false");
    assert_fails_with(&report, "launch.final-backup", "age: expected < 6h");
    assert_fails_with(&report, "launch.no-recent-errors", "observed 12");
    assert_fails_with(
        &report,
        "operations.metrics-endpoint",
        "missing_metrics: expected == [], observed [\"http_requests_total\", \"http_request_duration_seconds\"] (the page exposes 1 metric name)",
    );
    assert_fails_with(
        &report,
        "operations.alert-rules",
        &format!(
            "observed [\"HighErrorRate\", \"DatabaseConnectionsHigh\"] (defined in {}: ServiceDown)",
            w.path("bad/rules.yml").display()
        ),
    );
    assert_passes(&report, &["release.lint"]);
}

/// The release binary check tells a stripped build from one with its symbol table.
#[tokio::test(flavor = "multi_thread")]
async fn release_binary_check_tells_stripped_from_unstripped() {
    let w = Workdir::new();
    // /bin/sh is stripped on Debian; the test binary itself is not.
    let me = std::env::current_exe().unwrap();
    w.write(
        "golive.toml",
        &format!(
            "[[item]]\nid = \"stripped\"\nuse = \"operations.release-binary\"\nvars = {{ app_binary = \"/bin/sh\" }}\n\n\
             [[item]]\nid = \"unstripped\"\nuse = \"operations.release-binary\"\nvars = {{ app_binary = \"{}\" }}\n",
            me.display()
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "stripped", "pass");
    assert_fails_with(&report, "unstripped", "stdout_json./stripped: expected == true, observed false");
}
