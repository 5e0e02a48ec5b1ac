//! `postgres`: connects to a PostgreSQL server and observes its version, TLS, settings,
//! extensions, roles and privileges, connections, size, migrations, pg_hba.conf rules, WAL
//! archiving, replication, and the result of a user's own query.
//!
//! Read-only by construction: every statement of an item runs inside one
//! `BEGIN READ ONLY` transaction (with `statement_timeout` set to the item's timeout, and a
//! snapshot taken first so the transaction cannot be switched to read-write), which is
//! rolled back at the end. A user's `query` runs only when the connecting role cannot write
//! around that transaction (no superuser, no COPY TO roles, no dblink, postgres_fdw,
//! adminpack, lo_import/lo_export or untrusted-language functions it may execute), unless
//! the item sets `allow_write_functions`. A fact is computed only when the item's `expect`
//! names it, so an item costs only its own queries. Items with the same connection settings
//! share one small pool per run (see postgres_pool.rs).

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::Duration;

use futures::TryStreamExt;
use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgRow, PgSslMode};
use sqlx::{AssertSqlSafe, Row};

use super::postgres_migrations::{self as migrations, FRAMEWORKS};
use super::postgres_pool::{Lease, PoolKey};
use super::postgres_values::column_value;
use super::{FactSpec, Facts, ParamProblem, ParamSpec, ParamType, Params, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value, compare_versions};

