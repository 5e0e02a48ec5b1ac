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

/// A `{ command = [...] }` var in `run`: the program's stdout (one trailing newline removed)
/// is the value and a secret, shown as the reference; it runs once however often it is used.
#[test]
fn a_command_var_runs_once_and_its_output_is_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("runs");
    let text = format!(
        "[vars]\ntoken = {{ command = [\"sh\", \"-c\", \"echo run >> {}; echo tok-91d2\"] }}\n",
        counter.display()
    );
    let mut cx = run();
    let mut vars = vars_from(&mut cx, &text);
    let one = expand(&mut cx, &mut vars, "Bearer ${token}").unwrap();
    let two = expand(&mut cx, &mut vars, "${token}").unwrap();
    assert_eq!(one.value, "Bearer tok-91d2");
    assert_eq!(one.shown, "Bearer ${token}");
    assert_eq!(two.value, "tok-91d2");
    assert_eq!(one.secrets, ["tok-91d2"]);
    assert_eq!(cx.redactor.redact("saw tok-91d2"), "saw ***");
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "run\n", "memoised: the program ran once");
    assert_eq!(cx.diags.total(), 0);
}

/// `validate` (and `list`) never run a secret command: the var stays unexpanded, silently.
#[test]
fn validate_never_runs_a_command_var() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let text = format!("[vars]\ntoken = {{ command = [\"touch\", \"{}\"] }}\n", marker.display());
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, &text);
    let out = expand(&mut cx, &mut vars, "x${token}").unwrap();
    assert!(out.incomplete);
    assert_eq!(out.shown, "x${token}");
    assert_eq!(out.value, "x");
    assert!(!marker.exists(), "validate ran the command");
    assert_eq!(cx.diags.total(), 0);
}

/// The program gets the base environment and its `pass_env` only; its arguments are
/// templates; it fails with the reason (stderr's first line, secrets masked) at the var.
#[test]
fn a_command_var_sees_only_its_pass_env_and_fails_with_the_reason() {
    let passed = "GOLIVE_LOADER_UNIT_TEST_CMD_PASSED_2B7E";
    let kept = "GOLIVE_LOADER_UNIT_TEST_CMD_KEPT_2B7E";
    // SAFETY: no other test reads or writes these variables.
    unsafe {
        std::env::set_var(passed, "vault-token-2b7e");
        std::env::set_var(kept, "not-for-the-command");
    }
    // `$${…}` is a literal `${…}` for the shell; `${path}` is a golive var.
    let text = format!(
        "[vars]\npath = \"secret/db\"\nok = {{ command = [\"sh\", \"-c\", \"echo ${{path}}:$${{{passed}:-none}}:$${{{kept}:-none}}\"], pass_env = [\"{passed}\"] }}\nbad = {{ command = [\"sh\", \"-c\", \"echo denied for ${passed} >&2; exit 3\"], pass_env = [\"GOLIVE_LOADER_UNIT_TEST_CMD_PASSED_*\"] }}\nempty = {{ command = [\"true\"] }}\n"
    );
    let mut cx = run();
    let mut vars = vars_from(&mut cx, &text);
    let ok = expand(&mut cx, &mut vars, "${ok}").unwrap();
    assert_eq!(ok.value, "secret/db:vault-token-2b7e:none");
    assert_eq!(cx.diags.total(), 0);
    // (A timeout is tested by the integration tests: in this binary, an engine test ending
    // every process group golive started would race with a program left to time out.)
    for name in ["bad", "empty"] {
        assert!(expand(&mut cx, &mut vars, &format!("${{{name}}}")).is_none(), "{name}");
    }
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::EnvNotSet, Code::EnvNotSet]);
    assert_eq!(ds[0].message, "var `bad`: its command `sh`: exited with status 3: denied for ***");
    assert_eq!(pos_of(&cx, &ds[0]), "vars.toml:4:1");
    assert_eq!(ds[1].message, "var `empty`: its command `true`: printed nothing");
}

#[test]
fn a_command_var_is_checked_where_it_is_written() {
    let text = "[vars]\na = { command = [\"op\", \"read\", \"op://x\"], default = \"y\" }\nb = { pass_env = [\"X\"] }\nc = { command = [] }\nd = { command = [\"op\"], pass_env = [\"9X\"] }\ne = { command = [\"op\"], timeout = \"soon\" }\n";
    let mut cx = validate();
    let root = doc(&mut cx, "vars.toml", text);
    let table = root.get("vars").and_then(|v| v.as_table()).unwrap();
    let defs = load::vars::var_defs(&mut cx, root.file, table);
    assert_eq!(defs.len(), 5);
    let ds = take(&mut cx);
    let at: Vec<String> = ds.iter().map(|d| format!("{} {}", pos_of(&cx, d), d.message)).collect();
    assert_eq!(ds.len(), 5, "{at:#?}");
    assert!(at[0].starts_with("vars.toml:2:") && at[0].contains("both `command` and `default`"), "{at:#?}");
    assert!(at[1].starts_with("vars.toml:3:") && at[1].contains("only applies to a var with a `command`"), "{at:#?}");
    assert!(at[2].starts_with("vars.toml:4:") && at[2].contains("command"), "{at:#?}");
    assert!(at[3].starts_with("vars.toml:5:") && at[3].contains("\"9X\""), "{at:#?}");
    assert!(at[4].starts_with("vars.toml:6:") && at[4].contains("timeout"), "{at:#?}");
}
