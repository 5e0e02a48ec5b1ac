//! Every automated check of the catalogue (checks/AREA/NAME.toml, every `probe` but
//! `manual`) has a red/green pair: a test that runs it against a real target with the defect
//! its title names planted, where it must fail (or, where the probe documents "nothing could
//! be observed" as its outcome, end in `error`) with a reason naming the defect, and against
//! one set up right, where it must pass. This module holds the pairs no other module had, and
//! the guard that keeps the rule from regressing.
//!
//! The registry is [`PAIRS`]: `(check id, test path)`. It cannot lie quietly, because
//! [`every_automated_check_has_a_red_green_pair`] checks it against the code:
//! - every non-manual check of checks/ has at least one entry (a new check without a pair
//!   fails the guard, naming it);
//! - every entry names a check of the catalogue that is not manual (no stale entries), and
//!   not one of the guard's own tests (whose source names every check);
//! - every named test exists in this test binary (`--list --format terse` of the running
//!   executable), so a renamed or deleted test is caught;
//! - the named test's source names the check id, or the id of a shipped checklist item
//!   whose `use` is that check (item `security.env-file-permissions` uses
//!   `security.secret-file-permissions`), as a quoted string. The source is the test's `fn`
//!   in tests/it/MODULE.rs and the items of that module it uses, directly or through another
//!   (the helper that writes its checklist, the const holding it), never `PAIRS`.
//!
//! The pairs here run `golive run` with `use = "ID"` items against servers the harness starts
//! on 127.0.0.1 (the PostgreSQL primary and standby shared with shipped_checklists.rs, the
//! server of weak_passes_net.rs that has a second superuser, Redis, HTTP), files and an ELF
//! program (built with `cc`) made at test time, and, for the systemd checks (no systemd runs
//! in this container), a stand-in `systemctl` first on PATH that prints what `systemctl show`
//! prints: the `systemd` probe reads that command's output, so the stand-in is the probe's
//! whole input. Where a defect cannot be planted without leaving loopback, disturbing the
//! servers other tests share or installing an old server (PostgreSQL or Redis older than the
//! minimum, PostgreSQL listening beyond loopback, a server out of connection slots), the real
//! server is judged against a stricter var instead, and the test says so.
//!
//! Weak passes these pairs found, fixed in checks/ (each red side passed before the fix):
//! - `infrastructure.unit-running` and `operations.service-unit` passed a unit enabled with
//!   `systemctl enable --runtime` (enabled-runtime), which is gone at the next reboot (the
//!   `systemd` probe's `enabled` fact now means enabled for every boot);
//! - `security.secret-length` measured a whole URL without a password (or with an empty one)
//!   as the secret;
//! - `infrastructure.static-cache-headers` passed `max-age=…, no-store`, which caches nothing.

use crate::support as common;
use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Workdir, assert_outcome, fact, item, stderr};
use serde_json::Value;
use support::{HttpServer, RedisConfig, RedisServer, Route, closed_port};

// ── the registry ──────────────────────────────────────────────────────────────────────────

const SHIPPED_INFRA: &str =
    "shipped_checklists::infrastructure_passes_on_a_good_server_and_names_each_problem_on_a_bad_one";
const SHIPPED_SECURITY: &str =
    "shipped_checklists::security_passes_on_a_hardened_site_and_names_each_weakness_of_a_careless_one";
const SHIPPED_DATABASE: &str =
    "shipped_checklists::database_passes_on_the_primary_and_fails_on_the_misconfigured_standby_for_each_reason";
const SHIPPED_BACKUP: &str =
    "shipped_checklists::backup_passes_with_fresh_readable_restorable_backups_and_fails_with_stale_truncated_ones";
const SHIPPED_GO_LIVE: &str =
    "shipped_checklists::go_live_includes_the_four_and_passes_once_people_attest_and_fails_on_a_bad_release";

