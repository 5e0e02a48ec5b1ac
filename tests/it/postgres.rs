//! The `postgres` probe against real PostgreSQL servers started by the harness
//! (tests/it/support/pg.rs): a well-configured primary with TLS and a misconfigured streaming
//! standby of it. Both start once for this test binary and are shared by every test.

use crate::support as common;
use crate::support;

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Workdir, assert_outcome, fact, item, stderr, stdout};
use serde_json::{Value, json};
use support::pg::{APP_PASSWORD, AUDITED_PASSWORD, AUDITED_USER, POOLED_PASSWORD, POOLED_USER, SUPERUSER_PASSWORD};
use support::{HungListener, PgFixture, closed_port};

fn pg() -> &'static PgFixture {
    static FIXTURE: OnceLock<PgFixture> = OnceLock::new();
    FIXTURE.get_or_init(PgFixture::start)
}

/// `golive run FILE -o json=report.json`: the parsed report and the process output.
fn run_json(w: &Workdir, file: &str, extra: &[&str]) -> (Value, std::process::Output) {
    let mut args = vec!["run", file, "--output", "json=report.json", "--quiet"];
    args.extend_from_slice(extra);
    let out = w.run_blocking(&args, &[]);
    let text = std::fs::read_to_string(w.path("report.json"))
        .unwrap_or_else(|e| panic!("no report ({e}); stderr: {}", stderr(&out)));
    (serde_json::from_str(&text).expect("report is JSON"), out)
}

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// A checklist of postgres items, written as TOML.
#[derive(Default)]
struct Items {
    toml: String,
    pairs: Vec<String>,
}

impl Items {
    fn new() -> Items {
        Items { toml: "[checklist]\nname = \"postgres\"\n[defaults]\ntimeout = \"20s\"\n\n".into(), pairs: Vec::new() }
    }

    fn item(&mut self, id: &str, params: &str, expect: &str) -> &mut Self {
        writeln!(self.toml, "[[item]]\nid = \"{id}\"\nprobe = \"postgres\"\n{params}\nexpect = {{ {expect} }}\n")
            .unwrap();
        self
    }

    /// `ID.pass` expects what holds, `ID.fail` what does not; both on the same parameters.
    fn pair(&mut self, id: &str, params: &str, pass: &str, fail: &str) -> &mut Self {
        self.item(&format!("{id}.pass"), params, pass);
        self.item(&format!("{id}.fail"), params, fail);
        self.pairs.push(id.to_string());
        self
    }

    fn run(&self, w: &Workdir) -> Value {
        w.write("golive.toml", &self.toml);
        let (report, _) = run_json(w, "golive.toml", &[]);
        for id in &self.pairs {
            assert_outcome(&report, &format!("{id}.pass"), "pass");
            assert_outcome(&report, &format!("{id}.fail"), "fail");
        }
        report
    }
}

fn url(u: &str) -> String {
    format!("url = \"{u}\"")
}

#[test]
fn server_tls_settings_extensions_and_connections() {
    let pg = pg();
    let app = url(&pg.primary.app_url("app"));
    let tls =
        format!("url = \"{}?sslmode=verify-full&sslrootcert={}\"", pg.primary.app_url("app"), pg.ca_file.display());
    let standby = url(&pg.standby.app_url("app"));
    let w = Workdir::new();
    let report = Items::new()
        .pair("reachable", &app, "reachable = true", "reachable = false")
        .pair("version", &app, "server_version = \">= 14\"", "server_version = \">= 99\"")
        .pair("version-num", &app, "server_version_num = \">= 140000\"", "server_version_num = \"< 100000\"")
        .pair("recovery-primary", &app, "in_recovery = false", "in_recovery = true")
        .pair("recovery-standby", &standby, "in_recovery = true", "in_recovery = false")
        .pair("user", &app, "current_user = \"app\"", "current_user = \"postgres\"")
        .pair(
            "tls",
            &tls,
            "ssl_in_use = true, ssl_protocol = \">= TLSv1.2\", ssl_cipher = { present = true }",
            "ssl_protocol = \"< TLSv1.2\"",
        )
        .pair("tls-off", &standby, "ssl_in_use = false, ssl_protocol = { present = false }", "ssl_in_use = true")
        .pair(
            "slow-log",
            &app,
            "setting.log_min_duration_statement = { all_of = [\">= 0\", \"<= 1000\"] }",
            "setting.log_min_duration_statement = \"< 100\"",
        )
        .pair(
            "slow-log-standby",
            &standby,
            "setting.log_min_duration_statement = -1",
            "setting.log_min_duration_statement = \">= 0\"",
        )
        .pair("setting-bool", &app, "setting = { ssl = true }", "setting.ssl = false")
        .pair(
            "setting-enum",
            &app,
            "setting.password_encryption = \"scram-sha-256\", setting.archive_mode = \"on\"",
            "setting.password_encryption = \"md5\"",
        )
        .pair("setting-int", &app, "setting.max_connections = 60", "setting.max_connections = \">= 1000\"")
        .pair(
            "setting-preload",
            &url(&pg.primary.super_url("app")),
            "setting.shared_preload_libraries = { contains = \"pg_stat_statements\" }, setting.TimeZone = { present = true }",
            "setting.shared_preload_libraries = \"\"",
        )
        .pair(
            "setting-preload-standby",
            &url(&pg.standby.super_url("app")),
            "setting.shared_preload_libraries = \"\"",
            "setting.shared_preload_libraries = { contains = \"pg_stat_statements\" }",
        )
        .pair(
            "setting-unknown",
            &app,
            "setting.no_such_setting = { present = false }",
            "setting.no_such_setting = \"on\"",
        )
        .pair(
            "extensions",
            &app,
            "extensions = { includes = [\"pgcrypto\", \"pg_stat_statements\"] }, extension_versions.pgcrypto = \">= 1.0\"",
            "extension_versions.pgcrypto = \">= 99\"",
        )
        .pair(
            "extensions-missing",
            &url(&pg.primary.app_url("legacy")),
            "extensions = { excludes = [\"pgcrypto\"] }, extension_versions.pgcrypto = { present = false }",
            "extensions = { includes = [\"pgcrypto\"] }",
        )
        .pair(
            "available",
            &app,
            "available_extensions = { includes = [\"pgcrypto\", \"pg_stat_statements\"] }",
            "available_extensions = { includes = [\"no_such_extension\"] }",
        )
        .pair(
            "connections",
            &app,
            "connections_used = \">= 1\", connections_max = 60, connections_headroom_percent = \"> 50\"",
            "connections_headroom_percent = \"< 1\"",
        )
        .pair("size", &app, "database_size = \"> 1MB\"", "database_size = \"> 1TB\"")
        .run(&w);

    let major = fact(&report, "version.pass", "server_version_num").as_i64().unwrap() / 10000;
    assert!(major >= 14);
    assert!(fact(&report, "version.pass", "server_version").as_str().unwrap().starts_with(&format!("{major}.")));
    assert_eq!(fact(&report, "slow-log.pass", "setting.log_min_duration_statement"), &json!(500));
    assert_eq!(fact(&report, "setting-bool.pass", "setting.ssl"), &json!(true));
    assert_eq!(fact(&report, "setting-unknown.pass", "setting.no_such_setting"), &Value::Null);
    assert!(fact(&report, "tls.pass", "ssl_protocol").as_str().unwrap().starts_with("TLSv1."));
    assert_eq!(fact(&report, "extensions-missing.pass", "extensions"), &json!(["plpgsql"]));
    let size = fact(&report, "size.pass", "database_size").as_u64().unwrap();
    assert!(size > 1_000_000 && size < 1_000_000_000, "{size}");
    let used = fact(&report, "connections.pass", "connections_used").as_i64().unwrap();
    let headroom = fact(&report, "connections.pass", "connections_headroom_percent").as_f64().unwrap();
    assert!((headroom - 100.0 * (60 - used) as f64 / 60.0).abs() < 0.1, "{used} {headroom}");
}

