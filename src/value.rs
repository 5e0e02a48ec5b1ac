//! Typed values shared by probes (observed facts), the matcher language (expected values)
//! and reports: one representation, so expected and observed always render the same way.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

/// The declared type of a fact; drives which matchers make sense and how literals parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactType {
    Bool,
    Integer,
    Number,
    String,
    /// Compared with units: `"< 500ms"`, `">= 7d"`.
    Duration,
    /// Compared with units: `">= 2GiB"`, `"< 500MB"`.
    Bytes,
    /// Compared segment by segment: `">= 14"`, `">= 1.2.3"`, `">= TLSv1.2"`.
    Version,
    /// An RFC 3339 instant.
    Timestamp,
    StringList,
    /// Whatever the system returned (e.g. a JSON pointer into a body): typed at run time.
    Any,
}

impl FactType {
    pub fn name(self) -> &'static str {
        match self {
            FactType::Bool => "bool",
            FactType::Integer => "integer",
            FactType::Number => "number",
            FactType::String => "string",
            FactType::Duration => "duration",
            FactType::Bytes => "bytes",
            FactType::Version => "version",
            FactType::Timestamp => "timestamp",
            FactType::StringList => "list of strings",
            FactType::Any => "any",
        }
    }

    /// Types whose values have an order, so `<`, `>=` … apply.
    pub fn is_ordered(self) -> bool {
        matches!(
            self,
            FactType::Integer
                | FactType::Number
                | FactType::Duration
                | FactType::Bytes
                | FactType::Version
                | FactType::Timestamp
                | FactType::Any
        )
    }
}

/// A value observed by a probe or written in an expectation.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Duration(Duration),
    Bytes(u64),
    Version(String),
    Time(time::OffsetDateTime),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
}

/// How much of a long observed text a result keeps once it is judged (a `body`, a
/// command's `stdout`, a file's `contents`): the expectations are judged on the whole text,
/// the report keeps its start, the lines an expectation looked for (the expectation's
/// excerpt) and how long it was. Item by item, a result then stays small whatever the
/// target answered.
pub const KEPT_TEXT_BYTES: usize = 4096;

/// Bytes of a kept text left for the `… (N bytes, L lines in all; …)` that ends it.
const CUT_NOTE_ROOM: usize = 128;

