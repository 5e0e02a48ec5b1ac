//! Unit tests of the waivers stage.

use super::*;
use crate::checklist::load::waivers::read;
use foldhash::HashSet;

const W: &str =
    "[[waiver]]\nitem = \"infra.cdn\"\nreason = \"no CDN in phase 1\"\napproved_by = \"CTO\"\nuntil = 2026-12-31\n\n";

#[test]
fn a_waiver_is_read_with_its_position() {
    let mut cx = validate();
    let files = set(&mut cx, &[("golive.toml", W, &[])]);
    let known = HashSet::from_iter(["infra.cdn"]);
    let out = read(&mut cx, &files, &known);
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].item, "infra.cdn");
    assert_eq!(out[0].reason, "no CDN in phase 1");
    assert_eq!(out[0].approved_by, "CTO");
    assert_eq!(out[0].until, time::Date::from_calendar_date(2026, time::Month::December, 31).unwrap());
    assert_eq!(out[0].source, "golive.toml:1:1");
}

#[test]
fn a_waiver_for_an_unknown_item_is_reported() {
    let mut cx = validate();
    let files = set(&mut cx, &[("golive.toml", &W.replace("infra.cdn", "infra.cnd"), &[])]);
    let known = HashSet::from_iter(["infra.cdn", "db.up"]);
    assert!(read(&mut cx, &files, &known).is_empty());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownWaiverItem]);
    assert_eq!(ds[0].hint.as_deref(), Some("did you mean `infra.cdn`?"));
    assert_eq!(pos_of(&cx, &ds[0]), "golive.toml:2:8");
}

#[test]
fn two_waivers_for_one_item_across_files_are_reported() {
    let mut cx = validate();
    let files = set(&mut cx, &[("golive.toml", W, &[1]), ("inc.toml", &format!("\n{W}"), &[])]);
    let known = HashSet::from_iter(["infra.cdn"]);
    let out = read(&mut cx, &files, &known);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].source, "golive.toml:1:1", "the first is kept");
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::DuplicateWaiver]);
    assert_eq!(pos_of(&cx, &ds[0]), "inc.toml:3:8");
    assert_eq!(pos(&cx, &ds[0].related[0].0), "golive.toml:1:1");
}

#[test]
fn an_incomplete_waiver_is_dropped_with_every_problem() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[(
            "golive.toml",
            "[[waiver]]\nitem = \"infra.cdn\"\nreason = \" \"\nuntil = \"31/12/2026\"\nby = \"x\"\n",
            &[],
        )],
    );
    let known = HashSet::from_iter(["infra.cdn"]);
    assert!(read(&mut cx, &files, &known).is_empty());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownKey, Code::InvalidValue, Code::MissingKey, Code::InvalidValue]);
    assert_eq!(ds[1].message, "waiver: `reason` is empty");
    assert_eq!(ds[2].message, "waiver has no `approved_by`");
    assert_eq!(pos_of(&cx, &ds[3]), "golive.toml:4:9");
}
