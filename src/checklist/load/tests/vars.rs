//! Unit tests of the vars stage.

use super::*;
use crate::checklist::load::vars::MAX_VALUE_BYTES;

#[test]
fn the_including_file_overrides_an_included_var() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[
            ("root.toml", "[vars]\nport = \"8080\"\n", &[1]),
            ("inc.toml", "[vars]\nport = \"80\"\nhost = \"db\"\n", &[]),
        ],
    );
    let merged = load::vars::merge(&mut cx, &files, &[]);
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(merged["port"].value.as_deref(), Some("8080"));
    assert_eq!(pos(&cx, &merged["port"].loc), "root.toml:2:1");
    assert_eq!(merged["host"].value.as_deref(), Some("db"));
    assert_eq!(pos(&cx, &merged["host"].loc), "inc.toml:3:1");
}

#[test]
fn a_valueless_declaration_keeps_the_included_value() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[
            ("root.toml", "[vars]\nport = { description = \"the port\" }\n", &[1]),
            ("inc.toml", "[vars]\nport = 80\n", &[]),
        ],
    );
    let merged = load::vars::merge(&mut cx, &files, &[]);
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(merged["port"].value.as_deref(), Some("80"));
}

#[test]
fn two_includes_disagreeing_is_a_conflict_a_var_settles() {
    let specs: &[(&str, &str, &[usize])] = &[
        ("root.toml", "[checklist]\n", &[1, 2]),
        ("a.toml", "[vars]\nx = \"1\"\n", &[]),
        ("b.toml", "[vars]\nx = \"2\"\n", &[]),
    ];
    let mut cx = validate();
    let files = set(&mut cx, specs);
    load::vars::merge(&mut cx, &files, &[]);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::VarConflict]);
    assert_eq!(pos_of(&cx, &ds[0]), "b.toml:2:1");
    assert_eq!(ds[0].related.len(), 1);
    assert_eq!(pos(&cx, &ds[0].related[0].0), "a.toml:2:1");

    let mut cx = validate();
    let files = set(&mut cx, specs);
    let merged = load::vars::merge(&mut cx, &files, &[("x".into(), "3".into())]);
    assert_eq!(cx.diags.total(), 0, "--var settles it");
    assert_eq!(merged["x"].value.as_deref(), Some("3"));
}

#[test]
fn two_files_on_the_command_line_disagreeing_is_a_conflict() {
    let mut cx = validate();
    let mut files = set(&mut cx, &[("a.toml", "[vars]\nx = \"1\"\n", &[]), ("b.toml", "[vars]\nx = \"2\"\n", &[])]);
    files.roots = vec![0, 1];
    load::vars::merge(&mut cx, &files, &[]);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::VarConflict]);
    assert_eq!(pos_of(&cx, &ds[0]), "b.toml:2:1");
}

#[test]
fn the_including_file_settles_a_conflict_below_it() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[
            ("root.toml", "[vars]\nx = \"0\"\n", &[1, 2]),
            ("a.toml", "[vars]\nx = \"1\"\n", &[]),
            ("b.toml", "[vars]\nx = \"2\"\n", &[]),
        ],
    );
    let merged = load::vars::merge(&mut cx, &files, &[]);
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(merged["x"].value.as_deref(), Some("0"));
}

#[test]
fn a_file_included_twice_does_not_conflict_with_itself() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[
            ("root.toml", "[checklist]\n", &[1, 2]),
            ("a.toml", "[checklist]\n", &[3]),
            ("b.toml", "[checklist]\n", &[3]),
            ("common.toml", "[vars]\nx = \"c\"\n", &[]),
        ],
    );
    let merged = load::vars::merge(&mut cx, &files, &[]);
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(merged["x"].value.as_deref(), Some("c"));
}

