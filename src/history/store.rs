//! The history store over sqlx's `Any` driver: one SQLite file (the default) or a shared
//! PostgreSQL database, the same schema and the same runtime queries on both. Opening it
//! applies the embedded migrations; writes run in short transactions that take the write
//! lock first, so concurrent `golive run`s queue on the busy timeout instead of failing.

use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row};

use super::schema;
use super::{Keep, RunSpec, StoreError, StoreLocation};
use crate::report::{RecentOutcome, RecentOutcomes, Report};

/// How long a writer waits for another one to release an SQLite store (`PRAGMA busy_timeout`).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long opening a store may take (connecting to PostgreSQL, getting a connection).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A lock number of PostgreSQL's advisory locks, taken while migrating.
const PG_MIGRATION_LOCK: i64 = 0x676f_6c69_7665;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Store {
    pool: AnyPool,
    backend: Backend,
    location: StoreLocation,
}

/// One stored run, as `golive history` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunRow {
    pub run_id: String,
    pub checklist: String,
    pub version: Option<String>,
    pub started_at: String,
    pub duration_ms: f64,
    pub host: String,
    pub ci_job: Option<String>,
    pub gate_passed: bool,
    pub total: i64,
    pub pass: i64,
    pub fail: i64,
    pub error: i64,
    pub blocking: i64,
}

/// One item's result in one stored run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ItemRow {
    pub run_id: String,
    pub checklist: String,
    pub started_at: String,
    pub outcome: String,
    pub state: String,
    pub reason: Option<String>,
    pub duration_ms: f64,
    pub facts: serde_json::Value,
}

/// What `history` and `item_history` select.
#[derive(Clone, Debug, Default)]
pub struct RunFilter {
    /// Only runs of this checklist name (empty: every checklist).
    pub checklist: String,
    /// Only runs that started at or after this instant (Unix milliseconds).
    pub since_ms: i64,
    /// At most this many, newest first.
    pub limit: i64,
}

fn query_error(location: &StoreLocation, e: sqlx::Error) -> StoreError {
    StoreError::Query { location: location.shown.clone(), message: location.mask(&e.to_string()) }
}

