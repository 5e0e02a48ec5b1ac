//! `exec`: external probes in any language. `PROGRAM --describe` prints the program's
//! parameters and facts as JSON (read once per program when the checklist loads, so
//! `golive validate` checks items that use it); a run feeds the item's parameters to the
//! program as JSON on stdin and reads `{"facts": {…}}` or `{"error": "…"}` from stdout.
//! The protocol is documented in docs/plugins.md.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;

use super::process::{
    BlockingRunError, ChildEnv, ENV, INHERIT_ENV, PASS_ENV, exit_code_text, first_line, run_blocking, run_captured,
};
use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared, blocking};
use crate::value::{FactType, ParseValueError, Value, try_parse_bytes, try_parse_duration};

/// How long `PROGRAM --describe` may take.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Output kept from a program, stdout and stderr each.
const MAX_OUTPUT: usize = 1 << 20;

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "exec",
    summary: "Runs an external probe program (any language): parameters as JSON on stdin, facts as JSON on stdout.",
    params: &[
        ParamSpec::required(
            "program",
            ParamType::Path,
            "the probe program; a path with a / is relative to the checklist file, a bare name is looked up in PATH",
        ),
        ParamSpec::optional(
            "params",
            ParamType::Table,
            "the program's parameters, checked against what `PROGRAM --describe` declares",
        ),
        ENV,
        PASS_ENV,
        INHERIT_ENV,
    ],
    facts: &[FactSpec::new(
        "<fact>",
        FactType::Any,
        "the facts the program declares with --describe, with the types it declares (docs/plugins.md)",
    )],
    default_expect: &[],
    observe: Some(observe),
    check: None,
    notes: &[],
};

/// The types a program may give its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginParamType {
    String,
    Integer,
    Number,
    Bool,
    List,
    Table,
    Any,
}

impl PluginParamType {
    const NAMES: &'static [&'static str] = &["string", "integer", "number", "bool", "list", "table", "any"];

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => Self::String,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "bool" => Self::Bool,
            "list" => Self::List,
            "table" => Self::Table,
            "any" => Self::Any,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::String => "a string",
            Self::Integer => "a whole number",
            Self::Number => "a number",
            Self::Bool => "true or false",
            Self::List => "an array",
            Self::Table => "a table",
            Self::Any => "any value",
        }
    }

    /// Does a parameter value fit?
    pub fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (Self::Any, _)
                | (Self::String, Value::Str(_))
                | (Self::Integer, Value::Int(_))
                | (Self::Number, Value::Int(_) | Value::Float(_))
                | (Self::Bool, Value::Bool(_))
                | (Self::List, Value::List(_))
                | (Self::Table, Value::Map(_))
        )
    }
}

const FACT_TYPES: &[(&str, FactType)] = &[
    ("bool", FactType::Bool),
    ("integer", FactType::Integer),
    ("number", FactType::Number),
    ("string", FactType::String),
    ("duration", FactType::Duration),
    ("bytes", FactType::Bytes),
    ("version", FactType::Version),
    ("timestamp", FactType::Timestamp),
    ("list", FactType::StringList),
    ("any", FactType::Any),
];

#[derive(Clone, Debug)]
pub struct DescribedParam {
    pub name: String,
    pub ty: PluginParamType,
    pub required: bool,
    pub default: Option<Value>,
    pub secret: bool,
    pub doc: String,
}

/// What a program said about itself with `--describe`.
#[derive(Debug)]
pub struct Description {
    pub summary: String,
    pub params: Vec<DescribedParam>,
    /// Its facts as a probe declaration, so expectations are checked as for any probe.
    pub spec: &'static ProbeSpec,
}

