//! Unit tests of the signoff stage.

use super::*;
use crate::checklist::load::signoff::read;

#[test]
fn duplicate_and_empty_roles_are_reported() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[("golive.toml", "[signoff]\nroles = [\"Tech Lead\", \"\", \"Tech Lead\", \"  \", \"Ops\", 3]\n", &[])],
    );
    assert_eq!(read(&mut cx, &files), ["Tech Lead", "Ops"]);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue; 4]);
    assert_eq!(ds[0].message, "a sign-off role is empty");
    assert_eq!(pos_of(&cx, &ds[0]), "golive.toml:2:23");
    assert_eq!(ds[1].message, "sign-off role \"Tech Lead\" is listed twice");
    assert_eq!(pos_of(&cx, &ds[1]), "golive.toml:2:27");
    assert_eq!(ds[2].message, "a sign-off role is empty");
}

#[test]
fn the_roles_are_the_union_in_load_order() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[
            ("golive.toml", "[signoff]\nroles = [\"B\", \"A\"]\n", &[1]),
            ("inc.toml", "[signoff]\nroles = [\"C\", \"A\"]\n", &[]),
        ],
    );
    assert_eq!(read(&mut cx, &files), ["B", "A", "C"]);
    assert_eq!(cx.diags.total(), 0, "a role in two files is no problem");
}

#[test]
fn roles_must_be_a_list_and_the_only_key() {
    let mut cx = validate();
    let files = set(&mut cx, &[("golive.toml", "[signoff]\nroles = \"CTO\"\nrole = []\n", &[])]);
    assert!(read(&mut cx, &files).is_empty());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue, Code::UnknownKey]);
    assert_eq!(ds[1].hint.as_deref(), Some("did you mean `roles`?"));
}