/// Each fact, alone in an item's expect, can fail: the reason names it and what was observed.
#[test]
fn every_fact_can_fail_on_its_own() {
    let pg = pg();
    let w = Workdir::new();
    let dir = migrations_dir(&w, "m", &["20240101000001_a.sql", "20240101000009_b.sql"]);
    let app = url(&pg.primary.app_url("app"));
    let su = url(&pg.primary.super_url("postgres"));
    let standby_su = url(&pg.standby.super_url("postgres"));
    let tls = format!("{app}\nsslmode = \"require\"");
    let query = format!("{app}\nquery = \"select email from users order by id\"");
    let cases: &[(&str, &str, &str)] = &[
        ("reachable", &app, "false"),
        ("server_version", &app, "\"< 14\""),
        ("server_version_num", &app, "\"< 140000\""),
        ("in_recovery", &app, "true"),
        ("current_user", &app, "\"golive_super\""),
        ("ssl_in_use", &tls, "false"),
        ("ssl_protocol", &tls, "\"TLSv1.0\""),
        ("ssl_cipher", &tls, "{ contains = \"RC4\" }"),
        ("setting.ssl", &app, "false"),
        ("extensions", &app, "{ excludes = [\"pgcrypto\"] }"),
        ("extension_versions.pgcrypto", &app, "\"< 1.0\""),
        ("available_extensions", &app, "{ length = 0 }"),
        ("role_superuser", &app, "true"),
        ("role_createrole", &app, "true"),
        ("role_createdb", &app, "true"),
        ("role_replication", &app, "true"),
        ("role_bypassrls", &app, "true"),
        ("role_login", &app, "false"),
        ("superuser_count", &app, "0"),
        ("connections_used", &app, "0"),
        ("connections_max", &app, "100"),
        ("connections_headroom_percent", &app, "\"> 100\""),
        ("database_size", &app, "\"< 1kB\""),
        ("table_exists.users", &app, "false"),
        ("table_privileges.users", &app, "[]"),
        ("schema_privileges.public", &app, "[]"),
        ("database_privileges.app", &app, "[]"),
        ("migrations_table", &app, "\"flyway_schema_history\""),
        ("migrations_applied_count", &app, "0"),
        ("migrations_latest_version", &app, "\"< 20240101000001\""),
        ("migrations_failed_count", &app, "1"),
        ("hba_insecure_rules", &su, "{ length = 1 }"),
        ("archiver_archived_count", &su, "0"),
        ("archiver_failed_count", &su, "\">= 1\""),
        ("last_archived_age", &su, "\"> 1d\""),
        ("last_failed_after_last_success", &su, "true"),
        ("standby_count", &su, "0"),
        ("max_replay_lag", &su, "\"> 1h\""),
        ("value", &query, "\"nobody@company.invalid\""),
        ("rows", &query, "[]"),
        ("row_count", &query, "0"),
    ];
    let mut items = Items::new();
    for (fact, params, matcher) in cases {
        items.item(&format!("fail.{fact}"), params, &format!("\"{fact}\" = {matcher}"));
    }
    let pending = [("migrations_pending", "[]"), ("migrations_pending_count", "0")];
    for (fact, matcher) in pending {
        items.item(
            &format!("fail.{fact}"),
            &format!("{app}\nmigrations_dir = \"{dir}\""),
            &format!("{fact} = {matcher}"),
        );
    }
    items.item("fail.standby-archiving", &standby_su, "archiver_failed_count = 0");
    let report = items.run(&w);
    let all = cases.iter().map(|(f, _, _)| *f).chain(pending.iter().map(|(f, _)| *f));
    for fact in all {
        let id = format!("fail.{fact}");
        assert_outcome(&report, &id, "fail");
        let why = reason(&report, &id);
        assert!(why.starts_with(&format!("{fact}: expected ")) && why.contains(", observed "), "{id}: {why}");
    }
    assert_outcome(&report, "fail.standby-archiving", "fail");
    assert_eq!(fact(&report, "fail.migrations_pending", "migrations_pending"), &json!(["20240101000009"]));
}

#[test]
fn roles_privileges_and_tables() {
    let pg = pg();
    let app = url(&pg.primary.app_url("app"));
    let legacy = url(&pg.primary.app_url("legacy"));
    let superuser = url(&pg.primary.super_url("app"));
    let w = Workdir::new();
    let report = Items::new()
        .pair(
            "app-role",
            &app,
            "role_superuser = false, role_createrole = false, role_createdb = false, role_replication = false, role_bypassrls = false, role_login = true",
            "role_superuser = true",
        )
        .pair(
            "named-role",
            &format!("{app}\nrole = \"reporting\""),
            "role_createdb = true, role_login = false, role_superuser = false",
            "role_login = true",
        )
        .pair("super-role", &superuser, "role_superuser = true, role_replication = true", "role_superuser = false")
        .pair("superusers", &app, "superuser_count = 1", "superuser_count = \"< 1\"")
        .pair(
            "tables",
            &app,
            "table_exists.users = true, table_exists.\"public.users\" = true, table_exists.no_such_table = false",
            "table_exists.no_such_table = true",
        )
        .pair(
            "table-privileges",
            &legacy,
            "table_privileges.users = [\"SELECT\", \"INSERT\", \"UPDATE\", \"DELETE\"]",
            "table_privileges.users = { excludes = [\"DELETE\"] }",
        )
        .pair(
            "table-privileges-owner",
            &app,
            "table_privileges.\"public.users\" = { includes = [\"TRUNCATE\", \"TRIGGER\"] }",
            "table_privileges.users = { excludes = [\"SELECT\"] }",
        )
        .pair(
            "schema-privileges",
            &legacy,
            "schema_privileges.public = [\"USAGE\"]",
            "schema_privileges.public = { includes = [\"CREATE\"] }",
        )
        .pair(
            "database-privileges",
            &legacy,
            "database_privileges.legacy = { excludes = [\"CREATE\"], includes = [\"CONNECT\"] }, database_privileges.app = { includes = [\"CREATE\"] }",
            "database_privileges.legacy = { includes = [\"CREATE\"] }",
        )
        .pair(
            "named-role-privileges",
            &format!("{app}\nrole = \"reporting\""),
            "database_privileges.app = [\"CONNECT\", \"TEMPORARY\"], table_privileges.users = []",
            "database_privileges.app = { includes = [\"CREATE\"] }",
        )
        .item("unknown-role", &format!("{app}\nrole = \"nobody_here\""), "role_superuser = false")
        .item("unknown-table", &app, "table_privileges.no_such_table = []")
        .run(&w);
    assert_eq!(fact(&report, "tables.pass", "table_exists.no_such_table"), &json!(false));
    assert_outcome(&report, "unknown-role", "error");
    assert_eq!(reason(&report, "unknown-role"), "role \"nobody_here\" does not exist");
    assert_outcome(&report, "unknown-table", "error");
    assert!(reason(&report, "unknown-table").contains("does not exist"), "{}", reason(&report, "unknown-table"));
}

/// Migration files named as `names` in a new directory of `w`.
fn migrations_dir(w: &Workdir, dir: &str, names: &[&str]) -> String {
    for name in names {
        if name.ends_with('/') {
            std::fs::create_dir_all(w.path(&format!("{dir}/{name}"))).unwrap();
            w.write(&format!("{dir}/{name}up.sql"), "select 1;");
        } else {
            w.write(&format!("{dir}/{name}"), "select 1;");
        }
    }
    w.write(&format!("{dir}/README.md"), "not a migration");
    w.path(dir).display().to_string()
}

