//! The five structured config formats the `file` probe reads keys from (TOML, YAML, JSON,
//! INI, env), each parsed into one tree in which every key keeps the line it is on
//! (`probe::config_file` looks keys up in it). A malformed file is an error at its
//! `line:column`, never a partial tree.

use std::path::Path;

use crate::value::Value;

/// A config file's format: given as the `format` parameter, or told by the file's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Toml,
    Yaml,
    Json,
    Ini,
    Env,
}

/// The words of the `format` parameter.
pub const FORMAT_WORDS: &[&str] = &["auto", "toml", "yaml", "json", "ini", "env"];

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Toml => "TOML",
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Ini => "INI",
            Format::Env => "env",
        }
    }

    /// The format named by the `format` parameter; for `auto`, the one the file's name
    /// tells: `.toml`; `.yaml`, `.yml`; `.json`; `.ini`, `.cfg`, `.cnf`, `.properties`;
    /// `.env`, `.env.*`, `*.env`. Anything else (`.conf` is INI for some programs and not
    /// for others) needs `format`.
    pub fn choose(word: &str, path: &Path) -> Result<Format, String> {
        match word {
            "toml" => return Ok(Format::Toml),
            "yaml" => return Ok(Format::Yaml),
            "json" => return Ok(Format::Json),
            "ini" => return Ok(Format::Ini),
            "env" => return Ok(Format::Env),
            _ => {}
        }
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
        if name == ".env" || name.starts_with(".env.") || ext == "env" {
            return Ok(Format::Env);
        }
        match ext {
            "toml" => Ok(Format::Toml),
            "yaml" | "yml" => Ok(Format::Yaml),
            "json" => Ok(Format::Json),
            "ini" | "cfg" | "cnf" | "properties" => Ok(Format::Ini),
            _ => Err(format!(
                "cannot tell the format of {} from its name: set format to one of toml, yaml, json, ini, env",
                path.display()
            )),
        }
    }
}

/// One key's (or list entry's) value and the line it is on (1-based).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub line: usize,
    pub node: Node,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Scalar(Value),
    /// Keys in file order, each once (a key written twice, where the format allows it, has
    /// its last value and line).
    Map(Vec<(String, Entry)>),
    List(Vec<Entry>),
}

impl Node {
    fn insert(map: &mut Vec<(String, Entry)>, key: String, entry: Entry) {
        match map.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = entry,
            None => map.push((key, entry)),
        }
    }
}

/// Why a file is not valid in its format: where, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl ParseError {
    fn at(line: usize, column: usize, message: impl Into<String>) -> Self {
        ParseError { line, column, message: message.into() }
    }
}

/// Nesting deeper than this is refused (the tree is built recursively).
pub const MAX_DEPTH: usize = 128;

/// Parses a whole file; its root is a table for TOML, INI and env.
pub fn parse(format: Format, text: &str) -> Result<Entry, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let node = match format {
        Format::Toml => toml(text)?,
        Format::Yaml => yaml(text)?,
        Format::Json => json(text)?,
        Format::Ini => ini(text)?,
        Format::Env => env(text)?,
    };
    Ok(Entry { line: 1, node })
}

/// Byte offsets to 1-based lines and columns (in characters).
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let starts = std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect();
        Lines { text, starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset)
    }

    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line(offset);
        let start = self.starts[line - 1];
        let col = self.text.get(start..offset).map_or(1, |s| s.chars().count() + 1);
        (line, col)
    }
}

// ── TOML: the loader's own spanned tree (`lang::tree`) ────────────────────────────────

