//! Stage 1, files: read the checklist files named on the command line and, depth first, the
//! files they include (relative paths, or built-in checklists as `golive:NAME`), each once
//! however often it is included, reporting include cycles. Only regular files up to the
//! size cap are read (`fsread`), includes nest at most `MAX_INCLUDE_DEPTH` deep and all
//! files together hold at most `MAX_TOTAL_BYTES`: no input can block or exhaust the loader.
//! Every file's top-level keys are checked here.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ctx::Ctx;
use super::keys::{is_array_of_tables, unknown_key, wrong_type};
use crate::checklist::catalogue::{BUILTIN_PREFIX, builtin_checklist, builtin_checklist_names};
use crate::diag::{Code, Diagnostic, FileId, Loc};
use crate::fsread::{MAX_INPUT_BYTES, read_bounded};
use crate::lang::tree::{SKind, SValue, Segment, parse_checklist, parse_items};

/// How deep includes may nest.
pub const MAX_INCLUDE_DEPTH: usize = 64;
/// The size of all checklist files of one load together.
pub const MAX_TOTAL_BYTES: u64 = 4 * MAX_INPUT_BYTES;

const TOP_KEYS: &[&str] = &["checklist", "vars", "defaults", "item", "waiver", "signoff", "target"];
const CHECKLIST_KEYS: &[&str] = &["name", "version", "description", "include", "attestations", "checks"];

/// Lazy item segments of at least this many bytes in one file are parsed by a second
/// thread, ahead of the loader building the items (parsing is half the work of loading).
const PARSE_AHEAD_BYTES: usize = 1024 * 1024;
/// How many parsed segments that thread may hold ready (each about 64 KiB of text).
const PARSE_AHEAD_SEGMENTS: usize = 4;

/// One file read and parsed.
pub struct FileDoc {
    pub id: FileId,
    pub root: SValue,
    /// Where its `[[item]]` tables are, when the file was read in pieces (else in `root`).
    pub items: Vec<Segment>,
    pub sha256: String,
    /// The files it includes, as indexes into `FileSet::docs`.
    pub includes: Vec<usize>,
    /// The file that first included it (a file's defaults extend its parent's).
    pub parent: Option<usize>,
}

/// Every file of a load, in the order read (a file before the files it includes).
#[derive(Default)]
pub struct FileSet {
    pub docs: Vec<FileDoc>,
    /// The files named on the command line that could be read.
    pub roots: Vec<usize>,
}

impl FileSet {
    /// The `[checklist] KEY` string of the first root file that sets it.
    pub fn meta(&self, key: &str) -> Option<String> {
        self.roots.iter().find_map(|&r| self.docs[r].root.get("checklist")?.get(key)?.as_str().map(str::to_string))
    }

    /// `[checklist] KEY` of one file.
    pub fn checklist_key(&self, doc: usize, key: &str) -> Option<&SValue> {
        self.docs[doc].root.get("checklist")?.get(key)
    }
}

struct Reader<'c> {
    cx: &'c mut Ctx,
    set: FileSet,
    by_path: HashMap<PathBuf, usize>,
    /// Files being read: (canonical path, path as written), for include cycles.
    stack: Vec<(PathBuf, PathBuf)>,
    total: u64,
    total_reported: bool,
}

pub fn read(cx: &mut Ctx, paths: &[PathBuf]) -> FileSet {
    let mut r = Reader {
        cx,
        set: FileSet::default(),
        by_path: HashMap::new(),
        stack: Vec::new(),
        total: 0,
        total_reported: false,
    };
    for path in paths {
        if let Some(index) = r.file(path, None, None) {
            r.set.roots.push(index);
        }
    }
    r.set
}