/// The start of `text` (up to [`KEPT_TEXT_BYTES`] with the note, cut after its last whole line when that
/// keeps at least half of it, else on a character boundary), then `…` and how long the text
/// was: `… (1048576 bytes, 12700 lines in all; the first 4071 bytes are kept)`. The `…`
/// right after the cut is what lets masking find a secret cut in half there
/// ([`crate::redact::Redactor::redact`]).
pub fn cut_text(text: &str) -> String {
    // Room for the line saying how long it was: a kept text is never longer than
    // KEPT_TEXT_BYTES, so keeping it again (a report read back, merged, built) keeps it as
    // it is.
    let mut at = (KEPT_TEXT_BYTES - CUT_NOTE_ROOM).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let (head, sep) = match text[..at].rfind('\n') {
        Some(nl) if nl >= at / 2 => (&text[..nl], "\n"),
        _ => (&text[..at], ""),
    };
    let lines = text.lines().count();
    format!(
        "{head}{sep}… ({} bytes, {lines} line{} in all; the first {} bytes are kept)",
        text.len(),
        if lines == 1 { "" } else { "s" },
        head.len()
    )
}

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn string_list<I, S>(items: I) -> Value
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Value::List(items.into_iter().map(|s| Value::Str(s.into())).collect())
    }

    /// Converts arbitrary JSON (a response body, an external probe's output) into a value.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => Value::List(items.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(map) => {
                Value::Map(map.iter().map(|(k, v)| (k.clone(), Value::from_json(v))).collect())
            }
        }
    }

    /// The value as a result keeps it once judged: a text longer than [`KEPT_TEXT_BYTES`]
    /// becomes its start and a line saying how long it was ([`cut_text`]); anything else is
    /// copied whole. `None` when the value is kept as it is.
    pub fn kept(&self) -> Option<Value> {
        match self {
            Value::Str(text) if text.len() > KEPT_TEXT_BYTES => Some(Value::Str(cut_text(text))),
            _ => None,
        }
    }

    /// [`Value::kept`], in place.
    pub fn keep_bounded(&mut self) {
        if let Some(kept) = self.kept() {
            *self = kept;
        }
    }

    /// Masks every secret (and URL password) in the value, in place: a text is replaced
    /// only when masking changed it, so masking a large report neither copies nor moves
    /// what holds no secret. The keys of a table are names (a query's columns, a JSON
    /// document's fields) and stay as they are: masking never changes a value's structure.
    pub fn redact_in_place(&mut self, redactor: &crate::redact::Redactor) {
        match self {
            Value::Str(s) | Value::Version(s) => {
                if let std::borrow::Cow::Owned(masked) = redactor.redact(s) {
                    *s = masked;
                }
            }
            Value::List(items) => items.iter_mut().for_each(|v| v.redact_in_place(redactor)),
            Value::Map(map) => map.values_mut().for_each(|v| v.redact_in_place(redactor)),
            _ => {}
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Duration(_) => "duration",
            Value::Bytes(_) => "bytes",
            Value::Version(_) => "version",
            Value::Time(_) => "timestamp",
            Value::List(_) => "list",
            Value::Map(_) => "table",
        }
    }

    /// The numeric value for comparisons between numbers, durations (seconds) and sizes.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bytes(b) => Some(*b as f64),
            Value::Duration(d) => Some(d.as_secs_f64()),
            _ => None,
        }
    }

    /// The text of string-like values (strings, versions).
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Version(s) => Some(s),
            _ => None,
        }
    }

    /// Equality as a user means it: `200` equals `200.0`, a version equals its string.
    pub fn loosely_equals(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Version(a), Value::Str(b)) | (Value::Str(b), Value::Version(a)) => {
                compare_versions(a, b) == Ordering::Equal
            }
            (Value::Version(a), Value::Version(b)) => compare_versions(a, b) == Ordering::Equal,
            (Value::List(a), Value::List(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.loosely_equals(y)),
            (Value::Str(_), _) | (_, Value::Str(_)) => self == other,
            _ => match (self.as_f64(), other.as_f64()) {
                (Some(a), Some(b)) => a == b,
                _ => self == other,
            },
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
            Value::Duration(d) => f.write_str(&format_duration(*d)),
            Value::Bytes(b) => f.write_str(&format_bytes(*b)),
            Value::Version(v) => f.write_str(v),
            Value::Time(t) => f.write_str(&format_time(*t)),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match item {
                        Value::Str(s) => write!(f, "{s:?}")?,
                        other => write!(f, "{other}")?,
                    }
                }
                f.write_str("]")
            }
            Value::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k} = {v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// JSON form of a value: durations are milliseconds (a number), sizes are bytes, instants
/// RFC 3339 strings. The JSON report schema documents this.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(x) => s.serialize_f64(*x),
            Value::Str(v) | Value::Version(v) => s.serialize_str(v),
            Value::Duration(d) => s.serialize_f64(duration_ms(*d)),
            Value::Bytes(b) => s.serialize_u64(*b),
            Value::Time(t) => s.serialize_str(&format_time(*t)),
            Value::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(map) => {
                let mut m = s.serialize_map(Some(map.len()))?;
                for (k, v) in map {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

/// Reading a JSON report back: the untyped JSON value; `retype` restores the declared type.
impl<'de> serde::Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = serde_json::Value::deserialize(d)?;
        Ok(Value::from_json(&json))
    }
}

impl Value {
    /// The value as its declared type, from its JSON form: milliseconds back to a duration,
    /// bytes to a size, strings to versions and instants. Anything else stays as it is.
    pub fn retype(self, ty: FactType) -> Value {
        match (ty, self) {
            (FactType::Duration, Value::Int(ms)) if ms >= 0 => Value::Duration(Duration::from_micros(ms as u64 * 1000)),
            (FactType::Duration, Value::Float(ms)) if ms >= 0.0 && ms.is_finite() => {
                Value::Duration(Duration::from_micros((ms * 1000.0).round() as u64))
            }
            (FactType::Bytes, Value::Int(b)) if b >= 0 => Value::Bytes(b as u64),
            (FactType::Version, Value::Str(s)) => Value::Version(s),
            (FactType::Timestamp, Value::Str(s)) => {
                match time::OffsetDateTime::parse(&s, &time::format_description::well_known::Rfc3339) {
                    Ok(t) => Value::Time(t),
                    Err(_) => Value::Str(s),
                }
            }
            (_, v) => v,
        }
    }
}

/// Milliseconds with microsecond precision, as used in JSON reports.
/// The items of a list written as one string, separated by commas or whitespace
/// (`"401, 403"`, `"http_requests_total up"`), so that one var can carry a list.
pub fn list_items(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty())
}

