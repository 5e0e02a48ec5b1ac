//! Unit tests of the item stage.

use super::*;
use crate::checklist::load::defaults::{DEFAULT_SECTION, DEFAULT_SEVERITY, DEFAULT_TIMEOUT};
use crate::checklist::model::Severity;
use std::time::Duration;

fn defaults() -> Defaults {
    Defaults {
        timeout: Some(Duration::from_secs(30)),
        retries: Some(3),
        retry_delay: Some(Duration::from_secs(5)),
        severity: Some(Severity::Low),
        section: Some("ops".into()),
    }
}

#[test]
fn defaults_apply_where_the_item_says_nothing() {
    let mut cx = validate();
    let mut vars = no_vars();
    let table = item_table(&mut cx, "\n[[item]]\nid = \"a\"\nprobe = \"manual\"\n");
    let keys = load::item::read(&mut cx, &mut vars, &table, &defaults());
    let draft = keys.draft.unwrap();
    let it = &draft.item;
    assert_eq!((it.timeout, it.retries, it.retry_delay), (Duration::from_secs(30), 3, Duration::from_secs(5)));
    assert_eq!((it.severity, it.section.as_str(), it.title.as_str()), (Severity::Low, "ops", "a"));
    assert_eq!(it.source, "items.toml:2:1");
    assert_eq!(pos(&cx, &keys.id.unwrap().1), "items.toml:2:1");
    assert_eq!(cx.diags.total(), 0);

    let table = item_table(
        &mut cx,
        "[[item]]\nid = \"b\"\nprobe = \"manual\"\nseverity = \"critical\"\ntimeout = \"1s\"\nretries = 0\nsection = \"db\"\n",
    );
    let it = load::item::read(&mut cx, &mut vars, &table, &defaults()).draft.unwrap().item;
    assert_eq!(
        (it.severity, it.timeout, it.retries, it.section.as_str()),
        (Severity::Critical, Duration::from_secs(1), 0, "db")
    );
    assert_eq!(it.retry_delay, Duration::from_secs(5));

    let table = item_table(&mut cx, "[[item]]\nid = \"c\"\nprobe = \"manual\"\n");
    let it = load::item::read(&mut cx, &mut vars, &table, &Defaults::default()).draft.unwrap().item;
    assert_eq!((it.severity, it.timeout, it.section.as_str()), (DEFAULT_SEVERITY, DEFAULT_TIMEOUT, DEFAULT_SECTION));
    assert_eq!(cx.diags.total(), 0);
}

#[test]
fn description_and_rationale_are_joined() {
    let mut cx = validate();
    let mut vars = no_vars();
    let table = item_table(
        &mut cx,
        "[[item]]\nid = \"a\"\nprobe = \"manual\"\ndescription = \"What it is.\"\nrationale = \"Why it matters.\"\n",
    );
    let it = load::item::read(&mut cx, &mut vars, &table, &Defaults::default()).draft.unwrap().item;
    assert_eq!(it.description.as_deref(), Some("What it is.\nWhy it matters."));
    let table = item_table(&mut cx, "[[item]]\nid = \"b\"\nprobe = \"manual\"\nrationale = \"Only why.\"\n");
    let it = load::item::read(&mut cx, &mut vars, &table, &Defaults::default()).draft.unwrap().item;
    assert_eq!(it.description.as_deref(), Some("Only why."));
}