/// `(check id, test path)`: the test that holds the check's red/green pair.
const PAIRS: &[(&str, &str)] = &[
    ("backup.directory-permissions", SHIPPED_BACKUP),
    ("backup.gzip-readable", "red_green::gzip_readable_fails_on_a_truncated_or_plain_backup"),
    ("backup.offsite-copy", SHIPPED_BACKUP),
    ("backup.pg-dump-readable", SHIPPED_BACKUP),
    ("backup.recent", SHIPPED_BACKUP),
    ("backup.restore-test", SHIPPED_BACKUP),
    ("backup.retention", SHIPPED_BACKUP),
    ("cache.redis-aof", "red_green::redis_persistence_and_safety_checks_name_each_planted_defect"),
    ("cache.redis-auth-required", "weak_passes_net::redis_auth_required_proves_the_urls_credentials_are_checked"),
    ("cache.redis-maxmemory", SHIPPED_DATABASE),
    ("cache.redis-persistence", "red_green::redis_persistence_and_safety_checks_name_each_planted_defect"),
    ("cache.redis-protected-mode", "red_green::redis_persistence_and_safety_checks_name_each_planted_defect"),
    ("cache.redis-rdb", "red_green::redis_persistence_and_safety_checks_name_each_planted_defect"),
    ("cache.redis-reachable", "red_green::redis_reachable_and_version"),
    ("cache.redis-replica-link", "red_green::redis_replication_checks_see_a_lost_replica_and_a_broken_link"),
    ("cache.redis-replication", "red_green::redis_replication_checks_see_a_lost_replica_and_a_broken_link"),
    ("cache.redis-version", "red_green::redis_reachable_and_version"),
    ("database.app-not-superuser", "red_green::postgres_roles_and_server_checks"),
    (
        "database.app-role-minimal",
        "weak_passes_net::app_role_minimal_fails_for_a_superuser_and_each_cluster_wide_power",
    ),
    ("database.connection-headroom", "red_green::postgres_roles_and_server_checks"),
    ("database.extensions", SHIPPED_DATABASE),
    ("database.hba-no-trust", SHIPPED_DATABASE),
    ("database.idle-transaction-timeout", SHIPPED_DATABASE),
    ("database.listen-local", "red_green::postgres_roles_and_server_checks"),
    ("database.memory-tuned", SHIPPED_DATABASE),
    ("database.migrations-applied", SHIPPED_DATABASE),
    ("database.no-slow-queries", "postgres::the_slow_query_check_reads_pg_stat_statements"),
    ("database.password-encryption", SHIPPED_DATABASE),
    ("database.pg-stat-statements-loaded", SHIPPED_DATABASE),
    ("database.postgres-version", "red_green::postgres_roles_and_server_checks"),
    ("database.replication", "red_green::replication_and_wal_archiving_pass_on_the_primary_and_fail_on_the_standby"),
    ("database.slow-query-log", SHIPPED_DATABASE),
    ("database.superuser-count", "red_green::postgres_roles_and_server_checks"),
    ("database.test-data-removed", SHIPPED_DATABASE),
    ("database.tls", SHIPPED_DATABASE),
    ("database.unindexed-scans", "red_green::unindexed_scans_names_the_table_read_only_by_sequential_scans"),
    ("database.vacuum-analyze", "red_green::vacuum_analyze_names_a_table_without_statistics"),
    ("database.wal-archiving", "red_green::replication_and_wal_archiving_pass_on_the_primary_and_fail_on_the_standby"),
    ("infrastructure.binary-libraries", "red_green::binary_libraries_fails_when_a_library_the_binary_needs_is_gone"),
    (
        "infrastructure.dns-resolves",
        "dns_records::shipped_dns_check_is_red_on_a_wrong_or_stale_address_and_green_on_the_right_ones",
    ),
    ("infrastructure.health-endpoint", SHIPPED_INFRA),
    ("infrastructure.host-resources", SHIPPED_INFRA),
    ("infrastructure.os-up-to-date", SHIPPED_INFRA),
    ("infrastructure.response-time", SHIPPED_INFRA),
    ("infrastructure.static-cache-headers", "red_green::static_cache_headers_need_a_max_age_that_caches"),
    ("infrastructure.timezone", SHIPPED_INFRA),
    ("infrastructure.unit-running", "red_green::unit_running_needs_the_unit_active_and_enabled"),
    ("operations.alert-rules", SHIPPED_GO_LIVE),
    ("operations.command-succeeds", SHIPPED_GO_LIVE),
    ("operations.config-setting", SHIPPED_INFRA),
    ("operations.config-setting", "config_facts::the_config_setting_check_reads_a_structured_config_file"),
    ("operations.env-file-complete", SHIPPED_INFRA),
    ("operations.log-written", "weak_passes_host::log_written_needs_a_recent_non_empty_log"),
    ("operations.metrics-endpoint", SHIPPED_GO_LIVE),
    ("operations.no-recent-errors", "weak_passes_host::no_recent_errors_needs_journal_entries_before_it_counts"),
    ("operations.release-binary", "shipped_checklists::release_binary_check_tells_stripped_from_unstripped"),
    ("operations.service-unit", "red_green::service_unit_names_each_production_setting_that_is_wrong"),
    ("security.auth-required", SHIPPED_SECURITY),
    ("security.cookies-secure", "weak_passes_net::cookies_secure_judges_every_cookie_and_needs_samesite"),
    ("security.cors", SHIPPED_SECURITY),
    ("security.fail2ban-jails", "weak_passes_host::fail2ban_must_run_with_jails_enabled"),
    ("security.firewall-active", "weak_passes_host::firewall_active_needs_a_default_deny_inbound_policy"),
    ("security.https-redirect", SHIPPED_SECURITY),
    ("security.no-committed-secrets", SHIPPED_SECURITY),
    ("security.no-debug-endpoints", SHIPPED_SECURITY),
    ("security.no-version-banner", SHIPPED_SECURITY),
    ("security.open-ports", SHIPPED_SECURITY),
    ("security.secret-file-permissions", SHIPPED_SECURITY),
    ("security.secret-file-permissions", "red_green::secret_file_permissions_needs_the_owner_alone_to_read_it"),
    ("security.secret-length", SHIPPED_SECURITY),
    ("security.secret-length", "red_green::secret_length_measures_the_password_of_a_url_and_a_plain_secret"),
    ("security.security-headers", SHIPPED_SECURITY),
    ("security.sshd", SHIPPED_SECURITY),
    ("security.sudo-limited", SHIPPED_SECURITY),
    ("security.tls-certificate", SHIPPED_SECURITY),
    (
        "security.tls-legacy-refused",
        "legacy_tls::the_shipped_check_is_red_on_a_legacy_server_and_green_on_a_modern_one",
    ),
    // What used to be manual (issue 9, §3): observed.rs.
    ("backup.encrypted", "observed::backups_must_be_encrypted"),
    ("database.connection-logging", "observed::connection_logging_must_cover_connections_and_schema_changes"),
    ("infrastructure.cluster-nodes", "observed::cluster_nodes_asks_the_release_how_many_peers_it_sees"),
    ("infrastructure.container-image", "observed::container_image_needs_stages_pinned_bases_and_a_non_root_user"),
    (
        "infrastructure.kubernetes-workloads",
        "observed::kubernetes_workloads_need_probes_limits_a_non_root_user_and_pinned_images",
    ),
    ("operations.document-present", "observed::a_document_must_exist_and_have_the_sections_the_line_names"),
    ("operations.job-queue-healthy", "observed::the_job_queue_check_names_each_queue_that_is_stuck_or_discarding"),
    ("operations.licences-allowed", "observed::licences_allowed_fails_with_the_tools_finding"),
    ("operations.prometheus-query", "observed::a_prometheus_query_must_be_within_bounds"),
    ("security.error-pages-quiet", "observed::error_pages_must_be_plain_404s"),
    ("security.error-pages-quiet", SHIPPED_SECURITY),
    ("security.forged-token-rejected", "observed::a_forged_unsigned_token_must_be_refused"),
    ("security.forged-token-rejected", SHIPPED_SECURITY),
    ("security.rate-limited", "observed::rate_limited_needs_a_429_within_the_burst"),
    ("security.ssh-source-restricted", "observed::ssh_source_restricted_fails_for_a_rule_open_to_anywhere"),
];

// ── the guard ─────────────────────────────────────────────────────────────────────────────

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every check of checks/AREA/NAME.toml: its `[check] id` and `probe`.
fn catalogue_probes() -> BTreeMap<String, String> {
    let mut checks = BTreeMap::new();
    for area in std::fs::read_dir(root().join("checks")).unwrap() {
        let area = area.unwrap().path();
        if !area.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&area).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let table: toml::Table = toml::from_str(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let check = table["check"].as_table().unwrap_or_else(|| panic!("{}: no [check]", file.display()));
            let id = check["id"].as_str().unwrap().to_string();
            let probe = check["probe"].as_str().unwrap().to_string();
            checks.insert(id, probe);
        }
    }
    checks
}

