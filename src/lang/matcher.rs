//! The matcher language: one way to say what a fact should be, for every probe. Matchers are
//! parsed and type-checked against the fact's declared type at load time, so a checklist
//! with `latency = "fast"` is rejected by `golive validate`, not at 3 a.m.

use std::cmp::Ordering;
use std::fmt;

use regex::Regex;

use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::lang::tree::{SKind, SValue};
use crate::value::{FactType, Value, compare_versions, parse_bytes, parse_duration};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    fn holds(self, ord: Ordering) -> bool {
        match self {
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Matcher {
    Equals(Value),
    /// The operand as the checklist wrote it ("1GB", "7d") is kept for display.
    Compare(CmpOp, Value, String),
    Contains(String),
    Matches(Regex),
    OneOf(Vec<Value>),
    Includes(Vec<Value>),
    Excludes(Vec<Value>),
    Present(bool),
    Length(Box<Matcher>),
    Not(Box<Matcher>),
    AllOf(Vec<Matcher>),
    AnyOf(Vec<Matcher>),
}

/// The table operators, for "did you mean" and docs.
pub const OPERATORS: &[&str] = &[
    "equals", "contains", "matches", "one_of", "includes", "excludes", "present", "length", "not", "all_of", "any_of",
];

/// True when every key of a table is a matcher operator (otherwise the table names nested
/// facts, as in `headers = { server = { present = false } }`).
pub fn is_operator_table(table: &[(crate::lang::tree::SKey, SValue)]) -> bool {
    !table.is_empty() && table.iter().all(|(k, _)| OPERATORS.contains(&k.name.as_str()))
}

fn err(v: &SValue, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::InvalidMatcher, message).at(v.loc())
}

/// Parses the matcher written for a fact of type `ty`.
pub fn parse(v: &SValue, ty: FactType) -> Result<Matcher, Diagnostic> {
    match &v.kind {
        SKind::Table(entries) => {
            if entries.is_empty() {
                return Err(err(v, "empty matcher table").hint(format!("use one of: {}", OPERATORS.join(", "))));
            }
            let mut parts = Vec::new();
            for (key, value) in entries {
                parts.push(parse_operator(&key.name, value, ty).map_err(|d| {
                    if d.code == Code::UnknownKey {
                        d.at(crate::diag::Loc { file: v.file, span: key.span.clone() })
                    } else {
                        d
                    }
                })?);
            }
            Ok(if parts.len() == 1 { parts.pop().unwrap() } else { Matcher::AllOf(parts) })
        }
        SKind::Str(s) => parse_string(v, s, ty),
        SKind::Array(_) => {
            if !matches!(ty, FactType::StringList | FactType::Any) {
                return Err(err(v, format!("an array cannot match {} fact", with_article(ty.name())))
                    .hint("use { one_of = [...] } to accept several values"));
            }
            Ok(Matcher::Equals(literal(v, ty)?))
        }
        _ => Ok(Matcher::Equals(literal(v, ty)?)),
    }
}

fn parse_operator(op: &str, v: &SValue, ty: FactType) -> Result<Matcher, Diagnostic> {
    let text_like = matches!(ty, FactType::String | FactType::Version | FactType::StringList | FactType::Any);
    match op {
        "equals" => Ok(Matcher::Equals(literal(v, ty)?)),
        "contains" => {
            if !text_like {
                return Err(err(
                    v,
                    format!("`contains` applies to text and lists, not to {} fact", with_article(ty.name())),
                )
                .hint("compare numbers, durations and sizes with \"< 500ms\", \">= 30\" …"));
            }
            let s = v.as_str().ok_or_else(|| err(v, format!("`contains` takes a string, found {}", v.describe())))?;
            Ok(Matcher::Contains(s.to_string()))
        }
        "matches" => {
            if !text_like {
                return Err(err(v, format!("`matches` applies to text, not to {} fact", with_article(ty.name()))));
            }
            let s =
                v.as_str().ok_or_else(|| err(v, format!("`matches` takes a regex string, found {}", v.describe())))?;
            Regex::new(s)
                .map(Matcher::Matches)
                .map_err(|e| err(v, format!("invalid regex: {e}")).hint("regex syntax: https://docs.rs/regex"))
        }
        "one_of" => Ok(Matcher::OneOf(list_of_literals(v, ty)?)),
        "includes" | "excludes" => {
            if !matches!(ty, FactType::StringList | FactType::Any) {
                return Err(err(v, format!("`{op}` applies to list facts, not to {} fact", with_article(ty.name())))
                    .hint("use `contains` for text"));
            }
            let items = match &v.kind {
                SKind::Array(_) => list_of_literals(v, FactType::String)?,
                _ => vec![literal(v, FactType::String)?],
            };
            Ok(if op == "includes" { Matcher::Includes(items) } else { Matcher::Excludes(items) })
        }
        "present" => match v.kind {
            SKind::Bool(b) => Ok(Matcher::Present(b)),
            _ => Err(err(v, format!("`present` takes true or false, found {}", v.describe()))),
        },
        "length" => {
            if !matches!(ty, FactType::String | FactType::StringList | FactType::Any) {
                return Err(err(
                    v,
                    format!("`length` applies to text and lists, not to {} fact", with_article(ty.name())),
                ));
            }
            Ok(Matcher::Length(Box::new(parse(v, FactType::Integer)?)))
        }
        "not" => Ok(Matcher::Not(Box::new(parse(v, ty)?))),
        "all_of" | "any_of" => {
            let SKind::Array(items) = &v.kind else {
                return Err(err(v, format!("`{op}` takes an array of matchers, found {}", v.describe())));
            };
            let parsed = items.iter().map(|i| parse(i, ty)).collect::<Result<Vec<_>, _>>()?;
            Ok(if op == "all_of" { Matcher::AllOf(parsed) } else { Matcher::AnyOf(parsed) })
        }
        other => {
            let mut d = Diagnostic::error(Code::UnknownKey, format!("unknown matcher `{other}`"));
            d = match did_you_mean(other, OPERATORS.iter().copied()) {
                Some(s) => d.hint(format!("did you mean `{s}`?")),
                None => d.hint(format!("matchers are: {}", OPERATORS.join(", "))),
            };
            Err(d)
        }
    }
}

/// The values of `one_of` (and of an array for `includes`/`excludes`): an array, or a
/// string of values separated by commas or spaces, so that one var can carry a list
/// (`one_of = "${denied_statuses}"` with `denied_statuses = "401, 403"`). (`includes` and
/// `excludes` read one string as one element: a TXT record holds spaces.)
fn list_of_literals(v: &SValue, ty: FactType) -> Result<Vec<Value>, Diagnostic> {
    match &v.kind {
        SKind::Array(items) => items.iter().map(|i| literal(i, ty)).collect(),
        SKind::Str(text) => {
            let numeric = matches!(ty, FactType::Integer | FactType::Number | FactType::Bytes);
            crate::value::list_items(text)
                .map(|w| {
                    let kind = match w.parse::<i64>() {
                        Ok(i) if numeric => SKind::Int(i),
                        _ => SKind::Str(w.to_string()),
                    };
                    literal(&SValue { kind, span: v.span.clone(), file: v.file }, ty)
                })
                .collect()
        }
        _ => Err(err(v, format!("expected an array, found {}", v.describe()))
            .hint("write an array, or a string of values separated by commas or spaces")),
    }
}

/// Splits `"< 500ms"` into an operator and its operand.
fn split_operator(s: &str) -> Option<(CmpOp, &str)> {
    let s = s.trim_start();
    for (sym, op) in
        [("<=", CmpOp::Le), (">=", CmpOp::Ge), ("==", CmpOp::Eq), ("!=", CmpOp::Ne), ("<", CmpOp::Lt), (">", CmpOp::Gt)]
    {
        if let Some(rest) = s.strip_prefix(sym) {
            return Some((op, rest.trim()));
        }
    }
    None
}

fn parse_string(v: &SValue, s: &str, ty: FactType) -> Result<Matcher, Diagnostic> {
    let Some((op, operand)) = split_operator(s) else {
        return Ok(Matcher::Equals(literal(v, ty)?));
    };
    if !ty.is_ordered() {
        return match (ty, op) {
            (FactType::String, CmpOp::Eq) => Ok(Matcher::Equals(Value::str(operand))),
            (FactType::String, CmpOp::Ne) => Ok(Matcher::Not(Box::new(Matcher::Equals(Value::str(operand))))),
            _ => Err(err(v, format!("`{}` does not apply to {} fact", op.symbol(), with_article(ty.name()))).hint(
                if ty == FactType::String {
                    "a string fact takes \"== text\", \"!= text\", { contains = … } or { matches = … }; to compare a literal that starts with an operator use { equals = \"…\" }"
                } else {
                    "write the value itself (true, false, [\"a\"]) or a table matcher"
                },
            )),
        };
    }
    let value = operand_value(v, operand, ty)?;
    Ok(Matcher::Compare(op, value, operand.to_string()))
}

fn operand_value(v: &SValue, text: &str, ty: FactType) -> Result<Value, Diagnostic> {
    let bad = |m: String| err(v, m);
    match ty {
        FactType::Integer | FactType::Number => text
            .parse::<f64>()
            .map(|n| if n.fract() == 0.0 && n.abs() < 9e15 { Value::Int(n as i64) } else { Value::Float(n) })
            .map_err(|_| bad(format!("`{text}` is not a number (the fact is a {})", ty.name()))),
        FactType::Duration => parse_duration(text).map(Value::Duration).map_err(bad),
        FactType::Bytes => parse_bytes(text).map(Value::Bytes).map_err(bad),
        FactType::Version => {
            if text.is_empty() {
                Err(bad("missing version after the operator".into()))
            } else {
                Ok(Value::Version(text.to_string()))
            }
        }
        FactType::Timestamp => parse_time(text).map(Value::Time).map_err(bad),
        _ => {
            // A fact typed at run time: numbers, then durations, then versions.
            if let Ok(n) = text.parse::<f64>() {
                Ok(Value::Float(n))
            } else if let Ok(d) = humantime::parse_duration(text) {
                Ok(Value::Duration(d))
            } else {
                Ok(Value::Version(text.to_string()))
            }
        }
    }
}

fn parse_time(text: &str) -> Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("`{text}` is not an RFC 3339 time ({e}); write e.g. \"2026-12-31T00:00:00Z\""))
}