#[test]
fn common_keys_are_read_and_the_rest_handed_on() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\nhost = \"db1\"\n");
    let table = item_table(
        &mut cx,
        "[[item]]\nid = \"web.up\"\nprobe = \"http\"\ntitle = \"Up on ${host}\"\ntags = [\"a\", \"b\"]\ndepends_on = [\"net\"]\nowner = \"ops\"\nreferences = [\"r\"]\nurl = \"https://x\"\nbogus = 1\nexpect = { status = 200 }\n",
    );
    let keys = load::item::read(&mut cx, &mut vars, &table, &Defaults::default());
    assert_eq!(cx.diags.total(), 0);
    let draft = keys.draft.unwrap();
    assert_eq!(draft.probe.map(|p| p.kind), Some("http"));
    assert_eq!(draft.item.title, "Up on db1");
    assert_eq!(draft.item.tags, ["a", "b"]);
    assert_eq!(draft.item.depends_on, ["net"]);
    assert_eq!(pos(&cx, draft.item.depends_on_loc.as_ref().unwrap()), "items.toml:6:14");
    assert_eq!(draft.item.owner.as_deref(), Some("ops"));
    assert_eq!(draft.item.references, ["r"]);
    let rest: Vec<&str> = draft.params.iter().map(|(k, _)| k.name.as_str()).collect();
    assert_eq!(rest, ["url", "bogus"]);
    assert!(draft.expect.is_some());
    assert_eq!(draft.what, "item `web.up`");
}

#[test]
fn an_item_without_a_valid_id_or_probe_is_reported() {
    let mut cx = validate();
    let mut vars = no_vars();
    let cases = [
        ("[[item]]\nprobe = \"manual\"\n", Code::MissingKey, false, false),
        ("[[item]]\nid = \"a b\"\nprobe = \"manual\"\n", Code::InvalidValue, false, false),
        ("[[item]]\nid = 3\nprobe = \"manual\"\n", Code::InvalidValue, false, false),
        ("[[item]]\nid = \"a\"\n", Code::MissingKey, true, false),
        ("[[item]]\nid = \"a\"\nprobe = \"htpp\"\n", Code::UnknownProbe, true, false),
        ("[[item]]\nid = \"a\"\nprobe = \"manual\"\ntags = \"x\"\n", Code::InvalidValue, true, true),
    ];
    for (text, code, has_id, has_probe) in cases {
        let table = item_table(&mut cx, text);
        let keys = load::item::read(&mut cx, &mut vars, &table, &Defaults::default());
        assert_eq!(keys.id.is_some(), has_id, "{text}");
        assert_eq!(keys.draft.as_ref().and_then(|d| d.probe).is_some(), has_probe, "{text}");
        let ds = take(&mut cx);
        assert_eq!(codes(&ds), [code], "{text}");
        if code == Code::UnknownProbe {
            assert_eq!(ds[0].hint.as_deref(), Some("did you mean `http`?"));
            assert_eq!(pos_of(&cx, &ds[0]), "items.toml:3:9");
        }
    }
}

/// A `when` on a var reads the var's value now, typed the way a person wrote it: plain
/// numbers and booleans as such, "0600" and words as text.
#[test]
fn a_var_condition_reads_the_value_typed_as_written() {
    use crate::checklist::model::Subject;
    use crate::value::Value;
    let mut cx = run();
    let mut vars = vars_from(&mut cx, "[vars]\nreplicas = \"2\"\nmode = \"0600\"\ntls = \"true\"\nstack = \"rust\"\n");
    let table = item_table(
        &mut cx,
        "[[item]]\nid = \"a\"\nprobe = \"manual\"\nwhen = [{ var = \"replicas\", is = \"> 1\" }, { var = \"mode\", is = \"0600\" }, { var = \"tls\", is = true }, { var = \"stack\", is = { one_of = [\"rust\", \"go\"] } }, { item = \"b\", fact = \"status\", is = 200 }]\n",
    );
    let it = load::item::read(&mut cx, &mut vars, &table, &Defaults::default()).draft.unwrap().item;
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    let values: Vec<Option<Value>> = it
        .when
        .iter()
        .map(|c| match &c.subject {
            Subject::Var { value, .. } => value.clone(),
            Subject::Fact { .. } => None,
        })
        .collect();
    assert_eq!(
        values,
        [Some(Value::Int(2)), Some(Value::str("0600")), Some(Value::Bool(true)), Some(Value::str("rust")), None]
    );
    for c in &it.when[..4] {
        let Subject::Var { value, .. } = &c.subject else { unreachable!() };
        assert!(c.matcher.eval(value.as_ref()), "{} {}", c.subject, c.matcher);
    }
    assert!(matches!(&it.when[4].subject, Subject::Fact { item, fact } if item == "b" && fact == "status"));
}
