//! Unit tests of the files stage.

use super::*;
use crate::checklist::load::files::MAX_INCLUDE_DEPTH;

#[test]
fn a_diamond_reads_the_shared_file_once_depth_first() {
    let dir = tree(&[
        ("golive.toml", "[checklist]\ninclude = [\"a.toml\", \"b.toml\"]\n"),
        ("a.toml", "[checklist]\ninclude = [\"common.toml\"]\n"),
        ("b.toml", "[checklist]\ninclude = [\"common.toml\"]\n"),
        ("common.toml", "[vars]\nc = \"1\"\n"),
    ]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["golive.toml"]);
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    let names: Vec<String> = (0..files.docs.len()).map(|i| name_of(&cx, &files, i)).collect();
    assert_eq!(names, ["golive.toml", "a.toml", "common.toml", "b.toml"]);
    assert_eq!(files.roots, [0]);
    assert_eq!(files.docs[0].includes, [1, 3]);
    assert_eq!(files.docs[1].includes, [2]);
    assert_eq!(files.docs[3].includes, [2], "b.toml points at the one copy of common.toml");
    assert_eq!(files.docs[2].parent, Some(1), "the first includer is the parent");
    assert_eq!(files.docs[3].parent, Some(0));
    assert_eq!(files.docs[0].parent, None);
    assert_eq!(files.docs[2].sha256.len(), 64);
}

#[test]
fn an_include_cycle_is_reported_once_at_the_include() {
    let dir = tree(&[
        ("a.toml", "[checklist]\ninclude = [\"b.toml\"]\n"),
        ("b.toml", "[checklist]\ninclude = [\"a.toml\"]\n"),
    ]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["a.toml"]);
    assert_eq!(files.docs.len(), 2);
    assert!(files.docs[1].includes.is_empty());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::IncludeCycle]);
    let (a, b) = (dir.path().join("a.toml"), dir.path().join("b.toml"));
    assert_eq!(ds[0].message, format!("include cycle: {} → {} → {}", a.display(), b.display(), a.display()));
    assert_eq!(pos_of(&cx, &ds[0]), "b.toml:2:12");
}

#[test]
fn a_file_including_itself_is_a_cycle() {
    let dir = tree(&[("a.toml", "[checklist]\ninclude = [\"a.toml\"]\n")]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["a.toml"]);
    assert_eq!(files.docs.len(), 1);
    assert_eq!(codes(&take(&mut cx)), [Code::IncludeCycle]);
}

#[test]
fn a_builtin_include_is_read_from_the_binary() {
    let dir = tree(&[("golive.toml", "[checklist]\ninclude = [\"golive:quickstart\"]\n")]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["golive.toml"]);
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert_eq!(files.docs.len(), 2);
    assert_eq!(cx.sources.path(files.docs[1].id), Path::new("golive:quickstart"));
    assert_eq!(files.docs[0].includes, [1]);
    assert!(!doc_tables(&cx, &files.docs[1]).is_empty(), "the built-in holds items");
}

#[test]
fn a_builtin_includes_its_siblings_as_builtins() {
    let mut cx = validate();
    let files = load::files::read(&mut cx, &[PathBuf::from("golive:go-live")]);
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert!(files.docs.len() >= 5, "go-live includes four checklists");
    for doc in &files.docs {
        assert!(cx.sources.path(doc.id).to_string_lossy().starts_with("golive:"));
    }
    assert_eq!(files.docs[0].includes.len(), 4);
}

#[test]
fn an_unknown_builtin_names_the_builtins() {
    let dir = tree(&[("golive.toml", "[checklist]\ninclude = [\"golive:nope\"]\n")]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["golive.toml"]);
    assert_eq!(files.docs.len(), 1);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::IncludeNotFound]);
    assert!(ds[0].message.contains("no built-in checklist `nope`"), "{}", ds[0].message);
    assert!(ds[0].message.contains("quickstart"), "{}", ds[0].message);
    assert_eq!(pos_of(&cx, &ds[0]), "golive.toml:2:12");
}

#[test]
fn missing_roots_and_includes_have_their_own_codes() {
    let dir = tree(&[("golive.toml", "[checklist]\ninclude = [\"gone.toml\"]\n")]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["nothing.toml", "golive.toml"]);
    assert_eq!(files.roots, [0], "only the readable root");
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::FileNotFound, Code::IncludeNotFound]);
    assert!(ds[0].loc.is_none());
    assert_eq!(pos_of(&cx, &ds[1]), "golive.toml:2:12");
}

