//! Red/green pairs for shipped checks that used to pass while proving less than their title
//! (issue 9, §2): each one runs `golive run` with `use = "CHECK_ID"` items against real
//! servers on 127.0.0.1, one where the defect the title names is planted (it must fail, and
//! the reason must say why) and one set up right (it must pass).
//!
//! - `cache.redis-auth-required` used to pass with a wrong password in the URL: it never used
//!   the URL's credentials.
//! - `database.app-role-minimal` used to pass for a superuser without the other attributes.
//! - `security.cookies-secure` ignored SameSite, and one protected cookie vouched for all.

use crate::support as common;
use crate::support;

use std::sync::OnceLock;

use common::{Workdir, assert_outcome, item, stderr};
use serde_json::Value;
use support::pg::{PgConfig, SCRAM_HBA};
use support::{HttpServer, PgServer, RedisConfig, RedisServer, Route};

/// Runs `golive run golive.toml` with every report format: the JSON report, and everything
/// golive wrote anywhere (table on stdout, stderr, JSON, Markdown, JUnit, HTML), to search
/// for secrets.
async fn run_everywhere(w: &Workdir, toml: &str) -> (Value, String) {
    w.write("golive.toml", toml);
    let args = [
        "run",
        "golive.toml",
        "--output",
        "table",
        "--output",
        "json=report.json",
        "--output",
        "markdown=report.md",
        "--output",
        "junit=report.xml",
        "--output",
        "html=report.html",
    ];
    let out = w.run(&args).await;
    let report: Value = serde_json::from_str(&w.read("report.json"))
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr: {}", stderr(&out)));
    let mut everything = String::from_utf8_lossy(&out.stdout).into_owned() + &stderr(&out);
    for file in ["report.json", "report.md", "report.xml", "report.html"] {
        everything += &w.read(file);
    }
    (report, everything)
}

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// The item's failed expectation on `fact`, as the table shows it: `fact: expected …,
/// observed …` and its explanation.
fn failed_expectation(report: &Value, id: &str, fact: &str) -> String {
    let e = item(report, id)["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fact"] == fact)
        .unwrap_or_else(|| panic!("{id} expects nothing on {fact}"));
    assert_eq!(e["passed"], false, "{id}: {fact} held: {e:#}");
    format!("{e}")
}

fn assert_reason(report: &Value, id: &str, outcome: &str, parts: &[&str]) {
    assert_outcome(report, id, outcome);
    let why = reason(report, id);
    for part in parts {
        assert!(why.contains(part), "{id}: the reason should say {part:?}: {why}");
    }
}

// ── cache.redis-auth-required ─────────────────────────────────────────────────────────────

const REDIS_PASSWORD: &str = "Redis-Auth-S3cret-8812";
const ACL_PASSWORD: &str = "Acl-App-S3cret-2290";
const WRONG_PASSWORD: &str = "Wrong-Guess-S3cret-6071";

