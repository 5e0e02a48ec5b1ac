//! Stage 6, params: turn an item's probe parameters into values of their declared types
//! (`ParamType` → `Value`), fill in declared defaults, report unknown and missing ones, and
//! keep for every parameter the form reports show: `${env:…}` written as a reference, URL
//! passwords, secret headers and secret parameters masked (and given to the redactor).

use std::collections::BTreeMap;
use std::path::Path;

use std::sync::OnceLock;

use super::ctx::{Ctx, LoadMode};
use super::item::{Draft, ITEM_KEYS};
use super::keys::{duration, unknown_key, wrong_type};
use super::vars::Vars;
use crate::diag::{Code, Diagnostic, FileId};
use crate::lang::tree::{SKind, SValue};
use crate::probe::ports::parse_port_range;
use crate::probe::{self, ParamMap, ParamSpec, ParamType, ProbeSpec, process};
use crate::redact::{MASK, mask_url_password, url_password};
use crate::value::Value;

/// Headers whose values are secret even when not marked so.
const SECRET_HEADERS: &[&str] =
    &["authorization", "proxy-authorization", "cookie", "x-api-key", "api-key", "x-auth-token"];

/// Reads the draft's parameters against its probe's declaration.
pub fn read(cx: &mut Ctx, vars: &mut Vars, spec: &'static ProbeSpec, draft: &mut Draft<'_>) {
    let header = draft.item.loc.clone();
    let defaults = shared_defaults(spec);
    draft.item.params.values = ParamMap::with_defaults(defaults);
    draft.shown = ParamMap::with_defaults(defaults);
    let mut seen = Vec::new();
    for (key, value) in draft.params.iter().map(|e| (&e.0, &e.1)) {
        match spec.param(&key.name) {
            Some(param) => {
                seen.push(param.name);
                if let Some((mut real, mut shown)) = convert(cx, vars, param, value, &draft.what) {
                    if param.ty == ParamType::Path && !(spec.kind == "exec" && param.name == "program") {
                        relative_to_item_file(cx, header.file, &mut real, &mut shown);
                    }
                    draft.item.params.values.insert(param.name, real);
                    draft.shown.insert(param.name, shown);
                }
            }
            None => {
                let known: Vec<&str> = ITEM_KEYS.iter().copied().chain(spec.params.iter().map(|p| p.name)).collect();
                let mut d = unknown_key(value.file, key, &draft.what, &known);
                if d.hint.as_deref().is_some_and(|h| h.starts_with("known keys")) {
                    let params: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
                    d = d.hint(format!(
                        "probe `{}` takes: {}; every item takes: {}",
                        spec.kind,
                        if params.is_empty() { "no parameters".to_string() } else { params.join(", ") },
                        ITEM_KEYS.join(", ")
                    ));
                }
                cx.diags.push(d);
            }
        }
    }
    for param in spec.params {
        if seen.contains(&param.name) {
            continue;
        }
        if param.required {
            cx.diags.push(
                Diagnostic::error(
                    Code::MissingKey,
                    format!("{}: probe `{}` needs `{}`", draft.what, spec.kind, param.name),
                )
                .at(header.clone())
                .hint(format!("add {} = … ({}: {})", param.name, param.ty.describe(), param.doc)),
            );
        } else if let Some(default) = param.default {
            if defaults.iter().any(|(name, _)| *name == param.name) {
                continue;
            }
            let v = SValue { kind: default_kind(param.ty, default), span: header.span.clone(), file: header.file };
            if let Some((real, shown)) = convert(cx, vars, param, &v, &draft.what) {
                draft.item.params.values.insert(param.name, real);
                draft.shown.insert(param.name, shown);
            }
        }
    }
    // What the probe knows is wrong from the parameters alone (a writing HTTP method
    // without allow_write…): an error now, not only when the item runs.
    if let Some(check) = spec.check {
        for problem in check(&draft.item.params) {
            let at = draft
                .params
                .iter()
                .find(|(k, _)| k.name == problem.param)
                .map(|(_, v)| v.loc())
                .unwrap_or_else(|| header.clone());
            let mut d = Diagnostic::error(Code::InvalidValue, format!("{}: {}", draft.what, problem.message)).at(at);
            if let Some(hint) = problem.hint {
                d = d.hint(hint);
            }
            cx.diags.push(d);
        }
    }
}

