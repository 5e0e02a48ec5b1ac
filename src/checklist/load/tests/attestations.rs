//! Unit tests of the attestations stage.

use super::*;
use crate::checklist::load::attestations::read;

const ATT: &str = "[[attestation]]\nitem = \"launch.comms\"\nby = \"alice\"\nat = 2026-01-02T03:04:05Z\nevidence = \"https://wiki/x\"\nuntil = 2026-06-30\n\n[[attestation]]\nitem = \"web.up\"\nby = \"bob\"\nat = 2026-01-02T03:04:05Z\nevidence = \"e\"\n";

#[test]
fn the_default_file_beside_the_checklist_is_read() {
    let dir = tree(&[("golive.toml", "[checklist]\n"), ("golive.attestations.toml", ATT)]);
    let mut cx = validate();
    let files = read_files(&mut cx, dir.path());
    let out = read(&mut cx, &files, None, &["launch.comms"]);
    assert_eq!(out.path, dir.path().join("golive.attestations.toml"));
    assert_eq!(out.sha256.as_ref().map(String::len), Some(64));
    assert_eq!(out.entries.len(), 1);
    let a = &out.entries[0];
    assert_eq!((a.item.as_str(), a.by.as_str(), a.evidence.as_str()), ("launch.comms", "alice", "https://wiki/x"));
    assert_eq!(a.at.unix_timestamp(), 1_767_323_045);
    assert_eq!(a.until, Some(time::Date::from_calendar_date(2026, time::Month::June, 30).unwrap()));
    assert!(a.source.ends_with("golive.attestations.toml:1:1"), "{}", a.source);
    assert!(!cx.diags.has_errors());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::AttestationItem]);
    assert_eq!(ds[0].level, Level::Warning);
    assert_eq!(ds[0].hint.as_deref(), Some("manual items: launch.comms"));
    assert_eq!(pos_of(&cx, &ds[0]), "golive.attestations.toml:9:8");
}

fn read_files(cx: &mut Ctx, dir: &Path) -> FileSet {
    let files = super::read(cx, dir, &["golive.toml"]);
    assert_eq!(cx.diags.total(), 0);
    files
}

#[test]
fn the_option_then_the_checklist_key_choose_the_file() {
    let dir = tree(&[
        ("golive.toml", "[checklist]\nattestations = \"records/att.toml\"\n"),
        ("records/att.toml", ATT),
        ("other.toml", ""),
    ]);
    let mut cx = validate();
    let files = read_files(&mut cx, dir.path());
    let out = read(&mut cx, &files, None, &["launch.comms", "web.up"]);
    assert_eq!(out.path, dir.path().join("records/att.toml"));
    assert_eq!(out.entries.len(), 2);
    assert_eq!(cx.diags.total(), 0);

    let other = dir.path().join("other.toml");
    let out = read(&mut cx, &files, Some(&other), &["launch.comms"]);
    assert_eq!(out.path, other);
    assert!(out.entries.is_empty());
    assert!(out.sha256.is_some());
    assert_eq!(cx.diags.total(), 0);
}

#[test]
fn a_missing_file_holds_no_attestations() {
    let dir = tree(&[("golive.toml", "[checklist]\n")]);
    let mut cx = validate();
    let files = read_files(&mut cx, dir.path());
    let out = read(&mut cx, &files, None, &["launch.comms"]);
    assert_eq!(out.path, dir.path().join("golive.attestations.toml"));
    assert_eq!(out.sha256, None);
    assert!(out.entries.is_empty());
    assert_eq!(cx.diags.total(), 0);
}

#[test]
fn a_malformed_entry_is_dropped_with_every_problem() {
    let dir = tree(&[
        ("golive.toml", "[checklist]\n"),
        (
            "golive.attestations.toml",
            "[[attestation]]\nitem = \"launch.comms\"\nat = \"yesterday\"\nevidence = 3\nnotes = \"x\"\n\n[other]\n",
        ),
    ]);
    let mut cx = validate();
    let files = read_files(&mut cx, dir.path());
    let out = read(&mut cx, &files, None, &["launch.comms"]);
    assert!(out.entries.is_empty());
    let ds = take(&mut cx);
    assert_eq!(
        codes(&ds),
        [Code::UnknownKey, Code::MissingKey, Code::InvalidValue, Code::InvalidValue, Code::UnknownKey]
    );
    assert_eq!(ds[0].hint.as_deref(), Some("did you mean `note`?"));
    assert_eq!(ds[1].message, "attestation has no `by`");
    assert_eq!(pos_of(&cx, &ds[3]), "golive.attestations.toml:3:6");
}