fn toml(text: &str) -> Result<Node, ParseError> {
    use crate::lang::tree::{SKind, SValue};
    let lines = Lines::new(text);
    let doc = crate::lang::tree::parse_document(0, text).map_err(|d| {
        let (line, column) = d.loc.as_ref().map_or((1, 1), |loc| lines.line_col(loc.span.start));
        ParseError::at(line, column, d.message.trim_start_matches("invalid TOML: ").to_string())
    })?;
    fn node(v: &SValue, lines: &Lines) -> Node {
        match &v.kind {
            SKind::Str(s) => Node::Scalar(Value::str(s)),
            SKind::Int(i) => Node::Scalar(Value::Int(*i)),
            SKind::Float(f) => Node::Scalar(Value::Float(*f)),
            SKind::Bool(b) => Node::Scalar(Value::Bool(*b)),
            SKind::Datetime(d) => Node::Scalar(
                time::OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339)
                    .map_or_else(|_| Value::str(d), Value::Time),
            ),
            SKind::Array(items) => Node::List(
                items.iter().map(|i| Entry { line: lines.line(i.span.start), node: node(i, lines) }).collect(),
            ),
            SKind::Table(entries) => Node::Map(
                entries
                    .iter()
                    .map(|(k, v)| (k.name.clone(), Entry { line: lines.line(k.span.start), node: node(v, lines) }))
                    .collect(),
            ),
        }
    }
    Ok(node(&doc, &lines))
}

// ── YAML (1.2 core schema, saphyr): the first document; `<<` merge keys applied ───────

fn yaml(text: &str) -> Result<Node, ParseError> {
    let mut docs = yaml_documents(text)?;
    Ok(if docs.is_empty() { Node::Map(Vec::new()) } else { docs.swap_remove(0).node })
}

/// Every document of a YAML stream (`---` between them), each with the line it starts on;
/// the same reading as the first document's for `config.<key>` facts. A BOM is skipped.
pub fn yaml_documents(text: &str) -> Result<Vec<Entry>, ParseError> {
    use saphyr::{LoadableYamlNode, MarkedYaml};
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let scan_error =
        |e: saphyr::ScanError| ParseError::at(e.marker().line(), e.marker().col() + 1, e.info().to_string());
    // saphyr's loader recurses once per level of nesting, and a block mapping has no depth
    // limit of its own (1,000 levels overflowed a 2 MiB stack): the events, which come one
    // by one, are counted first.
    let mut depth = 0usize;
    for event in saphyr_parser::Parser::new_from_str(text) {
        let (event, span) = event.map_err(scan_error)?;
        match event {
            saphyr_parser::Event::MappingStart(..) | saphyr_parser::Event::SequenceStart(..) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(ParseError::at(span.start.line(), span.start.col() + 1, too_deep()));
                }
            }
            saphyr_parser::Event::MappingEnd | saphyr_parser::Event::SequenceEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let docs = MarkedYaml::load_from_str(text).map_err(scan_error)?;
    docs.iter().map(|doc| Ok(Entry { line: doc.span.start.line(), node: yaml_node(doc, 0)? })).collect()
}

fn yaml_node(y: &saphyr::MarkedYaml<'_>, depth: usize) -> Result<Node, ParseError> {
    use saphyr::{Scalar, YamlData};
    if depth > MAX_DEPTH {
        return Err(ParseError::at(y.span.start.line(), y.span.start.col() + 1, too_deep()));
    }
    Ok(match &y.data {
        YamlData::Value(s) => Node::Scalar(match s {
            Scalar::Null => Value::Null,
            Scalar::Boolean(b) => Value::Bool(*b),
            Scalar::Integer(i) => Value::Int(*i),
            Scalar::FloatingPoint(f) => Value::Float(f.0),
            Scalar::String(s) => Value::str(s.as_ref()),
        }),
        YamlData::Representation(s, _, _) => Node::Scalar(Value::str(s.as_ref())),
        YamlData::Tagged(_, inner) => yaml_node(inner, depth + 1)?,
        YamlData::Sequence(items) => Node::List(
            items
                .iter()
                .map(|i| Ok(Entry { line: i.span.start.line(), node: yaml_node(i, depth + 1)? }))
                .collect::<Result<_, ParseError>>()?,
        ),
        YamlData::Mapping(map) => {
            let mut own = Vec::new();
            let mut merged = Vec::new();
            for (k, v) in map {
                let Some(name) = yaml_key(k) else { continue };
                let entry = Entry { line: k.span.start.line(), node: yaml_node(v, depth + 1)? };
                if name == "<<" {
                    // `<<: *defaults` or `<<: [*a, *b]`: their keys, under the ones written here.
                    match entry.node {
                        Node::Map(m) => merged.push(m),
                        Node::List(items) => merged.extend(items.into_iter().filter_map(|e| match e.node {
                            Node::Map(m) => Some(m),
                            _ => None,
                        })),
                        other => Node::insert(&mut own, name, Entry { line: entry.line, node: other }),
                    }
                } else {
                    Node::insert(&mut own, name, entry);
                }
            }
            for m in merged {
                for (k, e) in m {
                    if !own.iter().any(|(o, _)| *o == k) {
                        own.push((k, e));
                    }
                }
            }
            Node::Map(own)
        }
        YamlData::Alias(_) | YamlData::BadValue => Node::Scalar(Value::Null),
    })
}

