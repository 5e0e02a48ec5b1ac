//! The check catalogue: reusable check definitions that checklist items use by id
//! (`use = "security.tls-not-expiring"`), and the ready-made checklists a checklist can
//! include as `golive:NAME`. The shipped ones are built into the binary (see build.rs);
//! `[checklist] checks = ["dir"]` adds a team's own catalogue directories.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::fsread::{ReadError, read_bounded};

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

    /// The check file's bytes; a file on disk is read only if it is a regular file of at
    /// most 16 MiB (`fsread`).
    pub fn read(&self) -> Result<Vec<u8>, ReadError> {
        match self {
            CheckSource::Builtin { text, .. } => Ok(text.as_bytes().to_vec()),
            CheckSource::File(path) => read_bounded(path),
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

    /// Adds every `AREA/NAME.toml` in `dir`; a check here replaces a shipped one of the
    /// same id, so a team can adapt a shipped definition. Only that depth is read; symlinks
    /// are followed, but a directory reached twice is read once; entries that are not
    /// regular files (FIFOs, devices, sockets) are skipped without being opened; and at
    /// most [`MAX_DIR_ENTRIES`] entries are read. Returns how many checks were added.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, CatalogueDirError> {
        let files = check_files(dir)?;
        let added = files.len();
        for (id, file) in files {
            self.checks.insert(id, CheckSource::File(file));
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

/// The most directory entries (areas and the files in them together) read below one
/// `checks` directory.
pub const MAX_DIR_ENTRIES: usize = 10_000;

/// Why a `checks` directory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueDirError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it is not a directory")]
    NotADirectory,
    #[error(
        "it holds more than {MAX_DIR_ENTRIES} entries in it and its area folders (a checks directory holds AREA/NAME.toml files)"
    )]
    TooManyEntries,
}

/// Reads a directory's entries, sorted, counting them against `budget`.
fn entries(dir: &Path, budget: &mut usize) -> Result<Vec<PathBuf>, CatalogueDirError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        *budget = budget.checked_sub(1).ok_or(CatalogueDirError::TooManyEntries)?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

/// The (device, inode) of a directory, following symlinks; `None` for anything else.
fn directory_key(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    meta.is_dir().then(|| (meta.dev(), meta.ino()))
}

/// The check files of a catalogue directory, `DIR/AREA/NAME.toml`, with their ids.
fn check_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, CatalogueDirError> {
    let root = directory_key(dir).ok_or_else(|| match std::fs::metadata(dir) {
        Err(e) => CatalogueDirError::Io(e),
        Ok(_) => CatalogueDirError::NotADirectory,
    })?;
    let mut visited = HashSet::from([root]);
    let mut budget = MAX_DIR_ENTRIES;
    let mut out = Vec::new();
    for area in entries(dir, &mut budget)? {
        let Some(key) = directory_key(&area) else { continue };
        if !visited.insert(key) {
            continue;
        }
        // An area that cannot be listed (permissions) holds no checks we can use.
        let files = match entries(&area, &mut budget) {
            Ok(files) => files,
            Err(CatalogueDirError::TooManyEntries) => return Err(CatalogueDirError::TooManyEntries),
            Err(_) => continue,
        };
        for file in files {
            // Follows a symlink; a FIFO or a device is never opened.
            let regular = std::fs::metadata(&file).is_ok_and(|m| m.is_file());
            if !regular || file.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            if let Some(id) = file.strip_prefix(dir).ok().and_then(id_from_relative_path) {
                out.push((id, file));
            }
        }
    }
    Ok(out)
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
