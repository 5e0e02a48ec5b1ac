//! Diagnostics for checklist problems: every one has a stable code, a file:line:column, a
//! message naming the offending key, and a hint saying how to fix it. `golive validate`
//! collects them all before reporting, instead of stopping at the first.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term;
use serde::Serialize;

/// Stable diagnostic codes; documented in docs/diagnostics.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Code {
    /// The file is not valid TOML.
    #[serde(rename = "GL001")]
    Syntax,
    /// A key golive does not know (with a "did you mean" hint).
    #[serde(rename = "GL002")]
    UnknownKey,
    /// A value of the wrong type or an invalid value.
    #[serde(rename = "GL003")]
    InvalidValue,
    /// A required key is missing.
    #[serde(rename = "GL004")]
    MissingKey,
    /// `probe` names no known probe kind.
    #[serde(rename = "GL005")]
    UnknownProbe,
    /// `expect` names a fact the probe does not produce.
    #[serde(rename = "GL006")]
    UnknownFact,
    /// A matcher that is malformed or does not fit the fact's type.
    #[serde(rename = "GL007")]
    InvalidMatcher,
    /// Two items share an id.
    #[serde(rename = "GL008")]
    DuplicateId,
    /// `depends_on` names an unknown item.
    #[serde(rename = "GL009")]
    UnknownDependency,
    /// Items depend on each other in a cycle.
    #[serde(rename = "GL010")]
    DependencyCycle,
    /// An included file cannot be read.
    #[serde(rename = "GL011")]
    IncludeNotFound,
    /// Files include each other in a cycle.
    #[serde(rename = "GL012")]
    IncludeCycle,
    /// `${name}` names no var.
    #[serde(rename = "GL013")]
    UnknownVar,
    /// `${env:NAME}` names an environment variable that is not set, or `${file:PATH}` a
    /// file that cannot be read.
    #[serde(rename = "GL014")]
    EnvNotSet,
    /// Two included files give one var different values.
    #[serde(rename = "GL015")]
    VarConflict,
    /// A var is declared without a value and none was given.
    #[serde(rename = "GL016")]
    VarMissing,
    /// A file given on the command line cannot be read.
    #[serde(rename = "GL017")]
    FileNotFound,
    /// A `[[waiver]]` names an item that does not exist.
    #[serde(rename = "GL018")]
    UnknownWaiverItem,
    /// Two `[[waiver]]` entries name the same item.
    #[serde(rename = "GL019")]
    DuplicateWaiver,
    /// An attestation names an item that is not a manual item of the checklist.
    #[serde(rename = "GL020")]
    AttestationItem,
    /// `use` names no check in the catalogue, or a check file is not a valid check.
    #[serde(rename = "GL021")]
    UnknownCheck,
    /// An `exec` item's program failed `--describe` or described itself wrongly.
    #[serde(rename = "GL022")]
    PluginDescribe,
    /// Input beyond a limit golive sets so that no input can exhaust time or memory: include
    /// depth, total size of the loaded files, the expanded size of vars.
    #[serde(rename = "GL023")]
    Limit,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "GL001",
            Code::UnknownKey => "GL002",
            Code::InvalidValue => "GL003",
            Code::MissingKey => "GL004",
            Code::UnknownProbe => "GL005",
            Code::UnknownFact => "GL006",
            Code::InvalidMatcher => "GL007",
            Code::DuplicateId => "GL008",
            Code::UnknownDependency => "GL009",
            Code::DependencyCycle => "GL010",
            Code::IncludeNotFound => "GL011",
            Code::IncludeCycle => "GL012",
            Code::UnknownVar => "GL013",
            Code::EnvNotSet => "GL014",
            Code::VarConflict => "GL015",
            Code::VarMissing => "GL016",
            Code::FileNotFound => "GL017",
            Code::UnknownWaiverItem => "GL018",
            Code::DuplicateWaiver => "GL019",
            Code::AttestationItem => "GL020",
            Code::UnknownCheck => "GL021",
            Code::PluginDescribe => "GL022",
            Code::Limit => "GL023",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
}

pub type FileId = usize;

/// A place in a loaded file: which file, which bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loc {
    pub file: FileId,
    pub span: Range<usize>,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub level: Level,
    pub code: Code,
    pub message: String,
    pub loc: Option<Loc>,
    /// Other places that explain the problem (the first definition of a duplicate id…).
    pub related: Vec<(Loc, String)>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Error, code, message: message.into(), loc: None, related: Vec::new(), hint: None }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Diagnostic { level: Level::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, loc: Loc) -> Self {
        self.loc = Some(loc);
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn related(mut self, loc: Loc, what: impl Into<String>) -> Self {
        self.related.push((loc, what.into()));
        self
    }
}