/// The items of `required` (a [`list_items`] string) that `present` lacks, in order.
pub fn missing_items<'a>(required: &'a str, present: &[String]) -> Vec<&'a str> {
    list_items(required).filter(|n| !present.iter().any(|p| p == n)).collect()
}

pub fn duration_ms(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}

pub fn format_time(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// A short human form: `37ms`, `1.25s`, `3m 20s`, `12d 4h`.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        return format!("{}µs", d.as_micros());
    }
    if ms < 1000.0 {
        return format!("{}ms", ms.round() as u64);
    }
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        return format!("{:.2}s", secs).replace(".00s", "s");
    }
    let total = d.as_secs();
    let (days, hours, mins, s) = (total / 86_400, (total / 3600) % 24, (total / 60) % 60, total % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m {s}s"),
        (0, h) => format!("{h}h {mins}m"),
        (dd, h) => format!("{dd}d {h}h"),
    }
}

/// A short human form in binary units: `512 B`, `1.5 KiB`, `2.0 GiB`.
pub fn format_bytes(b: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut value = b as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Why a duration or a size written as text could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseValueError {
    #[error("`{text}` has no unit; write e.g. \"{text}s\" or \"{text}ms\"")]
    DurationWithoutUnit { text: String },
    #[error("`{text}` is not a duration ({reason}); write e.g. \"500ms\", \"30s\", \"7d\"")]
    NotADuration { text: String, reason: String },
    #[error("`{text}` is not a size; write e.g. \"2GiB\", \"500MB\" or a number of bytes")]
    NotASize { text: String },
    #[error("`{text}`: unknown size unit `{unit}`; use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB")]
    UnknownSizeUnit { text: String, unit: String },
}

/// Parses a duration (see [`try_parse_duration`]); the error as its message, for callers
/// that report text.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    try_parse_duration(text).map_err(|e| e.to_string())
}

/// Parses a duration written as in checklists: `"500ms"`, `"30s"`, `"7d"`, `"1h 30m"`.
pub fn try_parse_duration(text: &str) -> Result<Duration, ParseValueError> {
    let t = text.trim();
    if t.chars().all(|c| c.is_ascii_digit() || c == '.') && !t.is_empty() {
        return Err(ParseValueError::DurationWithoutUnit { text: t.to_string() });
    }
    humantime::parse_duration(t)
        .map_err(|e| ParseValueError::NotADuration { text: t.to_string(), reason: e.to_string() })
}

/// Parses a size (see [`try_parse_bytes`]); the error as its message.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    try_parse_bytes(text).map_err(|e| e.to_string())
}