/// A plain value written for a fact of type `ty`.
fn literal(v: &SValue, ty: FactType) -> Result<Value, Diagnostic> {
    let mismatch = || {
        let hint = match ty {
            FactType::Duration => "write a duration with its unit as a string, e.g. \"< 500ms\"".to_string(),
            FactType::Bytes => "write a size as a string, e.g. \">= 2GiB\", or a number of bytes".to_string(),
            FactType::Integer | FactType::Number => "write a number without quotes, or \">= 30\"".to_string(),
            FactType::Bool => "write true or false without quotes".to_string(),
            FactType::StringList => "use { includes = [...] }, { excludes = [...] } or a whole array".to_string(),
            _ => "write a quoted string".to_string(),
        };
        err(v, format!("{} does not fit {} fact", v.describe(), with_article(ty.name()))).hint(hint)
    };
    Ok(match (&v.kind, ty) {
        (SKind::Bool(b), FactType::Bool | FactType::Any) => Value::Bool(*b),
        (SKind::Int(i), FactType::Integer | FactType::Number | FactType::Any) => Value::Int(*i),
        (SKind::Int(i), FactType::Bytes) if *i >= 0 => Value::Bytes(*i as u64),
        (SKind::Int(i), FactType::Version) => Value::Version(i.to_string()),
        (SKind::Float(f), FactType::Number | FactType::Integer | FactType::Any) => Value::Float(*f),
        (SKind::Float(f), FactType::Version) => Value::Version(f.to_string()),
        (SKind::Str(s), FactType::String | FactType::Any | FactType::StringList) => Value::str(s),
        (SKind::Str(s), FactType::Version) => Value::Version(s.clone()),
        (SKind::Str(s), FactType::Duration) => Value::Duration(parse_duration(s).map_err(|m| err(v, m))?),
        (SKind::Str(s), FactType::Bytes) => Value::Bytes(parse_bytes(s).map_err(|m| err(v, m))?),
        (SKind::Array(items), FactType::StringList | FactType::Any) => {
            let element = if ty == FactType::StringList { FactType::String } else { FactType::Any };
            Value::List(items.iter().map(|i| literal(i, element)).collect::<Result<_, _>>()?)
        }
        (SKind::Str(s), FactType::Timestamp) | (SKind::Datetime(s), FactType::Timestamp) => {
            Value::Time(parse_time(s).map_err(|m| err(v, m))?)
        }
        _ => return Err(mismatch()),
    })
}

