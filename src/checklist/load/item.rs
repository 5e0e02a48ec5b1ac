//! Stage 5, item: the keys every item takes (id, probe, title, section, severity, tags,
//! depends_on, timeout, retries, retry_delay, description/rationale, references, owner),
//! over the file's defaults. What is left (the probe's parameters and `expect`) is handed
//! on in a `Draft` for the params, exec and expect stages.

use super::ctx::Ctx;
use super::defaults::{DEFAULT_RETRY_DELAY, DEFAULT_SECTION, DEFAULT_SEVERITY, DEFAULT_TIMEOUT, Defaults};
use super::keys::{count, duration, header_loc, severity, strings, text, wrong_type};
use super::vars::Vars;
use crate::checklist::model::{Condition, Item, Subject};
use crate::diag::{Code, Diagnostic, Loc, did_you_mean};
use crate::lang::matcher;
use crate::lang::tree::{SKey, SKind, SValue};
use crate::probe::{self, ParamMap, Params, ProbeSpec};
use crate::value::{FactType, Value};

/// The keys every item takes, whatever its probe.
pub const ITEM_KEYS: &[&str] = &[
    "id",
    "title",
    "section",
    "severity",
    "tags",
    "depends_on",
    "timeout",
    "retries",
    "retry_delay",
    "description",
    "rationale",
    "references",
    "owner",
    "probe",
    "expect",
    "when",
    "targets",
    "drop_expect",
];

/// An item with its common keys read, and what the later stages still have to read.
pub struct Draft<'t> {
    pub item: Item,
    /// `None` when `probe` is missing or unknown (reported): nothing more can be checked.
    pub probe: Option<&'static ProbeSpec>,
    /// Keys that are not common item keys: the probe's parameters, or unknown keys.
    pub params: Vec<&'t (SKey, SValue)>,
    pub expect: Option<&'t SValue>,
    /// The parameters as reports show them (`Item::params_shown` once the item is done).
    pub shown: ParamMap,
    /// `item `ID``, for messages.
    pub what: String,
}

/// What the item stage found in one `[[item]]` table.
pub struct ItemKeys<'t> {
    /// The id and where it is written, whenever the id is valid (even when the rest of the
    /// item is not), so duplicate ids are found among every item.
    pub id: Option<(String, Loc)>,
    pub draft: Option<Draft<'t>>,
}

pub fn read<'t>(cx: &mut Ctx, vars: &mut Vars, table: &'t SValue, defaults: &Defaults) -> ItemKeys<'t> {
    let header = header_loc(table);
    let id = match table.get("id") {
        Some(v) => match v.as_str() {
            Some(s) if valid_id(s) => s.to_string(),
            Some(s) => {
                cx.diags.push(
                    Diagnostic::error(Code::InvalidValue, format!("item id {s:?} is not valid"))
                        .at(v.loc())
                        .hint("ids use letters, digits, `.`, `-` and `_`, e.g. \"infra.health\""),
                );
                return ItemKeys { id: None, draft: None };
            }
            None => {
                cx.diags.push(wrong_type(v, "id", "a string"));
                return ItemKeys { id: None, draft: None };
            }
        },
        None => {
            cx.diags.push(
                Diagnostic::error(Code::MissingKey, "item has no `id`")
                    .at(header)
                    .hint("give every item a unique, stable id, e.g. id = \"infra.health\""),
            );
            return ItemKeys { id: None, draft: None };
        }
    };
    let what = format!("item `{id}`");
    let probe = probe_kind(cx, table, &what, &header);
    let mut item = Item {
        id: id.clone(),
        title: id.clone(),
        section: defaults.section.clone().unwrap_or_else(|| DEFAULT_SECTION.into()),
        severity: defaults.severity.unwrap_or(DEFAULT_SEVERITY),
        tags: Vec::new(),
        depends_on: Vec::new(),
        depends_on_loc: None,
        timeout: defaults.timeout.unwrap_or(DEFAULT_TIMEOUT),
        retries: defaults.retries.unwrap_or(0),
        retry_delay: defaults.retry_delay.unwrap_or(DEFAULT_RETRY_DELAY),
        description: None,
        references: Vec::new(),
        owner: None,
        probe: probe.unwrap_or(&probe::manual::SPEC),
        params: Params::default(),
        params_shown: None,
        expect: Vec::new(),
        when: Vec::new(),
        source: cx.sources.position(&header),
        loc: header.clone(),
        targets: Vec::new(),
        targets_loc: None,
        target: None,
    };
    let mut params = Vec::new();
    let mut expect = None;
    let entries = table.as_table().unwrap_or_default();
    for entry in entries {
        let (key, value) = entry;
        let d = &mut cx.diags;
        match key.name.as_str() {
            "id" | "probe" => {}
            "title" => {
                if let Some(t) = text(d, value, "title") {
                    item.title = vars.interpolate(cx, value, &t).map(|i| i.shown).unwrap_or(t);
                }
            }
            "section" => item.section = text(d, value, "section").unwrap_or(item.section),
            "severity" => item.severity = severity(d, value).unwrap_or(item.severity),
            "tags" => item.tags = strings(d, value, "tags"),
            "depends_on" => {
                item.depends_on = strings(d, value, "depends_on");
                item.depends_on_loc = Some(value.loc());
            }
            "references" => item.references = strings(d, value, "references"),
            "targets" => {
                item.targets = strings(d, value, "targets");
                item.targets_loc = Some(value.loc());
            }
            "timeout" => item.timeout = duration(d, value, "timeout").unwrap_or(item.timeout),
            "retry_delay" => item.retry_delay = duration(d, value, "retry_delay").unwrap_or(item.retry_delay),
            "retries" => item.retries = count(d, value, "retries").unwrap_or(item.retries),
            "description" | "rationale" => {
                if let Some(t) = text(d, value, &key.name) {
                    item.description = Some(match item.description.take() {
                        Some(existing) => format!("{existing}\n{t}"),
                        None => t,
                    });
                }
            }
            "owner" => item.owner = text(d, value, "owner"),
            "expect" => expect = Some(value),
            "when" => item.when = conditions(cx, vars, value, &what),
            "drop_expect" => cx.diags.push(
                Diagnostic::error(Code::UnknownKey, format!("{what}: `drop_expect` applies to an item that uses a check"))
                    .at(value.loc())
                    .hint("with use = \"AREA.NAME\", drop_expect = [\"fact\"] removes the check's expectation; here, leave the fact out of expect"),
            ),
            _ => params.push(entry),
        }
    }
    ItemKeys {
        id: Some((id, header)),
        draft: Some(Draft { item, probe, params, expect, shown: ParamMap::default(), what }),
    }
}

