//! Turns the columns of a user's query into golive values. Results come in PostgreSQL's
//! binary format; the common types are read here (numbers, text, booleans, numeric, times,
//! intervals, JSON, UUIDs, text and integer arrays). Any other type is an error that says
//! how to cast it, never a silently wrong value.

use std::time::Duration;

use sqlx::postgres::{PgRow, PgValueFormat, PgValueRef};
use sqlx::{Column, Row, TypeInfo, ValueRef};

use crate::value::Value;

/// Microseconds from the Unix epoch to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Why a column's value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ColumnError {
    #[error("{0}")]
    Sqlx(#[from] sqlx::Error),
    /// The driver could not hand out the raw bytes or text.
    #[error("{0}")]
    Raw(sqlx::error::BoxDynError),
    #[error(
        "column `{column}` has type {type_name}, which golive does not read; cast it in the query, e.g. {column}::text"
    )]
    Unsupported { column: String, type_name: String },
    #[error("unknown JSONB format version")]
    JsonbVersion,
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("malformed NUMERIC value")]
    Numeric,
    #[error("{0}")]
    Uuid(#[from] uuid::Error),
    #[error("expected {expected} bytes, found {found}")]
    Length { expected: usize, found: usize },
}

/// The value of column `index` of `row`.
pub fn column_value(row: &PgRow, index: usize) -> Result<Value, ColumnError> {
    let column = &row.columns()[index];
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let type_name = raw.type_info().name().to_ascii_uppercase();
    let cannot = || ColumnError::Unsupported { column: column.name().to_string(), type_name: type_name.clone() };
    if raw.format() == PgValueFormat::Text {
        return raw.as_str().map(Value::str).map_err(ColumnError::Raw);
    }
    let typed = |r: Result<Value, sqlx::Error>| r.map_err(ColumnError::Sqlx);
    match type_name.as_str() {
        "BOOL" => typed(row.try_get::<bool, _>(index).map(Value::Bool)),
        "INT2" => typed(row.try_get::<i16, _>(index).map(|v| Value::Int(v.into()))),
        "INT4" => typed(row.try_get::<i32, _>(index).map(|v| Value::Int(v.into()))),
        "INT8" => typed(row.try_get::<i64, _>(index).map(Value::Int)),
        "OID" => typed(row.try_get::<sqlx::postgres::types::Oid, _>(index).map(|v| Value::Int(v.0.into()))),
        "FLOAT4" => typed(row.try_get::<f32, _>(index).map(|v| Value::Float(v.into()))),
        "FLOAT8" => typed(row.try_get::<f64, _>(index).map(Value::Float)),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" | "CITEXT" | "JSON" => text(&raw).map(Value::str),
        "\"CHAR\"" | "CHAR" => {
            Ok(Value::str(raw.as_bytes().map_err(ColumnError::Raw)?.iter().map(|b| *b as char).collect::<String>()))
        }
        "JSONB" => {
            let bytes = raw.as_bytes().map_err(ColumnError::Raw)?;
            let body = bytes.strip_prefix(&[1u8]).ok_or(ColumnError::JsonbVersion)?;
            let json: serde_json::Value = serde_json::from_slice(body)?;
            Ok(Value::from_json(&json))
        }
        "NUMERIC" => numeric(raw.as_bytes().map_err(ColumnError::Raw)?).ok_or(ColumnError::Numeric),
        "UUID" => {
            let bytes = raw.as_bytes().map_err(ColumnError::Raw)?;
            let id = uuid::Uuid::from_slice(bytes)?;
            Ok(Value::str(id.to_string()))
        }
        "TIMESTAMPTZ" | "TIMESTAMP" => {
            let micros = i64::from_be_bytes(fixed(&raw)?);
            Ok(timestamp(micros))
        }
        "DATE" => {
            let days = i32::from_be_bytes(fixed(&raw)?);
            Ok(date(days))
        }
        "INTERVAL" => {
            let bytes: [u8; 16] = fixed(&raw)?;
            let micros = i64::from_be_bytes(bytes[0..8].try_into().unwrap());
            let days = i32::from_be_bytes(bytes[8..12].try_into().unwrap());
            let months = i32::from_be_bytes(bytes[12..16].try_into().unwrap());
            Ok(interval(micros, days, months))
        }
        "PG_LSN" => {
            let lsn = u64::from_be_bytes(fixed(&raw)?);
            Ok(Value::str(format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)))
        }
        "TEXT[]" | "VARCHAR[]" | "NAME[]" | "BPCHAR[]" => typed(
            row.try_get::<Vec<Option<String>>, _>(index)
                .map(|v| Value::List(v.into_iter().map(|s| s.map(Value::Str).unwrap_or(Value::Null)).collect())),
        ),
        "INT2[]" => {
            typed(row.try_get::<Vec<Option<i16>>, _>(index).map(|v| int_list(v.into_iter().map(|x| x.map(i64::from)))))
        }
        "INT4[]" => {
            typed(row.try_get::<Vec<Option<i32>>, _>(index).map(|v| int_list(v.into_iter().map(|x| x.map(i64::from)))))
        }
        "INT8[]" => typed(row.try_get::<Vec<Option<i64>>, _>(index).map(|v| int_list(v.into_iter()))),
        "BOOL[]" => typed(
            row.try_get::<Vec<Option<bool>>, _>(index)
                .map(|v| Value::List(v.into_iter().map(|b| b.map(Value::Bool).unwrap_or(Value::Null)).collect())),
        ),
        _ => Err(cannot()),
    }
}

fn int_list(items: impl Iterator<Item = Option<i64>>) -> Value {
    Value::List(items.map(|i| i.map(Value::Int).unwrap_or(Value::Null)).collect())
}