#[test]
fn a_cli_var_is_a_value_not_a_template() {
    let mut cx = validate();
    let files = set(&mut cx, &[("root.toml", "[vars]\nx = \"a\"\ny = \"why\"\n", &[])]);
    let mut vars = vars_for(&mut cx, &files, &[("x", "${y}")]);
    let out = expand(&mut cx, &mut vars, "[${x}]").unwrap();
    assert_eq!(out.value, "[${y}]");
    assert_eq!(cx.diags.total(), 0);
}

#[test]
fn references_expand_through_chains() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\na = \"xy\"\nb = \"${a}${a}\"\nc = \"${b}-${b}\"\nn = 5\n");
    let out = expand(&mut cx, &mut vars, "${c}/${n}/$${lit}").unwrap();
    assert_eq!(out.value, "xyxy-xyxy/5/${lit}");
    assert_eq!(out.shown, out.value);
    assert!(!out.incomplete && out.secrets.is_empty());
    assert_eq!(cx.diags.total(), 0);
}

#[test]
fn resolution_is_memoised_so_a_failing_var_is_reported_once() {
    let name = "GOLIVE_LOADER_UNIT_TEST_UNSET_MEMO_7F3A";
    let mut cx = run();
    let mut vars = vars_from(&mut cx, &format!("[vars]\na = \"${{env:{name}}}\"\nb = \"<${{a}}>\"\n"));
    assert!(expand(&mut cx, &mut vars, "${a}").is_none());
    assert!(expand(&mut cx, &mut vars, "x${a}").is_none());
    assert!(expand(&mut cx, &mut vars, "${b}").is_none());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::EnvNotSet]);
    assert_eq!(ds[0].level, Level::Error);
    assert_eq!(pos_of(&cx, &ds[0]), "vars.toml:2:1");
}

#[test]
fn environment_values_are_secrets() {
    let name = "GOLIVE_LOADER_UNIT_TEST_SECRET_51C2";
    let secret = "s3cr3t-t0ken-51c2";
    // SAFETY: no other test reads or writes this variable.
    unsafe { std::env::set_var(name, secret) };
    let mut cx = run();
    let mut vars = vars_from(&mut cx, &format!("[vars]\ntoken = \"${{env:{name}}}\"\n"));
    let out = expand(&mut cx, &mut vars, "Bearer ${token}").unwrap();
    assert_eq!(out.value, format!("Bearer {secret}"));
    assert_eq!(out.shown, format!("Bearer ${{env:{name}}}"));
    assert_eq!(out.secrets, [secret]);
    assert_eq!(cx.redactor.redact(&format!("server said {secret}!")), "server said ***!");
    assert_eq!(cx.diags.total(), 0);
}

#[test]
fn a_cycle_is_reported_once() {
    let mut cx = run();
    let mut vars = vars_from(&mut cx, "[vars]\na = \"${b}\"\nb = \"x${a}\"\n");
    assert!(expand(&mut cx, &mut vars, "${a}").is_none());
    assert!(expand(&mut cx, &mut vars, "${b}").is_none());
    assert!(expand(&mut cx, &mut vars, "${a}${b}").is_none());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue]);
    assert_eq!(ds[0].message, "vars refer to each other in a cycle: a → b → a");
    assert_eq!(pos_of(&cx, &ds[0]), "vars.toml:3:1");
}

#[test]
fn a_value_may_not_expand_past_one_mib() {
    let quarter = "x".repeat(300_000);
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, &format!("[vars]\na = \"{quarter}\"\nb = \"${{a}}${{a}}${{a}}${{a}}\"\n"));
    assert!(expand(&mut cx, &mut vars, "${b}").is_none());
    assert!(expand(&mut cx, &mut vars, "${b}").is_none(), "memoised: reported once");
    let ok = expand(&mut cx, &mut vars, "${a}${a}${a}").unwrap();
    assert_eq!(ok.value.len(), 900_000);
    assert!(ok.value.len() < MAX_VALUE_BYTES);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::Limit]);
    assert_eq!(ds[0].message, "this value expands to more than 1 MiB");
    assert_eq!(pos_of(&cx, &ds[0]), "vars.toml:3:1");
}

