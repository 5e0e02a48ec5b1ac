//! Unit tests of the expect stage.

use super::*;
use crate::lang::matcher::{CmpOp, Matcher};
use crate::value::Value;

fn facts(item: &Item) -> Vec<&str> {
    item.expect.iter().map(|e| e.fact.as_str()).collect()
}

#[test]
fn a_fact_family_table_names_the_facts_below_it() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\nexpect = { status = 200, headers = { server = { present = false }, x-frame-options = \"DENY\" } }\n",
    )
    .unwrap();
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert_eq!(facts(&item), ["status", "headers.server", "headers.x-frame-options"]);
    assert!(matches!(item.expect[0].matcher, Matcher::Equals(Value::Int(200))));
    assert!(matches!(item.expect[1].matcher, Matcher::Present(false)));
    assert!(matches!(&item.expect[2].matcher, Matcher::Equals(Value::Str(s)) if s == "DENY"));
}

#[test]
fn an_unknown_fact_is_reported_with_a_suggestion() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\nexpect = { statsu = 200, latency = \"< 1s\" }\n",
    )
    .unwrap();
    assert_eq!(facts(&item), ["latency"]);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownFact]);
    assert_eq!(ds[0].message, "item `h`: probe `http` has no fact `statsu`");
    assert!(ds[0].hint.as_deref().unwrap().starts_with("did you mean `status`?"));
    assert_eq!(pos_of(&cx, &ds[0]), "items.toml:5:12");
}

#[test]
fn without_expect_the_probes_defaults_apply() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, _) =
        build(&mut cx, &mut vars, "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\n").unwrap();
    assert_eq!(facts(&item), ["status"]);
    assert!(
        matches!(&item.expect[0].matcher, Matcher::Compare(CmpOp::Lt, Value::Int(400), text) if text == "400"),
        "{:?}",
        item.expect[0].matcher
    );
    let (item, _) =
        build(&mut cx, &mut vars, "[[item]]\nid = \"p\"\nprobe = \"ports\"\nhost = \"h\"\nports = [22]\n").unwrap();
    assert_eq!(facts(&item), ["unexpected_open"]);
    assert!(matches!(&item.expect[0].matcher, Matcher::Equals(Value::List(l)) if l.is_empty()));
    let (item, _) = build(&mut cx, &mut vars, "[[item]]\nid = \"m\"\nprobe = \"manual\"\n").unwrap();
    assert!(item.expect.is_empty());
    assert_eq!(cx.diags.total(), 0);
}

#[test]
fn strings_in_expect_are_interpolated() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\nword = \"healthy\"\n");
    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\nexpect = { body = { contains = \"${word}\" } }\n",
    )
    .unwrap();
    assert_eq!(cx.diags.total(), 0);
    assert!(matches!(&item.expect[0].matcher, Matcher::Contains(s) if s == "healthy"));
}

#[test]
fn an_operand_may_come_from_a_var() {
    let mut cx = run();
    let mut vars = vars_from(&mut cx, "[vars]\nmax = \"2s\"\n");
    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\nexpect = { latency = \"< ${max}\" }\n",
    )
    .unwrap();
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert!(matches!(
        &item.expect[0].matcher,
        Matcher::Compare(CmpOp::Lt, Value::Duration(d), text) if *d == std::time::Duration::from_secs(2) && text == "2s"
    ));
}

#[test]
fn validate_only_warns_about_a_valueless_var_in_expect() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\nmax = { description = \"slowest\" }\n");
    build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\nexpect = { latency = \"< ${max}\" }\n",
    )
    .unwrap();
    assert!(!cx.diags.has_errors(), "{:?}", take(&mut cx));
    assert_eq!(codes(&take(&mut cx)), [Code::VarMissing]);
}

#[test]
fn a_matcher_that_does_not_fit_the_fact_is_reported() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\nexpect = { status = { contains = \"x\" } }\n",
    )
    .unwrap();
    assert!(item.expect.is_empty());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidMatcher]);
    assert!(ds[0].message.starts_with("item `h`: `status` (integer): `contains`"), "{}", ds[0].message);
}

#[test]
fn a_manual_item_has_no_expect_and_expect_must_be_a_table() {
    let mut cx = validate();
    let mut vars = no_vars();
    build(&mut cx, &mut vars, "[[item]]\nid = \"m\"\nprobe = \"manual\"\nexpect = { x = 1 }\n").unwrap();
    build(&mut cx, &mut vars, "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://e.x\"\nexpect = 200\n").unwrap();
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownKey, Code::InvalidValue]);
    assert_eq!(ds[0].message, "item `m`: a manual item has no `expect`");
}

#[test]
fn fact_names_are_interpolated_but_never_to_a_secret() {
    let mut cx = run();
    let mut vars = vars_from(&mut cx, "[vars]\nsetting = \"APP_DEBUG\"\n");
    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"c\"\nprobe = \"file\"\npath = \".env\"\nexpect = { \"config.${setting}\" = false, \"config.${nope}\" = 1 }\n",
    )
    .unwrap();
    assert_eq!(facts(&item), ["config.APP_DEBUG"]);
    let ds = take(&mut cx);
    assert_eq!(ds.len(), 1, "the unknown var is reported: {ds:?}");
    assert!(ds[0].message.contains("nope"), "{}", ds[0].message);

    // SAFETY: a variable only this test reads.
    unsafe { std::env::set_var("GOLIVE_TEST_FACT_NAME_SECRET", "hidden") };
    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"s\"\nprobe = \"file\"\npath = \".env\"\nexpect = { \"config.${env:GOLIVE_TEST_FACT_NAME_SECRET}\" = 1 }\n",
    )
    .unwrap();
    assert!(item.expect.is_empty());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue]);
    assert!(ds[0].message.contains("uses a secret") && !ds[0].message.contains("hidden"), "{}", ds[0].message);
}