/// The text of every loaded file, for positions and rendering.
#[derive(Default, Debug, Clone)]
pub struct Sources {
    files: Vec<(PathBuf, Arc<str>)>,
    /// Each path as printed in positions (formatted once: every item keeps its position).
    shown: Vec<String>,
    /// Byte offsets where each file's lines start, for positions in O(log n).
    line_starts: Vec<Vec<usize>>,
}

impl Sources {
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect();
        self.line_starts.push(starts);
        self.shown.push(path.display().to_string());
        self.files.push((path, text.into()));
        self.files.len() - 1
    }

    /// The text of a file, shared (for a loader thread that parses while others read).
    pub fn shared_text(&self, id: FileId) -> Arc<str> {
        Arc::clone(&self.files[id].1)
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.files[id].0
    }

    pub fn text(&self, id: FileId) -> &str {
        &self.files[id].1
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: FileId, offset: usize) -> (usize, usize) {
        let text = self.text(id);
        let offset = offset.min(text.len());
        let starts = &self.line_starts[id];
        let line = starts.partition_point(|&start| start <= offset);
        let line_start = starts[line - 1];
        let col = text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    /// The byte range of the line that holds `offset`, without its newline.
    fn line_range(&self, id: FileId, offset: usize) -> std::ops::Range<usize> {
        let text = self.text(id);
        let offset = offset.min(text.len());
        let starts = &self.line_starts[id];
        let line = starts.partition_point(|&start| start <= offset);
        let start = starts[line - 1];
        let end = starts.get(line).map(|next| next - 1).unwrap_or(text.len());
        start..end.max(start)
    }

    /// The same files with every secret and URL password in their text (and paths) masked
    /// byte for byte, so every location still points at the same place: what the
    /// diagnostics quote and underline, without the secrets.
    pub fn masked(&self, redactor: &crate::redact::Redactor) -> Sources {
        let files = self
            .files
            .iter()
            .map(|(path, text)| {
                let shown = path.to_string_lossy();
                let path = match redactor.redact(&shown) {
                    std::borrow::Cow::Owned(masked) => PathBuf::from(masked),
                    std::borrow::Cow::Borrowed(_) => path.clone(),
                };
                let text = match redactor.redact_keeping_offsets(text) {
                    std::borrow::Cow::Owned(masked) => Arc::from(masked),
                    std::borrow::Cow::Borrowed(_) => Arc::clone(text),
                };
                (path, text)
            })
            .collect::<Vec<_>>();
        let shown = files.iter().map(|(path, _)| path.display().to_string()).collect();
        Sources { files, shown, line_starts: self.line_starts.clone() }
    }

    /// `path:line:column` of a location.
    pub fn position(&self, loc: &Loc) -> String {
        let (line, col) = self.line_col(loc.file, loc.span.start);
        format!("{}:{line}:{col}", self.shown[loc.file])
    }
}

/// Source lines longer than this are not quoted (a minified or generated file would print
/// its whole line for every diagnostic); the position is given instead.
pub const MAX_QUOTED_LINE: usize = 400;
/// Messages and hints are cut to this many characters in every form (a message may quote a
/// value the user wrote, which can be huge).
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// `text`, cut to `max` characters with `…` when longer.
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..cut])),
        None => std::borrow::Cow::Borrowed(text),
    }
}

/// Renders diagnostics for a terminal: a header with code and message, the source line with
/// the offending key underlined at `file:line:column`, related places, and the hint. A
/// label is quoted on its first line only, and not at all on a line longer than
/// `MAX_QUOTED_LINE`.
pub fn render(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    if diagnostics.is_empty() {
        return String::new();
    }
    // Only the files a diagnostic points into are given to codespan (it indexes the lines
    // of every file it is given); the others keep their place, empty, so ids still match.
    let used: std::collections::HashSet<FileId> =
        diagnostics.iter().flat_map(|d| d.loc.iter().chain(d.related.iter().map(|(l, _)| l))).map(|l| l.file).collect();
    let mut files = SimpleFiles::new();
    for (id, (path, text)) in sources.files.iter().enumerate() {
        files.add(path.display().to_string(), if used.contains(&id) { &**text } else { "" });
    }
    let config = term::Config::default();
    let mut out = String::new();
    for d in diagnostics {
        let severity = match d.level {
            Level::Error => CsSeverity::Error,
            Level::Warning => CsSeverity::Warning,
        };
        let mut cs =
            CsDiagnostic::new(severity).with_code(d.code.as_str()).with_message(clip(&d.message, MAX_MESSAGE_CHARS));
        let mut labels = Vec::new();
        let mut notes = Vec::new();
        // One line of the span, or only its position when that line is too long to quote.
        let mut quote = |loc: &Loc, primary: bool, what: &str| {
            let line = sources.line_range(loc.file, loc.span.start);
            if line.len() > MAX_QUOTED_LINE {
                let what = if what.is_empty() { String::new() } else { format!(" ({what})") };
                notes.push(format!("at {}{what}", sources.position(loc)));
                return;
            }
            let span = loc.span.start..loc.span.end.min(line.end).max(loc.span.start);
            let label = if primary { Label::primary(loc.file, span) } else { Label::secondary(loc.file, span) };
            labels.push(label.with_message(what));
        };
        if let Some(loc) = &d.loc {
            quote(loc, true, "");
        }
        for (loc, what) in &d.related {
            quote(loc, false, what);
        }
        if let Some(hint) = &d.hint {
            notes.push(format!("hint: {}", clip(hint, MAX_MESSAGE_CHARS)));
        }
        cs = cs.with_labels(labels).with_notes(notes);
        match term::emit_into_string(&config, &files, &cs) {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push_str(&format!("{}[{}]: {}\n", level_word(d.level), d.code.as_str(), d.message)),
        }
    }
    out
}

