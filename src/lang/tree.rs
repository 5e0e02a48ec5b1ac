//! An owned TOML tree in which every key and value keeps its byte span, so every problem
//! found later (unknown key, wrong type, bad matcher) can point at the exact place.

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use crate::diag::{Code, Diagnostic, FileId, Loc};

#[derive(Clone, Debug)]
pub struct SKey {
    pub name: String,
    pub span: Range<usize>,
}

#[derive(Clone, Debug)]
pub enum SKind {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<SValue>),
    Table(Vec<(SKey, SValue)>),
}

#[derive(Clone, Debug)]
pub struct SValue {
    pub kind: SKind,
    pub span: Range<usize>,
    pub file: FileId,
}

impl SValue {
    pub fn loc(&self) -> Loc {
        Loc { file: self.file, span: self.span.clone() }
    }

    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            SKind::Str(_) => "string",
            SKind::Int(_) => "integer",
            SKind::Float(_) => "float",
            SKind::Bool(_) => "boolean",
            SKind::Datetime(_) => "datetime",
            SKind::Array(_) => "array",
            SKind::Table(_) => "table",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            SKind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_table(&self) -> Option<&[(SKey, SValue)]> {
        match &self.kind {
            SKind::Table(t) => Some(t),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&SValue> {
        self.as_table()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// A short rendering of the value as written, for messages.
    pub fn describe(&self) -> String {
        match &self.kind {
            SKind::Str(s) => format!("{s:?}"),
            SKind::Int(i) => i.to_string(),
            SKind::Float(f) => f.to_string(),
            SKind::Bool(b) => b.to_string(),
            SKind::Datetime(d) => d.clone(),
            SKind::Array(_) => "an array".into(),
            SKind::Table(_) => "a table".into(),
        }
    }
}

/// Parses a whole TOML document; a syntax error becomes a diagnostic at its position.
///
/// A long checklist is mostly `[[item]]` tables, and the TOML parser holds a token for
/// every few bytes of its input: a 6 MB file took 170 MB to parse in one piece. So a
/// document is cut before each top-level `[[item]]` line and the pieces are parsed one by
/// one, each converted and dropped before the next, their spans moved to the document's
/// offsets. Whenever a piece does not parse, or the pieces name one top-level key twice in
/// a way only the whole document can judge, the whole document is parsed instead: the
/// result, and every error message, are exactly the TOML parser's.
pub fn parse_document(file: FileId, text: &str) -> Result<SValue, Diagnostic> {
    let cuts = item_cuts(text);
    if cuts.len() > 1
        && let Some(doc) = parse_pieces(file, text, &cuts)
    {
        return Ok(doc);
    }
    parse_whole(file, text)
}

/// Where a checklist's `[[item]]` tables are: parsed already, or a range of the text that
/// holds only item tables, parsed when the loader reaches it (`parse_items`).
#[derive(Debug)]
pub enum Segment {
    Parsed(Vec<SValue>),
    Lazy(Range<usize>),
}

/// How many bytes of item tables a lazy segment gathers (from whole pieces).
const LAZY_SEGMENT_BYTES: usize = 64 * 1024;

/// A checklist file: its top-level tree and, in order, where its items are. When the
/// document was parsed in one piece, `root` holds `item` and `items` is empty.
#[derive(Debug)]
pub struct Document {
    pub root: SValue,
    pub items: Vec<Segment>,
}

/// Parses a checklist file like `parse_document`, except that the pieces that hold only
/// `[[item]]` tables are checked for nothing yet and left as `Segment::Lazy`: the loader
/// parses each when it reaches it and drops its tree once the items are built, so a file
/// of 50,000 items never holds all their trees at once. When a lazy piece then does not
/// parse, `whole_document_error` gives the error the TOML parser gives for the whole file.
pub fn parse_checklist(file: FileId, text: &str) -> Result<Document, Diagnostic> {
    let pieces = item_pieces(text);
    if pieces.len() > 1
        && let Some(doc) = parse_segments(file, text, &pieces)
    {
        return Ok(doc);
    }
    parse_whole(file, text).map(|root| Document { root, items: Vec::new() })
}

/// The item tables of a lazy segment; `None` when it does not parse.
pub fn parse_items(file: FileId, text: &str, range: Range<usize>) -> Option<Vec<SValue>> {
    let start = range.start;
    let piece = DeTable::parse(&text[range]).ok()?;
    let mut items = Vec::new();
    for (key, value) in convert_table(file, piece.get_ref(), start) {
        match (key.name.as_str(), value.kind) {
            ("item", SKind::Array(tables)) => items.extend(tables),
            _ => return None,
        }
    }
    Some(items)
}

/// The syntax error of the whole document (after a lazy segment failed to parse).
pub fn whole_document_error(file: FileId, text: &str) -> Diagnostic {
    match parse_whole(file, text) {
        Err(d) => d,
        // A piece can fail where the whole parses only if cutting was wrong; say so plainly.
        Ok(_) => Diagnostic::error(Code::Syntax, "invalid TOML: an [[item]] table could not be read on its own")
            .at(Loc { file, span: 0..0 })
            .hint("check quoting and brackets around the [[item]] lines"),
    }
}

/// `parse_pieces` with the pieces that hold only items left lazy and every item kept
/// out of `root`, in `items`.
fn parse_segments(file: FileId, text: &str, pieces: &[(usize, bool)]) -> Option<Document> {
    let mut root: Vec<(SKey, SValue)> = Vec::new();
    let mut items = Vec::new();
    let mut span = 0..0;
    for (n, &(start, only_items)) in pieces.iter().enumerate() {
        let end = pieces.get(n + 1).map_or(text.len(), |p| p.0);
        if only_items {
            match items.last_mut() {
                // Neighbouring pieces are read together, up to a small size: one parse per
                // item costs more than the item, and one parse for all would hold all.
                Some(Segment::Lazy(range)) if range.end == start && range.len() < LAZY_SEGMENT_BYTES => range.end = end,
                _ => items.push(Segment::Lazy(start..end)),
            }
            continue;
        }
        let piece = DeTable::parse(&text[start..end]).ok()?;
        if n == 0 {
            span = piece.span();
        }
        for (key, value) in convert_table(file, piece.get_ref(), start) {
            if key.name == "item" {
                // Before the first cut `item` may be an inline array: only the whole
                // document can tell whether later `[[item]]` tables may extend it.
                match value.kind {
                    SKind::Array(tables) if n > 0 => items.push(Segment::Parsed(tables)),
                    _ => return None,
                }
                continue;
            }
            if root.iter().any(|(k, _)| k.name == key.name) {
                return None;
            }
            root.push((key, value));
        }
    }
    Some(Document { root: SValue { kind: SKind::Table(root), span, file }, items })
}

fn parse_whole(file: FileId, text: &str) -> Result<SValue, Diagnostic> {
    match DeTable::parse(text) {
        Ok(table) => {
            let span = table.span();
            Ok(SValue { kind: SKind::Table(convert_table(file, table.get_ref(), 0)), span, file })
        }
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            let message = err.message().trim().to_string();
            Err(Diagnostic::error(Code::Syntax, format!("invalid TOML: {message}"))
                .at(Loc { file, span })
                .hint("check quoting, brackets and that every key is written once"))
        }
    }
}

/// Parses the pieces between `cuts` (byte offsets; the first is 0) and joins them: the
/// `item` arrays are appended, any other top-level key may appear in one piece only.
/// `None` when that does not hold or a piece does not parse.
fn parse_pieces(file: FileId, text: &str, cuts: &[usize]) -> Option<SValue> {
    let mut root: Vec<(SKey, SValue)> = Vec::new();
    let mut span = 0..0;
    for (n, &start) in cuts.iter().enumerate() {
        let end = cuts.get(n + 1).copied().unwrap_or(text.len());
        let piece = DeTable::parse(&text[start..end]).ok()?;
        if n == 0 {
            span = piece.span();
        }
        for (key, value) in convert_table(file, piece.get_ref(), start) {
            if n == 0 && key.name == "item" {
                // Before the first cut `item` may be an inline array: only the whole
                // document can tell whether later `[[item]]` tables may extend it.
                return None;
            }
            match root.iter_mut().find(|(k, _)| k.name == key.name) {
                None => root.push((key, value)),
                Some((_, existing)) if key.name == "item" => match (&mut existing.kind, value.kind) {
                    (SKind::Array(all), SKind::Array(more)) => all.extend(more),
                    _ => return None,
                },
                Some(_) => return None,
            }
        }
    }
    Some(SValue { kind: SKind::Table(root), span, file })
}

/// Byte offsets where a top-level `[[item]]` line starts (after 0), found by following
/// strings, comments and brackets, so a line inside a multi-line string or array is never
/// taken for a header.
fn item_cuts(text: &str) -> Vec<usize> {
    item_pieces(text).into_iter().map(|(cut, _)| cut).collect()
}

/// `item_cuts`, each with whether its piece holds only item tables: it starts with
/// `[[item]]` and every other table header in it is `[item.…]` or `[[item.…]]`, a table of
/// that item. The first piece never counts as one.
fn item_pieces(text: &str) -> Vec<(usize, bool)> {
    let bytes = text.as_bytes();
    let mut cuts = vec![(0, false)];
    let mut depth: usize = 0;
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if line_start && depth == 0 {
            let rest = &bytes[i..];
            let indent = rest.iter().take_while(|c| **c == b' ' || **c == b'\t').count();
            let line = &rest[indent..];
            if line.starts_with(b"[[item]]") {
                if i > 0 {
                    cuts.push((i, true));
                }
            } else if line.starts_with(b"[") && !line.starts_with(b"[item.") && !line.starts_with(b"[[item.") {
                // Another table (or a header written unusually): not only items.
                if let Some(last) = cuts.last_mut() {
                    last.1 = false;
                }
            }
        }
        line_start = false;
        match b {
            b'\n' => line_start = true,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'"' | b'\'' => {
                let multi = bytes[i..].starts_with(if b == b'"' { b"\"\"\"" } else { b"'''" });
                i = skip_string(bytes, i, b, multi);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    cuts
}

/// The offset just past the string that opens at `start` (a single-line string also ends
/// at its line's end, where the TOML parser will report it).
fn skip_string(bytes: &[u8], start: usize, quote: u8, multi: bool) -> usize {
    let mut i = start + if multi { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\n' if !multi => return i,
            q if q == quote => {
                if !multi {
                    return i + 1;
                }
                if bytes[i..].starts_with(&[quote; 3]) {
                    // A closing run may hold one or two more quotes (`""""`).
                    let mut end = i + 3;
                    while end < bytes.len() && bytes[end] == quote && end < i + 5 {
                        end += 1;
                    }
                    return end;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

fn convert_table(file: FileId, table: &DeTable<'_>, base: usize) -> Vec<(SKey, SValue)> {
    table
        .iter()
        .map(|(k, v)| {
            let key = SKey { name: k.get_ref().to_string(), span: shift(k.span(), base) };
            (key, convert(file, v.get_ref(), shift(v.span(), base), base))
        })
        .collect()
}

fn shift(span: Range<usize>, base: usize) -> Range<usize> {
    span.start + base..span.end + base
}

fn convert(file: FileId, value: &DeValue<'_>, span: Range<usize>, base: usize) -> SValue {
    let kind = match value {
        DeValue::String(s) => SKind::Str(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            let digits = digits.trim_start_matches("0x").trim_start_matches("0o").trim_start_matches("0b");
            match i64::from_str_radix(digits, i.radix()) {
                Ok(n) => SKind::Int(n),
                Err(_) => SKind::Str(i.as_str().to_string()),
            }
        }
        DeValue::Float(f) => SKind::Float(match f.as_str().replace('_', "").as_str() {
            "inf" | "+inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" | "+nan" | "-nan" => f64::NAN,
            other => other.parse().unwrap_or(f64::NAN),
        }),
        DeValue::Boolean(b) => SKind::Bool(*b),
        DeValue::Datetime(d) => SKind::Datetime(d.to_string()),
        DeValue::Array(items) => {
            SKind::Array(items.iter().map(|v| convert(file, v.get_ref(), shift(v.span(), base), base)).collect())
        }
        DeValue::Table(t) => SKind::Table(convert_table(file, t, base)),
    };
    SValue { kind, span, file }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spans_of_keys_and_values() {
        let text = "[[item]]\nid = \"a\"\ntimeout = 0x10\n";
        let doc = parse_document(0, text).unwrap();
        let items = doc.get("item").unwrap();
        let SKind::Array(items) = &items.kind else { panic!("array expected") };
        let (key, value) = &items[0].as_table().unwrap()[0];
        assert_eq!(&text[key.span.clone()], "id");
        assert_eq!(&text[value.span.clone()], "\"a\"");
        assert!(matches!(items[0].get("timeout").unwrap().kind, SKind::Int(16)));
    }

    /// Parsed in pieces or whole, a document gives the same tree and the same spans.
    #[test]
    fn pieces_give_the_whole_document() {
        let text = "[checklist]\nname = \"x\" # [[item]]\n\n[[item]]\nid = \"a\"\ndesc = \"\"\"\n[[item]]\n\"\"\"\ntags = [\n  \"[[item]]\",\n]\n[item.expect]\nok = true\n\n  [[item]]\nid = 'b'\n\n[[waiver]]\nitem = \"a\"\n[[item]]\nid = \"c\"\n";
        assert_eq!(item_cuts(text).len(), 4, "{:?}", item_cuts(text));
        let pieces = parse_pieces(0, text, &item_cuts(text)).expect("pieces parse");
        let whole = parse_whole(0, text).unwrap();
        assert_eq!(format!("{pieces:?}"), format!("{whole:?}"));
        // A key given twice across pieces: the whole document decides (here: an error).
        let twice = "[vars]\na = 1\n[[item]]\nid = \"a\"\n[vars]\nb = 2\n";
        assert!(parse_document(0, twice).is_err());
        let broken = "[[item]]\nid = \"a\"\n[[item]]\nid = \n";
        let err = parse_document(0, broken).unwrap_err();
        assert_eq!(err.loc.unwrap().span, parse_whole(0, broken).unwrap_err().loc.unwrap().span);
    }

    /// A checklist read in segments (items lazily) gives the items, the other tables and
    /// the spans of the document parsed whole.
    #[test]
    fn segments_give_the_items_of_the_whole_document() {
        let text = "[checklist]\nname = \"x\"\n[[item]]\nid = \"a\"\n[item.expect]\nok = true\n[[item]]\nid = \"b\"\n[[item.more]]\nx = 1\n[[waiver]]\nitem = \"a\"\n[[item]]\nid = \"c\"\n[[item]]\nid = \"d\"\n";
        let doc = parse_checklist(0, text).expect("parses");
        assert!(doc.root.get("item").is_none());
        assert!(doc.root.get("waiver").is_some() && doc.root.get("checklist").is_some());
        let lazy = doc.items.iter().filter(|s| matches!(s, Segment::Lazy(_))).count();
        assert!(lazy >= 2, "{:?}", doc.items);
        let items: Vec<SValue> = doc
            .items
            .into_iter()
            .flat_map(|s| match s {
                Segment::Parsed(t) => t,
                Segment::Lazy(r) => parse_items(0, text, r).expect("a lazy segment parses"),
            })
            .collect();
        let whole = parse_whole(0, text).unwrap();
        let Some(SKind::Array(want)) = whole.get("item").map(|v| &v.kind) else { panic!("items") };
        assert_eq!(format!("{items:?}"), format!("{want:?}"));
        // An unusual header (`[ vars ]`) keeps its piece eager: the whole document decides.
        let odd = "[checklist]\nname = \"x\"\n[[item]]\nid = \"a\"\n[[item]]\nid = \"b\"\n[ vars ]\nx = \"1\"\n";
        let doc = parse_checklist(0, odd).expect("parses");
        assert!(doc.root.get("vars").is_some());
        assert!(matches!(doc.items.as_slice(), [Segment::Lazy(_), Segment::Parsed(_)]), "{:?}", doc.items);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse_document(0, "a = \n").unwrap_err();
        assert_eq!(err.code, Code::Syntax);
        assert!(err.loc.is_some());
    }
}