#[test]
fn migrations_of_each_framework() {
    let pg = pg();
    let w = Workdir::new();
    let sqlx_done = migrations_dir(
        &w,
        "sqlx-done",
        &[
            "20240101000001_create_users.sql",
            "20240101000002_add_email_index.up.sql",
            "20240101000002_add_email_index.down.sql",
            "20240101000003_add_audit_log.sql",
        ],
    );
    let sqlx_ahead = migrations_dir(
        &w,
        "sqlx-ahead",
        &[
            "20240101000001_create_users.sql",
            "20240101000002_add_email_index.sql",
            "20240101000003_add_audit_log.sql",
            "20240101000004_add_orders.sql",
        ],
    );
    let flyway = migrations_dir(&w, "flyway", &["V1__init.sql", "V1_1__users.sql", "V2__broken.sql", "R__views.sql"]);
    let diesel = migrations_dir(&w, "diesel", &["2024-01-01-120000_create_users/", "2024-03-01-120000_add_posts/"]);
    let app = url(&pg.primary.app_url("app"));
    let report = Items::new()
        .pair(
            "sqlx",
            &format!("{app}\nmigrations_dir = \"{sqlx_done}\""),
            "migrations_table = \"_sqlx_migrations\", migrations_applied_count = 3, migrations_failed_count = 0, migrations_latest_version = \">= 20240101000003\", migrations_pending = [], migrations_pending_count = 0",
            "migrations_latest_version = \"> 20240101000003\"",
        )
        .pair(
            "sqlx-pending",
            &format!("{app}\nmigrations_dir = \"{sqlx_ahead}\""),
            "migrations_pending = [\"20240101000004\"], migrations_pending_count = 1",
            "migrations_pending_count = 0",
        )
        .pair(
            "custom",
            &format!("{app}\nmigrations_table = \"public.app_schema_version\"\nmigrations_column = \"version\""),
            "migrations_applied_count = 2, migrations_latest_version = \"2\", migrations_failed_count = 0",
            "migrations_latest_version = \">= 3\"",
        )
        .pair(
            "flyway",
            &format!("{}\nmigrations_dir = \"{flyway}\"", url(&pg.primary.app_url("legacy"))),
            "migrations_table = \"flyway_schema_history\", migrations_applied_count = 2, migrations_failed_count = 1, migrations_latest_version = \"1.1\", migrations_pending = [\"2\"]",
            "migrations_failed_count = 0",
        )
        .pair(
            "diesel",
            &format!("{}\nmigrations_dir = \"{diesel}\"", url(&pg.primary.super_url("diesel_app"))),
            "migrations_table = \"__diesel_schema_migrations\", migrations_applied_count = 2, migrations_latest_version = \"20240301120000\", migrations_pending_count = 0",
            "migrations_pending_count = \">= 1\"",
        )
        .pair(
            "rails",
            &url(&pg.primary.super_url("rails_app")),
            "migrations_table = \"schema_migrations\", migrations_applied_count = 3, migrations_latest_version = \"20231201100000\", migrations_failed_count = 0",
            "migrations_applied_count = 0",
        )
        .pair(
            "golang-migrate-dirty",
            &url(&pg.primary.super_url("gomigrate_app")),
            "migrations_failed_count = 1, migrations_applied_count = 0, migrations_latest_version = { present = false }",
            "migrations_failed_count = 0",
        )
        .item("no-table", &url(&pg.primary.super_url("postgres")), "migrations_applied_count = 0")
        .item("no-dir", &app, "migrations_pending_count = 0")
        .run(&w);
    assert_outcome(&report, "no-table", "error");
    assert!(reason(&report, "no-table").contains("no migrations table found"), "{}", reason(&report, "no-table"));
    assert_outcome(&report, "no-dir", "error");
    assert!(reason(&report, "no-dir").contains("migrations_dir"));
}

#[test]
fn hba_archiving_and_replication() {
    let pg = pg();
    let w = Workdir::new();
    let primary_super = url(&pg.primary.super_url("postgres"));
    let standby_super = url(&pg.standby.super_url("postgres"));
    let report = Items::new()
        .pair("hba-good", &primary_super, "hba_insecure_rules = []", "hba_insecure_rules = { length = \">= 1\" }")
        .pair(
            "hba-bad",
            &standby_super,
            "hba_insecure_rules = { length = 3, includes = [\"line 3: host all all 10.0.0.0 255.0.0.0 trust\"] }",
            "hba_insecure_rules = []",
        )
        .item("hba-app", &url(&pg.primary.app_url("app")), "hba_insecure_rules = []")
        .pair(
            "archive-good",
            &primary_super,
            "archiver_archived_count = \">= 1\", archiver_failed_count = 0, last_archived_age = \"< 1h\", last_failed_after_last_success = false",
            "last_failed_after_last_success = true",
        )
        .pair(
            "archive-bad",
            &standby_super,
            "archiver_failed_count = \">= 1\", last_failed_after_last_success = true, last_archived_age = { present = false }",
            "last_archived_age = \"< 1h\"",
        )
        .pair("standbys", &primary_super, "standby_count = 1, max_replay_lag = \"< 1m\"", "standby_count = 0")
        .pair(
            "no-standbys",
            &standby_super,
            "standby_count = 0, max_replay_lag = { present = false }",
            "max_replay_lag = \"< 1m\"",
        )
        .pair("standbys-app", &url(&pg.primary.app_url("app")), "standby_count = 1", "standby_count = 0")
        .item("lag-app", &url(&pg.primary.app_url("app")), "max_replay_lag = \"< 1m\"")
        .run(&w);
    let rules = fact(&report, "hba-bad.pass", "hba_insecure_rules");
    assert_eq!(
        rules,
        &json!([
            "line 1: local all all trust",
            "line 3: host all all 10.0.0.0 255.0.0.0 trust",
            "line 4: host all all 192.168.0.0 255.255.0.0 password"
        ])
    );
    // A role that may not read the rules gets an error naming what it lacks, never a pass.
    assert_outcome(&report, "hba-app", "error");
    let why = reason(&report, "hba-app");
    assert!(
        why.contains("pg_hba_file_rules") && why.contains("superuser") && why.contains("permission denied"),
        "{why}"
    );
    assert_outcome(&report, "lag-app", "error");
    assert!(reason(&report, "lag-app").contains("pg_read_all_stats"), "{}", reason(&report, "lag-app"));
}

#[test]
fn settings_only_some_roles_may_read_are_errors() {
    let pg = pg();
    let w = Workdir::new();
    let report = Items::new()
        .item("hidden", &url(&pg.primary.app_url("app")), "setting.data_directory = { present = true }")
        .item("hidden-preload", &url(&pg.primary.app_url("app")), "setting.shared_preload_libraries = \"\"")
        .item("visible", &url(&pg.primary.super_url("app")), "setting.data_directory = { contains = \"golive-pg-\" }")
        .run(&w);
    assert_outcome(&report, "hidden", "error");
    assert!(reason(&report, "hidden").contains("pg_read_all_settings"), "{}", reason(&report, "hidden"));
    assert_outcome(&report, "hidden-preload", "error");
    assert!(reason(&report, "hidden-preload").contains("pg_read_all_settings"));
    assert_outcome(&report, "visible", "pass");
}