impl Reader<'_> {
    fn file(&mut self, path: &Path, included_from: Option<Loc>, parent: Option<usize>) -> Option<usize> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if let Some(pos) = self.stack.iter().position(|(c, _)| *c == canonical) {
            let cycle: Vec<String> = self.stack[pos..]
                .iter()
                .map(|(_, shown)| shown.as_path())
                .chain([path])
                .map(|p| p.display().to_string())
                .collect();
            let mut d = Diagnostic::error(Code::IncludeCycle, format!("include cycle: {}", cycle.join(" → ")))
                .hint("remove one of these includes; a file may be included from several places but not from itself");
            if let Some(loc) = included_from {
                d = d.at(loc);
            }
            self.cx.diags.push(d);
            return None;
        }
        if let Some(&index) = self.by_path.get(&canonical) {
            return Some(index);
        }
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            let mut d = Diagnostic::error(
                Code::Limit,
                format!("includes nest more than {MAX_INCLUDE_DEPTH} deep at {}", path.display()),
            )
            .hint("include the files from fewer levels: a top file may include many files directly");
            if let Some(loc) = included_from {
                d = d.at(loc);
            }
            self.cx.diags.push(d);
            return None;
        }
        let builtin = path.to_str().and_then(|p| p.strip_prefix(BUILTIN_PREFIX));
        let bytes = match builtin {
            Some(name) => match builtin_checklist(name) {
                Some((_, text)) => text.as_bytes().to_vec(),
                None => {
                    let why = format!(
                        "golive has no built-in checklist `{name}`; built in: {}",
                        builtin_checklist_names().join(", ")
                    );
                    self.unreadable(path, &why, included_from);
                    return None;
                }
            },
            None => match read_bounded(path) {
                Ok(bytes) => bytes,
                Err(e) => {
                    self.unreadable(path, &e.to_string(), included_from);
                    return None;
                }
            },
        };
        self.total += bytes.len() as u64;
        if self.total > MAX_TOTAL_BYTES {
            if !self.total_reported {
                self.total_reported = true;
                let mut d = Diagnostic::error(
                    Code::Limit,
                    format!(
                        "the checklist files together are larger than {} MiB; {} is not read",
                        MAX_TOTAL_BYTES >> 20,
                        path.display()
                    ),
                )
                .hint("split the checklist into separate runs");
                if let Some(loc) = included_from {
                    d = d.at(loc);
                }
                self.cx.diags.push(d);
            }
            return None;
        }
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let text = String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        let id = self.cx.sources.add(path.to_path_buf(), text);
        let (root, items) = match parse_checklist(id, self.cx.sources.text(id)) {
            Ok(doc) => (doc.root, doc.items),
            Err(d) => {
                self.cx.diags.push(d);
                return None;
            }
        };
        let index = self.set.docs.len();
        self.set.docs.push(FileDoc { id, root, items, sha256, includes: Vec::new(), parent });
        self.by_path.insert(canonical.clone(), index);
        check_top_level(self.cx, &self.set.docs[index]);

        let includes = match self.set.checklist_key(index, "include") {
            Some(v) => v.clone(),
            None => return Some(index),
        };
        self.stack.push((canonical, path.to_path_buf()));
        let base = path.parent().unwrap_or(Path::new("."));
        match &includes.kind {
            SKind::Array(entries) => {
                for entry in entries {
                    let Some(rel) = entry.as_str() else {
                        self.cx.diags.push(wrong_type(entry, "include", "a list of file paths"));
                        continue;
                    };
                    // Built-in checklists include their siblings as built-ins too.
                    let target = if rel.starts_with(BUILTIN_PREFIX) {
                        PathBuf::from(rel)
                    } else if builtin.is_some() {
                        PathBuf::from(format!("{BUILTIN_PREFIX}{rel}"))
                    } else {
                        base.join(rel)
                    };
                    if let Some(child) = self.file(&target, Some(entry.loc()), Some(index)) {
                        self.set.docs[index].includes.push(child);
                    }
                }
            }
            _ => self.cx.diags.push(wrong_type(&includes, "include", "a list of file paths")),
        }
        self.stack.pop();
        Some(index)
    }

    fn unreadable(&mut self, path: &Path, why: &str, included_from: Option<Loc>) {
        let d = match included_from {
            Some(loc) => {
                Diagnostic::error(Code::IncludeNotFound, format!("cannot read included file {}: {why}", path.display()))
                    .at(loc)
                    .hint("include paths are relative to the file that includes them")
            }
            None => Diagnostic::error(Code::FileNotFound, format!("cannot read checklist {}: {why}", path.display()))
                .hint("give the path of a checklist TOML file (default: golive.toml)"),
        };
        self.cx.diags.push(d);
    }
}

