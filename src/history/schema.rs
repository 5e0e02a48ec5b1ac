//! The store's schema: numbered migrations embedded in the binary, the same SQL on SQLite and
//! PostgreSQL (only types both read alike: TEXT, BIGINT, DOUBLE PRECISION, and BYTEA, which
//! SQLite stores as a blob; booleans are 0/1), applied in order on first use and recorded in
//! `golive_schema`.

/// `(version, statements)`, in order. A released migration never changes: add a new one.
pub const MIGRATIONS: &[(i64, &[&str])] = &[(
    1,
    &[
        "CREATE TABLE golive_runs (
            run_id TEXT PRIMARY KEY,
            checklist_name TEXT NOT NULL,
            checklist_version TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT NOT NULL,
            started_ms BIGINT NOT NULL,
            recorded_ms BIGINT NOT NULL,
            duration_ms DOUBLE PRECISION NOT NULL,
            host TEXT NOT NULL,
            ci_job TEXT,
            gate_passed BIGINT NOT NULL,
            fail_on TEXT NOT NULL,
            items_total BIGINT NOT NULL,
            items_pass BIGINT NOT NULL,
            items_fail BIGINT NOT NULL,
            items_error BIGINT NOT NULL,
            items_blocking BIGINT NOT NULL,
            golive_version TEXT NOT NULL,
            report_gz BYTEA NOT NULL,
            signed_envelope BYTEA
        )",
        // The whole ORDER BY of every run query (started_ms, recorded_ms, run_id), so the
        // newest runs are read from the index instead of sorting the table.
        "CREATE INDEX golive_runs_by_checklist ON golive_runs (checklist_name, started_ms, recorded_ms, run_id)",
        "CREATE INDEX golive_runs_by_start ON golive_runs (started_ms, recorded_ms, run_id)",
        "CREATE TABLE golive_run_files (
            run_id TEXT NOT NULL,
            position BIGINT NOT NULL,
            path TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (run_id, position)
        )",
        "CREATE TABLE golive_items (
            run_id TEXT NOT NULL,
            position BIGINT NOT NULL,
            item_id TEXT NOT NULL,
            severity TEXT NOT NULL,
            outcome TEXT NOT NULL,
            state TEXT NOT NULL,
            reason TEXT,
            facts_json TEXT NOT NULL,
            duration_ms DOUBLE PRECISION NOT NULL,
            blocking BIGINT NOT NULL,
            PRIMARY KEY (run_id, position)
        )",
        "CREATE INDEX golive_items_by_item ON golive_items (item_id, run_id)",
    ],
)];

/// The newest schema version this binary knows.
pub fn latest() -> i64 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}