#[test]
fn query_value_rows_and_row_count() {
    let pg = pg();
    let w = Workdir::new();
    let app = url(&pg.primary.app_url("app"));
    let legacy = url(&pg.primary.app_url("legacy"));
    let test_rows = "select count(*) from users where email like '%@example.test'";
    let report = Items::new()
        .pair("test-data-clean", &format!("{app}\nquery = \"{test_rows}\""), "value = 0", "value = \"> 0\"")
        .pair("test-data-left", &format!("{legacy}\nquery = \"{test_rows}\""), "value = 3", "value = 0")
        .pair(
            "params",
            &format!("{legacy}\nquery = \"select count(*) from users where email like $1 and id > $2::int\"\nparams = [\"%@example.test\", \"1\"]"),
            "value = 2",
            "value = 3",
        )
        .pair(
            "rows",
            &format!("{app}\nquery = \"select email from users order by id\""),
            "rows = [\"ada@company.invalid\", \"grace@company.invalid\"], row_count = 2, value = \"ada@company.invalid\"",
            "row_count = 0",
        )
        .pair(
            "no-rows",
            &format!("{app}\nquery = \"select email from users where false\""),
            "row_count = 0, value = { present = false }, rows = []",
            "value = { present = true }",
        )
        .pair(
            "max-rows",
            &format!("{app}\nquery = \"select g from generate_series(1, 50) g\"\nmax_rows = 3"),
            "rows = [1, 2, 3], row_count = 50",
            "row_count = 3",
        )
        .item(
            "types",
            &format!(
                "{app}\nquery = \"\"\"select 1.50::numeric, 12345678901234::numeric, true, null::text, 'x'::varchar, \
                 interval '1 day 2 hours', '{{\"a\": [1, 2]}}'::jsonb, array['p', 'q'], \
                 '2024-02-03 04:05:06+00'::timestamptz, date '2024-02-03', 2.5::float8, 7::int2, \
                 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '0/3000028'::pg_lsn\"\"\""
            ),
            "row_count = 1",
        )
        .item("unreadable-type", &format!("{app}\nquery = \"select point(1, 2)\""), "row_count = 1")
        .item("no-query", &app, "value = 0")
        .item("bad-sql", &format!("{app}\nquery = \"select * from no_such_table\""), "row_count = 0")
        .run(&w);
    assert_eq!(fact(&report, "rows.pass", "rows"), &json!(["ada@company.invalid", "grace@company.invalid"]));
    assert_outcome(&report, "types", "pass");
    assert_eq!(
        fact(&report, "types", "value"),
        &json!(1.5),
        "{}",
        serde_json::to_string_pretty(item(&report, "types")).unwrap()
    );
    let w2 = Workdir::new();
    let report2 = Items::new()
        .item(
            "types-rows",
            &format!(
                "{app}\nquery = \"\"\"select 1.50::numeric, 12345678901234::numeric, true, null::text, 'x'::varchar, \
                 interval '1 day 2 hours', '{{\"a\": [1, 2]}}'::jsonb, array['p', 'q'], \
                 '2024-02-03 04:05:06+00'::timestamptz, date '2024-02-03', 2.5::float8, 7::int2, \
                 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid, '0/3000028'::pg_lsn\"\"\""
            ),
            "rows = { length = 1 }",
        )
        .run(&w2);
    assert_outcome(&report2, "types-rows", "pass");
    assert_eq!(
        fact(&report2, "types-rows", "rows"),
        &json!([[
            1.5,
            12345678901234i64,
            true,
            null,
            "x",
            93_600_000.0,
            {"a": [1, 2]},
            ["p", "q"],
            "2024-02-03T04:05:06Z",
            "2024-02-03",
            2.5,
            7,
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "0/3000028"
        ]])
    );
    assert_outcome(&report, "unreadable-type", "error");
    assert!(reason(&report, "unreadable-type").contains("::text"), "{}", reason(&report, "unreadable-type"));
    assert_outcome(&report, "no-query", "error");
    assert!(reason(&report, "no-query").contains("query"));
    assert_outcome(&report, "bad-sql", "error");
    assert!(reason(&report, "bad-sql").contains("no_such_table"), "{}", reason(&report, "bad-sql"));
}

#[test]
fn writes_are_refused_and_the_database_is_unchanged() {
    let pg = pg();
    let count = || pg.primary.scalar("legacy", "select count(*) || ':' || coalesce(max(email), '') from users");
    let before = count();
    let tables_before = pg.primary.scalar("legacy", "select count(*) from pg_tables where schemaname = 'public'");
    let sequence_before = pg.primary.scalar("legacy", "select last_value from users_id_seq");
    let w = Workdir::new();
    // A superuser can write around the transaction: its queries run only when allowed, and
    // then the read-only transaction still refuses every plain write.
    let su = format!("{}\nallow_write_functions = true", url(&pg.primary.super_url("legacy")));
    let app = url(&pg.primary.app_url("legacy"));
    let writes = [
        ("delete", &app, "delete from users"),
        ("delete-super", &su, "delete from users"),
        ("insert", &app, "insert into users (email) values ('new@example.test')"),
        ("update", &su, "update users set email = 'changed'"),
        ("create", &su, "create table golive_was_here (id int)"),
        ("truncate", &su, "truncate users"),
        ("nextval", &su, "select nextval('users_id_seq')"),
        ("read-write", &su, "set transaction read write"),
        ("cte", &su, "with gone as (delete from users returning id) select count(*) from gone"),
        ("two-statements", &su, "select 1; delete from users"),
    ];
    let mut items = Items::new();
    for (id, params, sql) in &writes {
        items.item(id, &format!("{params}\nquery = \"{sql}\""), "row_count = \">= 0\"");
    }
    // A statement that ends the read-only transaction cannot write either: it is the last.
    items.item("commit", &format!("{su}\nquery = \"commit\""), "row_count = 0");
    let report = items.run(&w);
    assert_outcome(&report, "commit", "pass");
    for (id, _, _) in &writes {
        assert_outcome(&report, id, "error");
        let why = reason(&report, id);
        let expected = match *id {
            "read-write" => "transaction read-write mode must be set before any query",
            "two-statements" => "cannot insert multiple commands into a prepared statement",
            _ => "read-only transaction",
        };
        assert!(why.contains(expected), "{id}: {why}");
    }
    assert_eq!(count(), before);
    assert_eq!(
        pg.primary.scalar("legacy", "select count(*) from pg_tables where schemaname = 'public'"),
        tables_before
    );
    assert_eq!(pg.primary.scalar("legacy", "select last_value from users_id_seq"), sequence_before);
}

/// The fixture, a workdir, the item parameters of the role whose every statement the server
/// logs, and the server log's mark before the items run.
fn audited() -> (&'static PgFixture, Workdir, String, usize) {
    let pg = pg();
    (pg, Workdir::new(), url(&pg.primary.url(AUDITED_USER, AUDITED_PASSWORD, "app")), pg.primary.log_mark())
}

#[test]
fn every_statement_runs_in_one_read_only_transaction_and_only_the_asked_facts_are_read() {
    let (pg, w, audited, mark) = audited();
    let report = Items::new()
        .item("version-only", &format!("{audited}\ntimeout = \"7s\""), "server_version = \">= 14\"")
        .run(&w);
    assert_outcome(&report, "version-only", "pass");
    let log = pg.primary.log_since(mark);
    let statements: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("LOG:  statement: ") || l.contains("LOG:  execute "))
        .map(|l| l.split("LOG:  ").nth(1).unwrap())
        .collect();
    assert_eq!(
        statements,
        [
            "statement: BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = 7000; SELECT 1",
            statements.get(1).copied().unwrap_or_default(),
            "statement: ROLLBACK",
        ],
        "{log}"
    );
    assert!(statements[1].contains("current_setting('server_version')"), "{}", statements[1]);
    assert!(!log.contains("pg_settings") && !log.contains("pg_extension"), "{log}");
}

/// The look-up of what the role could write with (before any user `query`) runs once for
/// the items of one connection settings that run together, not once per item: on a fresh
/// connection it costs the server more than the items' own statements. (It is looked up
/// again after a second, `postgres_pool::WRITE_CAPABILITIES_KEPT`; the unit tests there
/// check that.)
#[test]
fn the_role_is_checked_for_write_paths_once_for_items_that_run_together() {
    let (pg, w, audited, mark) = audited();
    let mut items = Items::new();
    for i in 0..8 {
        items.item(
            &format!("query-{i}"),
            &format!("{audited}\nquery = \"select {i} as item_{i}\""),
            &format!("value = {i}"),
        );
    }
    let report = items.run(&w);
    for i in 0..8 {
        assert_outcome(&report, &format!("query-{i}"), "pass");
    }
    let log = pg.primary.log_since(mark);
    let executed = |needle: &str| {
        log.lines()
            .filter(|l| (l.contains("LOG:  execute ") || l.contains("LOG:  statement: ")) && l.contains(needle))
            .count()
    };
    for i in 0..8 {
        assert_eq!(executed(&format!("select {i} as item_{i}")), 1, "{log}");
    }
    assert_eq!(executed("pg_execute_server_program"), 1, "{log}");
}