/// For each check, the ids of the shipped checklists' items that `use` it under another id.
fn shipped_item_ids() -> BTreeMap<String, BTreeSet<String>> {
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("checklists")).unwrap() {
        let path = entry.unwrap().path();
        let table: toml::Table = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for item in table.get("item").and_then(|i| i.as_array()).cloned().unwrap_or_default() {
            if let (Some(used), Some(id)) = (item.get("use").and_then(|u| u.as_str()), item.get("id")) {
                ids.entry(used.to_string()).or_default().insert(id.as_str().unwrap().to_string());
            }
        }
    }
    ids
}

/// The tests of this binary, as `--list --format terse` names them (`module::name`).
fn listed_tests() -> BTreeSet<String> {
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new(me).args(["--list", "--format", "terse"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

/// The top-level items of a module's source (functions, consts, statics), by name: each
/// from its first line (`fn NAME(`, `const NAME:`…, at the start of a line) to the start
/// of the next top-level line that begins an item, a comment or an attribute.
fn module_items(source: &str) -> BTreeMap<String, String> {
    const STARTS: &[&str] = &[
        "fn ",
        "async fn ",
        "pub fn ",
        "pub(crate) fn ",
        "pub(crate) async fn ",
        "const ",
        "static ",
        "pub(crate) const ",
    ];
    // Not `use `: a checklist in a raw string has lines `use = "…"`.
    const OTHER: &[&str] = &["//", "#[", "struct ", "impl ", "enum ", "pub struct ", "pub(crate) struct "];
    let lines: Vec<&str> = source.split_inclusive('\n').collect();
    let mut items = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = STARTS.iter().find_map(|s| line.strip_prefix(s)) else { continue };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let end = (i + 1..lines.len())
            .find(|&j| STARTS.iter().chain(OTHER).any(|s| lines[j].starts_with(s)))
            .unwrap_or(lines.len());
        items.insert(name, lines[i..end].concat());
    }
    items
}

/// Whether `text` uses the identifier `name` (not as part of a longer one).
fn uses_name(text: &str, name: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| {
        !text[..at].chars().next_back().is_some_and(ident) && !text[at + name.len()..].chars().next().is_some_and(ident)
    })
}

/// The source of test `module::name` in tests/it/MODULE.rs: its function, and every item of
/// the module it uses, directly or through another (a helper that writes the checklist, a
/// const holding it). The registry itself is never followed.
fn test_source(path: &str) -> Result<String, String> {
    let (module, name) = path.rsplit_once("::").ok_or(format!("{path} is not module::name"))?;
    let file = root().join("tests/it").join(format!("{}.rs", module.replace("::", "/")));
    let source = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let items = module_items(&source);
    if !items.contains_key(name) {
        return Err(format!("no fn {name} in {}", file.display()));
    }
    let mut seen: BTreeSet<&str> = BTreeSet::from([name]);
    let mut todo = vec![name];
    let mut text = String::new();
    while let Some(next) = todo.pop() {
        let body = &items[next];
        text += body;
        for other in items.keys() {
            if other != "PAIRS" && !seen.contains(other.as_str()) && uses_name(body, other) {
                seen.insert(other);
                todo.push(other);
            }
        }
    }
    Ok(text)
}

/// Whether `source` names `id` as a string: `"id"` in Rust, `\"id\"` inside a string.
fn names_id(source: &str, id: &str) -> bool {
    source.contains(&format!("\"{id}\"")) || source.contains(&format!("\\\"{id}\\\""))
}

/// The guard's own tests: a pair registered to one of them would name every check (PAIRS).
const GUARD_TESTS: &[&str] = &[
    "red_green::every_automated_check_has_a_red_green_pair",
    "red_green::the_guard_follows_a_tests_helpers_and_nothing_else",
];

#[test]
fn every_automated_check_has_a_red_green_pair() {
    let catalogue = catalogue_probes();
    let aliases = shipped_item_ids();
    let tests = listed_tests();
    assert!(tests.contains("red_green::every_automated_check_has_a_red_green_pair"), "the test list is read");
    let mut problems = Vec::new();
    for (check, test) in PAIRS {
        match catalogue.get(*check).map(String::as_str) {
            None => problems.push(format!("{check}: registered, but no such check in checks/")),
            Some("manual") => problems.push(format!("{check}: registered, but it is a manual check")),
            Some(_) => {}
        }
        if GUARD_TESTS.contains(test) {
            problems.push(format!("{check}: {test} is the guard, not a pair"));
            continue;
        }
        if !tests.contains(*test) {
            problems.push(format!("{check}: test {test} is not in this test binary"));
            continue;
        }
        match test_source(test) {
            Err(e) => problems.push(format!("{check}: {e}")),
            Ok(body) => {
                let mut names: Vec<&str> = vec![check];
                names.extend(aliases.get(*check).into_iter().flatten().map(String::as_str));
                if !names.iter().any(|id| names_id(&body, id)) {
                    problems.push(format!("{check}: test {test} names none of {names:?}"));
                }
            }
        }
    }
    let registered: BTreeSet<&str> = PAIRS.iter().map(|(check, _)| *check).collect();
    for (check, probe) in &catalogue {
        if probe != "manual" && !registered.contains(check.as_str()) {
            problems.push(format!("{check} ({probe}): no red/green pair registered in tests/it/red_green.rs PAIRS"));
        }
    }
    assert!(problems.is_empty(), "red/green pairs:\n{}", problems.join("\n"));
}

/// The guard's own parts catch what they are there to catch.
#[test]
fn the_guard_follows_a_tests_helpers_and_nothing_else() {
    assert!(test_source("red_green::no_such_test_anywhere").is_err());
    let gzip = test_source("red_green::gzip_readable_fails_on_a_truncated_or_plain_backup").unwrap();
    assert!(names_id(&gzip, "backup.gzip-readable"));
    // The helpers it calls are followed (use_item, backup_file)…
    assert!(gzip.contains("fn backup_file(") && gzip.contains("fn use_item("), "{gzip}");
    // … the next test and the registry are not.
    assert!(!names_id(&gzip, "infrastructure.static-cache-headers"), "{gzip}");
    // A check named only in a const the test uses (weak_passes_host.rs's checklist) is seen.
    let journal = test_source("weak_passes_host::no_recent_errors_needs_journal_entries_before_it_counts").unwrap();
    assert!(names_id(&journal, "operations.no-recent-errors"), "{journal}");
    assert!(uses_name("run(&w)", "run") && !uses_name("run_json(&w)", "run") && !uses_name("rerun()", "run"));
    assert!(names_id("use = \\\"a.b\\\"", "a.b") && names_id("[\"a.b\"]", "a.b") && !names_id("a.bc", "a.b"));
}

// ── helpers ───────────────────────────────────────────────────────────────────────────────

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// Asserts the item's outcome and that its reason contains each of `parts`.
fn assert_reason(report: &Value, id: &str, outcome: &str, parts: &[&str]) {
    assert_outcome(report, id, outcome);
    let why = reason(report, id);
    for part in parts {
        assert!(why.contains(part), "{id}: reason {why:?} lacks {part:?}");
    }
}

/// `[[item]] id = ID use = CHECK vars = { … }`.
fn use_item(id: &str, check: &str, vars: &[(&str, &str)]) -> String {
    let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k} = {}", toml::Value::from(*v))).collect();
    format!("[[item]]\nid = \"{id}\"\nuse = \"{check}\"\nvars = {{ {} }}\n\n", vars.join(", "))
}