const SSL_MODES: &[&str] = &["disable", "allow", "prefer", "require", "verify-ca", "verify-full"];

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "postgres",
    summary: "Connects to PostgreSQL in a read-only transaction; observes version, TLS, settings, extensions, roles, privileges, connections, migrations, pg_hba.conf, archiving, replication and query results.",
    params: &[
        ParamSpec::optional(
            "url",
            ParamType::Url,
            "connection URL, e.g. \"postgres://app:…@db:5432/app?sslmode=verify-full\"; the password is never shown. Give url or host",
        ),
        ParamSpec::optional(
            "host",
            ParamType::String,
            "server host name or IP (instead of url, or overriding its host)",
        ),
        ParamSpec::optional("port", ParamType::Integer, "server port (default 5432)"),
        ParamSpec::optional("user", ParamType::String, "role to log in as"),
        ParamSpec {
            name: "password",
            ty: ParamType::String,
            required: false,
            default: None,
            secret: true,
            doc: "password of user; never shown",
        },
        ParamSpec::optional("database", ParamType::String, "database to connect to (default: the user's name)"),
        ParamSpec::optional(
            "sslmode",
            ParamType::Choice(SSL_MODES),
            "TLS mode as in libpq (default prefer, or the URL's sslmode); verify-ca and verify-full check the certificate with rustls",
        ),
        ParamSpec::optional(
            "sslrootcert",
            ParamType::Path,
            "PEM file of the CA certificates to trust for verify-ca and verify-full (default: the web PKI roots)",
        ),
        ParamSpec::optional(
            "query",
            ParamType::String,
            "one SQL statement whose result gives value, rows and row_count; it runs in the read-only transaction, so statements that write fail",
        ),
        ParamSpec::optional(
            "params",
            ParamType::StringList,
            "values for $1, $2 … in query, sent as text (cast in SQL when needed: $1::int)",
        ),
        ParamSpec::with_default("max_rows", ParamType::Integer, "1000", "keep at most this many rows in the rows fact"),
        ParamSpec::with_default(
            "allow_write_functions",
            ParamType::Bool,
            "false",
            "run query even when the connecting role can write around the read-only transaction (a superuser, COPY TO roles, dblink, postgres_fdw, adminpack, lo_import/lo_export, untrusted-language functions); refused otherwise",
        ),
        ParamSpec::optional(
            "role",
            ParamType::String,
            "the role that role_* and *_privileges facts describe (default: the connecting role)",
        ),
        ParamSpec::optional(
            "migrations_table",
            ParamType::String,
            "table of applied migrations (default: found among _sqlx_migrations, __diesel_schema_migrations, flyway_schema_history, schema_migrations)",
        ),
        ParamSpec::optional(
            "migrations_column",
            ParamType::String,
            "column holding the version in migrations_table (default: version)",
        ),
        ParamSpec::optional(
            "migrations_dir",
            ParamType::Path,
            "directory of migration files to compare with the applied ones (for migrations_pending)",
        ),
    ],
    facts: &[
        FactSpec::new("reachable", FactType::Bool, "connected, logged in and opened a read-only transaction"),
        FactSpec::new(
            "server_version",
            FactType::Version,
            "server version, compared version-aware: \">= 14\", \">= 15.4\"",
        ),
        FactSpec::new("server_version_num", FactType::Integer, "server version as a number, e.g. 150004"),
        FactSpec::new("in_recovery", FactType::Bool, "the server is a standby (or recovering)"),
        FactSpec::new("current_user", FactType::String, "the role this connection runs as"),
        FactSpec::new("ssl_in_use", FactType::Bool, "this connection is encrypted (pg_stat_ssl)"),
        FactSpec::new("ssl_protocol", FactType::Version, "TLS version of this connection, e.g. TLSv1.3"),
        FactSpec::new("ssl_cipher", FactType::String, "TLS cipher of this connection"),
        FactSpec::new(
            "setting.<name>",
            FactType::Any,
            "a pg_settings entry: bool settings are true/false, integer and real ones numbers in the setting's own unit (log_min_duration_statement in ms), others text",
        ),
        FactSpec::new("extensions", FactType::StringList, "names of the extensions installed in this database"),
        FactSpec::new("extension_versions.<name>", FactType::Version, "installed version of an extension"),
        FactSpec::new("available_extensions", FactType::StringList, "names of the extensions the server could install"),
        FactSpec::new(
            "role_name",
            FactType::String,
            "the role that the role_* facts describe: role, or the connecting role (set with any role_* fact)",
        ),
        FactSpec::new("role_superuser", FactType::Bool, "the role is a superuser"),
        FactSpec::new("role_createrole", FactType::Bool, "the role may create roles"),
        FactSpec::new("role_createdb", FactType::Bool, "the role may create databases"),
        FactSpec::new("role_replication", FactType::Bool, "the role may start replication"),
        FactSpec::new("role_bypassrls", FactType::Bool, "the role bypasses row-level security"),
        FactSpec::new("role_login", FactType::Bool, "the role may log in"),
        FactSpec::new("superuser_count", FactType::Integer, "roles that are superusers and may log in"),
        FactSpec::new("connections_used", FactType::Integer, "client connections open on the server now"),
        FactSpec::new("connections_max", FactType::Integer, "max_connections"),
        FactSpec::new(
            "connections_headroom_percent",
            FactType::Number,
            "share of max_connections still free: 100 × (max − used) / max",
        ),
        FactSpec::new("database_size", FactType::Bytes, "size of the connected database"),
        FactSpec::new(
            "table_exists.<name>",
            FactType::Bool,
            "a table, view or other relation of that name is visible; quote schema-qualified names: table_exists.\"public.users\"",
        ),
        FactSpec::new(
            "table_privileges.<table>",
            FactType::StringList,
            "privileges the role holds on a table: SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER (an error when there is no such table)",
        ),
        FactSpec::new(
            "schema_privileges.<schema>",
            FactType::StringList,
            "privileges the role holds on a schema: USAGE, CREATE",
        ),
        FactSpec::new(
            "database_privileges.<database>",
            FactType::StringList,
            "privileges the role holds on a database: CREATE, CONNECT, TEMPORARY",
        ),
        FactSpec::new("migrations_table", FactType::String, "the migrations table read"),
        FactSpec::new("migrations_applied_count", FactType::Integer, "migrations applied successfully"),
        FactSpec::new(
            "migrations_latest_version",
            FactType::Version,
            "highest applied version, compared version-aware",
        ),
        FactSpec::new(
            "migrations_failed_count",
            FactType::Integer,
            "migrations recorded as failed (sqlx and Flyway success = false, golang-migrate dirty)",
        ),
        FactSpec::new(
            "migrations_failed",
            FactType::StringList,
            "the failed migrations: version, and description where the table records one",
        ),
        FactSpec::new("migrations_pending", FactType::StringList, "versions in migrations_dir that are not applied"),
        FactSpec::new(
            "migrations_pending_count",
            FactType::Integer,
            "how many versions in migrations_dir are not applied",
        ),
        FactSpec::new(
            "hba_insecure_rules",
            FactType::StringList,
            "pg_hba.conf lines (as the file is now) using trust or password (clear text); needs a role that may read pg_hba_file_rules, else an error",
        ),
        FactSpec::new("archiver_archived_count", FactType::Integer, "WAL files archived since statistics reset"),
        FactSpec::new(
            "archiver_failed_count",
            FactType::Integer,
            "failed WAL archiving attempts since statistics reset",
        ),
        FactSpec::new(
            "last_archived_age",
            FactType::Duration,
            "time since the last WAL file was archived (absent when none was)",
        ),
        FactSpec::new(
            "last_failed_after_last_success",
            FactType::Bool,
            "the latest archiving attempt failed: archiving is broken now",
        ),
        FactSpec::new(
            "standby_count",
            FactType::Integer,
            "standbys connected to this server and replaying its WAL (pg_stat_replication); a pg_basebackup or pg_receivewal connection, which replays nothing, is not one (told apart only with pg_read_all_stats: without it every connection counts)",
        ),
        FactSpec::new(
            "max_replay_lag",
            FactType::Duration,
            "largest replay lag of the standbys (0 when caught up; absent without standbys); needs pg_read_all_stats, else an error",
        ),
        FactSpec::new("value", FactType::Any, "query: the first column of the first row (absent without rows)"),
        FactSpec::new(
            "rows",
            FactType::Any,
            "query: the rows (up to max_rows), each a list of column values, or the value itself for one column",
        ),
        FactSpec::new("row_count", FactType::Integer, "query: how many rows it returned"),
    ],
    default_expect: &[("reachable", "true")],
    observe: Some(observe),
    check: Some(check),
    notes: &[],
};

const NO_SERVER: &str = "give `url`, or `host` (with user, password, database)";

fn bad_port(port: i64) -> String {
    format!("port {port} is not a TCP port")
}

/// Where to connect must be given, and a port must be a port.
fn check(p: &Params) -> Vec<ParamProblem> {
    let mut problems = Vec::new();
    if p.get("url").is_none() && p.get("host").is_none() {
        problems.push(ParamProblem::new("url", NO_SERVER).hint("url = \"postgres://user@host:5432/db\""));
    }
    if let Some(port) = p.int("port")
        && u16::try_from(port).is_err()
    {
        problems.push(ParamProblem::new("port", bad_port(port)));
    }
    problems
}

/// Facts answered by one pg_roles row, with their column.
const ROLE_FACTS: &[(&str, &str)] = &[
    ("role_superuser", "rolsuper"),
    ("role_createrole", "rolcreaterole"),
    ("role_createdb", "rolcreatedb"),
    ("role_replication", "rolreplication"),
    ("role_bypassrls", "rolbypassrls"),
    ("role_login", "rolcanlogin"),
];