/// While items queue for a connection, each hands it on still in its read-only transaction
/// and the next one rolls that back in the round trip that begins its own: two round trips
/// per quick item instead of three. An item after one whose statement failed (its
/// transaction aborted) still passes, a write is still refused, every transaction is rolled
/// back exactly once, and the last one (nobody waits for it) at once.
#[test]
fn a_connection_handed_on_is_rolled_back_by_the_next_item() {
    const MAX_CONNECTIONS: usize = 4;
    let (pg, w, audited, mark) = audited();
    let mut items = Items::new();
    for i in 0..8 {
        let query =
            if i % 2 == 0 { format!("select {i} as handed_{i}") } else { format!("select {i} / 0 as handed_{i}") };
        items.item(&format!("handed-{i}"), &format!("{audited}\nquery = \"{query}\""), &format!("value = {i}"));
    }
    items.item(
        "handed-write",
        &format!("{audited}\nquery = \"create table handed_write (x int)\""),
        "reachable = true",
    );
    let report = items.run(&w);
    for i in 0..8 {
        let id = format!("handed-{i}");
        if i % 2 == 0 {
            assert_outcome(&report, &id, "pass");
        } else {
            assert_outcome(&report, &id, "error");
            assert!(reason(&report, &id).contains("division by zero"), "{id}: {}", reason(&report, &id));
        }
    }
    assert_outcome(&report, "handed-write", "error");
    assert!(reason(&report, "handed-write").contains("read-only transaction"), "{}", reason(&report, "handed-write"));
    let log = pg.primary.log_since(mark);
    let statements: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("LOG:  statement: "))
        .map(|l| l.split("LOG:  statement: ").nth(1).unwrap())
        .collect();
    let begun = statements.iter().filter(|s| s.contains("BEGIN TRANSACTION READ ONLY")).count();
    let handed_on = statements.iter().filter(|s| s.starts_with("ROLLBACK; BEGIN TRANSACTION READ ONLY;")).count();
    let rolled_back_alone = statements.iter().filter(|s| **s == "ROLLBACK").count();
    assert_eq!(begun, 9, "{log}");
    assert!(handed_on >= 4, "only {handed_on} of 9 items took a connection handed on:\n{log}");
    assert!(rolled_back_alone >= 1, "the last transaction was not rolled back at once:\n{log}");
    // A connection handed on that another item's connection beat to the waiter is closed
    // in its transaction at the end (the server rolls it back): at most one per extra
    // connection. No transaction is rolled back twice.
    let ended = handed_on + rolled_back_alone;
    assert!((9 - (MAX_CONNECTIONS - 1)..=9).contains(&ended), "{ended} of 9 transactions rolled back:\n{log}");
    assert!(!pg.primary.scalar("app", "select to_regclass('handed_write') is not null").contains('t'));
}

#[test]
fn connection_errors_say_what_went_wrong() {
    let pg = pg();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let hung = rt.block_on(HungListener::start());
    let w = Workdir::new();
    let wrong_password = "Wrong-pw-5a1c";
    let report = Items::new()
        .item("refused", &url(&format!("postgres://app:{APP_PASSWORD}@127.0.0.1:{}/app", closed_port())), "reachable = true")
        .item("wrong-password", &url(&pg.primary.url("app", wrong_password, "app")), "reachable = true")
        .item("no-database", &url(&pg.primary.app_url("no_such_db")), "reachable = true")
        .item(
            "hung",
            &format!("{}\ntimeout = \"1500ms\"", url(&format!("postgres://app:{APP_PASSWORD}@127.0.0.1:{}/app", hung.port()))),
            "reachable = true",
        )
        .item("tls-required", &format!("{}\nsslmode = \"require\"", url(&pg.standby.app_url("app"))), "reachable = true")
        .item("tls-untrusted", &format!("{}\nsslmode = \"verify-full\"", url(&pg.primary.app_url("app"))), "reachable = true")
        .item(
            "fields",
            &format!(
                "host = \"127.0.0.1\"\nport = {}\nuser = \"app\"\npassword = \"{APP_PASSWORD}\"\ndatabase = \"app\"\nsslmode = \"verify-ca\"\nsslrootcert = \"{}\"",
                pg.primary.port,
                pg.ca_file.display()
            ),
            "reachable = true, ssl_in_use = true",
        )
        .item(
            "slow-query",
            &format!("{}\ntimeout = \"1s\"\nquery = \"select pg_sleep(30)\"", url(&pg.primary.app_url("app"))),
            "row_count = 1",
        )
        .run(&w);
    let expect = [
        ("refused", "Connection refused"),
        ("wrong-password", "password authentication failed for user \"app\""),
        ("no-database", "database \"no_such_db\" does not exist"),
        ("hung", "no answer from app@127.0.0.1"),
        ("tls-required", "TLS"),
        ("tls-untrusted", "TLS"),
    ];
    for (id, text) in expect {
        assert_outcome(&report, id, "error");
        let why = reason(&report, id);
        assert!(why.contains(text), "{id}: {why}");
        assert!(!why.contains(APP_PASSWORD) && !why.contains(wrong_password), "{id}: {why}");
    }
    // Neither url nor host: known from the parameters alone, so `validate` refuses it.
    w.write("nothing.toml", "[[item]]\nid = \"nothing\"\nprobe = \"postgres\"\nport = 5432\n");
    let out = w.run_blocking(&["validate", "--format", "short", "nothing.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[GL003]: item `nothing`: give `url`, or `host`"));
    assert!(reason(&report, "refused").starts_with("cannot connect to app@127.0.0.1:"));
    assert!(reason(&report, "wrong-password").starts_with("cannot log in to app@127.0.0.1:"));
    assert!(hung.connections() >= 1);
    let hung_item = item(&report, "hung");
    assert!(hung_item["duration_ms"].as_f64().unwrap_or(0.0) < 15_000.0, "{hung_item}");
    assert_outcome(&report, "fields", "pass");
    // The server stops a query at the item's timeout (statement_timeout); none lingers.
    assert_outcome(&report, "slow-query", "error");
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let running = pg.primary.scalar(
            "postgres",
            "select count(*) from pg_stat_activity where query like '%pg_sleep(30)%' and pid <> pg_backend_pid()",
        );
        if running == "0" {
            break;
        }
        assert!(Instant::now() < until, "the slow query is still running on the server");
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(hung);
}