/// A mapping key as text; `None` for a table or list used as a key.
fn yaml_key(k: &saphyr::MarkedYaml<'_>) -> Option<String> {
    use saphyr::{Scalar, YamlData};
    match &k.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.0.to_string()),
        YamlData::Value(Scalar::Null) => Some("null".into()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        YamlData::Tagged(_, inner) => yaml_key(inner),
        _ => None,
    }
}

fn too_deep() -> String {
    format!("nested more than {MAX_DEPTH} levels deep")
}

// ── JSON: validated by serde_json (its error has the position), then walked for lines ──

fn json(text: &str) -> Result<Node, ParseError> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let message = e.to_string();
        // serde_json ends its message with " at line L column C": said once, in front.
        let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m).to_string();
        return Err(ParseError::at(e.line().max(1), e.column().max(1), message));
    }
    let mut walk = JsonWalk { text, bytes: text.as_bytes(), at: 0, lines: Lines::new(text) };
    walk.value(0)
}

/// Walks a document serde_json has accepted, so it can assume it is well formed (and no
/// deeper than serde_json's own limit of 128).
struct JsonWalk<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    lines: Lines<'a>,
}

impl JsonWalk<'_> {
    fn skip_ws(&mut self) {
        while self.bytes.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&self) -> u8 {
        self.bytes.get(self.at).copied().unwrap_or(0)
    }

    fn value(&mut self, depth: usize) -> Result<Node, ParseError> {
        self.skip_ws();
        if depth > MAX_DEPTH {
            let (line, column) = self.lines.line_col(self.at);
            return Err(ParseError::at(line, column, too_deep()));
        }
        match self.peek() {
            b'{' => {
                self.at += 1;
                let mut map = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        b'}' => {
                            self.at += 1;
                            break;
                        }
                        b',' => {
                            self.at += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let line = self.lines.line(self.at);
                    let key = self.string();
                    self.skip_ws();
                    self.at += 1; // ':'
                    let node = self.value(depth + 1)?;
                    Node::insert(&mut map, key, Entry { line, node });
                }
                Ok(Node::Map(map))
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        b']' => {
                            self.at += 1;
                            break;
                        }
                        b',' => {
                            self.at += 1;
                            continue;
                        }
                        _ => {}
                    }
                    let line = self.lines.line(self.at);
                    items.push(Entry { line, node: self.value(depth + 1)? });
                }
                Ok(Node::List(items))
            }
            b'"' => Ok(Node::Scalar(Value::Str(self.string()))),
            b't' => {
                self.at += 4;
                Ok(Node::Scalar(Value::Bool(true)))
            }
            b'f' => {
                self.at += 5;
                Ok(Node::Scalar(Value::Bool(false)))
            }
            b'n' => {
                self.at += 4;
                Ok(Node::Scalar(Value::Null))
            }
            _ => {
                let start = self.at;
                while self.bytes.get(self.at).is_some_and(|b| b"+-0123456789.eE".contains(b)) {
                    self.at += 1;
                }
                let number = &self.text[start..self.at];
                let integer = (!number.contains(['.', 'e', 'E'])).then(|| number.parse::<i64>().ok()).flatten();
                Ok(Node::Scalar(match integer {
                    Some(i) => Value::Int(i),
                    None => Value::Float(number.parse().unwrap_or(f64::NAN)),
                }))
            }
        }
    }

    /// The string at `at` (its quotes and escapes decoded by serde_json).
    fn string(&mut self) -> String {
        let start = self.at;
        self.at += 1;
        while let Some(&b) = self.bytes.get(self.at) {
            self.at += match b {
                b'\\' => 2,
                b'"' => {
                    self.at += 1;
                    break;
                }
                _ => 1,
            };
        }
        serde_json::from_str(&self.text[start..self.at.min(self.text.len())]).unwrap_or_default()
    }
}

