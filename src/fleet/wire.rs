//! What golive and its helper on a target say to each other: one JSON object per line.
//! Values keep their type (a duration stays a duration, an instant an instant), so facts
//! observed on a target are the facts local observation gives.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::probe::{Facts, ParamMap, Params, ProbeInput};
use crate::value::Value;

/// Bumped when a message changes shape; golive and its helper are the same binary, so this
/// only guards a `--ssh-helper` built from another version.
pub const PROTOCOL: u32 = 1;

/// A value with its type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v")]
pub enum W {
    #[serde(rename = "null")]
    Null,
    #[serde(rename = "bool")]
    Bool(bool),
    #[serde(rename = "int")]
    Int(i64),
    /// As text, so NaN and infinities survive JSON.
    #[serde(rename = "float")]
    Float(String),
    #[serde(rename = "str")]
    Str(String),
    /// Nanoseconds.
    #[serde(rename = "duration")]
    Duration(u64),
    #[serde(rename = "bytes")]
    Bytes(u64),
    #[serde(rename = "version")]
    Version(String),
    /// RFC 3339.
    #[serde(rename = "time")]
    Time(String),
    #[serde(rename = "list")]
    List(Vec<W>),
    #[serde(rename = "map")]
    Map(BTreeMap<String, W>),
}

impl From<&Value> for W {
    fn from(v: &Value) -> W {
        match v {
            Value::Null => W::Null,
            Value::Bool(b) => W::Bool(*b),
            Value::Int(i) => W::Int(*i),
            Value::Float(x) => W::Float(x.to_string()),
            Value::Str(s) => W::Str(s.clone()),
            Value::Duration(d) => W::Duration(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
            Value::Bytes(b) => W::Bytes(*b),
            Value::Version(s) => W::Version(s.clone()),
            Value::Time(t) => W::Time(t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()),
            Value::List(items) => W::List(items.iter().map(W::from).collect()),
            Value::Map(m) => W::Map(m.iter().map(|(k, v)| (k.clone(), W::from(v))).collect()),
        }
    }
}

impl W {
    pub fn into_value(self) -> Value {
        match self {
            W::Null => Value::Null,
            W::Bool(b) => Value::Bool(b),
            W::Int(i) => Value::Int(i),
            W::Float(x) => Value::Float(x.parse().unwrap_or(f64::NAN)),
            W::Str(s) => Value::Str(s),
            W::Duration(ns) => Value::Duration(Duration::from_nanos(ns)),
            W::Bytes(b) => Value::Bytes(b),
            W::Version(s) => Value::Version(s),
            W::Time(t) => match time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339) {
                Ok(t) => Value::Time(t),
                Err(_) => Value::Str(t),
            },
            W::List(items) => Value::List(items.into_iter().map(W::into_value).collect()),
            W::Map(m) => Value::Map(m.into_iter().map(|(k, v)| (k, v.into_value())).collect()),
        }
    }
}

/// One observation asked of the helper: what [`ProbeInput`] holds, and the probe kind.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub kind: String,
    pub item: String,
    /// Every parameter, defaults included (the helper's probe sees what a local one would).
    pub params: Vec<(String, W)>,
    pub wanted: BTreeSet<String>,
    pub timeout_ns: u64,
}

impl Request {
    pub fn new(id: u64, kind: &str, input: &ProbeInput) -> Request {
        Request {
            id,
            kind: kind.to_string(),
            item: input.item_id.clone(),
            params: input.params.values.iter().map(|(k, v)| (k.to_string(), W::from(v))).collect(),
            wanted: input.wanted.clone(),
            timeout_ns: u64::try_from(input.timeout.as_nanos()).unwrap_or(u64::MAX),
        }
    }

    pub fn input(self) -> ProbeInput {
        let values: ParamMap = self.params.into_iter().map(|(k, v)| (k, v.into_value())).collect();
        ProbeInput {
            item_id: self.item,
            params: Params { values },
            wanted: self.wanted,
            timeout: Duration::from_nanos(self.timeout_ns),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct WireFacts {
    pub values: BTreeMap<String, W>,
    pub secret: BTreeSet<String>,
    pub partly_secret: BTreeMap<String, W>,
    pub hidden: Vec<String>,
    pub explanations: BTreeMap<String, String>,
}

impl From<&Facts> for WireFacts {
    fn from(f: &Facts) -> WireFacts {
        WireFacts {
            values: f.values.iter().map(|(k, v)| (k.clone(), W::from(v))).collect(),
            secret: f.secret.clone(),
            partly_secret: f.partly_secret.iter().map(|(k, v)| (k.clone(), W::from(v))).collect(),
            hidden: f.hidden.clone(),
            explanations: f.explanations.clone(),
        }
    }
}

impl WireFacts {
    pub fn into_facts(self) -> Facts {
        Facts {
            values: self.values.into_iter().map(|(k, v)| (k, v.into_value())).collect(),
            secret: self.secret,
            partly_secret: self.partly_secret.into_iter().map(|(k, v)| (k, v.into_value())).collect(),
            hidden: self.hidden,
            explanations: self.explanations,
        }
    }
}

/// What the helper says: first `Hello`, then one answer per request, in any order.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "lowercase")]
pub enum Reply {
    Hello { protocol: u32, version: String, hostname: String, os: String, arch: String },
    Facts { id: u64, facts: WireFacts },
    Error { id: u64, message: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of value comes back as the same value, with its type.
    #[test]
    fn values_keep_their_type_through_the_wire() {
        let t = time::OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let v = Value::Map(
            [
                ("d".to_string(), Value::Duration(Duration::from_micros(1500))),
                ("b".to_string(), Value::Bytes(42)),
                ("v".to_string(), Value::Version("15.4".into())),
                ("t".to_string(), Value::Time(t)),
                ("f".to_string(), Value::Float(0.25)),
                ("l".to_string(), Value::List(vec![Value::Null, Value::Bool(true), Value::Int(-3), Value::str("x")])),
            ]
            .into_iter()
            .collect(),
        );
        let json = serde_json::to_string(&W::from(&v)).unwrap();
        let back: W = serde_json::from_str(&json).unwrap();
        assert_eq!(back.into_value(), v);
        let nan: W = serde_json::from_str(&serde_json::to_string(&W::from(&Value::Float(f64::NAN))).unwrap()).unwrap();
        assert!(matches!(nan.into_value(), Value::Float(x) if x.is_nan()));
    }
}