#[test]
fn passwords_never_appear_in_any_output() {
    let pg = pg();
    let w = Workdir::new();
    let wrong = "Wrong-s3cret-pw-88e1";
    let toml = format!(
        r#"[checklist]
name = "secrets"

[vars]
db = "{url}"

[[item]]
id = "url"
probe = "postgres"
url = "${{db}}"
expect = {{ role_superuser = true }}

[[item]]
id = "fields"
probe = "postgres"
host = "127.0.0.1"
port = {port}
user = "golive_super"
password = "{super_pw}"
database = "postgres"
allow_write_functions = true
query = "select current_setting('application_name') || ' {super_pw}'"
expect = {{ value = "nothing like this" }}

[[item]]
id = "wrong"
probe = "postgres"
url = "{wrong_url}"
expect = {{ reachable = true }}

[[item]]
id = "echo"
probe = "postgres"
url = "${{db}}"
query = "select $1"
params = ["{app_pw}"]
expect = {{ value = "" }}
"#,
        url = pg.primary.app_url("app"),
        port = pg.primary.port,
        super_pw = SUPERUSER_PASSWORD,
        wrong_url = pg.primary.url("app", wrong, "app"),
        app_pw = APP_PASSWORD,
    );
    w.write("golive.toml", &toml);
    let run = w.run_blocking(&["run", "golive.toml", "--output", "table", "--output", "json=report.json"], &[]);
    let list = w.run_blocking(&["list", "golive.toml"], &[]);
    let validate = w.run_blocking(&["validate", "golive.toml"], &[]);
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "url", "fail");
    assert_outcome(&report, "fields", "fail");
    assert_outcome(&report, "wrong", "error");
    assert_outcome(&report, "echo", "fail");
    let outputs = [
        ("run stdout", stdout(&run)),
        ("run stderr", stderr(&run)),
        ("report", w.read("report.json")),
        ("list stdout", stdout(&list)),
        ("list stderr", stderr(&list)),
        ("validate stdout", stdout(&validate)),
        ("validate stderr", stderr(&validate)),
    ];
    for (name, text) in &outputs {
        for secret in [APP_PASSWORD, SUPERUSER_PASSWORD, wrong] {
            assert!(!text.contains(secret), "{name} shows a password:\n{text}");
        }
    }
    assert!(outputs[0].1.contains("***"), "{}", outputs[0].1);
    assert_eq!(item(&report, "fields")["params"]["password"], json!("***"));
    assert!(item(&report, "url")["params"]["url"].as_str().unwrap().contains("app:***@"));
    assert_eq!(fact(&report, "fields", "value"), &json!("golive ***"));
}

#[test]
fn fifty_items_share_a_few_connections() {
    let pg = pg();
    let w = Workdir::new();
    // Only this test logs in as this role, so its connections can be counted while other
    // tests run.
    let app = url(&pg.primary.url(POOLED_USER, POOLED_PASSWORD, "app"));
    let facts = [
        "server_version = \">= 14\"",
        "ssl_in_use = true",
        "setting.max_connections = 60",
        "extensions = { includes = [\"pgcrypto\"] }",
        "current_user = \"pooled\"",
        "connections_headroom_percent = \"> 10\"",
        "table_exists.users = true",
        "database_size = \"> 1MB\"",
        "migrations_failed_count = 0",
        "standby_count = 1",
    ];
    let mut items = Items::new();
    for i in 0..50 {
        let expect = facts[i % facts.len()];
        items.item(&format!("item-{i}"), &app, expect);
    }
    // A second database on the standby: its own pool.
    for i in 0..5 {
        items.item(
            &format!("standby-{i}"),
            &url(&pg.standby.url(POOLED_USER, POOLED_PASSWORD, "app")),
            "in_recovery = true",
        );
    }
    let (primary_mark, standby_mark) = (pg.primary.log_mark(), pg.standby.log_mark());
    let report = items.run(&w);
    for i in 0..50 {
        assert_outcome(&report, &format!("item-{i}"), "pass");
    }
    for i in 0..5 {
        assert_outcome(&report, &format!("standby-{i}"), "pass");
    }
    let opened = |log: String| {
        log.lines()
            .filter(|l| {
                l.contains("connection authorized: user=pooled database=app ") && l.contains("application_name=golive")
            })
            .count()
    };
    let primary_opened = opened(pg.primary.log_since(primary_mark));
    let standby_opened = opened(pg.standby.log_since(standby_mark));
    assert!((1..=4).contains(&primary_opened), "50 items opened {primary_opened} connections");
    assert!((1..=4).contains(&standby_opened), "5 items opened {standby_opened} connections");
    // Closed at the end of the run, politely.
    let until = Instant::now() + Duration::from_secs(20);
    while pg
        .primary
        .scalar("postgres", "select count(*) from pg_stat_activity where usename = 'pooled' and datname = 'app'")
        != "0"
    {
        assert!(Instant::now() < until, "golive left connections open");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The run's idle connections are closed with a Terminate message, not dropped: a backend
/// that sees its client's socket close without one logs "unexpected EOF on client
/// connection" (at DEBUG1 for an idle session, which this role's sessions log). golive
/// closes them while it writes its reports; they are closed before it exits.
#[test]
fn the_runs_connections_end_with_a_terminate_message() {
    let pg = pg();
    let (role, password) = ("golive_polite", "Golive-polite-s3cret-7c1e");
    create_app_role(pg, role, password, &format!("alter role {role} set log_min_messages = debug1;"));
    let target = url(&pg.primary.url(role, password, "app"));
    let mark = pg.primary.log_mark();
    let w = Workdir::new();
    let mut items = Items::new();
    for i in 0..6 {
        items.item(&format!("polite-{i}"), &format!("{target}\nquery = \"select {i}\""), &format!("value = {i}"));
    }
    let report = items.run(&w);
    for i in 0..6 {
        assert_outcome(&report, &format!("polite-{i}"), "pass");
    }
    let ended = || {
        pg.primary
            .log_since(mark)
            .lines()
            .filter(|l| l.contains("disconnection:") && l.contains(&format!("user={role}")))
            .count()
    };
    let opened = pg.primary.log_since(mark).lines().filter(|l| l.contains(&format!("authorized: user={role}"))).count();
    assert!(opened >= 1, "no connection was opened:\n{}", pg.primary.log_since(mark));
    let until = Instant::now() + Duration::from_secs(20);
    while ended() < opened {
        assert!(Instant::now() < until, "{} of {opened} connections ended:\n{}", ended(), pg.primary.log_since(mark));
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = pg.primary.log_since(mark);
    assert!(!log.contains("unexpected EOF on client connection"), "a connection was dropped without Terminate:\n{log}");
}

/// Creates a login role that may connect to `app`. One at a time: two `GRANT`s on the same
/// database at once can fail with "tuple concurrently updated".
fn create_app_role(pg: &PgFixture, role: &str, password: &str, extra: &str) {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    pg.primary.sql(
        "postgres",
        &format!("create role {role} login password '{password}'; {extra} grant connect on database app to {role};"),
    );
}

/// Server connections a role's items opened since `mark`: the server's `connection
/// authorized` lines for it.
fn logins(pg: &PgFixture, mark: usize, role: &str) -> usize {
    pg.primary.log_since(mark).lines().filter(|l| l.contains(&format!("connection authorized: user={role} "))).count()
}

/// A login costs more than many quick items, so the pool grows only when its items would
/// wait longer than a login takes: a dozen quick items share one or two connections (they
/// opened four, one per slot, before), and items held by slow queries get more.
#[test]
fn the_pool_opens_connections_only_as_its_items_need_them() {
    let pg = pg();
    let (role, password) = ("golive_grow", "Golive-grow-s3cret-51d0");
    create_app_role(pg, role, password, "");
    let target = url(&pg.primary.url(role, password, "app"));

    // `count` passing items with these parameters, run at once: the connections they opened.
    let opened_by = |count: usize, prefix: &str, params: &str, expect: &str| {
        let w = Workdir::new();
        let mut items = Items::new();
        for i in 0..count {
            items.item(&format!("{prefix}-{i}"), params, expect);
        }
        let mark = pg.primary.log_mark();
        let report = items.run(&w);
        for i in 0..count {
            assert_outcome(&report, &format!("{prefix}-{i}"), "pass");
        }
        (logins(pg, mark, role), pg.primary.log_since(mark))
    };
    let (opened, log) = opened_by(12, "quick", &target, "reachable = true");
    assert!((1..=2).contains(&opened), "12 quick items opened {opened} connections:\n{log}");
    // Each of these holds its connection for 1.5 s: the pool sees nothing come back for
    // longer than a login takes and opens more, up to its four.
    let slow = format!("{target}\nquery = \"select 1 from pg_sleep(1.5)\"");
    let (opened, log) = opened_by(6, "slow", &slow, "value = 1");
    assert!((3..=4).contains(&opened), "6 slow items opened {opened} connections:\n{log}");
}

/// Items that wait for a login that fails report its reason rather than each trying again:
/// one wrong password costs the server one failed login, not one per item.
#[test]
fn items_waiting_for_a_failed_login_report_its_reason() {
    let pg = pg();
    let role = "golive_refused";
    create_app_role(pg, role, "Right-one-9f2a", "");
    let w = Workdir::new();
    let mut items = Items::new();
    for i in 0..8 {
        items.item(&format!("refused-{i}"), &url(&pg.primary.url(role, "Wrong-one-77b3", "app")), "reachable = true");
    }
    let mark = pg.primary.log_mark();
    let report = items.run(&w);
    for i in 0..8 {
        let id = format!("refused-{i}");
        assert_outcome(&report, &id, "error");
        let why = reason(&report, &id);
        assert!(
            why.contains("cannot log in to")
                && why.contains(&format!("password authentication failed for user \"{role}\"")),
            "{id}: {why}"
        );
        assert!(!why.contains("Wrong-one-77b3"), "{id} shows the password: {why}");
    }
    let failed = pg
        .primary
        .log_since(mark)
        .lines()
        .filter(|l| l.contains(&format!("password authentication failed for user \"{role}\"")))
        .count();
    assert!((1..=2).contains(&failed), "8 items made {failed} failed logins:\n{}", pg.primary.log_since(mark));
}

#[test]
fn an_idle_connection_the_server_closed_is_replaced() {
    let pg = pg();
    let w = Workdir::new();
    let pooled = url(&pg.primary.url(POOLED_USER, POOLED_PASSWORD, "diesel_app"));
    let superuser = url(&pg.primary.super_url("postgres"));
    let mark = pg.primary.log_mark();
    let mut items = Items::new();
    items.item("first", &pooled, "reachable = true");
    // Read-only transactions do not stop pg_terminate_backend (docs/postgres.md says so).
    items.item(
        "terminate",
        &format!(
            "{superuser}\ndepends_on = [\"first\"]\nallow_write_functions = true\nquery = \"select count(pg_terminate_backend(pid)) from pg_stat_activity where usename = 'pooled' and datname = 'diesel_app'\""
        ),
        "value = 1",
    );
    items.item("second", &format!("{pooled}\ndepends_on = [\"terminate\"]"), "reachable = true");
    let report = items.run(&w);
    for id in ["first", "terminate", "second"] {
        assert_outcome(&report, id, "pass");
    }
    let opened = pg
        .primary
        .log_since(mark)
        .lines()
        .filter(|l| l.contains("connection authorized: user=pooled database=diesel_app "))
        .count();
    assert_eq!(opened, 2);
}

#[test]
fn validation_names_unknown_facts_and_parameters() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"[checklist]
name = "v"
[[item]]
id = "a"
probe = "postgres"
url = "postgres://app:pw@127.0.0.1:5432/app"
sslmode = "sometimes"
expect = { server_versoin = ">= 14", setting.ssl = true, table_exists = { users = true } }
"#,
    );
    let out = w.run_blocking(&["validate", "golive.toml"], &[]);
    let text = stderr(&out) + &stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("did you mean `server_version`"), "{text}");
    assert!(text.contains("sslmode"), "{text}");
}