// ── INI: `[section]`, `key = value` or `key: value`, `;` and `#` comments ─────────────

fn ini(text: &str) -> Result<Node, ParseError> {
    let mut root: Vec<(String, Entry)> = Vec::new();
    let mut section: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let t = raw.trim();
        let indent = raw.chars().count() - raw.trim_start().chars().count();
        // `!include` (MySQL) and other directives carry no setting.
        if t.is_empty() || t.starts_with([';', '#', '!']) {
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']').map(str::trim) else {
                return Err(ParseError::at(line, indent + 1, "a section header without its closing `]`"));
            };
            if name.is_empty() {
                return Err(ParseError::at(line, indent + 1, "a section header without a name"));
            }
            if !root.iter().any(|(k, _)| k == name) {
                root.push((name.to_string(), Entry { line, node: Node::Map(Vec::new()) }));
            }
            section = Some(name.to_string());
            continue;
        }
        let (key, value) = match t.find(['=', ':']) {
            Some(at) => (t[..at].trim(), Some(t[at + 1..].trim())),
            None => (t, None),
        };
        if key.is_empty() {
            return Err(ParseError::at(line, indent + 1, "a value without a key before it"));
        }
        let value = match value {
            Some(v) => untyped(&unquote_ini(v)),
            // A bare key (`skip-name-resolve` in my.cnf) switches something on.
            None if key.chars().all(|c| c.is_alphanumeric() || "_-.".contains(c)) => Value::Bool(true),
            None => {
                return Err(ParseError::at(line, indent + 1, "expected `key = value`, a `[section]` or a comment"));
            }
        };
        let entry = Entry { line, node: Node::Scalar(value) };
        let map = match &section {
            None => &mut root,
            Some(name) => match root.iter_mut().find(|(k, _)| k == name) {
                Some((_, Entry { node: Node::Map(m), .. })) => m,
                _ => &mut root,
            },
        };
        Node::insert(map, key.to_string(), entry);
    }
    Ok(Node::Map(root))
}

/// An INI value without its quotes, or without a trailing ` ; comment` / ` # comment`.
fn unquote_ini(v: &str) -> String {
    if let Some(q @ ('"' | '\'')) = v.chars().next()
        && let Some(end) = v[1..].find(q)
    {
        return v[1..1 + end].to_string();
    }
    let cut = v
        .char_indices()
        .find(|&(i, c)| (c == ';' || c == '#') && v[..i].ends_with(char::is_whitespace))
        .map_or(v.len(), |(i, _)| i);
    v[..cut].trim_end().to_string()
}

// ── env: `NAME=value`, `export NAME=value`, quotes, `#` comments ──────────────────────

