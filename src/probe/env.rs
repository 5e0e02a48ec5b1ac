//! `env`: observes an environment variable of the golive process. Its value is a secret
//! (shown as `***`) unless the item says `secret = false`.

use futures::future::BoxFuture;

use super::{FactSpec, Facts, ParamSpec, ParamType, ProbeError, ProbeInput, ProbeSpec, Shared};
use crate::value::{FactType, Value};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "env",
    summary: "Observes an environment variable: whether it is set, and its value (a secret by default).",
    params: &[
        ParamSpec::required("name", ParamType::String, "the variable's name, e.g. \"DATABASE_URL\""),
        ParamSpec::with_default(
            "secret",
            ParamType::Bool,
            "true",
            "mask the value in every output; set false for values such as RUST_LOG",
        ),
    ],
    facts: &[
        FactSpec::new("set", FactType::Bool, "the variable is set (possibly empty)"),
        FactSpec::new("value", FactType::String, "its value (shown as *** unless secret = false)"),
        FactSpec::new("empty", FactType::Bool, "the variable is set to an empty string"),
    ],
    default_expect: &[("set", "true")],
    observe: Some(observe),
    check: None,
    notes: &[],
};

fn observe<'a>(input: &'a ProbeInput, _shared: &'a Shared) -> BoxFuture<'a, Result<Facts, ProbeError>> {
    Box::pin(async move {
        let name = input.params.str("name").unwrap_or_default();
        let mut facts = Facts::default();
        match std::env::var_os(name) {
            Some(value) => {
                let value = value.to_string_lossy().into_owned();
                facts.set("set", Value::Bool(true));
                facts.set("empty", Value::Bool(value.is_empty()));
                if input.params.bool("secret") {
                    facts.set_secret("value", Value::Str(value));
                } else {
                    facts.set("value", Value::Str(value));
                }
            }
            None => facts.set("set", Value::Bool(false)),
        }
        Ok(facts)
    })
}
