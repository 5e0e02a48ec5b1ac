//! Unit tests of the defaults stage.

use super::*;
use crate::checklist::load::defaults::per_file;
use crate::checklist::model::Severity;
use std::time::Duration;

#[test]
fn a_childs_defaults_are_over_its_parents() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[
            (
                "root.toml",
                "[defaults]\ntimeout = \"30s\"\nretries = 2\nseverity = \"low\"\nsection = \"root\"\n",
                &[1, 3],
            ),
            ("child.toml", "[defaults]\nseverity = \"critical\"\nsection = \"child\"\n", &[2]),
            ("grandchild.toml", "[defaults]\nretry_delay = \"5s\"\n", &[]),
            ("sibling.toml", "[checklist]\n", &[]),
        ],
    );
    let out = per_file(&mut cx, &files);
    assert_eq!(cx.diags.total(), 0);
    let root = Defaults {
        timeout: Some(Duration::from_secs(30)),
        retries: Some(2),
        retry_delay: None,
        severity: Some(Severity::Low),
        section: Some("root".into()),
    };
    let child = Defaults { severity: Some(Severity::Critical), section: Some("child".into()), ..root.clone() };
    let grandchild = Defaults { retry_delay: Some(Duration::from_secs(5)), ..child.clone() };
    assert_eq!(out, [root.clone(), child, grandchild, root]);
}

#[test]
fn bad_defaults_are_reported_and_keep_the_parents_value() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[
            ("root.toml", "[defaults]\nretries = 2\n", &[1]),
            ("child.toml", "[defaults]\nretries = -1\ntimout = \"1s\"\nseverity = \"hihg\"\nsection = 1\n", &[]),
        ],
    );
    let out = per_file(&mut cx, &files);
    assert_eq!(out[1].retries, Some(2));
    assert_eq!(out[1].severity, None);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue, Code::UnknownKey, Code::InvalidValue, Code::InvalidValue]);
    assert_eq!(pos_of(&cx, &ds[0]), "child.toml:2:11");
    assert_eq!(ds[1].hint.as_deref(), Some("did you mean `timeout`?"));
    assert_eq!(ds[2].hint.as_deref(), Some("did you mean \"high\"?"));
}