fn env(text: &str) -> Result<Node, ParseError> {
    let lines = Lines::new(text);
    let mut map = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let line_text = &text[at..end];
        let t = line_text.trim_start();
        let start = at + (line_text.len() - t.len());
        if t.trim().is_empty() || t.starts_with('#') {
            at = end + 1;
            continue;
        }
        let t = t.strip_prefix("export").filter(|r| r.starts_with([' ', '\t'])).map_or(t, str::trim_start);
        let name_at = end - line_text.len() + (line_text.len() - t.len());
        let Some(eq) = t.find('=') else {
            let (line, column) = lines.line_col(start);
            return Err(ParseError::at(line, column, "expected NAME=value"));
        };
        let name = t[..eq].trim_end();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
            let (line, column) = lines.line_col(name_at);
            return Err(ParseError::at(line, column, format!("`{}` is not a variable name", t[..eq].trim())));
        }
        let line = lines.line(name_at);
        let value_at = name_at + eq + 1;
        let rest = &text[value_at..];
        let rest_trimmed = rest.trim_start_matches([' ', '\t']);
        let quote_at = value_at + (rest.len() - rest_trimmed.len());
        let (value, next) = match rest_trimmed.chars().next() {
            Some(q @ ('"' | '\'')) => {
                // Quoted: may run over several lines; `\"`, `\\`, `\n` … are escapes in "…".
                let body = &text[quote_at + 1..];
                let mut out = String::new();
                let mut chars = body.char_indices();
                let mut close = None;
                while let Some((i, c)) = chars.next() {
                    if c == q {
                        close = Some(quote_at + 1 + i);
                        break;
                    }
                    if c == '\\' && q == '"' {
                        match chars.next() {
                            Some((_, 'n')) => out.push('\n'),
                            Some((_, 't')) => out.push('\t'),
                            Some((_, 'r')) => out.push('\r'),
                            Some((_, other)) => out.push(other),
                            None => {}
                        }
                        continue;
                    }
                    out.push(c);
                }
                let Some(close) = close else {
                    let (line, column) = lines.line_col(quote_at);
                    return Err(ParseError::at(line, column, format!("the quote {q} opened here is never closed")));
                };
                let after = text[close + 1..].find('\n').map_or(text.len(), |i| close + 1 + i);
                (out, after + 1)
            }
            _ => {
                let raw = &text[value_at..end];
                let cut = raw
                    .char_indices()
                    .find(|&(i, c)| c == '#' && (i == 0 || raw[..i].ends_with(char::is_whitespace)))
                    .map_or(raw.len(), |(i, _)| i);
                (raw[..cut].trim().trim_end_matches('\r').to_string(), end + 1)
            }
        };
        Node::insert(&mut map, name.to_string(), Entry { line, node: Node::Scalar(untyped(&value)) });
        at = next;
    }
    Ok(Node::Map(map))
}