fn check_top_level(cx: &mut Ctx, doc: &FileDoc) {
    for (key, value) in doc.root.as_table().unwrap_or_default() {
        match key.name.as_str() {
            "checklist" => match value.as_table() {
                Some(table) => {
                    for (k, v) in table {
                        if !CHECKLIST_KEYS.contains(&k.name.as_str()) {
                            cx.diags.push(unknown_key(doc.id, k, "[checklist]", CHECKLIST_KEYS));
                        } else if k.name != "include" && k.name != "checks" && v.as_str().is_none() {
                            cx.diags.push(wrong_type(v, &k.name, "a string"));
                        }
                    }
                }
                None => cx.diags.push(wrong_type(value, "checklist", "a table")),
            },
            "vars" | "defaults" | "signoff" if value.as_table().is_none() => {
                cx.diags.push(wrong_type(value, &key.name, "a table"))
            }
            "item" | "waiver" | "target" if !is_array_of_tables(value) => {
                cx.diags.push(wrong_type(value, &key.name, &format!("an array of tables, written [[{}]]", key.name)))
            }
            "vars" | "defaults" | "signoff" | "item" | "waiver" | "target" => {}
            _ => cx.diags.push(unknown_key(doc.id, key, "the checklist file", TOP_KEYS)),
        }
    }
}

/// Hands every item table of a file's segments to `build`, in order, parsing each lazy
/// segment when it is reached (its tree is dropped once its items are built). With much to
/// parse, a second thread parses ahead. `false` when a lazy segment does not parse:
/// nothing from it or after it is handed on (the caller reports the file's syntax error).
pub fn each_item(cx: &mut Ctx, file: FileId, segments: Vec<Segment>, build: &mut dyn FnMut(&mut Ctx, SValue)) -> bool {
    let text = cx.sources.shared_text(file);
    let lazy: Vec<Range<usize>> = segments
        .iter()
        .filter_map(|s| match s {
            Segment::Lazy(range) => Some(range.clone()),
            Segment::Parsed(_) => None,
        })
        .collect();
    let mut segments = Some(segments);
    if lazy.iter().map(Range::len).sum::<usize>() >= PARSE_AHEAD_BYTES {
        let done = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Option<Vec<SValue>>>(PARSE_AHEAD_SEGMENTS);
            let shared = &text;
            let ahead = std::thread::Builder::new().name("golive-parse".into()).spawn_scoped(scope, move || {
                for range in lazy {
                    let parsed = parse_items(file, shared, range);
                    let failed = parsed.is_none();
                    if tx.send(parsed).is_err() || failed {
                        return;
                    }
                }
            });
            // Without a thread (the system refused one), the segments are parsed below.
            ahead.ok().map(|_| hand_on(cx, segments.take().unwrap_or_default(), build, |_| rx.recv().ok().flatten()))
        });
        if let Some(done) = done {
            return done;
        }
    }
    hand_on(cx, segments.unwrap_or_default(), build, |range| parse_items(file, &text, range))
}

/// `each_item` with lazy segments' tables from `next`.
fn hand_on(
    cx: &mut Ctx,
    segments: Vec<Segment>,
    build: &mut dyn FnMut(&mut Ctx, SValue),
    mut next: impl FnMut(Range<usize>) -> Option<Vec<SValue>>,
) -> bool {
    for segment in segments {
        let tables = match segment {
            Segment::Parsed(tables) => tables,
            Segment::Lazy(range) => match next(range) {
                Some(tables) => tables,
                None => return false,
            },
        };
        for table in tables {
            build(cx, table);
        }
    }
    true
}
