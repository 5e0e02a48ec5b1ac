//! `[[waiver]]` entries: an approved exception for one item (reason, approver, end date).
//! Parsed here with exact positions; the loader checks that each names a known item, once.

use super::Waiver;
use super::load::{unknown_key, wrong_type};
use crate::lang::tree::{SKind, SValue};
use crate::diag::{Code, Diagnostic, Loc, Sources};

pub const WAIVER_KEYS: &[&str] = &["item", "reason", "approved_by", "until"];

/// A waiver and where its `item` is written (for the unknown-item diagnostic).
pub struct ParsedWaiver {
    pub waiver: Waiver,
    pub item_loc: Loc,
    pub loc: Loc,
}

/// Parses one `[[waiver]]` table; every problem becomes a diagnostic.
pub fn parse(table: &SValue, sources: &Sources, diags: &mut Vec<Diagnostic>) -> Option<ParsedWaiver> {
    let header = header_loc(table);
    let entries = table.as_table()?;
    let before = diags.len();
    for (key, _) in entries {
        if !WAIVER_KEYS.contains(&key.name.as_str()) {
            diags.push(unknown_key(table.file, key, "[[waiver]]", WAIVER_KEYS));
        }
    }
    let mut text = |key: &str, example: &str| -> Option<String> {
        match table.get(key) {
            Some(v) => match v.as_str() {
                Some(s) if !s.trim().is_empty() => Some(s.to_string()),
                Some(_) => {
                    diags.push(
                        Diagnostic::error(Code::InvalidValue, format!("waiver: `{key}` is empty"))
                            .at(v.loc())
                            .hint(format!("write e.g. {key} = {example}")),
                    );
                    None
                }
                None => {
                    diags.push(wrong_type(v, key, "a string"));
                    None
                }
            },
            None => {
                diags.push(
                    Diagnostic::error(Code::MissingKey, format!("waiver has no `{key}`")).at(header.clone()).hint(
                        format!("every waiver needs item, reason, approved_by and until; e.g. {key} = {example}"),
                    ),
                );
                None
            }
        }
    };
    let item = text("item", "\"infra.cdn\"");
    let reason = text("reason", "\"no CDN in phase 1\"");
    let approved_by = text("approved_by", "\"CTO\"");
    let until = match table.get("until") {
        Some(v) => match date(v, "until") {
            Ok(d) => Some(d),
            Err(d) => {
                diags.push(d);
                None
            }
        },
        None => {
            diags.push(
                Diagnostic::error(Code::MissingKey, "waiver has no `until`")
                    .at(header.clone())
                    .hint("a waiver must end: until = 2026-12-31 (the last day it applies, UTC)"),
            );
            None
        }
    };
    if diags.len() > before {
        return None;
    }
    let item_loc = table.get("item").map(|v| v.loc()).unwrap_or_else(|| header.clone());
    Some(ParsedWaiver {
        waiver: Waiver {
            item: item?,
            reason: reason?,
            approved_by: approved_by?,
            until: until?,
            source: sources.position(&header),
        },
        item_loc,
        loc: header,
    })
}

/// The first character of a table, for "defined here" positions.
pub fn header_loc(table: &SValue) -> Loc {
    let end = (table.span.start + 1).min(table.span.end).max(table.span.start);
    Loc { file: table.file, span: table.span.start..end }
}

const DATE: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

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

pub fn parse_date(text: &str) -> Result<time::Date, time::error::Parse> {
    time::Date::parse(text.trim(), DATE)
}

pub fn format_date(d: time::Date) -> String {
    d.format(DATE).unwrap_or_else(|_| d.to_string())
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
