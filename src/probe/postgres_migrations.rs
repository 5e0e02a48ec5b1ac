//! Migration bookkeeping for the `postgres` probe: which table a framework keeps its applied
//! migrations in, and which migration files a directory holds, so that applied, failed and
//! pending migrations can be compared.

use std::collections::BTreeSet;
use std::path::Path;

/// A framework's migrations table: its name, the column holding the version, and an SQL
/// expression that is true for a failed migration.
pub struct Framework {
    pub name: &'static str,
    pub table: &'static str,
    pub version_column: &'static str,
    pub failed: &'static str,
}

/// Known frameworks, in the order they are looked for.
pub const FRAMEWORKS: &[Framework] = &[
    Framework { name: "sqlx", table: "_sqlx_migrations", version_column: "version", failed: "not success" },
    Framework { name: "diesel", table: "__diesel_schema_migrations", version_column: "version", failed: "false" },
    Framework { name: "flyway", table: "flyway_schema_history", version_column: "version", failed: "not success" },
    // Rails and Ecto; golang-migrate uses the same name with a `dirty` flag (see failed_expr).
    Framework { name: "rails/ecto", table: "schema_migrations", version_column: "version", failed: "false" },
];

pub fn framework(table: &str) -> Option<&'static Framework> {
    FRAMEWORKS.iter().find(|f| f.table == table)
}

/// Quotes an identifier, schema-qualified or not (`public.users` → `"public"."users"`).
pub fn quote_ident(name: &str) -> String {
    name.split('.').map(|part| format!("\"{}\"", part.replace('"', "\"\""))).collect::<Vec<_>>().join(".")
}

/// A version as written by a framework or in a file name, in one comparable form: numbers
/// without leading zeros, others lower-case with `_` as `.` (Flyway's `V1_2` is `1.2`).
pub fn normalize_version(v: &str) -> String {
    let v = v.trim();
    if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) {
        let trimmed = v.trim_start_matches('0');
        return if trimmed.is_empty() { "0".into() } else { trimmed.into() };
    }
    v.to_ascii_lowercase().replace('_', ".")
}

/// The version a migration file or directory name carries, if it is one:
/// `20240101120000_create_users.sql` (sqlx, Rails, Ecto), `0001_init.up.sql`
/// (golang-migrate), `2024-01-01-120000_create_users/` (diesel), `V1_2__add_index.sql`
/// (Flyway; repeatable `R__` and undo `U…` files are not versions).
pub fn version_of_file(name: &str) -> Option<String> {
    if name.starts_with('.') {
        return None;
    }
    let mut chars = name.chars();
    if let (Some('V' | 'v'), Some(c)) = (chars.next(), chars.next())
        && c.is_ascii_digit()
        && let Some(end) = name.find("__")
    {
        return Some(normalize_version(&name[1..end]));
    }
    let prefix: String = name.chars().take_while(|c| c.is_ascii_digit() || *c == '-').collect();
    let rest = &name[prefix.len()..];
    let digits: String = prefix.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || !(rest.is_empty() || rest.starts_with(['_', '.'])) {
        return None;
    }
    Some(normalize_version(&digits))
}

/// Why the migrations directory could not be listed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read migrations_dir {}: {source}", dir.display())]
pub struct MigrationsDirError {
    pub dir: std::path::PathBuf,
    pub source: std::io::Error,
}

/// The versions of the migrations in a directory (files and sub-directories).
pub fn versions_in_dir(dir: &Path) -> Result<BTreeSet<String>, MigrationsDirError> {
    let failed = |source| MigrationsDirError { dir: dir.to_path_buf(), source };
    let entries = std::fs::read_dir(dir).map_err(failed)?;
    let mut out = BTreeSet::new();
    for entry in entries {
        let entry = entry.map_err(failed)?;
        if let Some(v) = version_of_file(&entry.file_name().to_string_lossy()) {
            out.insert(v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_of_common_frameworks() {
        assert_eq!(version_of_file("20240101120000_create_users.sql").as_deref(), Some("20240101120000"));
        assert_eq!(version_of_file("20240101120000_create_users.up.sql").as_deref(), Some("20240101120000"));
        assert_eq!(version_of_file("0001_init.down.sql").as_deref(), Some("1"));
        assert_eq!(version_of_file("2024-01-01-120000_create_users").as_deref(), Some("20240101120000"));
        assert_eq!(version_of_file("V1_2__add_index.sql").as_deref(), Some("1.2"));
        assert_eq!(version_of_file("V3__more.sql").as_deref(), Some("3"));
        assert_eq!(version_of_file("R__views.sql"), None);
        assert_eq!(version_of_file("README.md"), None);
        assert_eq!(version_of_file(".keep"), None);
        assert_eq!(version_of_file("2fa_notes.txt"), None);
    }

    #[test]
    fn versions_compare_in_one_form() {
        assert_eq!(normalize_version("000042"), "42");
        assert_eq!(normalize_version("1.2"), normalize_version("1_2"));
        assert_eq!(quote_ident("public.users"), "\"public\".\"users\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("0002_more.sql"), "").unwrap();
        assert_eq!(versions_in_dir(dir.path()).unwrap(), BTreeSet::from(["2".to_string()]));
        let missing = dir.path().join("missing");
        let e = versions_in_dir(&missing).unwrap_err();
        assert_eq!(e.source.kind(), std::io::ErrorKind::NotFound);
        assert!(e.to_string().starts_with(&format!("cannot read migrations_dir {}: ", missing.display())), "{e}");
    }
}
