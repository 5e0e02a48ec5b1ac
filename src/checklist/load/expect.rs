//! Stage 8, expect: an item's `expect` table, fact by fact, parsed into matchers typed by
//! the fact's declared type (`lang::matcher`), with `${…}` expanded in every string and in
//! fact names (`"config.${setting}"`; never to a secret). A
//! table under a fact family (`headers = { server = … }`) names facts below it. Without
//! `expect`, the probe's declared default expectations apply.

use std::sync::OnceLock;

use super::ctx::Ctx;
use super::keys::wrong_type;
use super::sink::Diags;
use super::vars::Vars;
use crate::checklist::model::Expectation;
use crate::diag::{Code, Diagnostic, Level, Loc, did_you_mean};
use crate::lang::matcher;
use crate::lang::tree::{SKey, SKind, SValue, parse_document};
use crate::probe::{ProbeSpec, registry};

pub fn read(
    cx: &mut Ctx,
    vars: &mut Vars,
    spec: &'static ProbeSpec,
    expect: Option<&SValue>,
    what: &str,
    header: &Loc,
) -> Vec<Expectation> {
    let mut out = Vec::with_capacity(expect.and_then(|e| e.as_table()).map_or(spec.default_expect.len(), <[_]>::len));
    match expect {
        None => match shared_defaults(spec) {
            Some(defaults) => out.extend(defaults.iter().cloned()),
            None => out.extend(default_expectations(&mut cx.diags, spec, header)),
        },
        Some(v) if spec.observe.is_none() => cx.diags.push(
            Diagnostic::error(Code::UnknownKey, format!("{what}: a manual item has no `expect`"))
                .at(v.loc())
                .hint("a person attests a manual item; use an automated probe to check facts"),
        ),
        Some(v) => match v.as_table() {
            Some(entries) => {
                for (key, value) in entries {
                    let Some(fact) = fact_name(cx, vars, key, value) else { continue };
                    expectation(cx, vars, spec, &fact, key, value, what, &mut out);
                }
            }
            None => cx.diags.push(wrong_type(v, "expect", "a table of fact = matcher")),
        },
    }
    out
}

/// The declared default expectations of a probe, parsed as if written in the item at
/// `header`.
fn default_expectations(diags: &mut Diags, spec: &ProbeSpec, header: &Loc) -> Vec<Expectation> {
    let mut out = Vec::new();
    for (fact, text) in spec.default_expect {
        let fact_spec = spec.fact(fact).expect("default expectations name declared facts");
        let doc = parse_document(header.file, &format!("x = {text}")).expect("default expectations are valid TOML");
        let mut v = doc.get("x").cloned().expect("parsed");
        v.span = header.span.clone();
        match matcher::parse(&v, fact_spec.ty) {
            Ok(matcher) => out.push(Expectation { fact: fact.to_string(), matcher }),
            Err(d) => diags.push(d),
        }
    }
    out
}

/// The default expectations of a registered probe kind, parsed once per process (they
/// were parsed again, as TOML, for every item without `expect`). `None` for a kind outside
/// the registry.
fn shared_defaults(spec: &'static ProbeSpec) -> Option<&'static [Expectation]> {
    static CACHE: OnceLock<Vec<Vec<Expectation>>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        let mut diags = Diags::default();
        let nowhere = Loc { file: 0, span: 0..0 };
        let all = registry().iter().map(|spec| default_expectations(&mut diags, spec, &nowhere)).collect();
        debug_assert!(diags.finish().is_empty(), "built-in default expectations parse");
        all
    });
    let index = registry().iter().position(|s| std::ptr::eq(*s, spec))?;
    Some(&all[index])
}