fn redis_item(id: &str, url: &str) -> String {
    format!("[[item]]\nid = \"{id}\"\nuse = \"cache.redis-auth-required\"\nvars = {{ redis_url = \"{url}\" }}\n\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_auth_required_proves_the_urls_credentials_are_checked() {
    let open = RedisServer::start();
    let locked = RedisServer::with_password(REDIS_PASSWORD);
    // ACL users (Redis 6+): the default user is off, `app` logs in with its own password.
    let acl =
        RedisConfig::new().line("user default off").line(&format!("user app on >{ACL_PASSWORD} ~* &* +@all")).start();
    let url = |server: &RedisServer, credentials: &str| format!("redis://{credentials}127.0.0.1:{}", server.port());
    let mut toml = String::from("[checklist]\nname = \"redis auth\"\n[defaults]\ntimeout = \"10s\"\n\n");
    for (id, target) in [
        ("open", url(&open, "")),
        ("open-with-password", url(&open, &format!(":{REDIS_PASSWORD}@"))),
        ("right", url(&locked, &format!(":{REDIS_PASSWORD}@"))),
        ("wrong", url(&locked, &format!(":{WRONG_PASSWORD}@"))),
        ("none-given", url(&locked, "")),
        ("acl-right", url(&acl, &format!("app:{ACL_PASSWORD}@"))),
        ("acl-wrong", url(&acl, &format!("app:{WRONG_PASSWORD}@"))),
        ("acl-wrong-user", url(&acl, &format!("nobody:{ACL_PASSWORD}@"))),
    ] {
        toml += &redis_item(id, &target);
    }
    let w = Workdir::new();
    let (report, everything) = run_everywhere(&w, &toml).await;

    // Set up right: anonymous clients are refused, the application's credentials work.
    assert_outcome(&report, "right", "pass");
    assert_outcome(&report, "acl-right", "pass");
    // No password configured: anyone gets in.
    assert_reason(&report, "open", "fail", &["auth_required: expected == true, observed false"]);
    assert_reason(&report, "open-with-password", "fail", &["auth_required: expected == true, observed false"]);
    assert!(
        failed_expectation(&report, "open-with-password", "credentials_accepted")
            .contains("the server has no password set, yet the item gives one"),
        "{}",
        failed_expectation(&report, "open-with-password", "credentials_accepted")
    );
    // A password is required, but the URL's is wrong (or missing): the check says so.
    for id in ["wrong", "acl-wrong", "acl-wrong-user"] {
        assert_reason(
            &report,
            id,
            "fail",
            &["credentials_accepted: expected == true, observed false", "WRONGPASS", "wrong username or password"],
        );
    }
    assert_reason(&report, "none-given", "fail", &["credentials_accepted: expected == true", "gives no password"]);

    for secret in [REDIS_PASSWORD, ACL_PASSWORD, WRONG_PASSWORD] {
        assert!(!everything.contains(secret), "a Redis password reached an output");
    }
    // The URLs did reach the outputs, masked.
    assert!(everything.contains("redis://app:***@127.0.0.1"), "the URLs are shown masked");
}

// ── database.app-role-minimal ─────────────────────────────────────────────────────────────

const ROLE_PASSWORD: &str = "Role-S3cret-4471";

/// One PostgreSQL server for this module, with a role per attribute the check forbids.
pub(crate) fn pg() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = PgServer::start(PgConfig { settings: Vec::new(), hba: SCRAM_HBA.into(), tls: None });
        let mut sql = String::new();
        for (role, attributes) in [
            ("plain_app", ""),
            // A superuser without any other attribute: it can still do everything.
            ("bare_super", "superuser nocreaterole nocreatedb noreplication nobypassrls"),
            ("role_maker", "createrole"),
            ("db_maker", "createdb"),
            ("replicator", "replication"),
            ("rls_bypasser", "bypassrls"),
        ] {
            sql += &format!("create role {role} login password '{ROLE_PASSWORD}' {attributes};\n");
        }
        sql += "grant connect on database postgres to plain_app;\n";
        server.sql("postgres", &sql);
        server
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn app_role_minimal_fails_for_a_superuser_and_each_cluster_wide_power() {
    let pg = pg();
    let mut toml = String::from("[checklist]\nname = \"roles\"\n[defaults]\ntimeout = \"20s\"\n\n");
    let item = |id: &str, url: &str| {
        format!(
            "[[item]]\nid = \"{id}\"\nuse = \"database.app-role-minimal\"\nvars = {{ database_url = \"{url}\" }}\n\n"
        )
    };
    toml += &item("initdb-superuser", &pg.super_url("postgres"));
    for role in ["plain_app", "bare_super", "role_maker", "db_maker", "replicator", "rls_bypasser"] {
        toml += &item(role, &pg.url(role, ROLE_PASSWORD, "postgres"));
    }
    let w = Workdir::new();
    let (report, everything) = run_everywhere(&w, &toml).await;

    assert_outcome(&report, "plain_app", "pass");
    let superuser = support::pg::SUPERUSER;
    assert_reason(
        &report,
        "initdb-superuser",
        "fail",
        &["role_superuser: expected == false, observed true", &format!("role_name: {superuser}")],
    );
    assert_reason(&report, "bare_super", "fail", &["role_superuser: expected == false, observed true", "bare_super"]);
    for (role, attribute) in [
        ("role_maker", "role_createrole"),
        ("db_maker", "role_createdb"),
        ("replicator", "role_replication"),
        ("rls_bypasser", "role_bypassrls"),
    ] {
        assert_reason(
            &report,
            role,
            "fail",
            &[&format!("{attribute}: expected == false, observed true"), &format!("role_name: {role}")],
        );
    }
    assert!(!everything.contains(ROLE_PASSWORD), "a role's password reached an output");
    assert!(everything.contains("postgres://plain_app:***@127.0.0.1"), "the URLs are shown masked");
    assert!(!everything.contains(support::pg::SUPERUSER_PASSWORD), "the superuser's password reached an output");
}

// ── security.cookies-secure ───────────────────────────────────────────────────────────────

const SESSION_VALUE: &str = "sess-V4lue-3f9a0c";
const PREFS_VALUE: &str = "prefs-V4lue-77d1";

#[tokio::test(flavor = "multi_thread")]
async fn cookies_secure_judges_every_cookie_and_needs_samesite() {
    let session = |attributes: &str| format!("sid={SESSION_VALUE}; Path=/{attributes}");
    let server = HttpServer::start(vec![
        Route::new("/all-flags").header("set-cookie", &session("; Secure; HttpOnly; SameSite=Lax")),
        Route::new("/strict-and-none")
            .header("set-cookie", &session("; Secure; HttpOnly; SameSite=Strict"))
            .header("set-cookie", &format!("embed={PREFS_VALUE}; Secure; HttpOnly; SameSite=None")),
        Route::new("/no-samesite").header("set-cookie", &session("; Secure; HttpOnly")),
        Route::new("/one-insecure")
            .header("set-cookie", &session("; Secure; HttpOnly; SameSite=Lax"))
            .header("set-cookie", &format!("prefs={PREFS_VALUE}; Path=/; HttpOnly")),
        Route::new("/none-without-secure").header("set-cookie", &session("; HttpOnly; SameSite=None")),
        Route::new("/no-cookie"),
    ])
    .await;
    let mut toml = format!("[checklist]\nname = \"cookies\"\n[vars]\nbase_url = \"{}\"\n\n", server.url(""));
    for path in ["all-flags", "strict-and-none", "no-samesite", "one-insecure", "none-without-secure", "no-cookie"] {
        toml += &format!(
            "[[item]]\nid = \"{path}\"\nuse = \"security.cookies-secure\"\nvars = {{ cookie_path = \"/{path}\" }}\n\n"
        );
    }
    let w = Workdir::new();
    let (report, everything) = run_everywhere(&w, &toml).await;

    assert_outcome(&report, "all-flags", "pass");
    assert_outcome(&report, "strict-and-none", "pass");
    assert_reason(&report, "no-samesite", "fail", &["insecure_cookies: expected == []", "sid (no SameSite)"]);
    // The protected session cookie does not vouch for the other one: it is named, alone.
    assert_reason(&report, "one-insecure", "fail", &["prefs (no Secure, no SameSite)"]);
    assert!(!reason(&report, "one-insecure").contains("sid"), "{}", reason(&report, "one-insecure"));
    assert_reason(&report, "none-without-secure", "fail", &["sid (no Secure, SameSite=None without Secure)"]);
    assert_reason(&report, "no-cookie", "fail", &["headers.set-cookie"]);

    for value in [SESSION_VALUE, PREFS_VALUE] {
        assert!(!everything.contains(value), "a cookie value reached an output");
    }
    // The header did reach the outputs, its values masked.
    assert!(everything.contains("prefs=***; Path=/; HttpOnly"), "Set-Cookie is shown masked");
}