/// An INI or env value, which the format leaves untyped: `true` and `false` (any case) are
/// booleans, a plain integer (`10`, `-3`; not `010`, `+3` or `1_000`) an integer, anything
/// else text.
pub fn untyped(text: &str) -> Value {
    if text.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if text.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let plain =
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    match text.parse::<i64>() {
        Ok(i) if plain => Value::Int(i),
        _ => Value::str(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (dotted path, line, value) of every leaf, in file order.
    fn leaves(format: Format, text: &str) -> Vec<(String, usize, Value)> {
        fn walk(prefix: &str, e: &Entry, out: &mut Vec<(String, usize, Value)>) {
            let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
            match &e.node {
                Node::Scalar(v) => out.push((prefix.to_string(), e.line, v.clone())),
                Node::Map(m) => m.iter().for_each(|(k, c)| walk(&join(k), c, out)),
                Node::List(items) => items.iter().enumerate().for_each(|(i, c)| walk(&join(&i.to_string()), c, out)),
            }
        }
        let mut out = Vec::new();
        walk("", &parse(format, text).unwrap_or_else(|e| panic!("{e:?}")), &mut out);
        out
    }

    fn leaf(path: &str, line: usize, v: Value) -> (String, usize, Value) {
        (path.to_string(), line, v)
    }

    #[test]
    fn formats_are_told_by_name_or_given() {
        let f = |name: &str| Format::choose("auto", Path::new(name));
        assert_eq!(f("config/prod.toml"), Ok(Format::Toml));
        assert_eq!(f("app.YML"), Ok(Format::Yaml));
        assert_eq!(f("a.yaml"), Ok(Format::Yaml));
        assert_eq!(f("package.json"), Ok(Format::Json));
        assert_eq!(f("/etc/mysql/my.cnf"), Ok(Format::Ini));
        assert_eq!(f("setup.cfg"), Ok(Format::Ini));
        assert_eq!(f("/srv/app/.env"), Ok(Format::Env));
        assert_eq!(f("/srv/app/.env.production"), Ok(Format::Env));
        assert_eq!(f("prod.env"), Ok(Format::Env));
        assert!(f("/etc/nginx/nginx.conf").unwrap_err().contains("set format"));
        assert_eq!(Format::choose("ini", Path::new("nginx.conf")), Ok(Format::Ini));
        assert_eq!(Format::choose("env", Path::new("/etc/default/app")), Ok(Format::Env));
    }

    #[test]
    fn toml_keys_with_their_lines_and_types() {
        let text = "name = \"api\"\ndebug = true\n\n[database]\npool_size = 10\nratio = 0.5\nstarted = 2026-01-02T03:04:05Z\n\n[[servers]]\nhost = \"a\"\n\n[[servers]]\nhost = \"b\"\nports = [80,\n  443]\n";
        let got = leaves(Format::Toml, text);
        assert_eq!(got[0], leaf("name", 1, Value::str("api")));
        assert_eq!(got[1], leaf("debug", 2, Value::Bool(true)));
        assert_eq!(got[2], leaf("database.pool_size", 5, Value::Int(10)));
        assert_eq!(got[3], leaf("database.ratio", 6, Value::Float(0.5)));
        assert!(matches!(got[4].2, Value::Time(_)), "{got:?}");
        assert_eq!(got[5], leaf("servers.0.host", 10, Value::str("a")));
        assert_eq!(got[6], leaf("servers.1.host", 13, Value::str("b")));
        assert_eq!(got[7], leaf("servers.1.ports.0", 14, Value::Int(80)));
        assert_eq!(got[8], leaf("servers.1.ports.1", 15, Value::Int(443)));
        let e = parse(Format::Toml, "a = 1\nb = \n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 5), "{e:?}");
        let e = parse(Format::Toml, "a = 1\na = 2\n").unwrap_err();
        assert_eq!(e.line, 2, "{e:?}");
    }

    #[test]
    fn yaml_keys_with_their_lines_and_types() {
        let text = "defaults: &defaults\n  adapter: postgres\n  pool: 5\nproduction:\n  <<: *defaults\n  pool: 20\n  debug: false\n  hosts:\n    - name: a\n    - name: b\n  ratio: 1.5\n  nothing: ~\n  word: yes\n";
        let got = leaves(Format::Yaml, text);
        let find = |p: &str| got.iter().find(|(k, _, _)| k == p).cloned().unwrap_or_else(|| panic!("{p}: {got:?}"));
        assert_eq!(find("production.pool"), leaf("production.pool", 6, Value::Int(20)), "written beats merged");
        assert_eq!(find("production.adapter"), leaf("production.adapter", 2, Value::str("postgres")), "merged");
        assert_eq!(find("production.debug"), leaf("production.debug", 7, Value::Bool(false)));
        assert_eq!(find("production.hosts.1.name"), leaf("production.hosts.1.name", 10, Value::str("b")));
        assert_eq!(find("production.ratio").2, Value::Float(1.5));
        assert_eq!(find("production.nothing").2, Value::Null);
        assert_eq!(find("production.word").2, Value::str("yes"), "YAML 1.2: yes is a string");
        let e = parse(Format::Yaml, "a: 1\nb: [1, 2\n").unwrap_err();
        assert!(e.line >= 2, "{e:?}");
        let deep: String = (0..3000).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
        let e = parse(Format::Yaml, &deep).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (129, "nested more than 128 levels deep"), "{e:?}");
        let e = parse(Format::Yaml, "a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicated key"), "{e:?}");
        assert_eq!(parse(Format::Yaml, "").unwrap().node, Node::Map(Vec::new()));
    }

    #[test]
    fn json_keys_with_their_lines_and_types() {
        let text = "{\n  \"debug\": false,\n  \"db\": {\"pool\": 10, \"ratio\": 2.5e0},\n  \"servers\": [\n    {\"host\": \"a\\u00e9\"},\n    null\n  ],\n  \"big\": 18446744073709551616\n}";
        let got = leaves(Format::Json, text);
        assert_eq!(got[0], leaf("debug", 2, Value::Bool(false)));
        assert_eq!(got[1], leaf("db.pool", 3, Value::Int(10)));
        assert_eq!(got[2], leaf("db.ratio", 3, Value::Float(2.5)));
        assert_eq!(got[3], leaf("servers.0.host", 5, Value::str("aé")));
        assert_eq!(got[4], leaf("servers.1", 6, Value::Null));
        assert_eq!(got[5].2, Value::Float(18446744073709551616.0));
        let e = parse(Format::Json, "{\n  \"a\": 1,\n  \"b\": [1 2]\n}").unwrap_err();
        assert_eq!((e.line, e.column, e.message.as_str()), (3, 11, "expected `,` or `]`"), "{e:?}");
        assert!(!e.message.contains("at line"), "{e:?}");
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(Format::Json, &deep).is_err());
    }

    #[test]
    fn ini_sections_and_untyped_values() {
        let text = "; comment\ntop = 1\n[server]\nhost = example.test ; the host\ndebug = False\nport: 8080\nmode = 0640\nname = \"quoted ; kept\"\n\n[mysqld]\nskip-name-resolve\n!includedir /etc/mysql/conf.d/\n[server]\nhost = again\n";
        let got = leaves(Format::Ini, text);
        assert_eq!(got[0], leaf("top", 2, Value::Int(1)));
        assert_eq!(got[1], leaf("server.host", 14, Value::str("again")), "the last one wins");
        assert_eq!(got[2], leaf("server.debug", 5, Value::Bool(false)));
        assert_eq!(got[3], leaf("server.port", 6, Value::Int(8080)));
        assert_eq!(got[4], leaf("server.mode", 7, Value::str("0640")));
        assert_eq!(got[5], leaf("server.name", 8, Value::str("quoted ; kept")));
        assert_eq!(got[6], leaf("mysqld.skip-name-resolve", 11, Value::Bool(true)));
        assert_eq!(
            parse(Format::Ini, "a = 1\n[broken\n").unwrap_err(),
            ParseError::at(2, 1, "a section header without its closing `]`")
        );
        assert_eq!(parse(Format::Ini, "  = 1\n").unwrap_err().column, 3);
        assert!(parse(Format::Ini, "server {\n").is_err());
        assert_eq!(
            leaves(Format::Ini, "x = a#b\ny = a #b\n")[..2],
            [leaf("x", 1, Value::str("a#b")), leaf("y", 2, Value::str("a"))]
        );
    }

    #[test]
    fn env_lines_quotes_and_exports() {
        let text = "# comment\nAPP_DEBUG=false\nexport PORT=8080\nNAME=\"two words\" # trailing\nSINGLE='a \\n b'\nMULTI=\"line one\nline two\"\nESCAPED=\"say \\\"hi\\\"\"\nEMPTY=\nHASH=a#b\n  INDENTED = 3 \nAPP_DEBUG=true\n";
        let got = leaves(Format::Env, text);
        assert_eq!(got[0], leaf("APP_DEBUG", 12, Value::Bool(true)), "the last one wins, at its line");
        assert_eq!(got[1], leaf("PORT", 3, Value::Int(8080)));
        assert_eq!(got[2], leaf("NAME", 4, Value::str("two words")));
        assert_eq!(got[3], leaf("SINGLE", 5, Value::str("a \\n b")));
        assert_eq!(got[4], leaf("MULTI", 6, Value::str("line one\nline two")));
        assert_eq!(got[5], leaf("ESCAPED", 8, Value::str("say \"hi\"")));
        assert_eq!(got[6], leaf("EMPTY", 9, Value::str("")));
        assert_eq!(got[7], leaf("HASH", 10, Value::str("a#b")));
        assert_eq!(got[8], leaf("INDENTED", 11, Value::Int(3)));
        assert_eq!(parse(Format::Env, "A=1\nnot a line\n").unwrap_err(), ParseError::at(2, 1, "expected NAME=value"));
        let e = parse(Format::Env, "A=1\nB=\"open\nC=2\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3), "{e:?}");
        assert_eq!(parse(Format::Env, "A B=1\n").unwrap_err().message, "`A B` is not a variable name");
        assert_eq!(leaves(Format::Env, "A=1\r\nB=x\r\n")[1], leaf("B", 2, Value::str("x")));
    }

    #[test]
    fn untyped_values_are_booleans_integers_or_text() {
        assert_eq!(untyped("TRUE"), Value::Bool(true));
        assert_eq!(untyped("false"), Value::Bool(false));
        assert_eq!(untyped("10"), Value::Int(10));
        assert_eq!(untyped("-3"), Value::Int(-3));
        assert_eq!(untyped("0"), Value::Int(0));
        for text in ["010", "+3", "1.5", "1_000", "on", "", "99999999999999999999"] {
            assert_eq!(untyped(text), Value::str(text), "{text}");
        }
    }
}
