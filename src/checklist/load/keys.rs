//! The shared diagnostics of the loader's stages: unknown keys (with "did you mean"), values
//! of the wrong type, and readers for the value kinds every stage uses (strings, lists,
//! durations, counts, severities, dates). A leaf: it imports no other stage.

use std::time::Duration;

use super::sink::Diags;
use crate::checklist::model::{Severity, parse_date};
use crate::diag::{Code, Diagnostic, FileId, Loc, did_you_mean};
use crate::lang::tree::{SKey, SKind, SValue};
use crate::value::parse_duration;

pub fn loc_of_key(file: FileId, key: &SKey) -> Loc {
    Loc { file, span: key.span.clone() }
}

/// The first character of a table, for "defined here" positions.
pub fn header_loc(table: &SValue) -> Loc {
    let end = (table.span.start + 1).min(table.span.end).max(table.span.start);
    Loc { file: table.file, span: table.span.start..end }
}

pub fn unknown_key(file: FileId, key: &SKey, what: &str, known: &[&str]) -> Diagnostic {
    let d =
        Diagnostic::error(Code::UnknownKey, format!("unknown key `{}` in {what}", key.name)).at(loc_of_key(file, key));
    match did_you_mean(&key.name, known.iter().copied()) {
        Some(s) => d.hint(format!("did you mean `{s}`?")),
        None => d.hint(format!("known keys here: {}", known.join(", "))),
    }
}

pub fn wrong_type(v: &SValue, key: &str, expected: &str) -> Diagnostic {
    Diagnostic::error(Code::InvalidValue, format!("`{key}` must be {expected}, found {}", v.describe())).at(v.loc())
}

/// True when the value is an array whose entries are all tables (`[[item]]`).
pub fn is_array_of_tables(v: &SValue) -> bool {
    matches!(&v.kind, SKind::Array(items) if items.iter().all(|i| i.as_table().is_some()))
}

pub fn duration(diags: &mut Diags, v: &SValue, key: &str) -> Option<Duration> {
    match v.as_str().map(parse_duration) {
        Some(Ok(d)) => Some(d),
        Some(Err(msg)) => {
            diags.push(Diagnostic::error(Code::InvalidValue, format!("`{key}`: {msg}")).at(v.loc()));
            None
        }
        None => {
            diags.push(
                wrong_type(v, key, "a duration such as \"5s\"")
                    .hint("durations are strings: \"500ms\", \"30s\", \"2m\", \"7d\""),
            );
            None
        }
    }
}

/// A whole number from 0 to 1000 (retries).
pub fn count(diags: &mut Diags, v: &SValue, key: &str) -> Option<u32> {
    match v.kind {
        SKind::Int(i) if (0..=1000).contains(&i) => Some(i as u32),
        _ => {
            diags.push(wrong_type(v, key, "a whole number from 0 to 1000"));
            None
        }
    }
}

pub fn severity(diags: &mut Diags, v: &SValue) -> Option<Severity> {
    match v.as_str().and_then(Severity::parse) {
        Some(s) => Some(s),
        None => {
            let mut d = wrong_type(v, "severity", &format!("one of {}", Severity::NAMES.join(", ")));
            if let Some(s) = v.as_str().and_then(|s| did_you_mean(s, Severity::NAMES.iter().copied())) {
                d = d.hint(format!("did you mean \"{s}\"?"));
            }
            diags.push(d);
            None
        }
    }
}

pub fn strings(diags: &mut Diags, v: &SValue, key: &str) -> Vec<String> {
    match &v.kind {
        SKind::Array(items) if items.iter().all(|i| i.as_str().is_some()) => {
            items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect()
        }
        _ => {
            diags.push(wrong_type(v, key, "a list of strings"));
            Vec::new()
        }
    }
}

pub fn text(diags: &mut Diags, v: &SValue, key: &str) -> Option<String> {
    match v.as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            diags.push(wrong_type(v, key, "a string"));
            None
        }
    }
}

/// A calendar date: a TOML local date (`until = 2026-12-31`) or a string `"2026-12-31"`.
pub fn date(v: &SValue, key: &str) -> Result<time::Date, Diagnostic> {
    let text = match &v.kind {
        SKind::Datetime(s) | SKind::Str(s) => s.as_str(),
        _ => return Err(wrong_type(v, key, "a date such as 2026-12-31")),
    };
    parse_date(text).map_err(|_| {
        Diagnostic::error(
            Code::InvalidValue,
            format!("`{key}` must be a date such as 2026-12-31, found {}", v.describe()),
        )
        .at(v.loc())
        .hint("write the day only, year-month-day: 2026-12-31 (it is valid through that whole day, UTC)")
    })
}

/// An instant: a TOML offset datetime or an RFC 3339 string.
pub fn instant(v: &SValue, key: &str) -> Result<time::OffsetDateTime, Diagnostic> {
    let text = match &v.kind {
        SKind::Datetime(s) | SKind::Str(s) => s.as_str(),
        _ => return Err(wrong_type(v, key, "a date and time such as 2026-11-21T10:00:00Z")),
    };
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|_| {
        Diagnostic::error(
            Code::InvalidValue,
            format!(
                "`{key}` must be a date and time with an offset such as 2026-11-21T10:00:00Z, found {}",
                v.describe()
            ),
        )
        .at(v.loc())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::tree::parse_document;

    fn value(text: &str) -> SValue {
        parse_document(0, &format!("x = {text}")).unwrap().get("x").unwrap().clone()
    }

    #[test]
    fn readers_accept_their_kind_and_report_the_rest() {
        let mut diags = Diags::default();
        assert_eq!(duration(&mut diags, &value("\"2s\""), "timeout"), Some(Duration::from_secs(2)));
        assert_eq!(count(&mut diags, &value("3"), "retries"), Some(3));
        assert_eq!(severity(&mut diags, &value("\"low\"")), Some(Severity::Low));
        assert_eq!(diags.total(), 0);
        assert_eq!(duration(&mut diags, &value("5"), "timeout"), None);
        assert_eq!(count(&mut diags, &value("1001"), "retries"), None);
        assert_eq!(severity(&mut diags, &value("\"hihg\"")), None);
        let out = diags.finish();
        assert_eq!(out.len(), 3);
        assert!(out.iter().all(|d| d.code == Code::InvalidValue && d.loc.is_some()));
        assert_eq!(out[2].hint.as_deref(), Some("did you mean \"high\"?"));
    }

    #[test]
    fn unknown_keys_suggest_a_close_name() {
        let key = SKey { name: "timout".into(), span: 0..6 };
        let d = unknown_key(0, &key, "[defaults]", &["timeout", "retries"]);
        assert_eq!(d.hint.as_deref(), Some("did you mean `timeout`?"));
        let key = SKey { name: "zzz".into(), span: 0..3 };
        assert_eq!(unknown_key(0, &key, "x", &["a", "b"]).hint.as_deref(), Some("known keys here: a, b"));
    }

    #[test]
    fn dates_and_instants() {
        assert!(date(&value("2026-12-31"), "until").is_ok());
        assert!(date(&value("\"31/12/2026\""), "until").is_err());
        assert!(instant(&value("2026-11-21T10:00:00Z"), "at").is_ok());
        assert!(instant(&value("\"yesterday\""), "at").is_err());
    }
}
