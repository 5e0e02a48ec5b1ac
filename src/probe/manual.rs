//! `manual`: an item a person checks and attests (rollback tested, on-call staffed). It has
//! no observation; without an attestation it is `manual: pending`, and the gate counts a
//! pending item like a failure of its severity.

use super::{ParamSpec, ParamType, ProbeSpec};

pub static SPEC: ProbeSpec = ProbeSpec {
    kind: "manual",
    summary: "A check a person performs and attests; pending until attested.",
    params: &[ParamSpec::optional(
        "instructions",
        ParamType::String,
        "what the person must do or confirm, and what evidence to attach",
    )],
    facts: &[],
    default_expect: &[],
    observe: None,
    check: None,
    notes: &[],
};