/// Parses a size: `"2GiB"`, `"20 GB"`, `"512MiB"`, `"1024"` (bytes). Decimal units (kB, MB,
/// GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB, TiB) powers of 1024.
pub fn try_parse_bytes(text: &str) -> Result<u64, ParseValueError> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| ParseValueError::NotASize { text: t.to_string() })?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(ParseValueError::UnknownSizeUnit { text: t.to_string(), unit: other.to_string() });
        }
    };
    Ok((number * factor).round() as u64)
}

/// Compares versions segment by segment: numbers numerically, words lexically, so that
/// `15.4 < 15.10`, `"TLSv1.2" < "TLSv1.3"`, `"14" <= "14.2"`, and `"7.0.15-1" > "7.0.9"`.
/// Missing trailing segments count as zero, so `"14" == "14.0"`.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let (sa, sb) = (version_segments(a), version_segments(b));
    let len = sa.len().max(sb.len());
    for i in 0..len {
        let x = sa.get(i).cloned().unwrap_or(Segment::Num(0));
        let y = sb.get(i).cloned().unwrap_or(Segment::Num(0));
        let ord = match (&x, &y) {
            (Segment::Num(p), Segment::Num(q)) => p.cmp(q),
            (Segment::Word(p), Segment::Word(q)) => p.cmp(q),
            // A release (number) sorts after a pre-release word at the same place: 1.0 > 1.0rc1.
            (Segment::Num(_), Segment::Word(_)) => Ordering::Greater,
            (Segment::Word(_), Segment::Num(_)) => Ordering::Less,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[derive(Clone, Debug)]
enum Segment {
    Num(u64),
    Word(String),
}

fn version_segments(v: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut chars = v.trim().chars().peekable();
    // A leading word common to both sides ("TLSv", "v", "PostgreSQL ") carries no order.
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            break;
        }
        chars.next();
    }
    let rest: String = chars.collect();
    let mut current = String::new();
    let flush = |current: &mut String, out: &mut Vec<Segment>| {
        if current.is_empty() {
            return;
        }
        if let Ok(n) = current.parse::<u64>() {
            out.push(Segment::Num(n));
        } else {
            out.push(Segment::Word(current.to_ascii_lowercase()));
        }
        current.clear();
    };
    for c in rest.chars() {
        if c.is_ascii_alphanumeric() {
            let switch =
                !current.is_empty() && (current.chars().last().unwrap().is_ascii_digit() != c.is_ascii_digit());
            if switch {
                flush(&mut current, &mut out);
            }
            current.push(c);
        } else {
            flush(&mut current, &mut out);
            if c == ' ' || c == '(' {
                break; // "15.4 (Debian 15.4-1)": the rest is decoration
            }
        }
    }
    flush(&mut current, &mut out);
    out
}

/// Values by name, in name order, as one sorted vector: what an item observed (its facts)
/// and the parameters a report shows. A `BTreeMap<String, Value>` costs a node of about
/// 600 bytes however few entries it holds, plus an allocation per name; here an entry is
/// 56 bytes and a name the probe declares is its `&'static str`, so a 50,000-item report
/// holds no copy of a fact's or parameter's name. Serialised as a JSON object, in name order
/// (the order a `BTreeMap` gives).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ValueMap {
    entries: Vec<(Cow<'static, str>, Value)>,
}