impl Store {
    /// Connects and brings the schema up to date (creating the SQLite file and its
    /// directory when needed).
    pub async fn open(location: StoreLocation) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if location.url.starts_with("sqlite:") { Backend::Sqlite } else { Backend::Postgres };
        if let Some(path) = &location.sqlite_path
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
                location: location.shown.clone(),
                message: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        // Created by golive, readable by its owner only (the reports in it are masked, but
        // they say what the estate looks like); SQLite gives its WAL files the same mode.
        if let Some(path) = &location.sqlite_path {
            use std::os::unix::fs::OpenOptionsExt;
            let _ = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path);
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 1 } else { 4 })
            .acquire_timeout(CONNECT_TIMEOUT)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        let busy = format!("PRAGMA busy_timeout = {}", BUSY_TIMEOUT.as_millis());
                        sqlx::raw_sql(sqlx::AssertSqlSafe(busy)).execute(&mut *conn).await?;
                        sqlx::raw_sql("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::raw_sql("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&location.url)
            .await
            .map_err(|e| StoreError::Open {
                location: location.shown.clone(),
                message: location.mask(&e.to_string()),
            })?;
        let store = Store { pool, backend, location };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    fn err(&self, e: sqlx::Error) -> StoreError {
        query_error(&self.location, e)
    }

    /// Starts a write transaction holding the write lock from its first statement.
    async fn begin_write(&self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let begin = if self.backend == Backend::Sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
        sqlx::raw_sql(begin).execute(&mut *conn).await?;
        Ok(())
    }

    async fn finish(&self, conn: &mut AnyConnection, result: Result<(), sqlx::Error>) -> Result<(), StoreError> {
        match result {
            Ok(()) => sqlx::raw_sql("COMMIT").execute(&mut *conn).await.map(|_| ()).map_err(|e| self.err(e)),
            Err(e) => {
                let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                Err(self.err(e))
            }
        }
    }

    /// Applies the migrations this store lacks, one writer at a time.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        // Most opens find the schema current: check before taking any lock.
        if self.schema_version(&mut conn).await.unwrap_or(0) >= schema::latest() {
            return Ok(());
        }
        self.begin_write(&mut conn).await.map_err(|e| self.err(e))?;
        let result = async {
            if self.backend == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PG_MIGRATION_LOCK).execute(&mut *conn).await?;
            }
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS golive_schema (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
            )
            .execute(&mut *conn)
            .await?;
            let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM golive_schema")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            for (version, statements) in schema::MIGRATIONS.iter().filter(|(v, _)| *v > current) {
                for statement in *statements {
                    sqlx::raw_sql(*statement).execute(&mut *conn).await?;
                }
                sqlx::query("INSERT INTO golive_schema (version, applied_at) VALUES ($1, $2)")
                    .bind(*version)
                    .bind(crate::value::format_time(time::OffsetDateTime::now_utc()))
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }
        .await;
        self.finish(&mut conn, result).await
    }

    async fn schema_version(&self, conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
        sqlx::query("SELECT COALESCE(MAX(version), 0) FROM golive_schema").fetch_one(&mut *conn).await?.try_get(0)
    }

    /// Records a run: the masked JSON report as written, and a row per file and per item.
    pub async fn record(&self, report: &Report, report_json: &str, ci_job: Option<&str>) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        self.begin_write(&mut conn).await.map_err(|e| self.err(e))?;
        let result = async {
            let s = &report.summary;
            sqlx::query(
                "INSERT INTO golive_runs (run_id, checklist_name, checklist_version, started_at, finished_at,
                    started_ms, recorded_ms, duration_ms, host, ci_job, gate_passed, fail_on, items_total,
                    items_pass, items_fail, items_error, items_blocking, golive_version, report_gz)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
            )
            .bind(&report.run_id)
            .bind(&report.checklist.name)
            .bind(report.checklist.version.clone())
            .bind(&report.started_at)
            .bind(&report.finished_at)
            .bind(super::unix_ms(&report.started_at))
            .bind(super::now_ms())
            .bind(report.duration_ms)
            .bind(&report.host.hostname)
            .bind(ci_job.map(str::to_string))
            .bind(i64::from(report.gate.passed))
            .bind(report.gate.fail_on.as_str())
            .bind(s.total as i64)
            .bind((s.pass + s.manual_attested) as i64)
            .bind(s.fail as i64)
            .bind(s.error as i64)
            .bind(report.gate.blocking.len() as i64)
            .bind(&report.golive_version)
            .bind(gzip(report_json.as_bytes()))
            .execute(&mut *conn)
            .await?;
            for (position, file) in report.checklist.files.iter().enumerate() {
                sqlx::query("INSERT INTO golive_run_files (run_id, position, path, sha256) VALUES ($1, $2, $3, $4)")
                    .bind(&report.run_id)
                    .bind(position as i64)
                    .bind(file.path.display().to_string())
                    .bind(&file.sha256)
                    .execute(&mut *conn)
                    .await?;
            }
            // Many rows per statement: a 50,000-item run is recorded in 500 round trips.
            for (chunk_index, chunk) in report.items.chunks(ITEMS_PER_INSERT).enumerate() {
                let sql = sqlx::AssertSqlSafe(items_insert(chunk.len()));
                let mut query = sqlx::query(sql);
                for (offset, item) in chunk.iter().enumerate() {
                    let facts = serde_json::to_string(&item.facts).unwrap_or_else(|_| "{}".into());
                    query = query
                        .bind(&report.run_id)
                        .bind((chunk_index * ITEMS_PER_INSERT + offset) as i64)
                        .bind(&item.id)
                        .bind(item.severity.as_str())
                        .bind(item.outcome.as_str())
                        .bind(item.state.as_str())
                        .bind(item.reason.clone())
                        .bind(facts)
                        .bind(item.duration_ms)
                        .bind(i64::from(item.blocking));
                }
                query.execute(&mut *conn).await?;
            }
            Ok(())
        }
        .await;
        self.finish(&mut conn, result).await
    }

    /// Stored runs, newest first.
    pub async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT run_id, checklist_name, checklist_version, started_at, duration_ms, host, ci_job,
                gate_passed, items_total, items_pass, items_fail, items_error, items_blocking
             FROM golive_runs
             WHERE ($1 = '' OR checklist_name = $1) AND started_ms >= $2
             ORDER BY started_ms DESC, recorded_ms DESC, run_id DESC
             LIMIT $3",
        )
        .bind(&filter.checklist)
        .bind(filter.since_ms)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.iter().map(run_row).collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// One item's results over the stored runs, newest first.
    pub async fn item_history(&self, item_id: &str, filter: &RunFilter) -> Result<Vec<ItemRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.run_id, r.checklist_name, r.started_at, i.outcome, i.state, i.reason, i.duration_ms, i.facts_json
             FROM golive_items i JOIN golive_runs r ON r.run_id = i.run_id
             WHERE i.item_id = $1 AND ($2 = '' OR r.checklist_name = $2) AND r.started_ms >= $3
             ORDER BY r.started_ms DESC, r.recorded_ms DESC, r.run_id DESC
             LIMIT $4",
        )
        .bind(item_id)
        .bind(&filter.checklist)
        .bind(filter.since_ms)
        .bind(filter.limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        rows.iter()
            .map(|row| -> Result<ItemRow, sqlx::Error> {
                let facts: String = row.try_get(7)?;
                Ok(ItemRow {
                    run_id: row.try_get(0)?,
                    checklist: row.try_get(1)?,
                    started_at: row.try_get(2)?,
                    outcome: row.try_get(3)?,
                    state: row.try_get(4)?,
                    reason: row.try_get(5)?,
                    duration_ms: row.try_get(6)?,
                    facts: serde_json::from_str(&facts).unwrap_or(serde_json::Value::Null),
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    /// Each item's outcomes in the newest `runs` runs of a checklist, oldest first.
    pub async fn recent_outcomes(&self, checklist: &str, runs: i64) -> Result<RecentOutcomes, StoreError> {
        let rows = sqlx::query(
            "SELECT i.item_id, r.run_id, r.started_at, i.outcome
             FROM golive_items i
             JOIN (SELECT run_id, started_at, started_ms, recorded_ms FROM golive_runs WHERE checklist_name = $1
                   ORDER BY started_ms DESC, recorded_ms DESC, run_id DESC LIMIT $2) r ON r.run_id = i.run_id
             ORDER BY r.started_ms, r.recorded_ms, r.run_id",
        )
        .bind(checklist)
        .bind(runs)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        let mut recent = RecentOutcomes::new();
        for row in &rows {
            let outcome: String = row.try_get(3).map_err(|e| self.err(e))?;
            let Ok(outcome) = serde_json::from_value(serde_json::Value::String(outcome)) else { continue };
            recent.entry(row.try_get(0).map_err(|e| self.err(e))?).or_default().push(RecentOutcome {
                run_id: row.try_get(1).map_err(|e| self.err(e))?,
                started_at: row.try_get(2).map_err(|e| self.err(e))?,
                outcome,
            });
        }
        Ok(recent)
    }

    /// The run a spec names: `last`, `last-pass` (of `checklist` when given), `last~N`
    /// (N runs before the last) or a run id or a unique prefix of one.
    pub async fn resolve(&self, spec: &RunSpec, checklist: &str) -> Result<Option<String>, StoreError> {
        let (passed_only, skip) = match spec {
            RunSpec::Last(skip) => (false, *skip),
            RunSpec::LastPass => (true, 0),
            RunSpec::Id(prefix) => return self.resolve_id(prefix).await,
        };
        let row = sqlx::query(
            "SELECT run_id FROM golive_runs
             WHERE ($1 = '' OR checklist_name = $1) AND ($2 = 0 OR gate_passed = 1)
             ORDER BY started_ms DESC, recorded_ms DESC, run_id DESC
             LIMIT 1 OFFSET $3",
        )
        .bind(checklist)
        .bind(i64::from(passed_only))
        .bind(skip)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.err(e))?;
        row.map(|r| r.try_get(0)).transpose().map_err(|e| self.err(e))
    }

    async fn resolve_id(&self, prefix: &str) -> Result<Option<String>, StoreError> {
        let rows = sqlx::query("SELECT run_id FROM golive_runs WHERE run_id LIKE $1 ORDER BY run_id LIMIT 2")
            .bind(format!("{prefix}%"))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        match rows.len() {
            0 => Ok(None),
            1 => rows[0].try_get(0).map(Some).map_err(|e| self.err(e)),
            _ => Err(StoreError::Ambiguous(prefix.to_string())),
        }
    }

    /// The JSON report of a run, byte for byte as `--output json` wrote it.
    pub async fn report_json(&self, run_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT report_gz FROM golive_runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        let Some(row) = row else { return Ok(None) };
        let bytes: Vec<u8> = row.try_get(0).map_err(|e| self.err(e))?;
        let corrupt = |message: String| StoreError::Corrupt { run_id: run_id.to_string(), message };
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut text)
            .map_err(|e| corrupt(e.to_string()))?;
        Ok(Some(text))
    }

    /// Stores a signed report for its run; `false` when the store has no such run.
    pub async fn store_signed(&self, run_id: &str, envelope: &[u8]) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        self.begin_write(&mut conn).await.map_err(|e| self.err(e))?;
        let mut updated = 0;
        let result = async {
            updated = sqlx::query("UPDATE golive_runs SET signed_envelope = $1 WHERE run_id = $2")
                .bind(envelope.to_vec())
                .bind(run_id)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            Ok(())
        }
        .await;
        self.finish(&mut conn, result).await?;
        Ok(updated > 0)
    }

    /// The signed report stored for a run, byte for byte; `None` when none was stored.
    pub async fn signed(&self, run_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT signed_envelope FROM golive_runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| self.err(e))?;
        match row {
            None => Ok(None),
            Some(row) => row.try_get::<Option<Vec<u8>>, _>(0).map_err(|e| self.err(e)),
        }
    }

    /// The stored report of a run.
    pub async fn report(&self, run_id: &str) -> Result<Option<Report>, StoreError> {
        let Some(text) = self.report_json(run_id).await? else { return Ok(None) };
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt { run_id: run_id.to_string(), message: e.to_string() })?;
        Report::from_json(json)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { run_id: run_id.to_string(), message: e.to_string() })
    }

    /// Deletes the runs `keep` does not keep; returns how many.
    pub async fn prune(&self, keep: Keep) -> Result<usize, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.err(e))?;
        self.begin_write(&mut conn).await.map_err(|e| self.err(e))?;
        let mut deleted = 0;
        let result = async {
            let doomed: Vec<AnyRow> = match keep {
                Keep::Newer(age) => {
                    sqlx::query("SELECT run_id FROM golive_runs WHERE started_ms < $1")
                        .bind(super::now_ms() - age.as_millis() as i64)
                        .fetch_all(&mut *conn)
                        .await?
                }
                Keep::Count(n) => {
                    sqlx::query(
                        "SELECT run_id FROM (SELECT run_id, ROW_NUMBER() OVER (PARTITION BY checklist_name
                            ORDER BY started_ms DESC, recorded_ms DESC, run_id DESC) AS n FROM golive_runs) ranked
                         WHERE n > $1",
                    )
                    .bind(n as i64)
                    .fetch_all(&mut *conn)
                    .await?
                }
            };
            for row in &doomed {
                let run_id: String = row.try_get(0)?;
                for delete in [
                    "DELETE FROM golive_items WHERE run_id = $1",
                    "DELETE FROM golive_run_files WHERE run_id = $1",
                    "DELETE FROM golive_runs WHERE run_id = $1",
                ] {
                    sqlx::query(delete).bind(&run_id).execute(&mut *conn).await?;
                }
                deleted += 1;
            }
            Ok(())
        }
        .await;
        self.finish(&mut conn, result).await?;
        if self.backend == Backend::Sqlite && deleted > 0 {
            // Give the space back: a pruned store should shrink on disk.
            let _ = sqlx::raw_sql("VACUUM").execute(&mut *conn).await;
        }
        Ok(deleted)
    }

    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// The report as stored: gzip, about a tenth of the JSON's size.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Item rows per INSERT: 10 parameters each, well under SQLite's 32,766 and PostgreSQL's
/// 65,535 parameters per statement.
const ITEMS_PER_INSERT: usize = 100;

/// `INSERT INTO golive_items … VALUES ($1, …, $10), ($11, …)` for `rows` rows: placeholders
/// only, every value is bound.
fn items_insert(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO golive_items (run_id, position, item_id, severity, outcome, state, reason, facts_json, duration_ms, blocking) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let placeholders: Vec<String> = (1..=10).map(|col| format!("${}", row * 10 + col)).collect();
        sql.push('(');
        sql.push_str(&placeholders.join(", "));
        sql.push(')');
    }
    sql
}

fn run_row(row: &AnyRow) -> Result<RunRow, sqlx::Error> {
    Ok(RunRow {
        run_id: row.try_get(0)?,
        checklist: row.try_get(1)?,
        version: row.try_get(2)?,
        started_at: row.try_get(3)?,
        duration_ms: row.try_get(4)?,
        host: row.try_get(5)?,
        ci_job: row.try_get(6)?,
        gate_passed: row.try_get::<i64, _>(7)? != 0,
        total: row.try_get(8)?,
        pass: row.try_get(9)?,
        fail: row.try_get(10)?,
        error: row.try_get(11)?,
        blocking: row.try_get(12)?,
    })
}