fn text(raw: &PgValueRef<'_>) -> Result<String, ColumnError> {
    raw.as_str().map(str::to_string).map_err(ColumnError::Raw)
}

fn fixed<const N: usize>(raw: &PgValueRef<'_>) -> Result<[u8; N], ColumnError> {
    let bytes = raw.as_bytes().map_err(ColumnError::Raw)?;
    bytes.try_into().map_err(|_| ColumnError::Length { expected: N, found: bytes.len() })
}

/// A timestamp in microseconds since 2000-01-01 (UTC); ±infinity as text.
pub fn timestamp(micros: i64) -> Value {
    match micros {
        i64::MAX => Value::str("infinity"),
        i64::MIN => Value::str("-infinity"),
        _ => {
            let nanos = (i128::from(micros) + i128::from(PG_EPOCH_MICROS)) * 1000;
            time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
                .map(Value::Time)
                .unwrap_or_else(|_| Value::str(micros.to_string()))
        }
    }
}

fn date(days: i32) -> Value {
    match days {
        i32::MAX => Value::str("infinity"),
        i32::MIN => Value::str("-infinity"),
        _ => {
            let epoch = time::macros::date!(2000 - 01 - 01);
            match epoch.checked_add(time::Duration::days(days.into())) {
                Some(d) => Value::str(d.to_string()),
                None => Value::str(days.to_string()),
            }
        }
    }
}

/// An interval as a duration (a month counts 30 days, as PostgreSQL's own arithmetic does);
/// a negative interval as a number of seconds.
pub fn interval(micros: i64, days: i32, months: i32) -> Value {
    let total = i128::from(micros) + (i128::from(days) + i128::from(months) * 30) * 86_400_000_000;
    if total >= 0 {
        Value::Duration(Duration::from_micros(total.min(u64::MAX as i128) as u64))
    } else {
        Value::Float(total as f64 / 1e6)
    }
}

/// Decodes PostgreSQL's binary NUMERIC: digit count, weight, sign and display scale, then
/// base-10000 digits. Whole numbers that fit become integers, others floats.
pub fn numeric(bytes: &[u8]) -> Option<Value> {
    let word = |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*bytes.get(i)?, *bytes.get(i + 1)?])) };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i64;
    let sign = word(4)?;
    let dscale = word(6)? as usize;
    match sign {
        0xC000 => return Some(Value::Float(f64::NAN)),
        0xD000 => return Some(Value::Float(f64::INFINITY)),
        0xF000 => return Some(Value::Float(f64::NEG_INFINITY)),
        0x0000 | 0x4000 => {}
        _ => return None,
    }
    let digits: Vec<u16> = (0..ndigits).map(|k| word(8 + 2 * k)).collect::<Option<_>>()?;
    // The digit at base-10000 position `pos` (0 = units group, -1 = first fraction group).
    let at = |pos: i64| -> u16 {
        let k = weight - pos;
        if k >= 0 && (k as usize) < digits.len() { digits[k as usize] } else { 0 }
    };
    let mut int_part = String::new();
    for pos in (0..=weight.max(0)).rev() {
        let d = at(pos);
        if int_part.is_empty() {
            if d != 0 || pos == 0 {
                int_part.push_str(&d.to_string());
            }
        } else {
            int_part.push_str(&format!("{d:04}"));
        }
    }
    let mut frac = String::new();
    let groups = dscale.div_ceil(4) as i64;
    for pos in 1..=groups {
        frac.push_str(&format!("{:04}", at(-pos)));
    }
    frac.truncate(dscale);
    let negative = sign == 0x4000;
    let text = format!("{}{int_part}{}{frac}", if negative { "-" } else { "" }, if frac.is_empty() { "" } else { "." });
    if dscale == 0
        && let Ok(i) = text.parse::<i64>()
    {
        return Some(Value::Int(i));
    }
    text.parse::<f64>().ok().map(Value::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out
    }

    #[test]
    fn numeric_decodes_integers_fractions_and_signs() {
        // 12345678 = 1234 5678, weight 1
        assert_eq!(numeric(&encode(2, 1, 0, 0, &[1234, 5678])), Some(Value::Int(12_345_678)));
        // 0
        assert_eq!(numeric(&encode(0, 0, 0, 0, &[])), Some(Value::Int(0)));
        // -3.25 = 3 . 2500, weight 0, dscale 2
        assert_eq!(numeric(&encode(2, 0, 0x4000, 2, &[3, 2500])), Some(Value::Float(-3.25)));
        // 0.0005 = weight -1, digit 5, dscale 4
        assert_eq!(numeric(&encode(1, -1, 0, 4, &[5])), Some(Value::Float(0.0005)));
        // 10000 = weight 1, digit 1 (trailing zero groups are omitted)
        assert_eq!(numeric(&encode(1, 1, 0, 0, &[1])), Some(Value::Int(10_000)));
        // 2.50 with dscale 2
        assert_eq!(numeric(&encode(2, 0, 0, 2, &[2, 5000])), Some(Value::Float(2.5)));
        assert!(matches!(numeric(&encode(0, 0, 0xC000, 0, &[])), Some(Value::Float(f)) if f.is_nan()));
        assert_eq!(numeric(&[0, 1]), None);
    }

    #[test]
    fn times_and_intervals() {
        assert_eq!(timestamp(0).to_string(), "2000-01-01T00:00:00Z");
        assert_eq!(timestamp(i64::MAX), Value::str("infinity"));
        assert_eq!(date(31), Value::str("2000-02-01"));
        assert_eq!(interval(1_500_000, 1, 0), Value::Duration(Duration::from_micros(86_401_500_000)));
        assert_eq!(interval(-2_000_000, 0, 0), Value::Float(-2.0));
    }
}