/// Writes the items as golive.toml and runs it with `env`; the JSON report.
async fn run(w: &Workdir, items: &[String], env: &[(&str, &str)]) -> Value {
    let toml = format!("[checklist]\nname = \"red-green\"\n[defaults]\ntimeout = \"20s\"\n\n{}", items.concat());
    w.write("golive.toml", &toml);
    let _ = std::fs::remove_file(w.path("report.json"));
    let out = w.run_env(&["run", "golive.toml", "--output", "json=report.json", "--quiet"], env).await;
    let text = std::fs::read_to_string(w.path("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}); stderr: {}", stderr(&out)));
    serde_json::from_str(&text).expect("report is JSON")
}

// ── backup ────────────────────────────────────────────────────────────────────────────────

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes a backup file modified `age` ago.
fn backup_file(path: &Path, bytes: &[u8], age: Duration) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(std::time::SystemTime::now() - age).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_readable_fails_on_a_truncated_or_plain_backup() {
    let w = Workdir::new();
    let sql: String = (0..5_000).map(|i| format!("INSERT INTO orders VALUES ({i}, 'customer {i}');\n")).collect();
    let good = gzip(sql.as_bytes());
    let hour = Duration::from_secs(3600);
    // Good: every dump complete. Truncated: an older complete one, the newest cut in half
    // (a disk that filled up during the nightly dump). Plain: named .gz, never compressed.
    backup_file(&w.path("good/app-1.sql.gz"), &good, 2 * hour);
    backup_file(&w.path("good/app-2.sql.gz"), &good, hour);
    backup_file(&w.path("truncated/app-1.sql.gz"), &good, 2 * hour);
    backup_file(&w.path("truncated/app-2.sql.gz"), &good[..good.len() / 2], hour);
    backup_file(&w.path("plain/app-1.sql.gz"), sql.as_bytes(), hour);
    std::fs::create_dir_all(w.path("none")).unwrap();
    let glob = |dir: &str| w.path(dir).join("app-*.sql.gz").display().to_string();
    let items: Vec<String> = ["good", "truncated", "plain", "none"]
        .iter()
        .map(|dir| use_item(dir, "backup.gzip-readable", &[("backup_glob", &glob(dir))]))
        .collect();
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "good", "pass");
    assert_reason(&report, "truncated", "fail", &["gzip_ok: expected == true, observed false", "truncated"]);
    assert!(fact(&report, "truncated", "newest").as_str().unwrap().ends_with("app-2.sql.gz"), "the newest is read");
    assert_reason(&report, "plain", "fail", &["gzip_ok: expected == true, observed false", "header"]);
    // No backup at all proves nothing: not a pass.
    assert_reason(&report, "none", "fail", &["gzip_ok"]);
}

// ── the release binary ────────────────────────────────────────────────────────────────

/// Runs `cc ARGS` in `dir`, panicking with its message when it fails.
fn cc(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("cc").args(args).current_dir(dir).output().expect("cc runs");
    assert!(out.status.success(), "cc {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_libraries_fails_when_a_library_the_binary_needs_is_gone() {
    let w = Workdir::new();
    // A real ELF program linked against a shared library of its own, found through its
    // RUNPATH in lib/, as a release built against libpq or libssl finds them.
    w.write("src/greeting.c", "const char *greeting(void) { return \"hello\"; }\n");
    w.write(
        "src/app.c",
        "#include <stdio.h>\nconst char *greeting(void);\nint main(void) { puts(greeting()); return 0; }\n",
    );
    std::fs::create_dir_all(w.path("lib")).unwrap();
    let lib = w.path("lib");
    cc(w.dir.path(), &["-shared", "-fPIC", "-o", "lib/libgolivegreeting.so", "src/greeting.c"]);
    cc(
        w.dir.path(),
        &["-o", "app", "src/app.c", "-Llib", "-lgolivegreeting", &format!("-Wl,-rpath,{}", lib.display())],
    );
    let app = w.path("app");
    let items =
        vec![use_item("libraries", "infrastructure.binary-libraries", &[("app_binary", app.to_str().unwrap())])];
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "libraries", "pass");

    // The library is not installed on the server (deleted here): the program cannot start.
    std::fs::remove_file(lib.join("libgolivegreeting.so")).unwrap();
    let report = run(&w, &items, &[]).await;
    assert_reason(
        &report,
        "libraries",
        "fail",
        &["stdout: expected not (contains \"not found\")", "libgolivegreeting.so => not found"],
    );
}

// ── secrets on disk ───────────────────────────────────────────────────────────────────

/// 40 characters.
const LONG_SECRET: &str = "Zq8vN3kR7tW2yB6mP4xL9cH5jD1fG0sA-e8uT7iO";