const MIGRATION_FACTS: &[&str] = &[
    "migrations_table",
    "migrations_applied_count",
    "migrations_latest_version",
    "migrations_failed_count",
    "migrations_failed",
    "migrations_pending",
    "migrations_pending_count",
];

/// Privilege families: fact prefix, the has_*_privilege function, the privileges it knows.
const PRIVILEGE_FACTS: &[(&str, &str, &[&str])] = &[
    (
        "table_privileges.",
        "has_table_privilege",
        &["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
    ),
    ("schema_privileges.", "has_schema_privilege", &["USAGE", "CREATE"]),
    ("database_privileges.", "has_database_privilege", &["CREATE", "CONNECT", "TEMPORARY"]),
];

/// Where and as whom to connect, from the item's parameters.
struct Target {
    options: PgConnectOptions,
    /// `user@host:port/database`, for messages.
    shown: String,
}

fn target(p: &Params) -> Result<Target, ProbeError> {
    let url = p.str("url");
    let mut options = match url {
        Some(url) => PgConnectOptions::from_str(url).map_err(|e| {
            ProbeError::new(format!("url is not a PostgreSQL connection URL: {}", scrub(&e.to_string())))
        })?,
        None if p.str("host").is_some() => PgConnectOptions::new_without_pgpass(),
        None => return Err(ProbeError::new(NO_SERVER)),
    };
    if let Some(host) = p.str("host") {
        options = options.host(host);
    }
    if let Some(port) = p.int("port") {
        let port = u16::try_from(port).map_err(|_| ProbeError::new(bad_port(port)))?;
        options = options.port(port);
    }
    if let Some(user) = p.str("user") {
        options = options.username(user);
    }
    if let Some(password) = p.str("password") {
        options = options.password(password);
    }
    if let Some(database) = p.str("database") {
        options = options.database(database);
    }
    if let Some(mode) = p.str("sslmode") {
        options = options.ssl_mode(PgSslMode::from_str(mode).map_err(|e| ProbeError::new(e.to_string()))?);
    }
    if let Some(ca) = p.str("sslrootcert") {
        options = options.ssl_root_cert(ca);
    }
    options = options.application_name("golive");
    let shown = format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or(options.get_username())
    );
    Ok(Target { options, shown })
}

/// The pool an item's connections come from: every parameter `target` reads. Items with
/// the same key share a pool, and only the first of them has its settings parsed.
fn pool_key(p: &Params) -> PoolKey {
    PoolKey(
        ["url", "host", "user", "password", "database", "sslmode", "sslrootcert"]
            .iter()
            .map(|name| p.str(name).map(str::to_string))
            .chain([p.int("port").map(|i| i.to_string())])
            .collect(),
    )
}

/// A URL parse error may quote the URL; keep only what is safe to show.
fn scrub(message: &str) -> String {
    crate::redact::mask_url_password(message)
}

fn observe<'a>(input: &'a ProbeInput, shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let key = pool_key(&input.params);
        let pool = match shared.postgres.existing(&key) {
            Some(pool) => pool,
            None => {
                let target = target(&input.params)?;
                shared.postgres.pool(key, || target.options, target.shown)
            }
        };
        let shown = pool.target.clone();
        // Leave a little of the item's time so a connection problem is reported as what it
        // is, rather than as the engine's plain "timed out".
        let budget = input.timeout.saturating_sub((input.timeout / 10).min(Duration::from_millis(500)));
        let started = tokio::time::Instant::now();
        let mut lease = pool.acquire(budget).await?;
        let rollback_first = lease.rollback_first;
        if let Err(e) = begin_read_only(lease.conn(), input.timeout, rollback_first).await {
            if !lease.reused {
                return Err(ProbeError::new(format!("cannot start a read-only transaction on {shown}: {e}")));
            }
            // An idle connection the server has since closed: open a fresh one, once.
            lease.reconnect(budget.saturating_sub(started.elapsed())).await?;
            begin_read_only(lease.conn(), input.timeout, false)
                .await
                .map_err(|e| ProbeError::new(format!("cannot start a read-only transaction on {shown}: {e}")))?;
        }
        let result = gather(&mut lease, input, &shown).await;
        finish(lease).await;
        result
    })
}

/// Opens the item's transaction: read-only, bounded by the item's timeout, and with its
/// snapshot taken, after which PostgreSQL refuses `SET TRANSACTION READ WRITE`.
///
/// `rollback_first`: the connection is still in the read-only transaction of the item that
/// handed it on ([`Lease::hand_on`]); it is rolled back in the same round trip.
async fn begin_read_only(conn: &mut PgConnection, timeout: Duration, rollback_first: bool) -> Result<(), BeginError> {
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
    let rollback = if rollback_first { "ROLLBACK; " } else { "" };
    let sql = format!("{rollback}BEGIN TRANSACTION READ ONLY; SET LOCAL statement_timeout = {ms}; SELECT 1");
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *conn).await.map(|_| ()).map_err(BeginError)
}

