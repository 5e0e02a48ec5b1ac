//! Stage 5, item: the keys every item takes (id, probe, title, section, severity, tags,
//! depends_on, timeout, retries, retry_delay, description/rationale, references, owner),
//! over the file's defaults. What is left (the probe's parameters and `expect`) is handed
//! on in a `Draft` for the params, exec and expect stages.

use super::ctx::Ctx;
use super::defaults::{DEFAULT_RETRY_DELAY, DEFAULT_SECTION, DEFAULT_SEVERITY, DEFAULT_TIMEOUT, Defaults};
use super::keys::{count, duration, header_loc, severity, strings, text, wrong_type};
use super::vars::Vars;
use crate::checklist::model::Item;
use crate::diag::{Code, Diagnostic, Loc, did_you_mean};
use crate::lang::tree::{SKey, SValue};
use crate::probe::{self, ParamMap, Params, ProbeSpec};

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
        source: cx.sources.position(&header),
        loc: header.clone(),
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