/// A relative path parameter resolves against the directory of the checklist file in which
/// the item is written, as `include` does, not against the working directory: `ca_file =
/// "certs/ca.pem"` in `deploy/golive.toml` is `deploy/certs/ca.pem` wherever golive runs. An
/// item made from a catalogue check (`use`) is written in the file of that `[[item]]`, so a
/// check's paths name things beside the checklist that uses it, not beside the check. Items
/// of built-in checklists (`golive:NAME`) keep relative paths as written. An empty path (a
/// check var left at "") stays empty: the parameter is not set. (`exec`'s `program` is
/// resolved by the exec stage, where a bare name means PATH.)
fn relative_to_item_file(cx: &Ctx, item_file: FileId, real: &mut Value, shown: &mut Value) {
    let Value::Str(path) = &*real else { return };
    if path.is_empty() || Path::new(path).is_absolute() {
        return;
    }
    let file = cx.sources.path(item_file);
    if file.to_string_lossy().starts_with("golive:") {
        return;
    }
    let Some(dir) = file.parent() else { return };
    let resolved = dir.join(path).display().to_string();
    if *shown == *real {
        *shown = Value::Str(resolved.clone());
    }
    *real = Value::Str(resolved);
}

/// The declared defaults of a probe kind as values, converted once per process and shared
/// by every item of that kind (an item stores only what it sets). A default that would
/// be shown differently from its value (a secret) is left out: each item converts it.
fn shared_defaults(spec: &'static ProbeSpec) -> &'static [(&'static str, Value)] {
    static CACHE: OnceLock<Vec<&'static [(&'static str, Value)]>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        probe::registry()
            .iter()
            .map(|spec| {
                let mut cx = Ctx::new(LoadMode::Validate);
                let mut vars = Vars::new(BTreeMap::new(), Vec::new());
                let mut values: Vec<(&'static str, Value)> = Vec::new();
                for param in spec.params.iter().filter(|p| !p.secret) {
                    let Some(default) = param.default else { continue };
                    let v = SValue { kind: default_kind(param.ty, default), span: 0..0, file: 0 };
                    if let Some((real, shown)) = convert(&mut cx, &mut vars, param, &v, spec.kind)
                        && real == shown
                    {
                        values.push((param.name, real));
                    }
                }
                values.sort_by(|a, b| a.0.cmp(b.0));
                &*Box::leak(values.into_boxed_slice())
            })
            .collect()
    });
    // By address: a probe kind declared outside the registry (tests) has no shared table.
    probe::registry().iter().position(|s| std::ptr::eq(*s, spec)).map_or(&[], |i| all[i])
}

/// A declared default written as in a checklist, as a value to convert like user input.
fn default_kind(ty: ParamType, text: &str) -> SKind {
    match ty {
        ParamType::Bool => SKind::Bool(text == "true"),
        ParamType::Integer => SKind::Int(text.parse().expect("integer defaults are numbers")),
        ParamType::StringList | ParamType::EnvNames | ParamType::PortList => SKind::Array(Vec::new()),
        ParamType::IntegerList => SKind::Array(
            text.split([',', ' ', '[', ']'])
                .filter(|n| !n.is_empty())
                .map(|n| SValue {
                    kind: SKind::Int(n.parse().expect("integer list defaults are numbers")),
                    span: 0..0,
                    file: 0,
                })
                .collect(),
        ),
        ParamType::StringMap | ParamType::Headers | ParamType::Table => SKind::Table(Vec::new()),
        _ => SKind::Str(text.to_string()),
    }
}