/// The ids of the ready-made checks in checks/database/ (`database.FILE-NAME`).
fn check_ids() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/database");
    let mut ids: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        // Manual checks (a person confirms them) are not about the postgres probe.
        .filter(|p| !std::fs::read_to_string(p).unwrap().contains("probe = \"manual\""))
        .map(|p| format!("database.{}", p.file_stem().unwrap().to_string_lossy()))
        .collect();
    ids.sort();
    assert!(ids.len() >= 14, "{ids:?}");
    ids
}

/// A checklist using every database check, with `vars` for the database to check.
fn checks_checklist(w: &Workdir, name: &str, vars: &[(&str, String)]) -> String {
    let mut toml = format!("[checklist]\nname = \"{name}\"\n\n[vars]\n");
    for (k, v) in vars {
        writeln!(toml, "{k} = {v:?}").unwrap();
    }
    for id in check_ids() {
        writeln!(toml, "[[item]]\nuse = \"{id}\"").unwrap();
    }
    w.write(&format!("{name}.toml"), &toml);
    format!("{name}.toml")
}

#[test]
fn every_database_check_validates() {
    let w = Workdir::new();
    let vars = [
        ("database_url", "postgres://u:p@127.0.0.1:5432/db".to_string()),
        ("database_admin_url", "postgres://admin:p@127.0.0.1:5432/db".to_string()),
        ("migrations_dir", "migrations".to_string()),
        ("test_data_query", "select count(*) from users where email like '%@example.test'".to_string()),
    ];
    let file = checks_checklist(&w, "all", &vars);
    let out = w.run_blocking(&["validate", &file], &[]);
    let text = stdout(&out) + &stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("warning"), "{text}");
    // Without values, each check names the var it needs.
    let file = checks_checklist(&w, "bare", &[]);
    let out = w.run_blocking(&["validate", &file], &[]);
    assert!(stderr(&out).contains("needs var `database_url`"), "{}", stderr(&out));
}