impl ValueMap {
    pub fn new() -> Self {
        ValueMap::default()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(name))
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.find(name).ok().map(|i| &self.entries[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets a value, returning the one it replaces.
    pub fn insert(&mut self, name: impl Into<Cow<'static, str>>, value: Value) -> Option<Value> {
        let name = name.into();
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (name, value));
                None
            }
        }
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Value)> + DoubleEndedIterator {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values(&self) -> impl ExactSizeIterator<Item = &Value> + DoubleEndedIterator {
        self.entries.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl ExactSizeIterator<Item = &mut Value> + DoubleEndedIterator {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries as held: each name as given (a declared one borrowed).
    pub fn entries(&self) -> &[(Cow<'static, str>, Value)] {
        &self.entries
    }

    /// Gives back spare capacity: a map is built once and then kept for the whole run.
    pub fn shrink_to_fit(&mut self) {
        self.entries.shrink_to_fit();
    }
}

impl<K: Into<Cow<'static, str>>> FromIterator<(K, Value)> for ValueMap {
    /// Names in any order; of a name given twice, the last value stays.
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(pairs: I) -> Self {
        let mut entries: Vec<(Cow<'static, str>, Value)> = pairs.into_iter().map(|(k, v)| (k.into(), v)).collect();
        if !entries.is_sorted_by(|a, b| a.0 < b.0) {
            // Stable: of equal names the last one given ends up last, and is kept.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut kept: Vec<(Cow<'static, str>, Value)> = Vec::with_capacity(entries.len());
            for entry in entries {
                match kept.last_mut() {
                    Some(last) if last.0 == entry.0 => *last = entry,
                    _ => kept.push(entry),
                }
            }
            entries = kept;
        }
        entries.shrink_to_fit();
        ValueMap { entries }
    }
}

impl IntoIterator for ValueMap {
    type Item = (Cow<'static, str>, Value);
    type IntoIter = std::vec::IntoIter<(Cow<'static, str>, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValueMap {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Cow<'static, str>, Value)>,
        fn(&'a (Cow<'static, str>, Value)) -> (&'a str, &'a Value),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl std::ops::Index<&str> for ValueMap {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or_else(|| panic!("no value named `{name}`"))
    }
}

impl Serialize for ValueMap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            m.serialize_entry(k.as_ref(), v)?;
        }
        m.end()
    }
}