fn with_article(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {word}")
}

impl Matcher {
    /// Does the observed value (None when the probe did not produce the fact) satisfy this?
    pub fn eval(&self, observed: Option<&Value>) -> bool {
        let present = observed.filter(|v| !matches!(v, Value::Null));
        match self {
            Matcher::Present(want) => present.is_some() == *want,
            Matcher::Not(inner) => !inner.eval(observed),
            Matcher::AllOf(all) => all.iter().all(|m| m.eval(observed)),
            Matcher::AnyOf(any) => any.iter().any(|m| m.eval(observed)),
            _ => match present {
                None => false,
                Some(v) => self.eval_present(v),
            },
        }
    }

    fn eval_present(&self, v: &Value) -> bool {
        match self {
            Matcher::Equals(Value::List(want)) => match v {
                Value::List(got) => {
                    got.len() == want.len()
                        && want.iter().all(|w| got.iter().any(|g| g.loosely_equals(w)))
                        && got.iter().all(|g| want.iter().any(|w| w.loosely_equals(g)))
                }
                _ => false,
            },
            Matcher::Equals(want) => v.loosely_equals(want),
            Matcher::Compare(op, want, _) => compare(v, want).is_some_and(|ord| op.holds(ord)),
            Matcher::Contains(needle) => match v {
                Value::List(items) => items.iter().any(|i| i.as_text() == Some(needle.as_str())),
                Value::Map(map) => map.contains_key(needle),
                other => other
                    .as_text()
                    .map(|t| t.contains(needle.as_str()))
                    .unwrap_or_else(|| other.to_string().contains(needle.as_str())),
            },
            Matcher::Matches(re) => match v {
                Value::List(items) => items.iter().any(|i| re.is_match(&i.to_string())),
                other => re.is_match(&other.to_string()),
            },
            Matcher::OneOf(options) => options.iter().any(|o| v.loosely_equals(o)),
            Matcher::Includes(want) => match v {
                Value::List(items) => want.iter().all(|w| items.iter().any(|i| i.loosely_equals(w))),
                _ => false,
            },
            Matcher::Excludes(unwanted) => match v {
                Value::List(items) => !unwanted.iter().any(|w| items.iter().any(|i| i.loosely_equals(w))),
                _ => false,
            },
            Matcher::Length(inner) => {
                let len = match v {
                    Value::List(items) => items.len(),
                    Value::Map(map) => map.len(),
                    other => other.to_string().chars().count(),
                };
                inner.eval(Some(&Value::Int(len as i64)))
            }
            Matcher::Present(_) | Matcher::Not(_) | Matcher::AllOf(_) | Matcher::AnyOf(_) => self.eval(Some(v)),
        }
    }
}

