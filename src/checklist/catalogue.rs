//! The check catalogue: reusable check definitions that checklist items use by id
//! (`use = "security.tls-not-expiring"`), and the ready-made checklists a checklist can
//! include as `golive:NAME`. The shipped ones are built into the binary (see build.rs);
//! `[checklist] checks = ["dir"]` adds a team's own catalogue directories.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin.rs"));
}

/// Prefix of built-in checklists in `include` and in reports: `golive:database`.
pub const BUILTIN_PREFIX: &str = "golive:";

/// A built-in checklist by name (`database` or `database.toml`): its path in the source
/// tree and its text.
pub fn builtin_checklist(name: &str) -> Option<(&'static str, &'static str)> {
    let name = name.strip_suffix(".toml").unwrap_or(name);
    builtin::BUILTIN_CHECKLISTS
        .iter()
        .copied()
        .find(|(path, _)| path.strip_prefix("checklists/").and_then(|p| p.strip_suffix(".toml")) == Some(name))
}

/// The names of the built-in checklists (`database`, `go-live`, …).
pub fn builtin_checklist_names() -> Vec<&'static str> {
    builtin::BUILTIN_CHECKLISTS
        .iter()
        .filter_map(|(path, _)| path.strip_prefix("checklists/")?.strip_suffix(".toml"))
        .collect()
}

/// A var a checklist declares: name, description, default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeclaredVar {
    pub name: String,
    pub description: Option<String>,
    pub default: Option<String>,
}

/// The vars a built-in checklist and the built-in checklists it includes declare, in order,
/// each once (`golive init` writes them into a starter checklist).
pub fn builtin_checklist_vars(name: &str) -> Vec<DeclaredVar> {
    let mut out = Vec::new();
    let mut seen_files = Vec::new();
    collect_vars(name, &mut seen_files, &mut out);
    out
}

fn collect_vars(name: &str, seen: &mut Vec<&'static str>, out: &mut Vec<DeclaredVar>) {
    let Some((path, text)) = builtin_checklist(name) else { return };
    if seen.contains(&path) {
        return;
    }
    seen.push(path);
    let table: toml::Table = toml::from_str(text).unwrap_or_default();
    let includes = table.get("checklist").and_then(|c| c.get("include")).and_then(|i| i.as_array()).cloned();
    for include in includes.unwrap_or_default() {
        if let Some(rel) = include.as_str() {
            collect_vars(rel.strip_prefix(BUILTIN_PREFIX).unwrap_or(rel), seen, out);
        }
    }
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => Some(v.to_string()),
        _ => None,
    };
    for (var, value) in table.get("vars").and_then(|v| v.as_table()).cloned().unwrap_or_default() {
        let (description, default) = match &value {
            toml::Value::Table(t) => {
                (t.get("description").and_then(|d| d.as_str()).map(str::to_string), t.get("default").and_then(scalar))
            }
            other => (None, scalar(other)),
        };
        match out.iter_mut().find(|d: &&mut DeclaredVar| d.name == var) {
            Some(existing) => {
                existing.description = existing.description.take().or(description);
                existing.default = existing.default.take().or(default);
            }
            None => out.push(DeclaredVar { name: var, description, default }),
        }
    }
}

/// Where a check is defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckSource {
    Builtin { path: &'static str, text: &'static str },
    File(PathBuf),
}

impl CheckSource {
    /// The name diagnostics and reports use for the file.
    pub fn display_path(&self) -> PathBuf {
        match self {
            CheckSource::Builtin { path, .. } => PathBuf::from(format!("{BUILTIN_PREFIX}{path}")),
            CheckSource::File(path) => path.clone(),
        }
    }

    pub fn read(&self) -> std::io::Result<Vec<u8>> {
        match self {
            CheckSource::Builtin { text, .. } => Ok(text.as_bytes().to_vec()),
            CheckSource::File(path) => std::fs::read(path),
        }
    }
}

/// A check's id is its area folder and file name: `security/tls-not-expiring.toml` is
/// `security.tls-not-expiring`. Files directly in the root have no area and are ignored.
pub fn id_from_relative_path(relative: &Path) -> Option<String> {
    let stem = relative.file_stem()?.to_str()?;
    let area = relative.parent()?.to_str()?;
    if area.is_empty() {
        return None;
    }
    Some(format!("{}.{stem}", area.replace(['/', '\\'], ".")))
}

#[derive(Clone, Debug)]
pub struct Catalogue {
    checks: BTreeMap<String, CheckSource>,
}

impl Catalogue {
    /// The checks shipped with golive.
    pub fn builtin() -> Catalogue {
        let checks = builtin::BUILTIN_CHECKS
            .iter()
            .filter_map(|&(path, text)| {
                let relative = Path::new(path).strip_prefix("checks").ok()?;
                Some((id_from_relative_path(relative)?, CheckSource::Builtin { path, text }))
            })
            .collect();
        Catalogue { checks }
    }

    /// Adds every `AREA/NAME.toml` below `dir`; a check here replaces a shipped one of the
    /// same id, so a team can adapt a shipped definition.
    pub fn add_dir(&mut self, dir: &Path) -> std::io::Result<usize> {
        let mut files = Vec::new();
        collect(dir, &mut files)?;
        let mut added = 0;
        for file in files {
            if let Some(id) = file.strip_prefix(dir).ok().and_then(id_from_relative_path) {
                self.checks.insert(id, CheckSource::File(file));
                added += 1;
            }
        }
        Ok(added)
    }

    pub fn get(&self, id: &str) -> Option<&CheckSource> {
        self.checks.get(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.checks.keys().map(String::as_str)
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_area_and_file_name() {
        assert_eq!(
            id_from_relative_path(Path::new("security/tls-not-expiring.toml")).as_deref(),
            Some("security.tls-not-expiring")
        );
        assert_eq!(id_from_relative_path(Path::new("loose.toml")), None);
    }

    #[test]
    fn user_directories_replace_shipped_checks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("team")).unwrap();
        std::fs::write(dir.path().join("team/own.toml"), "[check]\n").unwrap();
        std::fs::write(dir.path().join("README.toml"), "").unwrap();
        let mut catalogue = Catalogue::builtin();
        assert_eq!(catalogue.add_dir(dir.path()).unwrap(), 1);
        assert_eq!(catalogue.get("team.own"), Some(&CheckSource::File(dir.path().join("team/own.toml"))));
    }
}