impl<'de> serde::Deserialize<'de> for ValueMap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = ValueMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of values by name")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ValueMap, A::Error> {
                let mut pairs: Vec<(String, Value)> = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
                while let Some(pair) = map.next_entry::<String, Value>()? {
                    pairs.push(pair);
                }
                Ok(pairs.into_iter().collect())
            }
        }
        d.deserialize_map(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_map_keeps_names_in_order_and_serialises_as_a_btreemap_does() {
        let pairs = [("zeta", Value::Int(1)), ("alpha", Value::str("a")), ("mid.x", Value::Bool(true))];
        let map: ValueMap = pairs.iter().cloned().collect();
        let btree: BTreeMap<String, Value> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["alpha", "mid.x", "zeta"]);
        assert_eq!(serde_json::to_string(&map).unwrap(), serde_json::to_string(&btree).unwrap());
        assert_eq!(map.get("zeta"), Some(&Value::Int(1)));
        assert_eq!(map.get("nope"), None);
        // Read back from an object in any order: sorted again.
        let back: ValueMap = serde_json::from_str(r#"{"b": 2, "a": 1, "c": "x"}"#).unwrap();
        assert_eq!(back.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(back["b"], Value::Int(2));
    }

    #[test]
    fn a_value_map_keeps_the_last_of_a_name_given_twice() {
        let mut map: ValueMap =
            [("b", Value::Int(1)), ("a", Value::Int(2)), ("b", Value::Int(3))].into_iter().collect();
        assert_eq!(map.len(), 2);
        assert_eq!(map.get("b"), Some(&Value::Int(3)));
        assert_eq!(map.insert("a", Value::Int(4)), Some(Value::Int(2)));
        assert_eq!(map.insert("0", Value::Null), None);
        assert_eq!(map.keys().collect::<Vec<_>>(), ["0", "a", "b"]);
        assert!(map.contains_key("0") && !map.contains_key("c"));
    }

    #[test]
    fn a_long_text_is_kept_as_its_start_and_its_length() {
        let short = Value::str("x".repeat(KEPT_TEXT_BYTES));
        assert_eq!(short.kept(), None, "a text of exactly the limit is kept whole");
        // Lines: cut after the last whole line that fits.
        let lines: String = (1..=2000).map(|i| format!("line {i:05}\n")).collect();
        let Some(Value::Str(kept)) = Value::Str(lines.clone()).kept() else { panic!("not cut") };
        let (head, note) = kept.split_once("\n…").unwrap();
        let budget = KEPT_TEXT_BYTES - CUT_NOTE_ROOM;
        assert!(head.len() <= budget && head.len() > budget - 12, "{}", head.len());
        assert!(kept.len() <= KEPT_TEXT_BYTES);
        assert_eq!(Value::Str(kept.clone()).kept(), None, "a kept text is kept as it is");
        assert!(lines.starts_with(head) && head.ends_with(|c: char| c.is_ascii_digit()));
        assert_eq!(
            note,
            format!(" ({} bytes, 2000 lines in all; the first {} bytes are kept)", lines.len(), head.len())
        );
        // One long line of characters of several bytes: cut on a character boundary.
        let wide = "é".repeat(KEPT_TEXT_BYTES);
        let Some(Value::Str(kept)) = Value::Str(wide.clone()).kept() else { panic!("not cut") };
        let head = kept.split_once('…').unwrap().0;
        assert_eq!(head.len(), budget);
        assert!(kept.ends_with(&format!("({} bytes, 1 line in all; the first {budget} bytes are kept)", wide.len())));
        // The longest note still fits.
        let huge = Value::Str(cut_text(&"é\n".repeat(400_000)));
        assert_eq!(huge.kept(), None);
        // In place, and only texts.
        let mut v = Value::Str(wide);
        v.keep_bounded();
        assert_eq!(v, Value::Str(kept));
        assert_eq!(Value::List(vec![Value::str("y".repeat(10_000))]).kept(), None);
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare_versions("15.10", "15.4"), Ordering::Greater);
        assert_eq!(compare_versions("14", "14.0"), Ordering::Equal);
        assert_eq!(compare_versions("13.9", "14"), Ordering::Less);
        assert_eq!(compare_versions("TLSv1.2", "TLSv1.3"), Ordering::Less);
        assert_eq!(compare_versions("7.0.15", "7.0.9"), Ordering::Greater);
        assert_eq!(compare_versions("1.0", "1.0rc1"), Ordering::Greater);
        assert_eq!(compare_versions("15.4 (Debian 15.4-1.pgdg)", "15.4"), Ordering::Equal);
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_bytes("2GiB").unwrap(), 2 * 1024 * 1024 * 1024);
        assert_eq!(parse_bytes("20 GB").unwrap(), 20_000_000_000);
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert!(parse_bytes("12 parsecs").unwrap_err().contains("unknown size unit"));
    }

    #[test]
    fn durations_need_units() {
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(parse_duration("30").unwrap_err().contains("no unit"));
        assert_eq!(try_parse_duration(" 30 "), Err(ParseValueError::DurationWithoutUnit { text: "30".into() }));
        assert!(matches!(try_parse_duration("soon"), Err(ParseValueError::NotADuration { .. })));
        assert_eq!(
            try_parse_bytes("12 parsecs"),
            Err(ParseValueError::UnknownSizeUnit { text: "12 parsecs".into(), unit: "parsecs".into() })
        );
    }

    #[test]
    fn durations_and_sizes_render_briefly() {
        assert_eq!(format_duration(Duration::from_millis(37)), "37ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.50s");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_secs(90_000)), "1d 1h");
        assert_eq!(format_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(format_bytes(12), "12 B");
    }

    #[test]
    fn loose_equality_crosses_numeric_types() {
        assert!(Value::Int(200).loosely_equals(&Value::Float(200.0)));
        assert!(!Value::Int(200).loosely_equals(&Value::Str("200".into())));
        assert!(Value::Version("14.0".into()).loosely_equals(&Value::Str("14".into())));
    }
}