#[test]
fn validate_warns_once_about_an_unset_environment_variable() {
    let name = "GOLIVE_LOADER_UNIT_TEST_UNSET_WARN_9B11";
    let mut cx = validate();
    let mut vars = no_vars();
    let one = expand(&mut cx, &mut vars, &format!("a${{env:{name}}}")).unwrap();
    let two = expand(&mut cx, &mut vars, &format!("b${{env:{name}}}")).unwrap();
    assert_eq!(one.value, "a");
    assert_eq!(one.shown, format!("a${{env:{name}}}"));
    assert!(one.incomplete && two.incomplete);
    assert!(!cx.diags.has_errors());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::EnvNotSet]);
    assert_eq!(ds[0].level, Level::Warning);
}

#[test]
fn a_valueless_var_warns_once_in_validate_and_is_an_error_in_run() {
    let text = "[vars]\nhost = { description = \"the host\" }\n";
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, text);
    let one = expand(&mut cx, &mut vars, "${host}").unwrap();
    let two = expand(&mut cx, &mut vars, "ssh://${host}:22").unwrap();
    assert_eq!(one.shown, "${host}");
    assert_eq!(two.shown, "ssh://${host}:22");
    assert_eq!(two.value, "ssh://:22");
    assert!(two.incomplete);
    assert!(!cx.diags.has_errors());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::VarMissing]);
    assert_eq!(ds[0].level, Level::Warning);
    assert_eq!(ds[0].message, "var `host` has no value");
    assert_eq!(pos(&cx, &ds[0].related[0].0), "vars.toml:2:1");

    let mut cx = run();
    let mut vars = vars_from(&mut cx, text);
    assert!(expand(&mut cx, &mut vars, "${host}").is_none());
    assert!(cx.diags.has_errors());
    assert_eq!(codes(&take(&mut cx)), [Code::VarMissing]);
}

#[test]
fn an_unknown_reference_suggests_a_declared_name() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\nhostname = \"db\"\n");
    assert!(expand(&mut cx, &mut vars, "${hostnme}").is_none());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownVar]);
    assert_eq!(ds[0].hint.as_deref(), Some("did you mean `hostname`?"));
    assert_eq!(pos_of(&cx, &ds[0]), "ref.toml:1:5");
}

#[test]
fn a_malformed_template_is_invalid() {
    let mut cx = validate();
    let mut vars = no_vars();
    assert!(expand(&mut cx, &mut vars, "${unclosed").is_none());
    assert!(expand(&mut cx, &mut vars, "${a b}").is_none());
    assert_eq!(codes(&take(&mut cx)), [Code::InvalidValue, Code::InvalidValue]);
}

#[test]
fn cli_names_must_be_declared() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\nhostname = \"db\"\n");
    vars.declare(["from_check"]);
    let cli = [("hostnme".to_string(), "x".to_string()), ("from_check".to_string(), "y".to_string())];
    vars.check_cli_names(&mut cx, &cli);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownVar]);
    assert!(ds[0].message.starts_with("--var hostnme=…"), "{}", ds[0].message);
    assert!(ds[0].hint.as_deref().unwrap().starts_with("did you mean `hostname`?"));
    let mut declared: Vec<&String> = vars.declared().collect();
    declared.sort();
    assert_eq!(declared, ["from_check", "hostname"]);
}

#[test]
fn var_definitions_report_bad_shapes() {
    let mut cx = validate();
    let files = set(
        &mut cx,
        &[("vars.toml", "[vars]\na = [1]\nb = { descripton = \"x\" }\nc = { default = [] }\nd = true\n", &[])],
    );
    let merged = load::vars::merge(&mut cx, &files, &[]);
    assert_eq!(merged["d"].value.as_deref(), Some("true"));
    assert_eq!(merged["a"].value, None);
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue, Code::UnknownKey, Code::InvalidValue]);
    assert_eq!(ds[1].hint.as_deref(), Some("did you mean `description`?"));
}