/// Converts and checks one probe parameter: (real value, value shown in reports).
pub fn convert(cx: &mut Ctx, vars: &mut Vars, spec: &ParamSpec, v: &SValue, what: &str) -> Option<(Value, Value)> {
    let key = spec.name;
    match spec.ty {
        ParamType::String | ParamType::Path | ParamType::Url | ParamType::Choice(_) | ParamType::ConnectTo => {
            let Some(template) = v.as_str() else {
                cx.diags.push(wrong_type(v, key, "a string"));
                return None;
            };
            let i = vars.interpolate(cx, v, template)?;
            let mut shown = i.shown;
            let mut value = i.value;
            if let ParamType::Choice(words) = spec.ty {
                match words.iter().find(|w| w.eq_ignore_ascii_case(&value)) {
                    Some(w) => {
                        value = w.to_string();
                        shown = value.clone();
                    }
                    None if !i.incomplete => {
                        cx.diags.push(
                            Diagnostic::error(
                                Code::InvalidValue,
                                format!("{what}: `{key}` must be one of {}, found {value:?}", words.join(", ")),
                            )
                            .at(v.loc()),
                        );
                        return None;
                    }
                    None => {}
                }
            }
            if spec.ty == ParamType::ConnectTo
                && !i.incomplete
                && let Err(e) = crate::probe::connect_to::parse(&value)
            {
                cx.diags.push(
                    Diagnostic::error(Code::InvalidValue, format!("{what}: `{key}`: {e}"))
                        .at(v.loc())
                        .hint("an empty value connects where DNS says; several entries are separated by commas"),
                );
                return None;
            }
            if spec.ty == ParamType::Url {
                if let Some(password) = url_password(&value) {
                    cx.redactor.add(&password);
                }
                shown = mask_url_password(&shown);
                // An optional URL left empty (a shipped check's var default) is not set.
                if !i.incomplete
                    && (!value.is_empty() || spec.required)
                    && let Err(e) = reqwest::Url::parse(&value)
                {
                    cx.diags.push(
                        Diagnostic::error(Code::InvalidValue, format!("{what}: `{key}` is not a valid URL ({e})"))
                            .at(v.loc())
                            .hint("write a full URL such as \"https://api.example.com/health\""),
                    );
                    return None;
                }
            }
            if spec.secret {
                cx.redactor.add(&value);
                shown = MASK.to_string();
            }
            Some((Value::Str(value), Value::Str(shown)))
        }
        ParamType::Integer => match &v.kind {
            SKind::Int(i) => Some((Value::Int(*i), Value::Int(*i))),
            // A var gives a number as text: `requests = "${burst}"`.
            SKind::Str(t) if t.contains("${") => {
                from_var(cx, vars, v, key, t, "a whole number", |s| s.parse::<i64>().ok().map(Value::Int))
            }
            _ => {
                cx.diags.push(wrong_type(v, key, "a whole number"));
                None
            }
        },
        ParamType::Bool => match &v.kind {
            SKind::Bool(b) => Some((Value::Bool(*b), Value::Bool(*b))),
            SKind::Str(t) if t.contains("${") => from_var(cx, vars, v, key, t, "true or false", |s| match s {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            }),
            _ => {
                cx.diags.push(wrong_type(v, key, "true or false"));
                None
            }
        },
        ParamType::Duration => duration(&mut cx.diags, v, key).map(|d| (Value::Duration(d), Value::Duration(d))),
        ParamType::StringList => {
            let SKind::Array(items) = &v.kind else {
                cx.diags.push(wrong_type(v, key, "a list of strings"));
                return None;
            };
            let (mut real, mut shown) = (Vec::new(), Vec::new());
            for entry in items {
                let Some(t) = entry.as_str() else {
                    cx.diags.push(wrong_type(entry, key, "a list of strings"));
                    return None;
                };
                let i = vars.interpolate(cx, entry, t)?;
                real.push(Value::Str(i.value));
                shown.push(Value::Str(i.shown));
            }
            Some((Value::List(real), Value::List(shown)))
        }
        ParamType::EnvNames => env_names(cx, vars, v, key),
        ParamType::PortList => port_list(cx, vars, v, key),
        ParamType::IntegerList => integer_list(cx, vars, v, key),
        ParamType::Table => {
            if v.as_table().is_none() {
                cx.diags.push(wrong_type(v, key, "a table"));
                return None;
            }
            any_value(cx, vars, v)
        }
        ParamType::StringMap | ParamType::Headers => string_map(cx, vars, spec, v),
    }
}

/// A number or boolean parameter written as a var reference: the text it resolves to, read
/// by `parse`. While validating, a value that uses an unset `${env:…}` cannot be read yet:
/// the parameter is left at its default (the run reads it).
fn from_var(
    cx: &mut Ctx,
    vars: &mut Vars,
    v: &SValue,
    key: &str,
    template: &str,
    expected: &str,
    parse: impl Fn(&str) -> Option<Value>,
) -> Option<(Value, Value)> {
    let i = vars.interpolate(cx, v, template)?;
    if i.incomplete {
        return None;
    }
    // A secret would be masked wherever its text turns up ("true", "100"): refused.
    if !i.secrets.is_empty() {
        cx.diags.push(
            Diagnostic::error(
                Code::InvalidValue,
                format!("`{key}` must be {expected} given plainly: {template} comes from a secret"),
            )
            .at(v.loc())
            .hint("give it as a plain var or --var; ${env:…}, ${file:…} and command vars are secrets"),
        );
        return None;
    }
    match parse(i.value.trim()) {
        Some(value) => Some((value.clone(), value)),
        None => {
            cx.diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("`{key}` must be {expected}: {template} gives {:?}", i.shown),
                )
                .at(v.loc())
                .hint(format!("set the var to {expected}")),
            );
            None
        }
    }
}