#[tokio::test(flavor = "multi_thread")]
async fn secret_length_measures_the_password_of_a_url_and_a_plain_secret() {
    let w = Workdir::new();
    let env = w.write(
        "app.env",
        &format!(
            "DATABASE_URL=postgres://app:{LONG_SECRET}@db.internal:5432/app\n\
             export SECRET_KEY_BASE=\"{LONG_SECRET}\"\n\
             SHORT_URL=postgres://app:hunter2@db.internal:5432/app_production_database\n\
             NO_PASSWORD_URL=postgres://app@db.internal:5432/app_production_database\n\
             EMPTY_PASSWORD_URL=postgres://app:@db.internal:5432/app_production_database\n\
             SHORT_KEY=changeme\n"
        ),
    );
    let env = env.to_str().unwrap();
    let items: Vec<String> = [
        "DATABASE_URL",
        "SECRET_KEY_BASE",
        "SHORT_URL",
        "NO_PASSWORD_URL",
        "EMPTY_PASSWORD_URL",
        "SHORT_KEY",
        "NOT_SET",
    ]
    .iter()
    .map(|name| use_item(name, "security.secret-length", &[("env_file", env), ("secret_setting", name)]))
    .collect();
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "DATABASE_URL", "pass");
    assert_eq!(fact(&report, "DATABASE_URL", "stdout_json./length"), 40, "the password is measured, not the URL");
    assert_outcome(&report, "SECRET_KEY_BASE", "pass");
    // The URLs are long; their passwords are short, empty or missing.
    assert_reason(&report, "SHORT_URL", "fail", &["stdout_json./length: expected >= 32, observed 7"]);
    assert_reason(&report, "NO_PASSWORD_URL", "fail", &["stdout_json./length: expected >= 32, observed 0"]);
    assert_reason(&report, "EMPTY_PASSWORD_URL", "fail", &["stdout_json./length: expected >= 32, observed 0"]);
    assert_reason(&report, "SHORT_KEY", "fail", &["stdout_json./length: expected >= 32, observed 8"]);
    assert_reason(&report, "NOT_SET", "fail", &["stdout_json./length: expected >= 32, observed 0"]);
    let text = w.read("report.json");
    assert!(!text.contains(LONG_SECRET) && !text.contains("hunter2"), "a secret reached the report");
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_file_permissions_needs_the_owner_alone_to_read_it() {
    use std::os::unix::fs::PermissionsExt;
    let w = Workdir::new();
    let modes = [("owner-rw", 0o600), ("owner-r", 0o400), ("world", 0o644), ("group", 0o640), ("group-write", 0o620)];
    let mut items = Vec::new();
    for (name, mode) in modes {
        let path = w.write(&format!("{name}.env"), &format!("SECRET_KEY_BASE={LONG_SECRET}\n"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        items.push(use_item(name, "security.secret-file-permissions", &[("path", path.to_str().unwrap())]));
    }
    let gone = w.path("gone.env");
    items.push(use_item("missing", "security.secret-file-permissions", &[("path", gone.to_str().unwrap())]));
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "owner-rw", "pass");
    assert_outcome(&report, "owner-r", "pass");
    assert_reason(&report, "world", "fail", &["mode: expected one of [\"0600\", \"0400\"], observed 0644"]);
    assert_reason(&report, "group", "fail", &["observed 0640"]);
    assert_reason(&report, "group-write", "fail", &["observed 0620"]);
    // No file proves nothing.
    assert_reason(&report, "missing", "fail", &["exists: expected == true, observed false"]);
    assert!(!w.read("report.json").contains(LONG_SECRET), "the file's secret reached the report");
}

// ── HTTP ──────────────────────────────────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread")]
async fn static_cache_headers_need_a_max_age_that_caches() {
    let server = HttpServer::start(vec![
        Route::new("/assets/app-3f2a9c.js")
            .body("console.log(1)")
            .header("cache-control", "public, max-age=31536000, immutable"),
        Route::new("/assets/uncached-3f2a9c.js").body("console.log(1)"),
        Route::new("/assets/expired-3f2a9c.js").body("console.log(1)").header("cache-control", "public, max-age=0"),
        Route::new("/assets/no-store-3f2a9c.js").body("console.log(1)").header("cache-control", "no-store"),
        // no-store wins over max-age: nothing is cached.
        Route::new("/assets/both-3f2a9c.js")
            .body("console.log(1)")
            .header("cache-control", "max-age=31536000, no-store"),
    ])
    .await;
    let base_url = server.url("");
    let items: Vec<String> = [
        ("cached", "/assets/app-3f2a9c.js"),
        ("uncached", "/assets/uncached-3f2a9c.js"),
        ("max-age-zero", "/assets/expired-3f2a9c.js"),
        ("no-store", "/assets/no-store-3f2a9c.js"),
        ("max-age-and-no-store", "/assets/both-3f2a9c.js"),
        ("missing-asset", "/assets/gone-3f2a9c.js"),
    ]
    .iter()
    .map(|(id, path)| {
        use_item(id, "infrastructure.static-cache-headers", &[("base_url", &base_url), ("asset_path", path)])
    })
    .collect();
    let w = Workdir::new();
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "cached", "pass");
    assert_reason(&report, "uncached", "fail", &["headers.cache-control"]);
    assert_reason(&report, "max-age-zero", "fail", &["headers.cache-control: expected matches", "max-age=0"]);
    assert_reason(&report, "no-store", "fail", &["headers.cache-control: expected matches", "no-store"]);
    assert_reason(
        &report,
        "max-age-and-no-store",
        "fail",
        &["headers.cache-control: expected", "observed max-age=31536000, no-store"],
    );
    assert_reason(&report, "missing-asset", "fail", &["status: expected == 200, observed 404"]);
}

// ── systemd, through a stand-in systemctl ─────────────────────────────────────────────────

/// Answers `systemctl show … -- UNIT` as systemd does, for the units below; every call is
/// appended to calls.log beside it. Each unit plants one defect on a unit set up right.
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls.log"
for unit; do :; done
load=loaded active=active sub=running file=enabled restart=on-failure user=app out=journal
frag="/etc/systemd/system/$unit"
case "$unit" in
  chrony.service|app.service) ;;
  stopped.service) active=inactive sub=dead ;;
  failed.service) active=failed sub=failed ;;
  manual-start.service) file=disabled ;;
  runtime-enabled.service) file=enabled-runtime ;;
  absent.service) load=not-found active=inactive sub=dead file= frag= ;;
  no-restart.service) restart=no ;;
  as-root.service) user= ;;
  file-log.service) out=append:/var/log/app.log ;;
  transient.service) frag="/run/systemd/transient/$unit" ;;
  *) echo "Failed to connect to bus: No such file or directory" >&2; exit 1 ;;
