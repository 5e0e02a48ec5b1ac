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
pub fn parse_document(file: FileId, text: &str) -> Result<SValue, Diagnostic> {
    match DeTable::parse(text) {
        Ok(table) => {
            let span = table.span();
            Ok(SValue { kind: SKind::Table(convert_table(file, table.get_ref())), span, file })
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

fn convert_table(file: FileId, table: &DeTable<'_>) -> Vec<(SKey, SValue)> {
    table
        .iter()
        .map(|(k, v)| {
            let key = SKey { name: k.get_ref().to_string(), span: k.span() };
            (key, convert(file, v.get_ref(), v.span()))
        })
        .collect()
}

fn convert(file: FileId, value: &DeValue<'_>, span: Range<usize>) -> SValue {
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
        DeValue::Array(items) => SKind::Array(items.iter().map(|v| convert(file, v.get_ref(), v.span())).collect()),
        DeValue::Table(t) => SKind::Table(convert_table(file, t)),
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

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse_document(0, "a = \n").unwrap_err();
        assert_eq!(err.code, Code::Syntax);
        assert!(err.loc.is_some());
    }
}