/// Names of golive's environment variables a program gets (`pass_env`): each entry one or
/// more names or `PREFIX*` patterns. Their values are secrets, as `${env:NAME}` values are:
/// the program may print them.
fn env_names(cx: &mut Ctx, vars: &mut Vars, v: &SValue, key: &str) -> Option<(Value, Value)> {
    let SKind::Array(items) = &v.kind else {
        cx.diags.push(wrong_type(v, key, "a list of environment variable names"));
        return None;
    };
    let mut names = Vec::new();
    for entry in items {
        let Some(t) = entry.as_str() else {
            cx.diags.push(wrong_type(entry, key, "a list of environment variable names"));
            return None;
        };
        let i = vars.interpolate(cx, entry, t)?;
        if i.incomplete {
            // A var without a value while validating: nothing to check yet.
            continue;
        }
        match process::env_names(&i.value) {
            Ok(found) => names.extend(found.into_iter().map(str::to_string)),
            Err(e) => {
                cx.diags.push(Diagnostic::error(Code::InvalidValue, format!("`{key}`: {e}")).at(entry.loc()).hint(
                    "write names such as \"AWS_PROFILE\", or \"RESTIC_*\" for every variable starting with RESTIC_",
                ));
                return None;
            }
        }
    }
    for (name, value) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))) {
        if !process::is_base_env(&name) && names.iter().any(|p| process::env_name_matches(p, &name)) {
            cx.redactor.add(&value);
        }
    }
    let list = Value::List(names.into_iter().map(Value::Str).collect());
    Some((list.clone(), list))
}

/// A table of strings; for headers, a value may be `{ value = "…", secret = true }` and
/// well-known credential headers are secret anyway.
fn string_map(cx: &mut Ctx, vars: &mut Vars, spec: &ParamSpec, v: &SValue) -> Option<(Value, Value)> {
    let Some(entries) = v.as_table() else {
        cx.diags.push(wrong_type(v, spec.name, "a table"));
        return None;
    };
    let (mut real, mut shown) = (BTreeMap::new(), BTreeMap::new());
    for (k, entry) in entries {
        let (template, mut secret) = match (&entry.kind, spec.ty) {
            (SKind::Str(s), _) => (s.as_str(), false),
            (SKind::Table(fields), ParamType::Headers) => {
                for (field, _) in fields {
                    if field.name != "value" && field.name != "secret" {
                        cx.diags.push(unknown_key(
                            entry.file,
                            field,
                            &format!("header `{}`", k.name),
                            &["value", "secret"],
                        ));
                    }
                }
                let secret = entry.get("secret").is_some_and(|x| matches!(x.kind, SKind::Bool(true)));
                match entry.get("value").and_then(|x| x.as_str()) {
                    Some(s) => (s, secret),
                    None => {
                        cx.diags.push(wrong_type(entry, &k.name, "a string or { value = \"…\", secret = true }"));
                        continue;
                    }
                }
            }
            _ => {
                cx.diags.push(wrong_type(entry, &k.name, "a string"));
                continue;
            }
        };
        if spec.ty == ParamType::Headers && SECRET_HEADERS.contains(&k.name.to_ascii_lowercase().as_str()) {
            secret = true;
        }
        // An http item's query parameter named like a credential (`api_key`, `token`).
        if spec.name == "query" && crate::redact::is_secret_name(&k.name) {
            secret = true;
        }
        let Some(i) = vars.interpolate(cx, entry, template) else {
            continue;
        };
        if secret {
            cx.redactor.add(&i.value);
        }
        shown.insert(k.name.clone(), Value::Str(if secret { MASK.to_string() } else { i.shown }));
        real.insert(k.name.clone(), Value::Str(i.value));
    }
    Some((Value::Map(real), Value::Map(shown)))
}