/// Why the read-only transaction could not start: the server's own message when it gave one.
#[derive(Debug, thiserror::Error)]
#[error("{}", match &self.0 { sqlx::Error::Database(db) => db.message().to_string(), other => other.to_string() })]
struct BeginError(#[source] sqlx::Error);

/// Ends the item's transaction. While other items wait for a connection, the next one rolls
/// it back as it begins its own ([`Lease::hand_on`]); otherwise it is rolled back now, and
/// the connection is reused only when that worked.
async fn finish(mut lease: Lease) {
    if lease.others_wait() {
        lease.hand_on();
        return;
    }
    if sqlx::raw_sql("ROLLBACK").execute(lease.conn()).await.is_ok() {
        lease.release();
    }
}

/// Why a statement failed, naming the fact it was for.
fn query_error(what: &str, target: &str, e: sqlx::Error) -> ProbeError {
    ProbeError::new(match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.to_string()).unwrap_or_default();
            let mut m = format!("{what}: {} (SQLSTATE {code})", db.message());
            if code == "57014" {
                m.push_str("; statement_timeout is the item's timeout");
            }
            m
        }
        sqlx::Error::Io(io) => format!("{what}: connection to {target} lost: {io}"),
        other => format!("{what}: {other}"),
    })
}

struct Ctx<'a> {
    input: &'a ProbeInput,
    target: &'a str,
}

impl Ctx<'_> {
    fn wants(&self, fact: &str) -> bool {
        self.input.wants(fact)
    }

    fn wants_any(&self, facts: &[&str]) -> bool {
        facts.iter().any(|f| self.input.wants(f))
    }

    /// The part after `prefix` of every wanted fact of that family.
    fn family(&self, prefix: &str) -> Vec<String> {
        self.input.wanted.iter().filter_map(|w| w.strip_prefix(prefix)).map(str::to_string).collect()
    }
}

async fn rows<'q>(
    conn: &mut PgConnection,
    ctx: &Ctx<'_>,
    what: &str,
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<Vec<PgRow>, ProbeError> {
    query.fetch_all(&mut *conn).await.map_err(|e| query_error(what, ctx.target, e))
}

async fn one<'q>(
    conn: &mut PgConnection,
    ctx: &Ctx<'_>,
    what: &str,
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<PgRow, ProbeError> {
    query.fetch_one(&mut *conn).await.map_err(|e| query_error(what, ctx.target, e))
}

fn get<'r, T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(
    row: &'r PgRow,
    index: usize,
    what: &str,
) -> Result<T, ProbeError> {
    row.try_get(index).map_err(|e| ProbeError::new(format!("{what}: unexpected answer: {e}")))
}