/// A fact name as written, with `${…}` expanded (`"config.${setting}"` in a catalogue
/// check). `None` when it could not be expanded (reported), is not known until run time
/// (validate), or would hold a secret: fact names are shown in every output.
fn fact_name(cx: &mut Ctx, vars: &mut Vars, key: &SKey, value: &SValue) -> Option<String> {
    if !key.name.contains('$') {
        return Some(key.name.clone());
    }
    let at = SValue { kind: SKind::Str(key.name.clone()), span: key.span.clone(), file: value.file };
    let name = vars.interpolate(cx, &at, &key.name)?;
    if !name.secrets.is_empty() {
        cx.diags.push(
            Diagnostic::error(Code::InvalidValue, format!("the fact name `{}` uses a secret", key.name))
                .at(at.loc())
                .hint("fact names are shown in every output: name the fact with a var, not an environment value"),
        );
        return None;
    }
    (!name.incomplete).then_some(name.value)
}

#[allow(clippy::too_many_arguments)]
fn expectation(
    cx: &mut Ctx,
    vars: &mut Vars,
    spec: &'static ProbeSpec,
    fact: &str,
    key: &SKey,
    value: &SValue,
    what: &str,
    out: &mut Vec<Expectation>,
) {
    if let Some(f) = spec.fact(fact) {
        // A value that could not be expanded was reported (or, while validating, warned
        // about as not known yet): there is no matcher to check.
        let Some(value) = interpolate_tree(cx, vars, value) else { return };
        match matcher::parse(&value, f.ty) {
            Ok(m) => out.push(Expectation { fact: fact.to_string(), matcher: m }),
            Err(d) => {
                let d = Diagnostic { message: format!("{what}: `{fact}` ({}): {}", f.ty.name(), d.message), ..d };
                cx.diags.push(d);
            }
        }
        return;
    }
    // A table that is not a matcher names facts below this one: `headers = { server = … }`.
    let family = spec.facts.iter().any(|f| f.dynamic_prefix().is_some_and(|p| p.starts_with(&format!("{fact}."))));
    if let (Some(entries), true) = (value.as_table(), family)
        && !matcher::is_operator_table(entries)
    {
        for (k, v) in entries {
            expectation(cx, vars, spec, &format!("{fact}.{}", k.name), k, v, what, out);
        }
        return;
    }
    if cx.diags.full(Code::UnknownFact, Level::Error) {
        cx.diags.count_only(Code::UnknownFact, Level::Error);
        return;
    }
    let names: Vec<&str> = spec.facts.iter().map(|f| f.name).collect();
    let mut d = Diagnostic::error(Code::UnknownFact, format!("{what}: probe `{}` has no fact `{fact}`", spec.kind))
        .at(Loc { file: value.file, span: key.span.clone() });
    d = match did_you_mean(fact, names.iter().copied()) {
        Some(s) => d.hint(format!("did you mean `{s}`? its facts are: {}", names.join(", "))),
        None => d.hint(format!("its facts are: {}", names.join(", "))),
    };
    cx.diags.push(d);
}

/// A copy of a value with `${…}` expanded in every string; `None` when a string could not
/// be expanded (reported) or holds a value not known until run time (validate).
fn interpolate_tree(cx: &mut Ctx, vars: &mut Vars, v: &SValue) -> Option<SValue> {
    let kind = match &v.kind {
        SKind::Str(s) => {
            let i = vars.interpolate(cx, v, s)?;
            if i.incomplete {
                return None;
            }
            SKind::Str(i.value)
        }
        // Every entry is expanded (each problem reported) before any is given up on.
        SKind::Array(items) => {
            let all: Vec<Option<SValue>> = items.iter().map(|i| interpolate_tree(cx, vars, i)).collect();
            SKind::Array(all.into_iter().collect::<Option<_>>()?)
        }
        SKind::Table(entries) => {
            let all: Vec<Option<(SKey, SValue)>> =
                entries.iter().map(|(k, x)| Some((k.clone(), interpolate_tree(cx, vars, x)?))).collect();
            SKind::Table(all.into_iter().collect::<Option<_>>()?)
        }
        other => other.clone(),
    };
    Some(SValue { kind, span: v.span.clone(), file: v.file })
}