fn compare(observed: &Value, want: &Value) -> Option<Ordering> {
    match (observed, want) {
        (_, Value::Version(w)) => {
            let text = match observed {
                Value::Version(s) | Value::Str(s) => s.clone(),
                Value::Int(_) | Value::Float(_) => observed.to_string(),
                _ => return None,
            };
            Some(compare_versions(&text, w))
        }
        (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
        (Value::Version(o), _) => want.as_f64().map(|w| compare_versions(o, &w.to_string())),
        (Value::Str(s), _) => {
            // A string typed at run time (a JSON body): a number when it is one ("42"), else
            // a version ("2.4.1" >= 2.4).
            match s.trim().parse::<f64>() {
                Ok(n) => n.partial_cmp(&want.as_f64()?),
                Err(_) => Some(compare_versions(s, &want.as_f64()?.to_string())),
            }
        }
        _ => observed.as_f64()?.partial_cmp(&want.as_f64()?),
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |items: &[Value]| Value::List(items.to_vec()).to_string();
        match self {
            Matcher::Equals(v @ Value::Str(_)) => write!(f, "== {:?}", v.to_string()),
            Matcher::Equals(v) => write!(f, "== {v}"),
            Matcher::Compare(op, _, written) => write!(f, "{} {written}", op.symbol()),
            Matcher::Contains(s) => write!(f, "contains {s:?}"),
            Matcher::Matches(re) => write!(f, "matches /{}/", re.as_str()),
            Matcher::OneOf(items) => write!(f, "one of {}", list(items)),
            Matcher::Includes(items) => write!(f, "includes {}", list(items)),
            Matcher::Excludes(items) => write!(f, "excludes {}", list(items)),
            Matcher::Present(true) => f.write_str("present"),
            Matcher::Present(false) => f.write_str("absent"),
            Matcher::Length(m) => write!(f, "length {m}"),
            Matcher::Not(m) => write!(f, "not ({m})"),
            Matcher::AllOf(ms) => join(f, ms, " and "),
            Matcher::AnyOf(ms) => join(f, ms, " or "),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, ms: &[Matcher], sep: &str) -> fmt::Result {
    for (i, m) in ms.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        match m {
            Matcher::AllOf(_) | Matcher::AnyOf(_) => write!(f, "({m})")?,
            _ => write!(f, "{m}")?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::tree::parse_document;
    use std::time::Duration;

    fn m(toml_value: &str, ty: FactType) -> Result<Matcher, Diagnostic> {
        let doc = parse_document(0, &format!("x = {toml_value}")).unwrap();
        parse(doc.get("x").unwrap(), ty)
    }

    /// A string in `one_of` is a list separated by commas or spaces, typed by the fact, so
    /// a var can carry a list; `includes` keeps one string as one element.
    #[test]
    fn a_string_is_a_list_for_list_operators() {
        let statuses = m("{ one_of = \"401, 403\" }", FactType::Integer).unwrap();
        assert!(statuses.eval(Some(&Value::Int(403))) && !statuses.eval(Some(&Value::Int(200))));
        assert_eq!(statuses.to_string(), m("{ one_of = [401, 403] }", FactType::Integer).unwrap().to_string());
        let modes = m("{ one_of = \"0600 0640\" }", FactType::String).unwrap();
        assert!(modes.eval(Some(&Value::str("0640"))) && !modes.eval(Some(&Value::str("640"))), "text stays text");
        let txt = m("{ includes = \"v=spf1 -all\" }", FactType::StringList).unwrap();
        assert!(txt.eval(Some(&Value::string_list(["v=spf1 -all"]))) && !txt.eval(Some(&Value::string_list(["-all"]))));
        assert!(m("{ one_of = \"401, soon\" }", FactType::Integer).is_err(), "not a number");
    }

    #[test]
    fn comparisons_with_units() {
        let latency = m("\"< 500ms\"", FactType::Duration).unwrap();
        assert!(latency.eval(Some(&Value::Duration(Duration::from_millis(37)))));
        assert!(!latency.eval(Some(&Value::Duration(Duration::from_millis(700)))));
        assert_eq!(latency.to_string(), "< 500ms");
        assert_eq!(m("\">= 1GB\"", FactType::Bytes).unwrap().to_string(), ">= 1GB", "shown as written");
        let disk = m("\">= 20GiB\"", FactType::Bytes).unwrap();
        assert!(!disk.eval(Some(&Value::Bytes(19 * 1024 * 1024 * 1024))));
        assert!(disk.eval(Some(&Value::Bytes(21 * 1024 * 1024 * 1024))));
    }

    #[test]
    fn versions_compare_by_segments() {
        let v = m("\">= 14\"", FactType::Version).unwrap();
        assert!(v.eval(Some(&Value::Version("15.4".into()))));
        assert!(!v.eval(Some(&Value::Version("9.6.24".into()))));
        let tls = m("\">= TLSv1.2\"", FactType::Version).unwrap();
        assert!(tls.eval(Some(&Value::Version("TLSv1.3".into()))));
    }

    #[test]
    fn run_time_typed_strings_compare_as_numbers_or_versions() {
        let v = m("\">= 2.4\"", FactType::Any).unwrap();
        assert!(v.eval(Some(&Value::str("2.4.1"))));
        assert!(!v.eval(Some(&Value::str("2.3.9"))));
        assert!(v.eval(Some(&Value::str("10"))));
        let list = m("[1, 2]", FactType::Any).unwrap();
        assert!(list.eval(Some(&Value::List(vec![Value::Int(2), Value::Int(1)]))));
        assert!(m("{ equals = [\"a\"] }", FactType::StringList).unwrap().eval(Some(&Value::string_list(["a"]))));
    }

    #[test]
    fn literals_mean_equality() {
        let status = m("200", FactType::Integer).unwrap();
        assert!(status.eval(Some(&Value::Int(200))));
        assert!(!status.eval(Some(&Value::Int(503))));
        let ne = m("\"!= 0\"", FactType::Integer).unwrap();
        assert!(ne.eval(Some(&Value::Int(1))) && !ne.eval(Some(&Value::Int(0))));
    }

    #[test]
    fn tables_and_combinators() {
        let body = m("{ contains = \"ok\" }", FactType::String).unwrap();
        assert!(body.eval(Some(&Value::str("status: ok"))));
        let exts = m("{ includes = [\"pgcrypto\"] }", FactType::StringList).unwrap();
        assert!(exts.eval(Some(&Value::string_list(["plpgsql", "pgcrypto"]))));
        assert!(!exts.eval(Some(&Value::string_list(["plpgsql"]))));
        let absent = m("{ present = false }", FactType::String).unwrap();
        assert!(absent.eval(None) && !absent.eval(Some(&Value::str("nginx"))));
        let not = m("{ not = { matches = \"^nginx/\\\\d\" } }", FactType::String).unwrap();
        assert!(not.eval(Some(&Value::str("nginx"))) && !not.eval(Some(&Value::str("nginx/1.2"))));
        let any = m("{ any_of = [200, 204] }", FactType::Integer).unwrap();
        assert!(any.eval(Some(&Value::Int(204))) && !any.eval(Some(&Value::Int(500))));
        let one_of = m("{ one_of = [\"0600\", \"0400\"] }", FactType::String).unwrap();
        assert!(one_of.eval(Some(&Value::str("0400"))));
        let len = m("{ length = \">= 2\" }", FactType::StringList).unwrap();
        assert!(len.eval(Some(&Value::string_list(["a", "b"]))) && !len.eval(Some(&Value::string_list(["a"]))));
        let two = m("{ contains = \"a\", matches = \"b$\" }", FactType::String).unwrap();
        assert!(two.eval(Some(&Value::str("ab"))) && !two.eval(Some(&Value::str("ba"))));
    }

    #[test]
    fn wrong_types_are_rejected_with_hints() {
        let e = m("\"fast\"", FactType::Duration).unwrap_err();
        assert_eq!(e.code, Code::InvalidMatcher);
        assert!(e.message.contains("not a duration"), "{}", e.message);
        let e = m("{ contains = \"x\" }", FactType::Integer).unwrap_err();
        assert!(e.message.contains("`contains` applies to text"));
        let e = m("\"true\"", FactType::Bool).unwrap_err();
        assert!(e.hint.unwrap().contains("without quotes"));
        let e = m("{ containz = \"x\" }", FactType::String).unwrap_err();
        assert_eq!(e.hint.as_deref(), Some("did you mean `contains`?"));
        assert!(m("\"< 5\"", FactType::Bool).is_err());
    }

    #[test]
    fn missing_facts_fail_except_absence() {
        assert!(!m("200", FactType::Integer).unwrap().eval(None));
        assert!(m("{ not = { contains = \"x\" } }", FactType::String).unwrap().eval(None));
    }
}