#[test]
fn includes_nest_at_most_the_limit() {
    let names: Vec<String> = (0..=MAX_INCLUDE_DEPTH + 1).map(|i| format!("f{i}.toml")).collect();
    let texts: Vec<String> = (0..names.len())
        .map(|i| match names.get(i + 1) {
            Some(next) => format!("[checklist]\ninclude = [\"{next}\"]\n"),
            None => String::new(),
        })
        .collect();
    let specs: Vec<(&str, &str)> = names.iter().map(String::as_str).zip(texts.iter().map(String::as_str)).collect();
    let dir = tree(&specs);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["f0.toml"]);
    assert_eq!(files.docs.len(), MAX_INCLUDE_DEPTH);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::Limit]);
    assert!(ds[0].message.contains(&format!("more than {MAX_INCLUDE_DEPTH} deep")));
}

#[test]
fn top_level_keys_are_checked() {
    let dir = tree(&[("golive.toml", "vars = 1\n[checklist]\nname = 3\nnmae = \"x\"\n\n[[itme]]\nid = \"a\"\n")]);
    let mut cx = validate();
    read(&mut cx, dir.path(), &["golive.toml"]);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue, Code::InvalidValue, Code::UnknownKey, Code::UnknownKey]);
    assert_eq!(pos_of(&cx, &ds[0]), "golive.toml:1:8");
    assert_eq!(pos_of(&cx, &ds[1]), "golive.toml:3:8");
    assert_eq!(ds[2].hint.as_deref(), Some("did you mean `name`?"));
    assert_eq!(pos_of(&cx, &ds[3]), "golive.toml:6:3");
    assert_eq!(ds[3].hint.as_deref(), Some("did you mean `item`?"));
}

#[test]
fn meta_comes_from_the_first_root_that_sets_it() {
    let dir = tree(&[
        ("a.toml", "[checklist]\nversion = \"1\"\n"),
        ("b.toml", "[checklist]\nname = \"bee\"\nversion = \"2\"\n"),
    ]);
    let mut cx = validate();
    let files = read(&mut cx, dir.path(), &["a.toml", "b.toml"]);
    assert_eq!(files.roots, [0, 1]);
    assert_eq!(files.meta("name").as_deref(), Some("bee"));
    assert_eq!(files.meta("version").as_deref(), Some("1"));
    assert_eq!(files.meta("description"), None);
}

/// `n` valid tcp items, about 100 bytes each.
fn many_items(n: usize) -> String {
    (0..n)
        .map(|i| format!("[[item]]\nid = \"i{i}\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{}\"\n\n", 1024 + i % 1000))
        .collect()
}

fn load_dir(dir: &Path, name: &str) -> load::Loaded {
    let opts =
        load::LoadOptions { vars: Vec::new(), mode: LoadMode::Validate, attestations: None, targets: Vec::new() };
    load::load(&[dir.join(name)], &opts)
}

/// Items read piece by piece (and, past `PARSE_AHEAD_BYTES`, parsed by a second thread)
/// come out in file order, those of a piece that also holds another table included.
#[test]
fn items_read_lazily_keep_their_order_on_both_paths() {
    for n in [50, 20_000] {
        let text = format!(
            "[checklist]\nname = \"x\"\n\n{}[[waiver]]\nitem = \"i0\"\nreason = \"r\"\napproved_by = \"a\"\nuntil = 2999-01-01\n\n{}",
            many_items(n),
            many_items(n + 3).replacen("[[item]]\nid = \"i", "[[item]]\nid = \"j", n + 3)
        );
        assert_eq!(n > 10_000, text.len() > 2 * 1024 * 1024, "the large case takes the thread path");
        let dir = tree(&[("c.toml", &text)]);
        let loaded = load_dir(dir.path(), "c.toml");
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics.first());
        let c = loaded.checklist.expect("valid");
        let ids: Vec<String> = c.items.iter().map(|i| i.id.clone()).collect();
        let want: Vec<String> = (0..n).map(|i| format!("i{i}")).chain((0..n + 3).map(|i| format!("j{i}"))).collect();
        assert_eq!(ids, want);
        assert_eq!(c.waivers.len(), 1);
    }
}

/// A syntax error late in a long file reports exactly what parsing the whole file reports,
/// and nothing about the items before it (they were built before the error was met).
#[test]
fn a_syntax_error_after_many_items_is_only_that_error() {
    for n in [50, 20_000] {
        let bad = format!(
            "[checklist]\nname = \"x\"\n{}[[item]]\nid = \"i{n}\"\nprobe = \"tcp\"\naddress = \n",
            many_items(n)
        )
        // Problems in the items before the error must not be reported either.
        .replacen("probe = \"tcp\"", "probe = \"tcpp\"", 1);
        let dir = tree(&[("c.toml", &bad)]);
        let loaded = load_dir(dir.path(), "c.toml");
        assert!(loaded.checklist.is_none());
        let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, [Code::Syntax], "{n} items: {:?}", loaded.diagnostics.first());
        let whole = crate::lang::tree::parse_document(0, &bad).expect_err("invalid");
        assert_eq!(loaded.diagnostics[0].message, whole.message);
        assert_eq!(loaded.diagnostics[0].loc.as_ref().map(|l| l.span.clone()), whole.loc.map(|l| l.span));
    }
}