async fn gather(lease: &mut Lease, input: &ProbeInput, target: &str) -> Result<Facts, ProbeError> {
    let ctx = Ctx { input, target };
    let pool = lease.pool().clone();
    let conn = lease.conn();
    let mut facts = Facts::default();
    facts.set("reachable", Value::Bool(true));

    if ctx.wants_any(&["server_version", "server_version_num", "in_recovery", "current_user"]) {
        let what = "server_version";
        let row = one(
            conn,
            &ctx,
            what,
            sqlx::query(
                "select current_setting('server_version'), current_setting('server_version_num')::int8, \
                 pg_is_in_recovery(), current_user::text",
            ),
        )
        .await?;
        facts.set("server_version", Value::Version(get(&row, 0, what)?));
        facts.set("server_version_num", Value::Int(get(&row, 1, what)?));
        facts.set("in_recovery", Value::Bool(get(&row, 2, what)?));
        facts.set("current_user", Value::Str(get(&row, 3, what)?));
    }

    if ctx.wants_any(&["ssl_in_use", "ssl_protocol", "ssl_cipher"]) {
        let what = "ssl_in_use";
        let row = one(
            conn,
            &ctx,
            what,
            sqlx::query(
                "select coalesce(bool_or(ssl), false), max(version), max(cipher) from pg_stat_ssl where pid = pg_backend_pid()",
            ),
        )
        .await?;
        facts.set("ssl_in_use", Value::Bool(get(&row, 0, what)?));
        if let Some(v) = get::<Option<String>>(&row, 1, what)? {
            facts.set("ssl_protocol", Value::Version(v));
        }
        if let Some(c) = get::<Option<String>>(&row, 2, what)? {
            facts.set("ssl_cipher", Value::Str(c));
        }
    }

    let settings = ctx.family("setting.");
    if !settings.is_empty() {
        settings_facts(conn, &ctx, &settings, &mut facts).await?;
    }

    if ctx.wants("extensions") || ctx.wants("extension_versions") {
        let what = "extensions";
        let found =
            rows(conn, &ctx, what, sqlx::query("select extname::text, extversion from pg_extension order by 1"))
                .await?;
        let mut names = Vec::new();
        let mut versions = BTreeMap::new();
        for row in &found {
            let name: String = get(row, 0, what)?;
            versions.insert(name.clone(), get::<String>(row, 1, what)?);
            names.push(name);
        }
        if ctx.wants("extensions") {
            facts.set("extensions", Value::string_list(names));
        }
        for name in ctx.family("extension_versions.") {
            if let Some(v) = versions.get(&name) {
                facts.set(format!("extension_versions.{name}"), Value::Version(v.clone()));
            }
        }
    }

    if ctx.wants("available_extensions") {
        let what = "available_extensions";
        let found =
            rows(conn, &ctx, what, sqlx::query("select name::text from pg_available_extensions order by 1")).await?;
        let names = found.iter().map(|r| get::<String>(r, 0, what)).collect::<Result<Vec<_>, _>>()?;
        facts.set("available_extensions", Value::string_list(names));
    }

    let role = input.params.str("role").map(str::to_string);
    if ROLE_FACTS.iter().any(|(f, _)| ctx.wants(f)) || ctx.wants("role_name") {
        let what = "role";
        let found = rows(
            conn,
            &ctx,
            what,
            sqlx::query(
                "select rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, \
                 rolname::text from pg_roles where rolname = coalesce($1::text, current_user)",
            )
            .bind(role.clone()),
        )
        .await?;
        let Some(row) = found.first() else {
            return Err(ProbeError::new(format!("role {:?} does not exist", role.unwrap_or_default())));
        };
        for (index, (fact, _)) in ROLE_FACTS.iter().enumerate() {
            facts.set(*fact, Value::Bool(get(row, index, what)?));
        }
        // Names the role in every role_* failure's reason.
        facts.set("role_name", Value::Str(get(row, ROLE_FACTS.len(), what)?));
    }

    if ctx.wants("superuser_count") {
        let what = "superuser_count";
        let row =
            one(conn, &ctx, what, sqlx::query("select count(*) from pg_roles where rolsuper and rolcanlogin")).await?;
        facts.set("superuser_count", Value::Int(get(&row, 0, what)?));
    }

    if ctx.wants_any(&["connections_used", "connections_max", "connections_headroom_percent"]) {
        let what = "connections_used";
        let row = one(
            conn,
            &ctx,
            what,
            sqlx::query(
                "select (select count(*) from pg_stat_activity where backend_type = 'client backend'), \
                 current_setting('max_connections')::int8",
            ),
        )
        .await?;
        let (used, max): (i64, i64) = (get(&row, 0, what)?, get(&row, 1, what)?);
        facts.set("connections_used", Value::Int(used));
        facts.set("connections_max", Value::Int(max));
        if max > 0 {
            let percent = 100.0 * (max - used) as f64 / max as f64;
            facts.set("connections_headroom_percent", Value::Float((percent * 10.0).round() / 10.0));
        }
    }

    if ctx.wants("database_size") {
        let what = "database_size";
        let row = one(conn, &ctx, what, sqlx::query("select pg_database_size(current_database())")).await?;
        facts.set("database_size", Value::Bytes(get::<i64>(&row, 0, what)?.max(0) as u64));
    }

    let tables = ctx.family("table_exists.");
    if !tables.is_empty() {
        let what = "table_exists";
        let found = rows(
            conn,
            &ctx,
            what,
            sqlx::query("select n, to_regclass(n) is not null from unnest($1::text[]) as n").bind(tables),
        )
        .await?;
        for row in &found {
            let name: String = get(row, 0, what)?;
            facts.set(format!("table_exists.{name}"), Value::Bool(get(row, 1, what)?));
        }
    }

    for (prefix, function, privileges) in PRIVILEGE_FACTS {
        for object in ctx.family(prefix) {
            let what = format!("{prefix}{object}");
            let sql = format!(
                "select p from unnest($3::text[]) with ordinality as u(p, o) \
                 where {function}(coalesce($1::text, current_user)::name, $2::text, p) order by o"
            );
            let list: Vec<String> = privileges.iter().map(|p| p.to_string()).collect();
            let found = rows(
                conn,
                &ctx,
                &what,
                sqlx::query(AssertSqlSafe(sql)).bind(role.clone()).bind(object.clone()).bind(list),
            )
            .await?;
            let held = found.iter().map(|r| get::<String>(r, 0, &what)).collect::<Result<Vec<_>, _>>()?;
            facts.set(what, Value::string_list(held));
        }
    }

    if ctx.wants_any(MIGRATION_FACTS) {
        migration_facts(conn, &ctx, &mut facts).await?;
    }

    if ctx.wants("hba_insecure_rules") {
        hba_facts(conn, &ctx, &mut facts).await?;
    }

    if ctx.wants_any(&[
        "archiver_archived_count",
        "archiver_failed_count",
        "last_archived_age",
        "last_failed_after_last_success",
    ]) {
        let what = "archiver";
        let row = one(
            conn,
            &ctx,
            what,
            sqlx::query(
                "select archived_count, failed_count, \
                 extract(epoch from (now() - last_archived_time))::float8, \
                 (last_failed_time is not null and (last_archived_time is null or last_failed_time > last_archived_time)) \
                 from pg_stat_archiver",
            ),
        )
        .await?;
        facts.set("archiver_archived_count", Value::Int(get(&row, 0, what)?));
        facts.set("archiver_failed_count", Value::Int(get(&row, 1, what)?));
        if let Some(age) = get::<Option<f64>>(&row, 2, what)? {
            facts.set("last_archived_age", Value::Duration(Duration::from_secs_f64(age.max(0.0))));
        }
        facts.set("last_failed_after_last_success", Value::Bool(get(&row, 3, what)?));
    }

    if ctx.wants_any(&["standby_count", "max_replay_lag"]) {
        let what = "replication";
        let row = one(
            conn,
            &ctx,
            what,
            sqlx::query(
                "select count(*) filter (where not pg_has_role('pg_read_all_stats', 'usage') \
                                          or (state is distinct from 'backup' and replay_lsn is not null)), \
                 extract(epoch from max(case when state = 'streaming' then coalesce(replay_lag, interval '0') else replay_lag end))::float8, \
                 pg_has_role('pg_read_all_stats', 'usage') \
                 from pg_stat_replication",
            ),
        )
        .await?;
        let count: i64 = get(&row, 0, what)?;
        let lag: Option<f64> = get(&row, 1, what)?;
        let privileged: bool = get(&row, 2, what)?;
        facts.set("standby_count", Value::Int(count));
        if ctx.wants("max_replay_lag") && count > 0 && !privileged {
            return Err(ProbeError::new(
                "max_replay_lag: the connecting role cannot see replication details in pg_stat_replication; \
                 it needs pg_read_all_stats (GRANT pg_read_all_stats TO …) or superuser",
            ));
        }
        if let Some(lag) = lag {
            facts.set("max_replay_lag", Value::Duration(Duration::from_secs_f64(lag.max(0.0))));
        }
    }

    if let Some(sql) = input.params.str("query") {
        if !input.params.bool("allow_write_functions") {
            let found = pool.write_capabilities.get_or_look_up(|| write_capabilities(conn, &ctx)).await?;
            refuse_if_role_can_write(&found)?;
        }
        query_facts(conn, &ctx, sql, &mut facts).await?;
    } else if ctx.wants_any(&["value", "rows", "row_count"]) {
        return Err(ProbeError::new("value, rows and row_count come from `query`; set query = \"select …\""));
    }
    Ok(facts)
}