/// `[22, 443, "8000-8100"]`: ports as integers, ranges as "low-high" strings. A string may
/// use vars and list several ports: `"${allowed_ports}"` = `"22, 80, 443"`.
/// Whole numbers, each an integer or a string of them separated by commas or spaces (a var).
fn integer_list(cx: &mut Ctx, vars: &mut Vars, v: &SValue, key: &str) -> Option<(Value, Value)> {
    const EXPECTED: &str = "a list of whole numbers, e.g. [3, 126, 127]";
    let SKind::Array(entries) = &v.kind else {
        cx.diags.push(wrong_type(v, key, EXPECTED));
        return None;
    };
    let mut out = Vec::new();
    for entry in entries {
        match &entry.kind {
            SKind::Int(n) => out.push(Value::Int(*n)),
            SKind::Str(text) => {
                let i = vars.interpolate(cx, entry, text)?;
                if i.incomplete {
                    // A var without a value while validating: nothing to check yet.
                    continue;
                }
                for piece in i.value.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
                    match piece.trim().parse::<i64>() {
                        Ok(n) => out.push(Value::Int(n)),
                        Err(_) => {
                            cx.diags.push(
                                Diagnostic::error(
                                    Code::InvalidValue,
                                    format!("`{key}`: {piece:?} is not a whole number"),
                                )
                                .at(entry.loc()),
                            );
                            return None;
                        }
                    }
                }
            }
            _ => {
                cx.diags.push(wrong_type(entry, key, EXPECTED));
                return None;
            }
        }
    }
    Some((Value::List(out.clone()), Value::List(out)))
}

fn port_list(cx: &mut Ctx, vars: &mut Vars, v: &SValue, key: &str) -> Option<(Value, Value)> {
    let SKind::Array(entries) = &v.kind else {
        cx.diags.push(wrong_type(v, key, "a list of ports and ranges, e.g. [22, 443, \"8000-8100\"]"));
        return None;
    };
    let mut out = Vec::new();
    let as_value = |(low, high): (u16, u16)| {
        if low == high { Value::Int(low.into()) } else { Value::Str(format!("{low}-{high}")) }
    };
    for entry in entries {
        let parsed = match &entry.kind {
            SKind::Int(port) => u16::try_from(*port).ok().filter(|p| *p > 0).map(|p| vec![Value::Int(p.into())]),
            SKind::Str(text) => {
                let i = vars.interpolate(cx, entry, text)?;
                if i.incomplete {
                    // A var without a value while validating: nothing to check yet.
                    continue;
                }
                let pieces: Vec<&str> = i.value.split([',', ' ']).filter(|p| !p.trim().is_empty()).collect();
                let ranges: Option<Vec<Value>> = pieces.iter().map(|p| parse_port_range(p).map(as_value)).collect();
                ranges.filter(|r| !r.is_empty())
            }
            _ => None,
        };
        match parsed {
            Some(values) => out.extend(values),
            None => {
                cx.diags.push(
                    Diagnostic::error(
                        Code::InvalidValue,
                        format!("`{key}`: {} is not a port (1-65535) or a range \"low-high\"", entry.describe()),
                    )
                    .at(entry.loc()),
                );
                return None;
            }
        }
    }
    Some((Value::List(out.clone()), Value::List(out)))
}

/// Any TOML value, strings interpolated: (real value, value shown in reports).
pub fn any_value(cx: &mut Ctx, vars: &mut Vars, v: &SValue) -> Option<(Value, Value)> {
    Some(match &v.kind {
        SKind::Str(template) => {
            let i = vars.interpolate(cx, v, template)?;
            (Value::Str(i.value), Value::Str(i.shown))
        }
        SKind::Int(i) => (Value::Int(*i), Value::Int(*i)),
        SKind::Float(f) => (Value::Float(*f), Value::Float(*f)),
        SKind::Bool(b) => (Value::Bool(*b), Value::Bool(*b)),
        SKind::Datetime(d) => (Value::Str(d.clone()), Value::Str(d.clone())),
        SKind::Array(items) => {
            let (mut real, mut shown) = (Vec::new(), Vec::new());
            for entry in items {
                let (r, s) = any_value(cx, vars, entry)?;
                real.push(r);
                shown.push(s);
            }
            (Value::List(real), Value::List(shown))
        }
        SKind::Table(entries) => {
            let (mut real, mut shown) = (BTreeMap::new(), BTreeMap::new());
            for (k, entry) in entries {
                let (r, s) = any_value(cx, vars, entry)?;
                real.insert(k.name.clone(), r);
                shown.insert(k.name.clone(), s);
            }
            (Value::Map(real), Value::Map(shown))
        }
    })
}