esac
printf 'Id=%s\nLoadState=%s\nActiveState=%s\nSubState=%s\nUnitFileState=%s\nRestart=%s\nUser=%s\nDynamicUser=no\nNRestarts=0\nMainPID=4242\nStandardOutput=%s\nFragmentPath=%s\n' \
  "$unit" "$load" "$active" "$sub" "$file" "$restart" "$user" "$out" "$frag"
"#;

/// The stand-in systemctl in `w`/bin; the PATH that finds it first.
fn fake_systemctl(w: &Workdir) -> String {
    w.write_executable("bin/systemctl", FAKE_SYSTEMCTL);
    format!("{}:{}", w.path("bin").display(), std::env::var("PATH").unwrap_or_default())
}

/// Only `systemctl show` was asked, once per item: nothing that changes a unit.
fn assert_only_show(w: &Workdir, items: usize) {
    let calls = w.read("bin/calls.log");
    assert_eq!(calls.lines().count(), items, "{calls}");
    assert!(calls.lines().all(|c| c.starts_with("show --no-pager --property=")), "{calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unit_running_needs_the_unit_active_and_enabled() {
    let w = Workdir::new();
    let path = fake_systemctl(&w);
    let units = [
        "chrony.service",
        "stopped.service",
        "failed.service",
        "manual-start.service",
        "runtime-enabled.service",
        "absent.service",
    ];
    let items: Vec<String> =
        units.iter().map(|unit| use_item(unit, "infrastructure.unit-running", &[("unit", unit)])).collect();
    let report = run(&w, &items, &[("PATH", &path)]).await;
    assert_outcome(&report, "chrony.service", "pass");
    assert_reason(&report, "stopped.service", "fail", &["active: expected == true, observed false"]);
    assert_reason(&report, "failed.service", "fail", &["active: expected == true, observed false"]);
    assert_eq!(fact(&report, "failed.service", "active_state"), "failed");
    // Running now, but started by hand: gone after the next reboot.
    assert_reason(&report, "manual-start.service", "fail", &["enabled: expected == true, observed false"]);
    // `systemctl enable --runtime`: enabled until the next reboot only.
    assert_reason(
        &report,
        "runtime-enabled.service",
        "fail",
        &["enabled: expected == true, observed false", "enabled-runtime"],
    );
    assert_reason(&report, "absent.service", "fail", &["active: expected == true, observed false"]);
    assert_eq!(fact(&report, "absent.service", "load_state"), "not-found");
    assert_only_show(&w, units.len());

    // Without systemctl (this container), nothing is observed: an error naming why, the
    // outcome the shipped items infrastructure.time-sync and infrastructure.reverse-proxy
    // have here (shipped_checklists.rs).
    let empty = w.path("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let report = run(&w, &items[..1], &[("PATH", empty.to_str().unwrap())]).await;
    assert_reason(&report, "chrony.service", "error", &["systemctl is not installed"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn service_unit_names_each_production_setting_that_is_wrong() {
    let w = Workdir::new();
    let path = fake_systemctl(&w);
    let units = [
        "app.service",
        "stopped.service",
        "manual-start.service",
        "runtime-enabled.service",
        "no-restart.service",
        "as-root.service",
        "file-log.service",
        "transient.service",
    ];
    let items: Vec<String> =
        units.iter().map(|unit| use_item(unit, "operations.service-unit", &[("service_unit", unit)])).collect();
    let report = run(&w, &items, &[("PATH", &path)]).await;
    assert_outcome(&report, "app.service", "pass");
    assert_reason(&report, "stopped.service", "fail", &["active: expected == true, observed false"]);
    assert_reason(&report, "manual-start.service", "fail", &["enabled: expected == true, observed false"]);
    assert_reason(
        &report,
        "runtime-enabled.service",
        "fail",
        &["enabled: expected == true, observed false", "enabled-runtime"],
    );
    assert_reason(&report, "no-restart.service", "fail", &["restart: expected one of", "observed no"]);
    // No User= means root.
    assert_reason(&report, "as-root.service", "fail", &["runs_as_root: expected == false, observed true"]);
    assert_reason(
        &report,
        "file-log.service",
        "fail",
        &["property.StandardOutput: expected one of", "append:/var/log/app.log"],
    );
    // Started with systemd-run: no unit file, nothing brings it back after a reboot.
    assert_reason(
        &report,
        "transient.service",
        "fail",
        &["property.FragmentPath: expected matches", "/run/systemd/transient/"],
    );
    assert_only_show(&w, units.len());
}

// ── Redis ─────────────────────────────────────────────────────────────────────────────────

const REDIS_PASSWORD: &str = "Red-Green-r3dis-8c1f";

/// Waits (bounded) until `server`'s INFO `section` has `field` = `want`.
fn wait_for_info(server: &RedisServer, section: &str, field: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.info_field(section, field).as_deref() != Some(want) {
        assert!(Instant::now() < deadline, "{section}.{field} never became {want}; log:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn redis_url(server: &RedisServer, password: Option<&str>) -> String {
    match password {
        Some(p) => format!("redis://:{p}@127.0.0.1:{}/0", server.port()),
        None => format!("redis://127.0.0.1:{}/0", server.port()),
    }
}

/// A primary set up right: a password, protected mode, AOF synced every second, snapshots
/// scheduled and one that succeeded.
fn redis_primary() -> RedisServer {
    let server = RedisConfig::new()
        .password(REDIS_PASSWORD)
        .line("protected-mode yes")
        .line("appendonly yes")
        .line("appendfsync everysec")
        .line("save \"900 1\"")
        .start();
    server.cmd(&["BGSAVE"]);
    wait_for_info(&server, "persistence", "rdb_bgsave_in_progress", "0");
    server
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_persistence_and_safety_checks_name_each_planted_defect() {
    let good = redis_primary();
    // Protected mode off, no AOF, no snapshot schedule, and the one snapshot asked for failed
    // because its directory vanished.
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    std::fs::create_dir(&data_dir).unwrap();
    let bad = RedisConfig::new()
        .password(REDIS_PASSWORD)
        .line("protected-mode no")
        .line(&format!("dir {}", data_dir.display()))
        .start();
    std::fs::remove_dir_all(&data_dir).unwrap();
    bad.cmd(&["BGSAVE"]);
    wait_for_info(&bad, "persistence", "rdb_last_bgsave_status", "err");
    // AOF on, but synced only when the OS pleases: seconds of writes lost in a crash.
    let lazy = RedisConfig::new().password(REDIS_PASSWORD).line("appendonly yes").line("appendfsync no").start();

    let checks = ["cache.redis-aof", "cache.redis-persistence", "cache.redis-protected-mode", "cache.redis-rdb"];
    let mut items = Vec::new();
    for check in checks {
        let name = check.trim_start_matches("cache.redis-");
        for (side, server) in [("good", &good), ("bad", &bad)] {
            items.push(use_item(
                &format!("{name}-{side}"),
                check,
                &[("redis_url", &redis_url(server, Some(REDIS_PASSWORD)))],
            ));
        }
    }
    items.push(use_item("aof-lazy", "cache.redis-aof", &[("redis_url", &redis_url(&lazy, Some(REDIS_PASSWORD)))]));
    let w = Workdir::new();
    let report = run(&w, &items, &[]).await;
    for check in checks {
        assert_outcome(&report, &format!("{}-good", check.trim_start_matches("cache.redis-")), "pass");
    }
    assert_reason(&report, "aof-bad", "fail", &["aof_enabled: expected == true, observed false"]);
    assert_reason(&report, "aof-lazy", "fail", &["config.appendfsync: expected one of", "observed no"]);
    assert_reason(&report, "persistence-bad", "fail", &["rdb_last_bgsave_ok: expected == true, observed false"]);
    assert_reason(&report, "protected-mode-bad", "fail", &["protected_mode: expected == true, observed false"]);
    assert_reason(&report, "rdb-bad", "fail", &["config.save: expected matches"]);
    let text = w.read("report.json");
    assert!(!text.contains(REDIS_PASSWORD), "the password reached the report");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_replication_checks_see_a_lost_replica_and_a_broken_link() {
    let primary = redis_primary();
    let replica = RedisConfig::new()
        .password(REDIS_PASSWORD)
        .line(&format!("replicaof 127.0.0.1 {}", primary.port()))
        .line(&format!("masterauth \"{REDIS_PASSWORD}\""))
        .start();
    wait_for_info(&replica, "replication", "master_link_status", "up");
    wait_for_info(&primary, "replication", "connected_slaves", "1");
    // A primary whose replica is gone, and a replica whose primary is gone.
    let alone = RedisConfig::new().password(REDIS_PASSWORD).start();
    let orphan = RedisConfig::new()
        .password(REDIS_PASSWORD)
        .line(&format!("replicaof 127.0.0.1 {}", closed_port()))
        .line(&format!("masterauth \"{REDIS_PASSWORD}\""))
        .start();
    let url = |server: &RedisServer| redis_url(server, Some(REDIS_PASSWORD));
    let items = vec![
        use_item("replication-good", "cache.redis-replication", &[("redis_url", &url(&primary))]),
        use_item("replication-alone", "cache.redis-replication", &[("redis_url", &url(&alone))]),
        // The replica itself is no primary.
        use_item("replication-on-replica", "cache.redis-replication", &[("redis_url", &url(&replica))]),
        use_item("link-good", "cache.redis-replica-link", &[("redis_replica_url", &url(&replica))]),
        use_item("link-down", "cache.redis-replica-link", &[("redis_replica_url", &url(&orphan))]),
        use_item("link-on-primary", "cache.redis-replica-link", &[("redis_replica_url", &url(&primary))]),
    ];
    let w = Workdir::new();
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "replication-good", "pass");
    assert_reason(&report, "replication-alone", "fail", &["connected_replicas: expected >= 1, observed 0"]);
    assert_reason(&report, "replication-on-replica", "fail", &["role: expected == \"master\", observed replica"]);
    assert_outcome(&report, "link-good", "pass");
    assert_reason(&report, "link-down", "fail", &["master_link_status: expected == \"up\", observed down"]);
    assert_reason(&report, "link-on-primary", "fail", &["role: expected == \"replica\", observed master"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_reachable_and_version() {
    let server = RedisConfig::new().password(REDIS_PASSWORD).start();
    let right = redis_url(&server, Some(REDIS_PASSWORD));
    let items = vec![
        use_item("reachable", "cache.redis-reachable", &[("redis_url", &right)]),
        // A wrong password in the service's URL: nothing can be read, which the redis probe
        // documents as an error (never a pass), naming the refusal.
        use_item(
            "wrong-password",
            "cache.redis-reachable",
            &[("redis_url", &redis_url(&server, Some("not-the-password")))],
        ),
        use_item(
            "wrong-port",
            "cache.redis-reachable",
            &[("redis_url", &format!("redis://127.0.0.1:{}/0", closed_port()))],
        ),
        use_item("version", "cache.redis-version", &[("redis_url", &right)]),
        // No Redis older than the minimum is installed here: the real server (7.x) is judged
        // against a minimum above it, which is the same comparison.
        use_item("version-too-old", "cache.redis-version", &[("redis_url", &right), ("redis_min_version", "99")]),
    ];
    let w = Workdir::new();
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "reachable", "pass");
    assert_reason(&report, "wrong-password", "error", &["WRONGPASS"]);
    assert_reason(&report, "wrong-port", "error", &["refused"]);
    assert_outcome(&report, "version", "pass");
    let version = fact(&report, "version", "version").as_str().unwrap().to_string();
    assert_reason(&report, "version-too-old", "fail", &[&format!("version: expected >= 99, observed {version}")]);
}

// ── PostgreSQL: the shared fixture of shipped_checklists.rs (a primary and its standby) ──

fn pg() -> &'static support::PgFixture {
    crate::shipped_checklists::pg()
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_roles_and_server_checks() {
    let pg = pg();
    let app = pg.primary.app_url("app");
    let superuser = pg.primary.super_url("app");
    // weak_passes_net.rs's server has a second superuser that can log in (`bare_super`).
    let two_superusers = crate::weak_passes_net::pg().super_url("postgres");
    let items = vec![
        use_item("not-superuser", "database.app-not-superuser", &[("database_url", &app)]),
        use_item("superuser", "database.app-not-superuser", &[("database_url", &superuser)]),
        use_item("one-superuser", "database.superuser-count", &[("database_url", &app)]),
        use_item("two-superusers", "database.superuser-count", &[("database_url", &two_superusers)]),
        use_item("version", "database.postgres-version", &[("database_url", &app)]),
        // No PostgreSQL older than the minimum is installed: the real server is judged
        // against a minimum above it.
        use_item(
            "version-too-old",
            "database.postgres-version",
            &[("database_url", &app), ("postgres_min_version", "99")],
        ),
        use_item("listen-local", "database.listen-local", &[("database_url", &app)]),
        // The test servers may only listen on loopback: a stricter pattern (the Unix-socket
        // name only) plays the part of a server listening wider than allowed.
        use_item(
            "listen-wider",
            "database.listen-local",
            &[("database_url", &app), ("db_listen_pattern", "^localhost$")],
        ),
        use_item("headroom", "database.connection-headroom", &[("database_url", &app)]),
        // Filling the shared server's slots would break the tests running beside this one:
        // a pool that needs every slot free plays the part of a server nearly full.
        use_item(
            "headroom-short",
            "database.connection-headroom",
            &[("database_url", &app), ("min_connection_headroom_percent", "100")],
        ),
    ];
    let w = Workdir::new();
    let report = run(&w, &items, &[]).await;
    for id in ["not-superuser", "one-superuser", "version", "listen-local", "headroom"] {
        assert_outcome(&report, id, "pass");
    }
    assert_reason(&report, "superuser", "fail", &["role_superuser: expected == false, observed true"]);
    assert_reason(&report, "two-superusers", "fail", &["superuser_count: expected <= 1, observed 2"]);
    let version = fact(&report, "version", "server_version").as_str().unwrap().to_string();
    assert_reason(
        &report,
        "version-too-old",
        "fail",
        &[&format!("server_version: expected >= 99, observed {version}")],
    );
    let listen = fact(&report, "listen-local", "setting.listen_addresses").as_str().unwrap().to_string();
    assert_reason(
        &report,
        "listen-wider",
        "fail",
        &[&format!("setting.listen_addresses: expected matches /^localhost$/, observed {listen}")],
    );
    assert_reason(&report, "headroom-short", "fail", &["connections_headroom_percent: expected >= 100, observed"]);
    let text = w.read("report.json");
    assert!(!text.contains(support::pg::SUPERUSER_PASSWORD), "a password reached the report");
}

#[tokio::test(flavor = "multi_thread")]
async fn replication_and_wal_archiving_pass_on_the_primary_and_fail_on_the_standby() {
    let pg = pg();
    // The standby streams from the primary and has no standby of its own; its archive
    // command fails (`false`).
    let items = vec![
        use_item("replication", "database.replication", &[("database_admin_url", &pg.primary.super_url("postgres"))]),
        use_item("no-standby", "database.replication", &[("database_admin_url", &pg.standby.super_url("postgres"))]),
        use_item("archiving", "database.wal-archiving", &[("database_url", &pg.primary.app_url("app"))]),
        use_item("archiving-fails", "database.wal-archiving", &[("database_url", &pg.standby.app_url("legacy"))]),
    ];
    let w = Workdir::new();
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "replication", "pass");
    assert_eq!(fact(&report, "replication", "standby_count"), 1);
    assert_reason(&report, "no-standby", "fail", &["standby_count: expected >= 1, observed 0"]);
    assert_outcome(&report, "archiving", "pass");
    assert_reason(
        &report,
        "archiving-fails",
        "fail",
        &["last_failed_after_last_success: expected == false, observed true"],
    );
}

/// Creates database `name` on the primary with table `t` of `rows` rows, made by the
/// superuser, the table created with `with`; waits until the statistics count the rows.
fn table_of_rows(name: &str, table: &str, rows: u32, with: &str) {
    let pg = &pg().primary;
    pg.sql("postgres", &format!("create database {name}"));
    pg.sql(
        name,
        &format!("create table {table} (id int, note text) {with}; insert into {table} select i, 'row ' || i from generate_series(1, {rows}) i;"),
    );
    pg.wait_for(
        name,
        &format!("select n_live_tup from pg_stat_user_tables where relname = '{table}'"),
        &rows.to_string(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unindexed_scans_names_the_table_read_only_by_sequential_scans() {
    let pg = &pg().primary;
    let db = "red_green_scans";
    table_of_rows(db, "orders", 2000, "");
    pg.sql(db, "select count(*) from orders where id = 7");
    pg.wait_for(db, "select seq_scan > 0 from pg_stat_user_tables where relname = 'orders'", "t");
    let items = vec![use_item(
        "scans",
        "database.unindexed-scans",
        &[("database_url", &pg.app_url(db)), ("index_min_rows", "1000")],
    )];
    let w = Workdir::new();
    let report = run(&w, &items, &[]).await;
    assert_reason(&report, "scans", "fail", &["value: expected == \"\", observed orders"]);

    // The index the query needed, used: the table is no longer read only by scans.
    pg.sql(db, "create index orders_id on orders (id); set enable_seqscan = off; select * from orders where id = 7;");
    pg.wait_for(db, "select idx_scan > 0 from pg_stat_user_tables where relname = 'orders'", "t");
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "scans", "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn vacuum_analyze_names_a_table_without_statistics() {
    let pg = &pg().primary;
    let db = "red_green_stats";
    // Bulk-loaded with autovacuum off for the table: never analyzed.
    table_of_rows(db, "events", 2000, "with (autovacuum_enabled = false)");
    let items = vec![use_item(
        "stats",
        "database.vacuum-analyze",
        &[("database_url", &pg.app_url(db)), ("stats_min_rows", "1000")],
    )];
    let w = Workdir::new();
    let report = run(&w, &items, &[]).await;
    assert_reason(&report, "stats", "fail", &["value: expected == 0, observed 1"]);

    pg.sql(db, "analyze events");
    pg.wait_for(db, "select last_analyze is not null from pg_stat_user_tables where relname = 'events'", "t");
    let report = run(&w, &items, &[]).await;
    assert_outcome(&report, "stats", "pass");
}