/// `setting.<name>`: typed from pg_settings; a setting only some roles may read is an
/// error saying so (from current_setting), and an unknown one is absent.
async fn settings_facts(
    conn: &mut PgConnection,
    ctx: &Ctx<'_>,
    names: &[String],
    facts: &mut Facts,
) -> Result<(), ProbeError> {
    let what = "setting";
    let lower: Vec<String> = names.iter().map(|n| n.to_lowercase()).collect();
    let found = rows(
        conn,
        ctx,
        what,
        sqlx::query("select lower(name), vartype, setting from pg_settings where lower(name) = any($1::text[])")
            .bind(lower),
    )
    .await?;
    let mut by_name = BTreeMap::new();
    for row in &found {
        let name: String = get(row, 0, what)?;
        let vartype: String = get(row, 1, what)?;
        let setting: Option<String> = get(row, 2, what)?;
        by_name.insert(name, setting_value(&vartype, setting));
    }
    for name in names {
        let value = match by_name.get(&name.to_lowercase()) {
            Some(v) => Some(v.clone()),
            None => {
                let what = format!("setting.{name}");
                let row =
                    one(conn, ctx, &what, sqlx::query("select current_setting($1::text, true)").bind(name.clone()))
                        .await?;
                get::<Option<String>>(&row, 0, &what)?.map(Value::Str)
            }
        };
        if let Some(value) = value {
            let fact = format!("setting.{name}");
            match value.as_text().and_then(conninfo_password) {
                // primary_conninfo holds a libpq connection string: its password is a secret.
                Some((shown, password)) => facts.set_partly_secret(fact, value, Value::Str(shown), vec![password]),
                None => facts.set(fact, value),
            }
        }
    }
    Ok(())
}

/// A libpq connection string's `password=…` (primary_conninfo): the string with the
/// password masked, and the password.
fn conninfo_password(text: &str) -> Option<(String, String)> {
    static PASSWORD: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let pattern = PASSWORD
        .get_or_init(|| regex::Regex::new(r"(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']+)").expect("valid regex"));
    let found = pattern.captures(text)?;
    let password = found.get(2)?.as_str().trim_matches('\'').to_string();
    let shown = pattern.replace_all(text, format!("${{1}}{}", crate::redact::MASK)).into_owned();
    Some((shown, password))
}

fn setting_value(vartype: &str, setting: Option<String>) -> Value {
    let Some(s) = setting else { return Value::Null };
    match vartype {
        "bool" => Value::Bool(s == "on" || s == "true"),
        "integer" => s.parse().map(Value::Int).unwrap_or(Value::Str(s)),
        "real" => s.parse().map(Value::Float).unwrap_or(Value::Str(s)),
        _ => Value::Str(s),
    }
}