fn probe_kind(cx: &mut Ctx, table: &SValue, what: &str, header: &Loc) -> Option<&'static ProbeSpec> {
    let kinds = || probe::registry().iter().map(|p| p.kind);
    let Some(v) = table.get("probe") else {
        cx.diags.push(
            Diagnostic::error(Code::MissingKey, format!("{what} has no `probe`"))
                .at(header.clone())
                .hint(format!("set probe = one of: {}", kinds().collect::<Vec<_>>().join(", "))),
        );
        return None;
    };
    let Some(kind) = v.as_str() else {
        cx.diags.push(wrong_type(v, "probe", "a string"));
        return None;
    };
    if let Some(p) = probe::find(kind) {
        return Some(p);
    }
    let d = Diagnostic::error(Code::UnknownProbe, format!("{what}: unknown probe `{kind}`")).at(v.loc());
    cx.diags.push(match did_you_mean(kind, kinds()) {
        Some(s) => d.hint(format!("did you mean `{s}`?")),
        None => d.hint(format!("probes are: {} (see `golive probes`)", kinds().collect::<Vec<_>>().join(", "))),
    });
    None
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `when`: one condition table or a list of them, each `{ var = "NAME", is = MATCHER }` or
/// `{ item = "ID", fact = "FACT", is = MATCHER }`. A var's value is read now; which items
/// and facts exist is checked by the graph stage, once every item is known. `is` is read as
/// for a fact of type any (numbers, durations, versions by their text).
fn conditions(cx: &mut Ctx, vars: &mut Vars, value: &SValue, what: &str) -> Vec<Condition> {
    let tables: Vec<&SValue> = match &value.kind {
        SKind::Table(_) => vec![value],
        SKind::Array(items) => items.iter().collect(),
        _ => {
            cx.diags.push(wrong_type(value, "when", "a condition table or a list of them").hint(WHEN_HINT));
            return Vec::new();
        }
    };
    let mut out = Vec::with_capacity(tables.len());
    for t in tables {
        if let Some(c) = condition(cx, vars, t, what) {
            out.push(c);
        }
    }
    out
}

const WHEN_HINT: &str = "write when = { var = \"stack\", is = \"phoenix\" } or when = { item = \"db.primary\", fact = \"version\", is = \">= 15\" }";

