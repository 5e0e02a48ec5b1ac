//! Stage 7, exec: the one stage that starts a program. An `exec` item's program (relative
//! to the file where `program` is written, as includes are) is run once per load with
//! `--describe` (`probe::exec::describe`, which ends the program's process group and
//! bounds its time and output); its item's `params` are checked against the parameters it
//! declares, their defaults filled in, and its declared facts are what `expect` is checked
//! against.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ctx::Ctx;
use super::item::Draft;
use super::keys::{loc_of_key, wrong_type};
use super::vars::Vars;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::lang::tree::SValue;
use crate::probe::{self, ProbeSpec};
use crate::redact::MASK;
use crate::value::Value;

/// The declaration an exec item's expectations are checked against: the program's own, or
/// `None` when the program could not describe itself (reported: its facts are unknown).
pub fn describe(cx: &mut Ctx, vars: &mut Vars, table: &SValue, draft: &mut Draft<'_>) -> Option<&'static ProbeSpec> {
    // Without a usable `program` (reported by the params stage) there are no facts to check.
    let program_value = table.get("program")?;
    let template = program_value.as_str()?;
    let written = vars.interpolate(cx, program_value, template)?;
    if written.incomplete {
        // A var or environment variable missing in `validate`: already warned about.
        return Some(&probe::exec::SPEC);
    }
    let mut program = PathBuf::from(&written.value);
    if written.value.contains('/') && program.is_relative() {
        // Relative to the file where `program` is written (a catalogue check's file when
        // the item reuses one), as `include` paths are.
        let base = cx.sources.path(program_value.file).parent().unwrap_or(Path::new("")).to_path_buf();
        program = base.join(&program);
    }
    let item = &mut draft.item;
    let params_shown = &mut draft.shown;
    let what = &draft.what;
    item.params.values.insert("program", Value::Str(program.display().to_string()));
    let described = match probe::exec::describe(&program) {
        Ok(d) => d,
        Err(why) => {
            cx.diags.push(
                Diagnostic::error(Code::PluginDescribe, format!("{what}: `{} --describe` failed: {why}", written.shown))
                    .at(program_value.loc())
                    .hint("an exec program must print its parameters and facts as JSON when run with --describe (see docs/plugins.md)"),
            );
            return None;
        }
    };
    let given = table.get("params").and_then(|p| p.as_table()).unwrap_or_default();
    let (mut real, mut shown) = match (item.params.values.get("params"), params_shown.get("params")) {
        (Some(Value::Map(r)), Some(Value::Map(s))) => (r.clone(), s.clone()),
        _ => (BTreeMap::new(), BTreeMap::new()),
    };
    let names: Vec<&str> = described.params.iter().map(|p| p.name.as_str()).collect();
    for (key, value) in given {
        let Some(param) = described.param(&key.name) else {
            let mut d = Diagnostic::error(
                Code::UnknownKey,
                format!("{what}: `{}` takes no parameter `{}`", written.shown, key.name),
            )
            .at(loc_of_key(value.file, key));
            d = match did_you_mean(&key.name, names.iter().copied()) {
                Some(s) => d.hint(format!("did you mean `{s}`?")),
                None if names.is_empty() => d.hint("its --describe declares no parameters"),
                None => d.hint(format!("its parameters are: {}", names.join(", "))),
            };
            cx.diags.push(d);
            continue;
        };
        if let Some(v) = real.get(&key.name)
            && !param.ty.accepts(v)
        {
            cx.diags.push(wrong_type(value, &key.name, param.ty.name()));
            continue;
        }
        if param.secret {
            if let Some(v) = real.get(&key.name) {
                cx.redactor.add(&v.to_string());
            }
            shown.insert(key.name.clone(), Value::str(MASK));
        }
    }
    for param in &described.params {
        if given.iter().any(|(k, _)| k.name == param.name) {
            continue;
        }
        if let Some(default) = &param.default {
            real.insert(param.name.clone(), default.clone());
            shown.insert(param.name.clone(), if param.secret { Value::str(MASK) } else { default.clone() });
        } else if param.required {
            let at = table.get("params").map(|p| p.loc()).unwrap_or_else(|| item.loc.clone());
            cx.diags.push(
                Diagnostic::error(
                    Code::MissingKey,
                    format!("{what}: `{}` needs parameter `{}`", written.shown, param.name),
                )
                .at(at)
                .hint(format!(
                    "add params = {{ {} = … }} ({}: {})",
                    param.name,
                    param.ty.name(),
                    param.doc
                )),
            );
        }
    }
    item.params.values.insert("params", Value::Map(real));
    params_shown.insert("params", Value::Map(shown));
    Some(described.spec)
}