async fn migration_facts(conn: &mut PgConnection, ctx: &Ctx<'_>, facts: &mut Facts) -> Result<(), ProbeError> {
    let what = "migrations";
    let params = &ctx.input.params;
    let table = match params.str("migrations_table").filter(|t| !t.trim().is_empty()) {
        Some(t) => t.to_string(),
        None => {
            let known: Vec<String> = FRAMEWORKS.iter().map(|f| f.table.to_string()).collect();
            let found = rows(
                conn,
                ctx,
                what,
                sqlx::query(
                    "select t from unnest($1::text[]) with ordinality as u(t, o) where to_regclass(t) is not null order by o",
                )
                .bind(known.clone()),
            )
            .await?;
            let found = found.iter().map(|r| get::<String>(r, 0, what)).collect::<Result<Vec<_>, _>>()?;
            match found.as_slice() {
                [one] => one.clone(),
                [] => {
                    return Err(ProbeError::new(format!(
                        "migrations: no migrations table found (looked for {}); set migrations_table",
                        known.join(", ")
                    )));
                }
                several => {
                    return Err(ProbeError::new(format!(
                        "migrations: several migrations tables found ({}); set migrations_table to choose",
                        several.join(", ")
                    )));
                }
            }
        }
    };
    let framework = migrations::framework(table.rsplit('.').next().unwrap_or(&table));
    let column = params
        .str("migrations_column")
        .filter(|c| !c.trim().is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| framework.map(|f| f.version_column).unwrap_or("version").to_string());
    let mut failed = framework.map(|f| f.failed).unwrap_or("false");
    if framework.is_some_and(|f| f.table == "schema_migrations") {
        // golang-migrate's table of the same name marks a half-applied migration dirty.
        let row = one(
            conn,
            ctx,
            what,
            sqlx::query(
                "select exists(select 1 from pg_attribute where attrelid = to_regclass($1::text) \
                 and attname = 'dirty' and not attisdropped)",
            )
            .bind(table.clone()),
        )
        .await?;
        if get::<bool>(&row, 0, what)? {
            failed = "dirty";
        }
    }
    // sqlx and Flyway record what each migration is: a failed one is named by it.
    let described = get::<bool>(
        &one(
            conn,
            ctx,
            what,
            sqlx::query(
                "select exists(select 1 from pg_attribute where attrelid = to_regclass($1::text) \
                 and attname = 'description' and not attisdropped)",
            )
            .bind(table.clone()),
        )
        .await?,
        0,
        what,
    )?;
    let sql = format!(
        "select {}::text, coalesce({failed}, false), {} from {}",
        migrations::quote_ident(&column),
        if described { "description::text" } else { "null::text" },
        migrations::quote_ident(&table)
    );
    let found = rows(conn, ctx, what, sqlx::query(AssertSqlSafe(sql))).await?;
    let mut applied: Vec<String> = Vec::new();
    let mut failed_list: Vec<String> = Vec::new();
    for row in &found {
        let version: Option<String> = get(row, 0, what)?;
        if get::<bool>(row, 1, what)? {
            let description: Option<String> = get(row, 2, what)?;
            let version = version.unwrap_or_else(|| "(no version)".into());
            failed_list.push(match description {
                Some(d) if !d.is_empty() => format!("{version} {d}"),
                _ => version,
            });
        } else if let Some(v) = version {
            applied.push(v);
        }
    }
    let failed_count = failed_list.len() as i64;
    failed_list.sort_by(|a, b| compare_versions(a, b));
    facts.set("migrations_failed", Value::string_list(failed_list));
    facts.set("migrations_table", Value::Str(table.clone()));
    facts.set("migrations_applied_count", Value::Int(applied.len() as i64));
    facts.set("migrations_failed_count", Value::Int(failed_count));
    if let Some(latest) = applied.iter().max_by(|a, b| compare_versions(a, b)) {
        facts.set("migrations_latest_version", Value::Version(latest.clone()));
    }
    if ctx.wants_any(&["migrations_pending", "migrations_pending_count"]) {
        let Some(dir) = params.str("migrations_dir") else {
            return Err(ProbeError::new(
                "migrations_pending needs migrations_dir: the directory of migration files to compare with",
            ));
        };
        // Listed off the async threads (a slow or hung mount would hold up every item).
        let dir = std::path::PathBuf::from(dir);
        let in_dir =
            super::blocking(move || migrations::versions_in_dir(&dir).map_err(|e| ProbeError::new(e.to_string())))
                .await?;
        let done: BTreeSet<String> = applied.iter().map(|v| migrations::normalize_version(v)).collect();
        let mut pending: Vec<String> = in_dir.into_iter().filter(|v| !done.contains(v)).collect();
        pending.sort_by(|a, b| compare_versions(a, b));
        facts.set("migrations_pending_count", Value::Int(pending.len() as i64));
        facts.set("migrations_pending", Value::string_list(pending));
    }
    Ok(())
}

async fn hba_facts(conn: &mut PgConnection, ctx: &Ctx<'_>, facts: &mut Facts) -> Result<(), ProbeError> {
    let what = "hba_insecure_rules";
    let query = sqlx::query(
        "select line_number, type, array_to_string(database, ','), array_to_string(user_name, ','), \
         coalesce(address, ''), coalesce(netmask, ''), auth_method \
         from pg_hba_file_rules where auth_method in ('trust', 'password') order by line_number",
    );
    let found = match query.fetch_all(&mut *conn).await {
        Ok(found) => found,
        Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42501") => {
            return Err(ProbeError::new(format!(
                "hba_insecure_rules: the connecting role may not read pg_hba_file_rules ({}); it needs superuser, \
                 or GRANT SELECT ON pg_hba_file_rules and GRANT EXECUTE ON FUNCTION pg_hba_file_rules() to it",
                db.message()
            )));
        }
        Err(e) => return Err(query_error(what, ctx.target, e)),
    };
    let mut lines = Vec::new();
    for row in &found {
        let line: Option<i32> = get(row, 0, what)?;
        let parts: Vec<String> = (1..=6)
            .map(|i| get::<Option<String>>(row, i, what).map(Option::unwrap_or_default))
            .collect::<Result<_, _>>()?;
        let rule = parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ");
        lines.push(format!("line {}: {rule}", line.unwrap_or_default()));
    }
    facts.set("hba_insecure_rules", Value::string_list(lines));
    Ok(())
}

/// What lets a role write although its statements run in a read-only transaction: each
/// row is (kind, name). Superusers and members of pg_execute_server_program or
/// pg_write_server_files (COPY … TO a program or file); functions that act outside the
/// transaction and are executable by the role or a role it may become: those of the
/// dblink, postgres_fdw and adminpack extensions, lo_import and lo_export (server files),
/// and functions in untrusted procedural languages (plpython3u, plperlu…). Large-object
/// writes through lo_create, lowrite, lo_put… stay inside the transaction, which golive
/// rolls back, and are not listed.
const WRITE_CAPABILITIES: &str = "\
    with member as (select oid, rolname, rolsuper from pg_roles where pg_has_role(current_user, oid, 'MEMBER')) \
    select 'superuser', rolname::text from member where rolsuper \
    union all \
    select 'role', rolname::text from member where rolname in ('pg_execute_server_program', 'pg_write_server_files') \
    union all \
    (select 'function', p.oid::regprocedure::text from pg_proc p \
     where (exists (select 1 from pg_depend d join pg_extension e on e.oid = d.refobjid \
                    where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.refclassid = 'pg_extension'::regclass \
                      and d.deptype = 'e' and e.extname in ('dblink', 'postgres_fdw', 'adminpack')) \
            or (p.pronamespace = 'pg_catalog'::regnamespace and p.proname in ('lo_import', 'lo_export')) \
            or exists (select 1 from pg_language l where l.oid = p.prolang and l.lanispl and not l.lanpltrusted)) \
       and exists (select 1 from member m where has_function_privilege(m.oid, p.oid, 'EXECUTE')) \
     order by 2)";