fn condition(cx: &mut Ctx, vars: &mut Vars, t: &SValue, what: &str) -> Option<Condition> {
    let Some(entries) = t.as_table() else {
        cx.diags.push(wrong_type(t, "when", "a condition table").hint(WHEN_HINT));
        return None;
    };
    let (mut var, mut item, mut fact, mut is) = (None, None, None, None);
    for (k, v) in entries {
        let slot = match k.name.as_str() {
            "var" => &mut var,
            "item" => &mut item,
            "fact" => &mut fact,
            "is" => {
                is = Some(v);
                continue;
            }
            _ => {
                cx.diags.push(super::keys::unknown_key(
                    t.file,
                    k,
                    "a `when` condition",
                    &["var", "item", "fact", "is"],
                ));
                continue;
            }
        };
        match v.as_str() {
            Some(s) if !s.trim().is_empty() => *slot = Some((s.trim().to_string(), v)),
            _ => cx.diags.push(wrong_type(v, &k.name, "a non-empty string")),
        }
    }
    let missing = |cx: &mut Ctx, message: String| {
        cx.diags.push(Diagnostic::error(Code::MissingKey, message).at(t.loc()).hint(WHEN_HINT));
        None
    };
    let Some(is) = is else {
        return missing(cx, format!("{what}: a `when` condition needs `is`, the matcher that must hold"));
    };
    let subject = match (var, item, fact) {
        (Some((name, v)), None, None) => {
            let resolved = vars.interpolate(cx, v, &format!("${{{name}}}"))?;
            if !resolved.secrets.is_empty() {
                // A reason quotes what a condition observed: never a secret.
                cx.diags.push(
                    Diagnostic::error(Code::InvalidValue, format!("{what}: `when` reads var `{name}`, whose value is a secret"))
                        .at(v.loc())
                        .hint("a condition's reason shows the value it read; decide applicability on a var that is not a secret"),
                );
                return None;
            }
            let value = (!resolved.incomplete).then(|| typed(&resolved.value));
            Subject::Var { name, value }
        }
        (None, Some((item, _)), Some((fact, _))) => Subject::Fact { item, fact },
        (None, Some(_), None) => {
            return missing(cx, format!("{what}: a `when` on an item needs `fact`, the fact to read"));
        }
        (None, None, Some(_)) => {
            return missing(cx, format!("{what}: a `when` on a fact needs `item`, whose fact it is"));
        }
        (None, None, None) => {
            return missing(cx, format!("{what}: a `when` condition needs `var`, or `item` and `fact`"));
        }
        (Some(_), _, _) => {
            cx.diags.push(
                Diagnostic::error(
                    Code::InvalidValue,
                    format!("{what}: a `when` condition reads a var or a fact, not both"),
                )
                .at(t.loc())
                .hint("write two conditions: when = [{ var = … }, { item = …, fact = … }]"),
            );
            return None;
        }
    };
    match matcher::parse(is, FactType::Any) {
        Ok(matcher) => {
            // A var's text is typed (`"2"` is 2), so its literals are typed the same way:
            // `is = "2"` and `one_of = "1, 2"` match it.
            let matcher = match subject {
                Subject::Var { .. } => retype(matcher),
                Subject::Fact { .. } => matcher,
            };
            Some(Condition { subject, matcher, loc: t.loc() })
        }
        Err(d) => {
            cx.diags.push(d);
            None
        }
    }
}

/// The literals of a matcher on a var, typed as the var's value is ([`typed`]).
fn retype(m: matcher::Matcher) -> matcher::Matcher {
    use matcher::Matcher as M;
    let value = |v: Value| match v {
        Value::Str(text) => typed(&text),
        other => other,
    };
    match m {
        M::Equals(v) => M::Equals(value(v)),
        M::OneOf(vs) => M::OneOf(vs.into_iter().map(value).collect()),
        M::Not(inner) => M::Not(Box::new(retype(*inner))),
        M::AllOf(ms) => M::AllOf(ms.into_iter().map(retype).collect()),
        M::AnyOf(ms) => M::AnyOf(ms.into_iter().map(retype).collect()),
        other => other,
    }
}

/// A var's text as the value a condition compares: an integer, number or boolean when it
/// reads as one, else the text.
fn typed(text: &str) -> Value {
    let t = text.trim();
    // Only numbers written plainly (as they print back): "0600" (a file mode), "1e3" and
    // "2.50" stay text.
    if let Ok(i) = t.parse::<i64>()
        && i.to_string() == t
    {
        Value::Int(i)
    } else if let Ok(f) = t.parse::<f64>()
        && f.is_finite()
        && f.to_string() == t
    {
        Value::Float(f)
    } else if let Ok(b) = t.parse::<bool>() {
        Value::Bool(b)
    } else {
        Value::Str(text.to_string())
    }
}