fn level_word(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
    }
}

/// One diagnostic per line, `file:line:col: error[GL002]: message (hint: …)`: the form CI
/// logs and editors' problem matchers read.
pub fn render_short(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        if let Some(loc) = &d.loc {
            out.push_str(&sources.position(loc));
            out.push_str(": ");
        }
        out.push_str(&format!("{}[{}]: {}", level_word(d.level), d.code.as_str(), clip(&d.message, MAX_MESSAGE_CHARS)));
        if let Some(hint) = &d.hint {
            out.push_str(&format!(" (hint: {})", clip(hint, MAX_MESSAGE_CHARS)));
        }
        out.push('\n');
    }
    out
}

/// JSON form of diagnostics for tools.
pub fn to_json(sources: &Sources, diagnostics: &[Diagnostic]) -> serde_json::Value {
    let loc_json = |loc: &Loc| {
        let (line, column) = sources.line_col(loc.file, loc.span.start);
        serde_json::json!({ "file": sources.path(loc.file).display().to_string(), "line": line, "column": column })
    };
    serde_json::Value::Array(
        diagnostics
            .iter()
            .map(|d| {
                serde_json::json!({
                    "level": d.level,
                    "code": d.code,
                    "message": clip(&d.message, MAX_MESSAGE_CHARS),
                    "location": d.loc.as_ref().map(loc_json),
                    "related": d.related.iter().map(|(l, m)| serde_json::json!({"location": loc_json(l), "message": m})).collect::<Vec<_>>(),
                    "hint": d.hint.as_deref().map(|h| clip(h, MAX_MESSAGE_CHARS)),
                })
            })
            .collect(),
    )
}

/// "did you mean `timeout`?" for a misspelt name, when one candidate is close enough.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let first_word = |s: &str| s.split(['_', '.', '-']).next().unwrap_or_default().to_string();
    let mut best: Option<(&str, f64)> = None;
    for c in candidates {
        let mut score = strsim::jaro_winkler(wrong, c);
        // `days_left` → `days_remaining`: same first word, different ending.
        if score <= 0.8 && wrong.contains('_') && first_word(wrong) == first_word(c) && first_word(c).len() >= 3 {
            score = 0.81;
        }
        if score > 0.8 && best.is_none_or(|(_, s)| score > s) {
            best = Some((c, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["timeout", "retries", "severity"];
        assert_eq!(did_you_mean("timout", keys), Some("timeout"));
        assert_eq!(did_you_mean("zebra", keys), None);
        assert_eq!(did_you_mean("days_left", ["chain_min_days_remaining", "days_remaining"]), Some("days_remaining"));
    }

    #[test]
    fn long_lines_and_messages_are_not_quoted_whole() {
        let mut s = Sources::default();
        let long = format!("x = [{}]\nshort = 1\n", "\"a\",".repeat(10_000));
        let id = s.add("a.toml".into(), long.clone());
        let wide =
            Diagnostic::error(Code::UnknownDependency, "m".repeat(5000)).at(Loc { file: id, span: 4..long.len() - 12 });
        let narrow =
            Diagnostic::error(Code::UnknownKey, "k").at(Loc { file: id, span: long.len() - 10..long.len() - 5 });
        let text = render(&s, &[wide, narrow]);
        assert!(text.len() < 8000, "{} bytes", text.len());
        assert!(text.contains("at a.toml:1:5"), "{text}");
        assert!(text.contains("short = 1"), "a short line is quoted: {text}");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("abc", 3), "abc");
    }

    #[test]
    fn positions_are_one_based_in_characters() {
        let mut s = Sources::default();
        let id = s.add("a.toml".into(), "x = 1\né = \"b\"\n".into());
        let offset = s.text(id).find('=').unwrap();
        assert_eq!(s.line_col(id, offset), (1, 3));
        let second = s.text(id).rfind('=').unwrap();
        assert_eq!(s.line_col(id, second), (2, 3));
    }
}