/// How many functions a refusal names before "and N more".
const NAMED_FUNCTIONS: usize = 6;

/// Refuses a user `query` when the connecting role could write despite the read-only
/// transaction (see [`WRITE_CAPABILITIES`] and [`write_capabilities`]), unless the item sets
/// allow_write_functions.
fn refuse_if_role_can_write(found: &[(String, String)]) -> Result<(), ProbeError> {
    let mut superusers = Vec::new();
    let mut roles = Vec::new();
    let mut functions = Vec::new();
    for (kind, name) in found {
        let name = name.as_str();
        match kind.as_str() {
            "superuser" => superusers.push(name),
            "role" => roles.push(name),
            _ => functions.push(name),
        }
    }
    let how = if !superusers.is_empty() {
        format!(
            "it is a superuser, or may become one ({}), and a superuser can write anywhere (COPY … TO PROGRAM, lo_export, any extension)",
            superusers.join(", ")
        )
    } else {
        let mut parts = Vec::new();
        for role in roles {
            let what =
                if role == "pg_execute_server_program" { "COPY … TO PROGRAM" } else { "COPY … TO a server file" };
            parts.push(format!("it is a member of {role} ({what})"));
        }
        if !functions.is_empty() {
            let mut named = functions[..functions.len().min(NAMED_FUNCTIONS)].join(", ");
            if functions.len() > NAMED_FUNCTIONS {
                named.push_str(&format!(" and {} more", functions.len() - NAMED_FUNCTIONS));
            }
            parts.push(format!("it may execute {named}, which act outside the transaction"));
        }
        if parts.is_empty() {
            return Ok(());
        }
        parts.join("; ")
    };
    Err(ProbeError::new(format!(
        "query not run: the connecting role can write despite the read-only transaction: {how}. \
         Connect as a role that cannot (docs/postgres.md, \"A role that cannot write\"), \
         or set allow_write_functions = true if this item must run as it"
    )))
}

/// The rows of [`WRITE_CAPABILITIES`] for the connecting role, as (kind, name).
async fn write_capabilities(conn: &mut PgConnection, ctx: &Ctx<'_>) -> Result<Vec<(String, String)>, ProbeError> {
    let what = "query";
    let found = rows(conn, ctx, what, sqlx::query(WRITE_CAPABILITIES)).await?;
    found.iter().map(|row| Ok((get(row, 0, what)?, get(row, 1, what)?))).collect()
}

async fn query_facts(conn: &mut PgConnection, ctx: &Ctx<'_>, sql: &str, facts: &mut Facts) -> Result<(), ProbeError> {
    let what = "query";
    let max_rows = ctx.input.params.int("max_rows").unwrap_or(1000).max(0) as usize;
    // Prepared as a named statement: with an unnamed one, sqlx's lookup of an unfamiliar
    // column type (pg_lsn, point …) between prepare and execute drops it.
    let mut query = sqlx::query(AssertSqlSafe(sql.to_string()));
    for p in ctx.input.params.list("params") {
        query = query.bind(p);
    }
    let mut stream = query.fetch(&mut *conn);
    let mut count: i64 = 0;
    let mut first = None;
    let mut kept = Vec::new();
    let want_rows = ctx.wants("rows");
    while let Some(row) = stream.try_next().await.map_err(|e| query_error(what, ctx.target, e))? {
        count += 1;
        if row.is_empty() {
            continue;
        }
        if first.is_none() {
            first = Some(column_value(&row, 0).map_err(|m| ProbeError::new(format!("{what}: {m}")))?);
        }
        if want_rows && kept.len() < max_rows {
            let mut values = (0..row.len())
                .map(|i| column_value(&row, i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|m| ProbeError::new(format!("{what}: {m}")))?;
            kept.push(if values.len() == 1 { values.pop().unwrap() } else { Value::List(values) });
        }
    }
    facts.set("row_count", Value::Int(count));
    if let Some(v) = first {
        facts.set("value", v);
    }
    if want_rows {
        facts.set("rows", Value::List(kept));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Params {
        Params { values: pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect() }
    }

    #[test]
    fn a_connection_string_setting_shows_no_password() {
        let (shown, password) = conninfo_password("user=replicator password='s3 cr\\'et' host=db port=5432").unwrap();
        assert_eq!(shown, "user=replicator password=*** host=db port=5432");
        assert_eq!(password, "s3 cr\\'et");
        let (shown, _) = conninfo_password("host=db PASSWORD=plain sslmode=require").unwrap();
        assert_eq!(shown, "host=db PASSWORD=*** sslmode=require");
        assert!(conninfo_password("host=db user=x").is_none());
    }

    #[test]
    fn a_server_and_a_real_port_are_needed() {
        let found = |pairs: &[(&str, Value)]| check(&params(pairs)).into_iter().map(|p| p.param).collect::<Vec<_>>();
        assert_eq!(found(&[]), ["url"]);
        assert_eq!(found(&[("host", Value::str("db")), ("port", Value::Int(70000))]), ["port"]);
        assert!(found(&[("url", Value::str(""))]).is_empty(), "an unset ${{env:…}} url is still given");
        assert!(found(&[("host", Value::str("db")), ("port", Value::Int(5432))]).is_empty());
        // The run refuses the same, with the same words.
        let problem = check(&params(&[])).remove(0);
        assert_eq!(target(&params(&[])).err().map(|e| e.0), Some(problem.message));
    }
}
