//! Unit tests of the uses stage.

use super::*;
use crate::checklist::load::uses::{catalogue, expand};

const CHECK: &str = "[check]\ntitle = \"Ping ${path}\"\nprobe = \"http\"\nurl = \"${base_url}${path}\"\nseverity = \"low\"\nsection = \"web\"\nexpect = { status = 200, body = { contains = \"ok\" } }\n\n[vars]\nbase_url = { description = \"where\" }\npath = { description = \"the path\", default = \"/health\" }\nretries_hint = { default = \"3\" }\n";

fn setup(items: &str) -> (tempfile::TempDir, Ctx, FileSet) {
    let root = format!("[checklist]\nchecks = [\"mine\"]\n\n[vars]\nbase_url = \"https://global.example\"\n\n{items}");
    let dir = tree(&[("golive.toml", root.as_str()), ("mine/web/ping.toml", CHECK)]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["golive.toml"]);
    assert_eq!(cx.diags.total(), 0);
    (dir, cx, files)
}

#[test]
fn a_use_merges_the_check_under_the_item() {
    let (_dir, mut cx, files) = setup(
        "[[item]]\nuse = \"web.ping\"\nvars = { path = \"/ready\" }\nseverity = \"critical\"\nexpect = { latency = \"< 2s\", status = 204 }\n",
    );
    let mut checks = catalogue(&mut cx, &files);
    let mut vars = vars_for(&mut cx, &files, &[]);
    let table = doc_tables(&cx, &files.docs[0]).remove(0);
    let (merged, scope) = expand(&mut cx, &mut checks, &mut vars, &table).expect("the check is used");
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert_eq!(merged.get("id").and_then(SValue::as_str), Some("web.ping"));
    assert_eq!(merged.get("severity").and_then(SValue::as_str), Some("critical"));
    assert_eq!(merged.get("section").and_then(SValue::as_str), Some("web"));
    assert!(merged.get("use").is_none() && merged.get("vars").is_none());
    let facts: Vec<&str> =
        merged.get("expect").unwrap().as_table().unwrap().iter().map(|(k, _)| k.name.as_str()).collect();
    assert_eq!(facts, ["status", "body", "latency"]);
    assert!(matches!(merged.get("expect").unwrap().get("status").unwrap().kind, SKind::Int(204)));
    assert_eq!(scope.check, "web.ping");
    let local: Vec<&str> = scope.values.keys().map(String::as_str).collect();
    assert_eq!(local, ["path", "retries_hint"], "base_url comes from the checklist");
    assert_eq!(scope.values["path"].value.as_deref(), Some("/ready"));
    assert!(vars.declared().any(|n| n == "retries_hint"));

    vars.enter(scope);
    let (item, _) = build_table(&mut cx, &mut vars, &merged, &Defaults::default()).unwrap();
    vars.leave();
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert_eq!(item.id, "web.ping");
    assert_eq!(item.title, "Ping /ready");
    assert_eq!(item.params.str("url"), Some("https://global.example/ready"));
    assert_eq!(item.expect.len(), 3);
}

#[test]
fn a_check_file_is_read_once_and_unknowns_are_reported() {
    let (_dir, mut cx, files) = setup(
        "[[item]]\nuse = \"web.ping\"\nid = \"one\"\n\n[[item]]\nuse = \"web.ping\"\nid = \"two\"\nvars = { pth = \"/x\" }\n\n[[item]]\nuse = \"web.pnig\"\n\n[[item]]\nuse = 5\n",
    );
    let mut checks = catalogue(&mut cx, &files);
    let mut vars = vars_for(&mut cx, &files, &[]);
    let results: Vec<bool> =
        doc_tables(&cx, &files.docs[0]).iter().map(|t| expand(&mut cx, &mut checks, &mut vars, t).is_some()).collect();
    assert_eq!(results, [true, true, false, false]);
    assert_eq!(checks.files.len(), 1, "web.ping read once");
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownKey, Code::UnknownCheck, Code::InvalidValue]);
    assert_eq!(ds[0].message, "check `web.ping` has no var `pth`");
    assert_eq!(ds[0].hint.as_deref(), Some("did you mean `path`?"));
    assert_eq!(pos_of(&cx, &ds[0]), "golive.toml:14:10");
    assert!(ds[1].hint.as_deref().unwrap().starts_with("did you mean `web.ping`?"));
    assert_eq!(pos_of(&cx, &ds[1]), "golive.toml:17:7");
}

#[test]
fn a_missing_checks_directory_is_reported() {
    let dir = tree(&[("golive.toml", "[checklist]\nchecks = [\"nowhere\"]\n")]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["golive.toml"]);
    catalogue(&mut cx, &files);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::IncludeNotFound]);
    assert_eq!(pos_of(&cx, &ds[0]), "golive.toml:2:11");
}

/// `drop_expect` removes an inherited expectation (after the item's own are merged); a name
/// the merged `expect` does not have is GL006 with a "did you mean".
#[test]
fn drop_expect_removes_an_inherited_expectation() {
    let (_dir, mut cx, files) = setup(
        "[[item]]\nid = \"one\"\nuse = \"web.ping\"\nexpect = { latency = \"< 2s\" }\ndrop_expect = [\"body\"]\n\n[[item]]\nid = \"two\"\nuse = \"web.ping\"\ndrop_expect = [\"bdoy\", \"status\"]\n",
    );
    let mut checks = catalogue(&mut cx, &files);
    let mut vars = vars_for(&mut cx, &files, &[]);
    let tables = doc_tables(&cx, &files.docs[0]);
    let facts = |merged: &SValue| -> Vec<String> {
        merged.get("expect").unwrap().as_table().unwrap().iter().map(|(k, _)| k.name.clone()).collect()
    };
    let (one, _) = expand(&mut cx, &mut checks, &mut vars, &tables[0]).unwrap();
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert_eq!(facts(&one), ["status", "latency"]);
    assert!(one.get("drop_expect").is_none(), "consumed by the use");
    let (two, _) = expand(&mut cx, &mut checks, &mut vars, &tables[1]).unwrap();
    assert_eq!(facts(&two), ["body"], "status dropped; the misspelt name dropped nothing");
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownFact]);
    assert_eq!(ds[0].message, "drop_expect: check `web.ping` has no expectation on `bdoy`");
    assert_eq!(ds[0].hint.as_deref(), Some("did you mean `body`?"));
    assert_eq!(pos_of(&cx, &ds[0]), "golive.toml:16:16");
}
