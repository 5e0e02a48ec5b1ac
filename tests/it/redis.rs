//! The `redis` probe against real `redis-server` processes the harness starts (support/redis.rs):
//! every fact passing and failing, replication with a real replica, TLS with an rcgen CA,
//! errors (unreachable, wrong password, a listener that never answers, CONFIG renamed or
//! denied), secrets in every output, the read-only allow-list as MONITOR sees it, and one
//! shared connection for many items.

use crate::support as common;
use crate::support;

use std::time::{Duration, Instant};

use common::{Workdir, assert_outcome, fact, item, stderr, stdout};
use support::{HungListener, RedisConfig, RedisServer, closed_port};

const PASSWORD: &str = "Redis@Secret-4417";
/// PASSWORD as written in a URL.
const PASSWORD_IN_URL: &str = "Redis%40Secret-4417";

fn checklist(body: &str) -> String {
    format!("[checklist]\nname = \"redis\"\n[defaults]\ntimeout = \"10s\"\n\n{body}")
}

/// Waits until a replica reports its link to the master as up.
fn wait_for_link(replica: &RedisServer) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while replica.info_field("replication", "master_link_status").as_deref() != Some("up") {
        assert!(Instant::now() < deadline, "replica link not up; log:\n{}", replica.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A master with a password, AOF, a memory limit and an eviction policy, three keys in db 0
/// and two in db 2.
fn well_configured_master() -> RedisServer {
    let master = RedisConfig::new()
        .password(PASSWORD)
        .line("appendonly yes")
        .line("maxmemory 64mb")
        .line("maxmemory-policy allkeys-lru")
        .line("save \"900 1\"")
        .start();
    for key in ["a", "b", "c"] {
        master.cmd(&["SET", key, "1"]);
    }
    master.cmd(&["SELECT", "2"]);
    master.cmd(&["SET", "x", "1"]);
    master.cmd(&["SET", "y", "1"]);
    master.cmd(&["SELECT", "0"]);
    master
}

/// [`well_configured_master`] and a replica of it.
fn well_configured() -> (RedisServer, RedisServer) {
    let master = well_configured_master();
    let replica = RedisConfig::new()
        .password(PASSWORD)
        .line(&format!("replicaof 127.0.0.1 {}", master.port()))
        .line(&format!("masterauth \"{PASSWORD}\""))
        .start();
    wait_for_link(&replica);
    (master, replica)
}

fn failed_facts(report: &serde_json::Value, id: &str) -> Vec<String> {
    item(report, id)["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["passed"] == false)
        .map(|e| e["fact"].as_str().unwrap().to_string())
        .collect()
}

fn all_facts(report: &serde_json::Value, id: &str) -> Vec<String> {
    item(report, id)["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fact"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_fact_passes_and_fails() {
    let (master, replica) = well_configured();
    let open = RedisServer::start();
    let w = Workdir::new();
    let (m, r, o) = (master.port(), replica.port(), open.port());
    w.write(
        "golive.toml",
        &checklist(&format!(
            r#"
[vars]
master = "redis://:{PASSWORD_IN_URL}@127.0.0.1:{m}"

[[item]]
id = "master-pass"
probe = "redis"
url = "${{master}}"
expect = {{ reachable = true, auth_required = true, version = ">= 6", mode = "standalone", role = "master", connected_replicas = 1, aof_enabled = true, rdb_last_bgsave_ok = true, rdb_last_save_age = "< 1h", aof_last_write_ok = true, maxmemory = "64MiB", maxmemory_policy = "allkeys-lru", protected_mode = true, used_memory = "> 100kB", keys = 3, "config.maxmemory-policy" = "allkeys-lru", "config.appendonly" = "yes", "config.maxmemory" = 67108864, "info.server.tcp_port" = {m}, "info.keyspace.db0" = {{ contains = "keys=3" }} }}

[[item]]
id = "master-fail"
probe = "redis"
url = "${{master}}"
expect = {{ reachable = false, auth_required = false, version = "< 6", mode = "cluster", role = "replica", connected_replicas = 0, master_link_status = "up", aof_enabled = false, rdb_last_bgsave_ok = false, rdb_last_save_age = "> 1d", aof_last_write_ok = false, maxmemory = 0, maxmemory_policy = "noeviction", protected_mode = false, used_memory = "> 1TiB", keys = 0, "config.maxmemory-policy" = "volatile-ttl", "info.server.tcp_port" = 1, "info.keyspace.db0" = {{ contains = "keys=4" }} }}

[[item]]
id = "replica-pass"
probe = "redis"
host = "127.0.0.1"
port = {r}
password = "{PASSWORD}"
expect = {{ role = "replica", master_link_status = "up", connected_replicas = 0, "info.replication.master_port" = {m} }}

[[item]]
id = "replica-fail"
probe = "redis"
host = "127.0.0.1"
port = {r}
password = "{PASSWORD}"
expect = {{ role = "master", master_link_status = "down" }}

[[item]]
id = "db-from-url"
probe = "redis"
url = "redis://:{PASSWORD_IN_URL}@127.0.0.1:{m}/2"
expect = {{ keys = 2 }}

[[item]]
id = "db-param"
probe = "redis"
url = "${{master}}"
db = 2
expect = {{ keys = 2 }}

[[item]]
id = "db-empty"
probe = "redis"
url = "${{master}}"
db = 5
expect = {{ keys = 2 }}

[[item]]
id = "open-pass"
probe = "redis"
url = "redis://127.0.0.1:{o}"
expect = {{ auth_required = false, aof_enabled = false, maxmemory = 0, keys = 0 }}

[[item]]
id = "open-fail"
probe = "redis"
url = "redis://127.0.0.1:{o}"
expect = {{ auth_required = true }}

[[item]]
id = "default-expect"
probe = "redis"
url = "redis://127.0.0.1:{o}"
"#
        )),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "master-pass", "pass");
    let version = master.info_field("server", "redis_version").unwrap();
    assert_eq!(fact(&report, "master-pass", "version"), version.as_str());
    assert_eq!(fact(&report, "master-pass", "maxmemory"), 67108864);
    assert_outcome(&report, "master-fail", "fail");
    let failed = failed_facts(&report, "master-fail");
    assert_eq!(failed, all_facts(&report, "master-fail"), "every expectation of master-fail fails");
    assert_eq!(failed.len(), 19);

    assert_outcome(&report, "replica-pass", "pass");
    assert_outcome(&report, "replica-fail", "fail");
    assert_eq!(failed_facts(&report, "replica-fail"), ["role", "master_link_status"]);

    assert_outcome(&report, "db-from-url", "pass");
    assert_outcome(&report, "db-param", "pass");
    assert_outcome(&report, "db-empty", "fail");
    assert_eq!(fact(&report, "db-empty", "keys"), 0);

    assert_outcome(&report, "open-pass", "pass");
    assert_outcome(&report, "open-fail", "fail");
    assert_outcome(&report, "default-expect", "pass");
    assert_eq!(fact(&report, "default-expect", "reachable"), true);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_facts_asked_for_are_observed() {
    let server = RedisServer::start();
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &checklist(&format!(
            r#"
[[item]]
id = "version-only"
probe = "redis"
url = "{}"
expect = {{ version = ">= 6" }}
"#,
            server.url()
        )),
    );
    let monitor = server.monitor();
    let (report, _) = w.run_json("golive.toml", &[]).await;
    let seen = monitor.finish();
    assert_outcome(&report, "version-only", "pass");
    let facts = item(&report, "version-only")["facts"].as_object().unwrap();
    assert_eq!(facts.keys().collect::<Vec<_>>(), ["version"], "{facts:?}");
    let commands: Vec<Vec<String>> = seen.into_iter().map(|s| s.args).collect();
    assert_eq!(commands, [vec!["INFO".to_string(), "server".to_string()]], "one INFO section, nothing else");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_with_a_private_ca() {
    let server = RedisConfig::new().password(PASSWORD).tls().start();
    let w = Workdir::new();
    let (port, ca) = (server.tls_port(), server.ca_file().display().to_string());
    w.write(
        "golive.toml",
        &checklist(&format!(
            r#"
[[item]]
id = "url-with-ca"
probe = "redis"
url = "rediss://:{PASSWORD_IN_URL}@127.0.0.1:{port}"
ca_file = "{ca}"
expect = {{ reachable = true, version = ">= 6", "info.server.tcp_port" = {plain} }}

[[item]]
id = "fields-with-ca"
probe = "redis"
host = "127.0.0.1"
port = {port}
tls = true
password = "{PASSWORD}"
ca_file = "{ca}"
expect = {{ auth_required = true, reachable = true }}

[[item]]
id = "untrusted"
probe = "redis"
url = "rediss://:{PASSWORD_IN_URL}@127.0.0.1:{port}"

[[item]]
id = "no-verify"
probe = "redis"
url = "rediss://:{PASSWORD_IN_URL}@127.0.0.1:{port}"
tls_verify = false

[[item]]
id = "plain-to-tls-port"
probe = "redis"
url = "redis://:{PASSWORD_IN_URL}@127.0.0.1:{port}"
timeout = "3s"
"#,
            plain = server.port()
        )),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_outcome(&report, "url-with-ca", "pass");
    assert_outcome(&report, "fields-with-ca", "pass");
    assert_outcome(&report, "no-verify", "pass");
    assert_outcome(&report, "untrusted", "error");
    let reason = item(&report, "untrusted")["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("cannot connect") && reason.to_lowercase().contains("certificate"), "{reason}");
    assert_outcome(&report, "plain-to-tls-port", "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_wrong_password_missing_password_and_a_hung_listener_are_errors() {
    let server = RedisServer::with_password(PASSWORD);
    let hung = HungListener::start().await;
    let closed = closed_port();
    let w = Workdir::new();
    let port = server.port();
    w.write(
        "golive.toml",
        &checklist(&format!(
            r#"
[[item]]
id = "unreachable"
probe = "redis"
url = "redis://127.0.0.1:{closed}"

[[item]]
id = "wrong-password"
probe = "redis"
url = "redis://:Wrong-Secret-9921@127.0.0.1:{port}"

[[item]]
id = "wrong-user"
probe = "redis"
url = "redis://nobody:{PASSWORD_IN_URL}@127.0.0.1:{port}"

[[item]]
id = "no-password"
probe = "redis"
url = "redis://127.0.0.1:{port}"

[[item]]
id = "hung"
probe = "redis"
url = "redis://127.0.0.1:{hung}"
timeout = "1s"

[[item]]
id = "hung-tls"
probe = "redis"
url = "rediss://127.0.0.1:{hung}"
timeout = "1s"

[[item]]
id = "hung-auth-only"
probe = "redis"
host = "127.0.0.1"
port = {hung}
timeout = "1s"
expect = {{ auth_required = true }}
"#,
            hung = hung.port()
        )),
    );
    let started = Instant::now();
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert!(started.elapsed() < Duration::from_secs(30), "a hung server held the run");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let reason = |id: &str| item(&report, id)["reason"].as_str().unwrap_or_default().to_string();
    for id in ["unreachable", "wrong-password", "wrong-user", "no-password", "hung", "hung-tls", "hung-auth-only"] {
        assert_outcome(&report, id, "error");
    }
    assert!(
        reason("unreachable").contains(&format!("cannot connect to redis at 127.0.0.1:{closed}")),
        "{}",
        reason("unreachable")
    );
    assert!(reason("unreachable").contains("refused"), "{}", reason("unreachable"));
    assert!(reason("wrong-password").contains("wrong username or password"), "{}", reason("wrong-password"));
    assert!(reason("wrong-user").contains("wrong username or password"), "{}", reason("wrong-user"));
    assert!(reason("no-password").contains("NOAUTH"), "{}", reason("no-password"));
    for id in ["hung", "hung-tls", "hung-auth-only"] {
        let r = reason(id);
        assert!(r.contains("within 1s") || r.contains("timed out"), "{id}: {r}");
    }
    assert!(hung.connections() >= 3, "the hung items really connected");
    let text = std::fs::read_to_string(w.path("report.json")).unwrap();
    assert!(!text.contains("Wrong-Secret-9921"), "a wrong password is a secret too");
}

#[tokio::test(flavor = "multi_thread")]
async fn config_renamed_or_denied_is_an_error_never_a_pass() {
    let renamed = RedisConfig::new().line("rename-command CONFIG \"\"").start();
    let acl = RedisConfig::new().password(PASSWORD).line("user app on >app-Secret-5150 ~* &* +@all -config").start();
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &checklist(&format!(
            r#"
[[item]]
id = "renamed-config"
probe = "redis"
url = "{renamed}"
expect = {{ "config.maxmemory" = {{ present = false }} }}

[[item]]
id = "renamed-protected-mode"
probe = "redis"
url = "{renamed}"
expect = {{ protected_mode = false }}

[[item]]
id = "renamed-info-still-works"
probe = "redis"
url = "{renamed}"
expect = {{ version = ">= 6", maxmemory = 0 }}

[[item]]
id = "acl-denied"
probe = "redis"
host = "127.0.0.1"
port = {acl_port}
username = "app"
password = "app-Secret-5150"
expect = {{ "config.appendonly" = "no" }}

[[item]]
id = "acl-user-reads-info"
probe = "redis"
url = "redis://app:app-Secret-5150@127.0.0.1:{acl_port}"
expect = {{ reachable = true, auth_required = true, role = "master" }}

[[item]]
id = "no-such-setting"
probe = "redis"
url = "redis://:{PASSWORD_IN_URL}@127.0.0.1:{acl_port}"
expect = {{ "config.no-such-setting" = {{ present = false }} }}
"#,
            renamed = renamed.url(),
            acl_port = acl.port()
        )),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let reason = |id: &str| item(&report, id)["reason"].as_str().unwrap_or_default().to_string();
    assert_outcome(&report, "renamed-config", "error");
    assert!(reason("renamed-config").contains("renamed or disabled"), "{}", reason("renamed-config"));
    assert_outcome(&report, "renamed-protected-mode", "error");
    assert_outcome(&report, "renamed-info-still-works", "pass");
    assert_outcome(&report, "acl-denied", "error");
    assert!(reason("acl-denied").contains("NOPERM"), "{}", reason("acl-denied"));
    assert_outcome(&report, "acl-user-reads-info", "pass");
    assert_outcome(&report, "no-such-setting", "error");
    assert!(reason("no-such-setting").contains("no setting `no-such-setting`"), "{}", reason("no-such-setting"));
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_never_appear_in_any_output() {
    let server = RedisConfig::new().password(PASSWORD).line("user ops on >ops-Secret-7788 ~* &* +@all").start();
    let w = Workdir::new();
    let port = server.port();
    w.write(
        "golive.toml",
        &checklist(&format!(
            r#"
[vars]
redis_password = "${{env:GOLIVE_TEST_REDIS_PASSWORD}}"

[[item]]
id = "url-password"
probe = "redis"
url = "redis://:{PASSWORD_IN_URL}@127.0.0.1:{port}"
expect = {{ reachable = true, "config.requirepass" = "{PASSWORD}" }}

[[item]]
id = "env-password"
probe = "redis"
host = "127.0.0.1"
port = {port}
password = "${{redis_password}}"
expect = {{ reachable = true, "config.requirepass" = {{ present = true }} }}

[[item]]
id = "literal-password-failing"
probe = "redis"
host = "127.0.0.1"
port = {port}
password = "{PASSWORD}"
expect = {{ "config.requirepass" = "something-else" }}

[[item]]
id = "wrong-password"
probe = "redis"
url = "redis://:Wrong%40Secret-9921@127.0.0.1:{port}"
"#
        )),
    );
    let out = w
        .run_env(
            &["run", "golive.toml", "--output", "table", "--output", "json=report.json"],
            &[("GOLIVE_TEST_REDIS_PASSWORD", PASSWORD)],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "url-password", "pass");
    assert_outcome(&report, "env-password", "pass");
    assert_outcome(&report, "literal-password-failing", "fail");
    assert_outcome(&report, "wrong-password", "error");
    assert_eq!(fact(&report, "url-password", "config.requirepass"), "***");
    assert_eq!(item(&report, "url-password")["params"]["url"], format!("redis://:***@127.0.0.1:{port}"));
    assert_eq!(item(&report, "env-password")["params"]["password"], "***");
    // A checklist that knows only the ops user's password reads the default user's: it is
    // masked all the same.
    w.write(
        "other.toml",
        &checklist(&format!(
            r#"
[[item]]
id = "other-user-reads-requirepass"
probe = "redis"
url = "redis://ops:ops-Secret-7788@127.0.0.1:{port}"
expect = {{ "config.requirepass" = {{ length = ">= 8" }}, "config.masterauth" = {{ present = true }} }}
"#
        )),
    );
    let other = w.run(&["run", "other.toml", "--output", "table", "--output", "json=other.json"]).await;
    assert_eq!(other.status.code(), Some(0), "{}", stderr(&other));
    let other_report: serde_json::Value = serde_json::from_str(&w.read("other.json")).unwrap();
    assert_eq!(fact(&other_report, "other-user-reads-requirepass", "config.requirepass"), "***");
    let validate = w.run(&["validate", "golive.toml"]).await;
    let list = w.run_env(&["list", "golive.toml"], &[("GOLIVE_TEST_REDIS_PASSWORD", PASSWORD)]).await;
    let outputs = [
        ("stdout", stdout(&out)),
        ("stderr", stderr(&out)),
        ("report.json", w.read("report.json")),
        ("validate", stdout(&validate) + &stderr(&validate)),
        ("list", stdout(&list) + &stderr(&list)),
        ("other stdout", stdout(&other) + &stderr(&other)),
        ("other.json", w.read("other.json")),
    ];
    for (name, text) in outputs {
        for secret in [
            PASSWORD,
            PASSWORD_IN_URL,
            "Secret-4417",
            "Wrong@Secret-9921",
            "Wrong%40Secret-9921",
            "Secret-9921",
            "ops-Secret-7788",
        ] {
            assert!(!text.contains(secret), "{name} shows {secret}:\n{text}");
        }
    }
}

/// Two observers of what golive sends: MONITOR shows each command with its arguments, but
/// leaves out admin commands such as CONFIG; INFO commandstats counts every command run.
#[tokio::test(flavor = "multi_thread")]
async fn the_server_sees_only_read_commands() {
    let master = well_configured_master();
    let w = Workdir::new();
    let m = master.port();
    w.write(
        "golive.toml",
        &checklist(&format!(
            r#"
[[item]]
id = "everything"
probe = "redis"
url = "redis://:{PASSWORD_IN_URL}@127.0.0.1:{m}/2"
expect = {{ reachable = true, auth_required = true, version = ">= 6", mode = "standalone", role = "master", connected_replicas = ">= 0", aof_enabled = true, rdb_last_bgsave_ok = true, rdb_last_save_age = "< 1h", aof_last_write_ok = true, maxmemory = "> 0", maxmemory_policy = {{ present = true }}, protected_mode = true, used_memory = "> 0", keys = 2, "config.save" = {{ present = true }}, "info.stats.total_commands_processed" = "> 0" }}

[[item]]
id = "unknown-setting"
probe = "redis"
url = "redis://:{PASSWORD_IN_URL}@127.0.0.1:{m}"
expect = {{ "config.no-such-setting" = "x" }}
"#
        )),
    );
    let stats_before = master.command_stats();
    let monitor = master.monitor();
    let (report, _) = w.run_json("golive.toml", &[]).await;
    let seen = monitor.finish();
    let stats_after = master.command_stats();
    assert_outcome(&report, "everything", "pass");
    let names: Vec<String> = seen.iter().map(|s| s.args.join(" ")).collect();
    for s in &seen {
        assert!(
            golive::probe::redis_conn::is_read_only(&s.args.iter().map(String::as_str).collect::<Vec<_>>()),
            "golive sent {:?}",
            s.args
        );
    }
    for expected in [
        "PING",
        "INFO server",
        "INFO replication",
        "INFO persistence",
        "INFO memory",
        "INFO stats",
        "DBSIZE",
        "SELECT 2",
    ] {
        assert!(names.iter().any(|n| n == expected), "MONITOR did not see {expected}: {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains(PASSWORD)), "MONITOR shows no password: {names:?}");

    // What ran between the two snapshots, by golive or by the harness itself (INFO for the
    // snapshot, AUTH and MONITOR for the monitor, ECHO for its end marker).
    let ran: Vec<(String, u64)> = stats_after
        .iter()
        .map(|(name, calls)| (name.clone(), calls - stats_before.get(name).copied().unwrap_or(0)))
        .filter(|(_, calls)| *calls > 0)
        .collect();
    for (name, calls) in &ran {
        let words: Vec<&str> = name.split('|').collect();
        let harness = ["monitor", "echo"].contains(&name.as_str());
        assert!(harness || golive::probe::redis_conn::is_read_only(&words), "{name} ran {calls} times: {ran:?}");
    }
    let calls = |name: &str| ran.iter().find(|(n, _)| n == name).map_or(0, |(_, c)| *c);
    assert_eq!(calls("config|get"), 3, "protected-mode, save and no-such-setting: {ran:?}");
    assert_eq!(calls("dbsize"), 1, "{ran:?}");
    assert_eq!(calls("select"), 1, "{ran:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_items_share_one_connection() {
    let server = RedisServer::with_password(PASSWORD);
    let w = Workdir::new();
    let port = server.port();
    let facts = [
        "reachable = true",
        "version = \">= 6\"",
        "keys = 0",
        "maxmemory = 0",
        "role = \"master\"",
        "\"config.maxclients\" = \">= 1\"",
        "\"info.clients.connected_clients\" = \">= 1\"",
        "used_memory = \"> 0\"",
        "auth_required = true",
        "aof_enabled = false",
    ];
    let items: String = (0..100)
        .map(|i| {
            format!(
                "[[item]]\nid = \"redis-{i}\"\nprobe = \"redis\"\nurl = \"${{redis}}\"\nexpect = {{ {} }}\n\n",
                facts[i % facts.len()]
            )
        })
        .collect();
    w.write(
        "golive.toml",
        &checklist(&format!("[vars]\nredis = \"redis://:{PASSWORD_IN_URL}@127.0.0.1:{port}\"\n\n{items}")),
    );
    let before = server.total_connections();
    let (report, out) = w.run_json("golive.toml", &[]).await;
    let opened = server.total_connections() - before;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["items"].as_array().unwrap().len(), 100);
    // One authenticated connection for every item, one without credentials for auth_required.
    assert_eq!(opened, 2, "100 items opened {opened} connections");
}

/// The ids of the ready-made checks in checks/cache/ (`cache.FILE-NAME`).
fn cache_check_ids() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/cache");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| format!("cache.{}", p.file_stem().unwrap().to_string_lossy()))
        .collect();
    ids.sort();
    assert!(ids.len() >= 8, "checks/cache has {} checks", ids.len());
    ids
}

/// A checklist that uses every cache check, as a team would.
fn using_checklist(w: &Workdir) {
    let mut toml = String::from("[checklist]\nname = \"cache go-live\"\n");
    for id in cache_check_ids() {
        toml.push_str(&format!("[[item]]\nuse = \"{id}\"\n"));
    }
    w.write("golive.toml", &toml);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cache_check_validates_and_declares_its_vars() {
    let w = Workdir::new();
    using_checklist(&w);
    // Without values the vars are only warnings while validating…
    let out = w.run(&["validate", "golive.toml"]).await;
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("needs var `redis_url`"), "{}", stderr(&out));
    // … and with them it is clean.
    let out = w
        .run(&["validate", "golive.toml", "--var", "redis_url=redis://h", "--var", "redis_replica_url=redis://h"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    for id in cache_check_ids() {
        let shown = w.run(&["checks", &id]).await;
        assert!(stdout(&shown).contains("probe = \"redis\""), "{id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_checks_pass_on_a_well_configured_server_and_fail_on_a_misconfigured_one() {
    let (master, replica) = well_configured();
    let w = Workdir::new();
    using_checklist(&w);
    let good_url = format!("redis_url=redis://:{PASSWORD_IN_URL}@127.0.0.1:{}", master.port());
    let good_replica = format!("redis_replica_url=redis://:{PASSWORD_IN_URL}@127.0.0.1:{}", replica.port());
    let (report, out) = w.run_json("golive.toml", &["--var", &good_url, "--var", &good_replica]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), cache_check_ids().len());
    for i in items {
        assert_eq!(i["outcome"], "pass", "{i:#}");
    }

    // No password, protected mode off, no memory limit, no persistence, and a snapshot that
    // failed because its directory vanished.
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let bad = RedisConfig::new().line("protected-mode no").line(&format!("dir {}", data_dir.display())).start();
    std::fs::remove_dir_all(&data_dir).unwrap();
    bad.cmd(&["BGSAVE"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while bad.info_field("persistence", "rdb_last_bgsave_status").as_deref() != Some("err") {
        assert!(Instant::now() < deadline, "BGSAVE did not fail; log:\n{}", bad.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let bad_url = format!("redis_url={}", bad.url());
    let bad_replica = format!("redis_replica_url={}", bad.url());
    let (report, out) = w.run_json("golive.toml", &["--var", &bad_url, "--var", &bad_replica]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The installed Redis is new enough and the URL is right: those two hold.
    assert_outcome(&report, "cache.redis-version", "pass");
    assert_outcome(&report, "cache.redis-reachable", "pass");
    for id in [
        "cache.redis-auth-required",
        "cache.redis-protected-mode",
        "cache.redis-maxmemory",
        "cache.redis-persistence",
        "cache.redis-aof",
        "cache.redis-rdb",
        "cache.redis-replication",
        "cache.redis-replica-link",
    ] {
        assert_outcome(&report, id, "fail");
    }

    // A wrong URL: nothing can be observed, and nothing passes.
    let closed = format!("redis_url=redis://127.0.0.1:{}", closed_port());
    let (report, out) = w.run_json("golive.toml", &["--var", &closed, "--var", &bad_replica]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for i in report["items"].as_array().unwrap() {
        if i["id"] != "cache.redis-replica-link" {
            assert_eq!(i["outcome"], "error", "{i:#}");
        }
    }
}