impl Description {
    pub fn param(&self, name: &str) -> Option<&DescribedParam> {
        self.params.iter().find(|p| p.name == name)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDescription {
    #[serde(default)]
    summary: String,
    #[serde(default)]
    params: Vec<RawParam>,
    facts: Vec<RawFact>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    required: bool,
    default: Option<serde_json::Value>,
    #[serde(default)]
    secret: bool,
    #[serde(default)]
    doc: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFact {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    doc: String,
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn valid_name(name: &str, family: bool) -> bool {
    let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if family && let Some(prefix) = name.strip_suffix('>').and_then(|n| n.rsplit_once(".<")).map(|(p, _)| p) {
        return plain(prefix);
    }
    plain(name) && !name.ends_with('.')
}

/// Why `PROGRAM --describe` gave no usable description. Cloned out of the per-process
/// cache, so the underlying errors are shared.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DescribeError {
    #[error("cannot run it: {0}")]
    Start(#[source] Arc<std::io::Error>),
    #[error("waiting for it failed: {0}")]
    Wait(#[source] Arc<std::io::Error>),
    #[error("it did not answer within {seconds}s")]
    Timeout { seconds: u64 },
    #[error("it exited with {code}{}", stderr.as_ref().map(|l| format!(": {l}")).unwrap_or_default())]
    Failed {
        /// `status 3` or `a signal`.
        code: String,
        /// The first line of its stderr.
        stderr: Option<String>,
    },
    #[error(transparent)]
    Invalid(#[from] DescriptionError),
}

/// What is wrong with the JSON a program printed for `--describe`.
#[derive(Clone, Debug, thiserror::Error)]
pub enum DescriptionError {
    #[error("--describe did not print a valid description: {0}")]
    Json(#[source] Arc<serde_json::Error>),
    #[error("parameter name {name:?} is not valid (letters, digits, _ and -)")]
    ParamName { name: String },
    #[error("parameter `{name}` has unknown type {ty:?}; types are: {}", PluginParamType::NAMES.join(", "))]
    ParamType { name: String, ty: String },
    #[error("parameter `{name}`: its default is not {expected}")]
    ParamDefault { name: String, expected: &'static str },
    #[error("fact name {name:?} is not valid (letters, digits, _, - and ., or prefix.<what> for a family)")]
    FactName { name: String },
    #[error(
        "fact `{name}` has unknown type {ty:?}; types are: {}",
        FACT_TYPES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
    )]
    FactType { name: String, ty: String },
}

/// Parses `--describe` output. `program` names the program in messages.
pub fn parse_description(program: &str, json: &[u8]) -> Result<Description, DescriptionError> {
    let raw: RawDescription = serde_json::from_slice(json).map_err(|e| DescriptionError::Json(Arc::new(e)))?;
    let mut params = Vec::new();
    for p in raw.params {
        if !valid_name(&p.name, false) {
            return Err(DescriptionError::ParamName { name: p.name });
        }
        let Some(ty) = PluginParamType::parse(&p.ty) else {
            return Err(DescriptionError::ParamType { name: p.name, ty: p.ty });
        };
        let default = p.default.as_ref().map(Value::from_json);
        if let Some(d) = &default
            && !ty.accepts(d)
        {
            return Err(DescriptionError::ParamDefault { name: p.name, expected: ty.name() });
        }
        params.push(DescribedParam { name: p.name, ty, required: p.required, default, secret: p.secret, doc: p.doc });
    }
    let mut facts = Vec::new();
    for f in raw.facts {
        if !valid_name(&f.name, true) {
            return Err(DescriptionError::FactName { name: f.name });
        }
        let Some(ty) = FACT_TYPES.iter().find(|(n, _)| *n == f.ty).map(|(_, t)| *t) else {
            return Err(DescriptionError::FactType { name: f.name, ty: f.ty });
        };
        facts.push(FactSpec { name: leak(f.name), ty, doc: leak(f.doc) });
    }
    let spec: &'static ProbeSpec = Box::leak(Box::new(ProbeSpec {
        kind: leak(format!("exec {program}")),
        summary: leak(raw.summary.clone()),
        params: &[],
        facts: Box::leak(facts.into_boxed_slice()),
        default_expect: &[],
        observe: Some(observe),
        check: None,
        notes: &[],
    }));
    Ok(Description { summary: raw.summary, params, spec })
}

type Cache = Mutex<HashMap<PathBuf, Result<Arc<Description>, DescribeError>>>;

/// Runs `PROGRAM --describe` once per program for the whole process (loading and running
/// share it), with a short timeout.
pub fn describe(program: &Path) -> Result<Arc<Description>, DescribeError> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some(done) = cache.lock().unwrap().get(program) {
        return done.clone();
    }
    let result = run_describe(program)
        .and_then(|out| Ok(parse_description(&program.display().to_string(), &out)?))
        .map(Arc::new);
    cache.lock().unwrap().insert(program.to_path_buf(), result.clone());
    result
}

/// The program's stdout for `--describe`, or why there is none. The program runs in its own
/// process group with the base environment only (a description does not depend on an
/// item), and the whole group is ended when the describe finishes (answered, failed or
/// timed out), so a background child it started cannot outlive golive.
fn run_describe(program: &Path) -> Result<Vec<u8>, DescribeError> {
    let mut command = std::process::Command::new(program);
    command.arg("--describe");
    ChildEnv::minimal().apply(&mut command);
    let done = run_blocking(command, DESCRIBE_TIMEOUT, MAX_OUTPUT).map_err(|e| match e {
        BlockingRunError::Start(e) => DescribeError::Start(e),
        BlockingRunError::Wait(e) => DescribeError::Wait(e),
        BlockingRunError::Timeout { after } => DescribeError::Timeout { seconds: after.as_secs() },
        e @ BlockingRunError::OutputHeld => {
            DescribeError::Start(std::sync::Arc::new(std::io::Error::other(e.to_string())))
        }
    })?;
    if !done.status.success() {
        return Err(DescribeError::Failed { code: exit_code_text(&done.status), stderr: first_line(&done.stderr) });
    }
    Ok(done.stdout)
}

/// Why a value a program returned does not fit the fact's declared type.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("expected {expected}, got {got}")]
    Mismatch { expected: &'static str, got: serde_json::Value },
    #[error(transparent)]
    Parse(#[from] ParseValueError),
    #[error("{text:?} is not an RFC 3339 time: {source}")]
    Time { text: String, source: time::error::Parse },
}

/// A value returned by the program, as the fact's declared type.
fn convert(ty: FactType, json: &serde_json::Value) -> Result<Option<Value>, ConvertError> {
    use serde_json::Value as J;
    let bad = || ConvertError::Mismatch { expected: ty.name(), got: json.clone() };
    Ok(Some(match (ty, json) {
        (_, J::Null) => return Ok(None),
        (FactType::Any, j) => Value::from_json(j),
        (FactType::Bool, J::Bool(b)) => Value::Bool(*b),
        (FactType::Integer, J::Number(n)) => Value::Int(
            n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)).ok_or_else(bad)?,
        ),
        (FactType::Number, J::Number(n)) => Value::from_json(&J::Number(n.clone())),
        (FactType::String, J::String(s)) => Value::Str(s.clone()),
        (FactType::Duration, J::Number(n)) => {
            let ms = n.as_f64().filter(|ms| *ms >= 0.0).ok_or_else(bad)?;
            Value::Duration(Duration::from_secs_f64(ms / 1000.0))
        }
        (FactType::Duration, J::String(s)) => Value::Duration(try_parse_duration(s)?),
        (FactType::Bytes, J::Number(n)) => Value::Bytes(n.as_u64().ok_or_else(bad)?),
        (FactType::Bytes, J::String(s)) => Value::Bytes(try_parse_bytes(s)?),
        (FactType::Version, J::String(s)) => Value::Version(s.clone()),
        (FactType::Version, J::Number(n)) => Value::Version(n.to_string()),
        (FactType::Timestamp, J::String(s)) => Value::Time(
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map_err(|source| ConvertError::Time { text: s.clone(), source })?,
        ),
        (FactType::StringList, J::Array(items)) => Value::List(
            items
                .iter()
                .map(|i| match i {
                    J::String(s) => Ok(Value::Str(s.clone())),
                    J::Number(n) => Ok(Value::Str(n.to_string())),
                    J::Bool(b) => Ok(Value::Str(b.to_string())),
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err(bad()),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    facts: Option<serde_json::Map<String, serde_json::Value>>,
    error: Option<String>,
}

/// `GOLIVE_PARAM_MOUNT_POINT` for `mount_point`.
fn env_name(param: &str) -> String {
    let upper: String =
        param.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("GOLIVE_PARAM_{upper}")
}

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let program = PathBuf::from(input.params.str("program").unwrap_or_default());
        let shown = program.display().to_string();
        let described = {
            let program = program.clone();
            blocking(move || {
                describe(&program).map_err(|e| ProbeError::new(format!("{}: --describe: {e}", program.display())))
            })
            .await?
        };
        let params: BTreeMap<String, Value> = match input.params.get("params") {
            Some(Value::Map(m)) => m.clone(),
            _ => BTreeMap::new(),
        };
        let request = serde_json::json!({
            "params": params,
            "facts": input.wanted,
            "timeout_ms": input.timeout.as_millis() as u64,
            "item": input.item_id,
        });
        let mut command = tokio::process::Command::new(&program);
        ChildEnv::from_params(&input.params).apply(command.as_std_mut());
        command.env("GOLIVE_PLUGIN_PROTOCOL", "1");
        for (name, value) in &params {
            let secret = described.param(name).is_some_and(|p| p.secret);
            let text = match value {
                Value::Str(s) => Some(s.clone()),
                Value::Int(_) | Value::Float(_) | Value::Bool(_) => Some(value.to_string()),
                _ => None,
            };
            if let (Some(text), false) = (text, secret) {
                command.env(env_name(name), text);
            }
        }
        let run = run_captured(command, Some(serde_json::to_vec(&request).unwrap_or_default()), MAX_OUTPUT)
            .await
            .map_err(|e| ProbeError::new(format!("cannot run {shown}: {e}")))?;
        let reply: Result<Reply, _> = serde_json::from_slice(&run.stdout);
        let stderr = first_line(&run.stderr).map(|l| format!(" ({l})")).unwrap_or_default();
        let reply = match reply {
            Ok(Reply { error: Some(message), .. }) => return Err(ProbeError::new(message)),
            Ok(_) if run.exit_code != 0 => {
                return Err(ProbeError::new(format!("{shown} exited with status {}{stderr}", run.exit_code)));
            }
            Ok(reply) => reply,
            Err(_) if run.exit_code != 0 => {
                return Err(ProbeError::new(format!("{shown} exited with status {}{stderr}", run.exit_code)));
            }
            Err(e) => {
                return Err(ProbeError::new(format!(
                    "{shown} did not print {{\"facts\": {{…}}}} or {{\"error\": \"…\"}} as JSON: {e}"
                )));
            }
        };
        let Some(returned) = reply.facts else {
            return Err(ProbeError::new(format!("{shown} printed neither \"facts\" nor \"error\"")));
        };
        let mut facts = Facts::default();
        for (name, json) in &returned {
            let Some(declared) = described.spec.fact(name) else {
                return Err(ProbeError::new(format!(
                    "{shown} returned fact `{name}`, which its --describe does not declare"
                )));
            };
            match convert(declared.ty, json) {
                Ok(Some(value)) => facts.set(name.clone(), value),
                Ok(None) => {}
                Err(why) => return Err(ProbeError::new(format!("{shown}: fact `{name}`: {why}"))),
            }
        }
        Ok(facts)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_checked() {
        let d = parse_description(
            "p",
            br#"{"summary": "s", "params": [{"name": "dir", "type": "string", "required": true}],
                "facts": [{"name": "free", "type": "bytes"}, {"name": "labels.<name>", "type": "string"}]}"#,
        )
        .unwrap();
        assert_eq!(d.params[0].ty, PluginParamType::String);
        assert_eq!(d.spec.fact("labels.team").map(|f| f.ty), Some(FactType::String));
        assert!(d.spec.fact("nope").is_none());
        let e = parse_description("p", br#"{"facts": [{"name": "x", "type": "int"}]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown type \"int\""), "{e}");
        let e = parse_description("p", br#"{"facts": [], "fcts": []}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `fcts`"), "{e}");
    }

    #[test]
    fn returned_values_take_the_declared_type() {
        let j = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        assert_eq!(
            convert(FactType::Duration, &j("1500")).unwrap(),
            Some(Value::Duration(Duration::from_millis(1500)))
        );
        assert_eq!(convert(FactType::Duration, &j("\"2s\"")).unwrap(), Some(Value::Duration(Duration::from_secs(2))));
        assert_eq!(convert(FactType::Bytes, &j("\"1KiB\"")).unwrap(), Some(Value::Bytes(1024)));
        assert_eq!(convert(FactType::StringList, &j("[\"a\", 1]")).unwrap(), Some(Value::string_list(["a", "1"])));
        assert_eq!(convert(FactType::Integer, &j("null")).unwrap(), None);
        assert!(convert(FactType::Integer, &j("\"7\"")).unwrap_err().to_string().contains("expected integer"));
    }
}