#[test]
fn database_checks_pass_on_a_well_configured_server_and_fail_on_a_misconfigured_one() {
    let pg = pg();
    let w = Workdir::new();
    let migrations = migrations_dir(
        &w,
        "migrations",
        &["20240101000001_create_users.sql", "20240101000002_add_email_index.sql", "20240101000003_add_audit_log.sql"],
    );
    let test_data = "select count(*) from users where email like '%@example.test'".to_string();
    let good = checks_checklist(
        &w,
        "good",
        &[
            (
                "database_url",
                format!("{}?sslmode=verify-full&sslrootcert={}", pg.primary.app_url("app"), pg.ca_file.display()),
            ),
            ("database_admin_url", pg.primary.super_url("postgres")),
            ("migrations_dir", migrations.clone()),
            ("test_data_query", test_data.clone()),
            // The test server runs with 16 MB of shared buffers.
            ("min_shared_buffers", "16MB".to_string()),
        ],
    );
    let (report, out) = run_json(&w, &good, &[]);
    let items = report["items"].as_array().unwrap();
    assert!(items.len() >= 14, "{}", items.len());
    for entry in items {
        let id = entry["id"].as_str().unwrap();
        assert_outcome(&report, id, "pass");
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // The standby: no TLS, trust lines, no slow-query log, failing archiving, no standbys of
    // its own; the `legacy` database: no extensions, a failed migration, test rows left; and
    // the application connecting as a superuser, so the checks that run a query refuse to.
    let bad = checks_checklist(
        &w,
        "bad",
        &[
            ("database_url", pg.standby.super_url("legacy")),
            ("database_admin_url", pg.standby.super_url("postgres")),
            ("migrations_dir", migrations),
            ("test_data_query", test_data),
        ],
    );
    let (report, out) = run_json(&w, &bad, &[]);
    // Listening on loopback only is true of the standby too.
    let still_fine = [
        "database.postgres-version",
        "database.connection-headroom",
        "database.superuser-count",
        "database.listen-local",
    ];
    let queries = [
        "database.vacuum-analyze",
        "database.unindexed-scans",
        "database.test-data-removed",
        "database.memory-tuned",
        "database.no-slow-queries",
    ];
    for entry in report["items"].as_array().unwrap() {
        let id = entry["id"].as_str().unwrap();
        let expected = if still_fine.contains(&id) {
            "pass"
        } else if queries.contains(&id) {
            "error"
        } else {
            "fail"
        };
        assert_outcome(&report, id, expected);
        if queries.contains(&id) {
            assert!(reason(&report, id).contains("is a superuser"), "{id}: {}", reason(&report, id));
        }
    }
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

/// The recipe docs/postgres.md gives for a role that cannot write: the SQL block after the
/// comment naming this test.
fn documented_recipe() -> String {
    let doc = std::fs::read_to_string(format!("{}/docs/postgres.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let marker = "postgres::a_role_that_can_write_around_the_read_only_transaction_has_its_query_refused";
    let after = &doc[doc.find(marker).expect("docs/postgres.md names this test at its recipe")..];
    let start = after.find("```sql\n").expect("a SQL block follows") + "```sql\n".len();
    let end = after[start..].find("```").unwrap();
    after[start..start + end].to_string()
}

#[test]
fn a_role_that_can_write_around_the_read_only_transaction_has_its_query_refused() {
    let pg = pg();
    let db = "golive_write_paths";
    let (role, password) = ("golive_ro", "Golive-ro-s3cret-61a2");
    pg.primary.sql("postgres", &format!("create database {db}"));
    // dblink and postgres_fdw installed (their functions executable by PUBLIC), and a
    // function in an untrusted language (plpgsql's handler, declared without TRUSTED).
    pg.primary.sql(
        db,
        &format!(
            "create extension dblink;
             create extension postgres_fdw;
             create language golive_plu handler plpgsql_call_handler inline plpgsql_inline_handler validator plpgsql_validator;
             create function golive_untrusted() returns int language golive_plu as 'begin return 1; end';
             create table t (x int);
             create role {role} login password '{password}';
             grant pg_monitor to {role};
             grant select on t to {role};"
        ),
    );
    let golive_ro = url(&pg.primary.url(role, password, db));
    let su = url(&pg.primary.super_url(db));
    // dblink connects on its own: as the superuser, with a password, to this database.
    let dblink = format!(
        "select dblink_exec('host=127.0.0.1 port={} dbname={db} user=golive_super password={SUPERUSER_PASSWORD}', 'insert into t values (1)')",
        pg.primary.port
    );
    let count = || pg.primary.scalar(db, "select count(*) from t");
    let w = Workdir::new();
    let report = Items::new()
        .item("dblink", &format!("{golive_ro}\nquery = \"{dblink}\""), "row_count = 1")
        .item("plain", &format!("{golive_ro}\nquery = \"select count(*) from t\""), "value = 0")
        .item("superuser", &format!("{su}\nquery = \"select 1\""), "value = 1")
        .item("no-query", &golive_ro, "reachable = true")
        .run(&w);
    for id in ["dblink", "plain", "superuser"] {
        assert_outcome(&report, id, "error");
        assert!(
            reason(&report, id).starts_with("query not run: the connecting role can write"),
            "{id}: {}",
            reason(&report, id)
        );
        assert!(reason(&report, id).contains("allow_write_functions = true"), "{id}: {}", reason(&report, id));
    }
    let why = reason(&report, "dblink");
    for named in ["dblink", "more", "which act outside the transaction"] {
        assert!(why.contains(named), "{why}");
    }
    assert!(reason(&report, "superuser").contains("superuser"), "{}", reason(&report, "superuser"));
    assert_outcome(&report, "no-query", "pass");
    assert_eq!(count(), "0", "nothing was written");

    // Allowed explicitly, the same query writes: the refusal was no false alarm.
    let report = Items::new()
        .item(
            "allowed",
            &format!("{golive_ro}\nallow_write_functions = true\nquery = \"{dblink}\""),
            "value = \"INSERT 0 1\"",
        )
        .item("superuser-allowed", &format!("{su}\nallow_write_functions = true\nquery = \"select 1\""), "value = 1")
        .run(&w);
    assert_outcome(&report, "allowed", "pass");
    assert_outcome(&report, "superuser-allowed", "pass");
    assert_eq!(count(), "1");

    // After the documented recipe, the role's queries run, and dblink is denied to it.
    pg.primary.sql(db, &documented_recipe());
    let objects = || pg.primary.scalar(db, "select count(*) from pg_largeobject_metadata");
    let large_objects_before = objects();
    let report = Items::new()
        .item("plain", &format!("{golive_ro}\nquery = \"select count(*) from t\""), "value = 1")
        .item("dblink", &format!("{golive_ro}\nquery = \"{dblink}\""), "row_count = 1")
        .item("untrusted", &format!("{golive_ro}\nquery = \"select golive_untrusted()\""), "value = 1")
        // Large-object writes stay inside the transaction golive rolls back.
        .item("large-object", &format!("{golive_ro}\nquery = \"select lo_from_bytea(0, 'golive')\""), "row_count = 1")
        .item("superuser", &format!("{su}\nquery = \"select 1\""), "value = 1")
        .run(&w);
    assert_outcome(&report, "plain", "pass");
    assert_outcome(&report, "large-object", "pass");
    for id in ["dblink", "untrusted"] {
        assert_outcome(&report, id, "error");
        assert!(reason(&report, id).contains("permission denied for function"), "{id}: {}", reason(&report, id));
    }
    assert_outcome(&report, "superuser", "error");
    assert_eq!(count(), "1", "nothing more was written");
    assert_eq!(objects(), large_objects_before, "no large object is left");
}

/// The shipped migrations check takes the migrations table (and its version column) as
/// vars: empty finds the framework's table, a name reads that table.
#[test]
fn the_shipped_migrations_check_reads_the_table_it_is_given() {
    let pg = pg();
    let w = Workdir::new();
    let done = migrations_dir(
        &w,
        "sqlx",
        &["20240101000001_create_users.sql", "20240101000002_add_email_index.sql", "20240101000003_add_audit_log.sql"],
    );
    let app = pg.primary.app_url("app");
    w.write(
        "golive.toml",
        &format!(
            "[vars]\ndatabase_url = \"{app}\"\nmigrations_dir = \"{done}\"\n\n[[item]]\nid = \"found\"\nuse = \"database.migrations-applied\"\n\n[[item]]\nid = \"named\"\nuse = \"database.migrations-applied\"\nvars = {{ migrations_table = \"public.app_schema_version\", migrations_column = \"version\" }}\n"
        ),
    );
    let (report, out) = run_json(&w, "golive.toml", &[]);
    assert_outcome(&report, "found", "pass");
    assert_eq!(fact(&report, "found", "migrations_table"), "_sqlx_migrations", "{}", stderr(&out));
    assert_eq!(fact(&report, "named", "migrations_table"), "public.app_schema_version");
    // That table holds versions 1 and 2, not the release's three sqlx migrations.
    assert_outcome(&report, "named", "fail");
    assert!(reason(&report, "named").contains("migrations_pending"), "{}", reason(&report, "named"));
}

/// `database.no-slow-queries` reads pg_stat_statements: a query that is called often and is
/// slow on average fails it (with the count), thresholds above it pass.
#[test]
fn the_slow_query_check_reads_pg_stat_statements() {
    let pg = pg();
    for _ in 0..3 {
        pg.primary.sql("app", "select pg_sleep(0.15), 'golive-slow-query-check'");
    }
    let w = Workdir::new();
    let app = pg.primary.app_url("app");
    w.write(
        "golive.toml",
        &format!(
            "[vars]\ndatabase_url = \"{app}\"\n\n[[item]]\nid = \"strict\"\nuse = \"database.no-slow-queries\"\nvars = {{ slow_query_min_calls = \"3\", slow_query_max_mean_ms = \"100\" }}\n\n[[item]]\nid = \"lenient\"\nuse = \"database.no-slow-queries\"\nvars = {{ slow_query_min_calls = \"3\", slow_query_max_mean_ms = \"60000\" }}\n"
        ),
    );
    let (report, out) = run_json(&w, "golive.toml", &[]);
    assert_outcome(&report, "strict", "fail");
    assert!(reason(&report, "strict").starts_with("value: expected == 0, observed "), "{}", reason(&report, "strict"));
    assert!(fact(&report, "strict", "value").as_i64().unwrap() >= 1);
    assert_outcome(&report, "lenient", "pass");
    assert_eq!(out.status.code(), Some(0), "medium fails do not block: {}", stderr(&out));
}
