//! Unit tests of the params stage.

use super::*;
use crate::value::Value;

#[test]
fn port_lists_take_ports_ranges_and_vars() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\nextra = \"80, 443-445\"\nallowed = \"22 80\"\n");
    let (item, shown) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"p\"\nprobe = \"ports\"\nhost = \"h\"\nports = [22, \"8000-8002\", \"${extra}\"]\nallowed = [\"${allowed}\"]\n",
    )
    .unwrap();
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert_eq!(
        item.params.get("ports"),
        Some(&Value::List(vec![Value::Int(22), str_value("8000-8002"), Value::Int(80), str_value("443-445")]))
    );
    assert_eq!(item.params.get("allowed"), Some(&Value::List(vec![Value::Int(22), Value::Int(80)])));
    assert_eq!(shown.get("ports"), item.params.get("ports"));
    assert_eq!(item.params.get("concurrency"), Some(&Value::Int(100)), "a declared default");
}

#[test]
fn integer_lists_take_numbers_and_vars_and_have_their_declared_default() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\nmore = \"126, 127\"\n");
    let text = "[[item]]\nid = \"c\"\nprobe = \"command\"\nargv = [\"true\"]\nerror_exit_codes = [3, \"${more}\"]\n";
    let (item, _) = build(&mut cx, &mut vars, text).unwrap();
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    let codes = |v: &[i64]| Some(Value::List(v.iter().map(|i| Value::Int(*i)).collect()));
    assert_eq!(item.params.get("error_exit_codes").cloned(), codes(&[3, 126, 127]));
    let (item, _) =
        build(&mut cx, &mut vars, "[[item]]\nid = \"d\"\nprobe = \"command\"\nargv = [\"true\"]\n").unwrap();
    assert_eq!(item.params.get("error_exit_codes").cloned(), codes(&[126, 127]), "the declared default");
    for bad in ["[\"x\"]", "[true]", "3"] {
        let mut cx = validate();
        let text = format!("[[item]]\nid = \"c\"\nprobe = \"command\"\nargv = [\"true\"]\nerror_exit_codes = {bad}\n");
        build(&mut cx, &mut no_vars(), &text).unwrap();
        assert_eq!(of(&take(&mut cx), Code::InvalidValue).len(), 1, "{bad}");
    }
}

#[test]
fn bad_ports_are_reported_at_the_entry() {
    for (ports, at) in [
        ("[0]", "items.toml:4:10"),
        ("[22, 70000]", "items.toml:4:14"),
        ("[\"5-3\"]", "items.toml:4:10"),
        ("[\"http\"]", "items.toml:4:10"),
        ("22", "items.toml:4:9"),
    ] {
        let mut cx = validate();
        let mut vars = no_vars();
        let text = format!("[[item]]\nid = \"p\"\nprobe = \"ports\"\nports = {ports}\nhost = \"h\"\n");
        let (item, _) = build(&mut cx, &mut vars, &text).unwrap();
        assert!(item.params.get("ports").is_none(), "{ports}");
        let ds = take(&mut cx);
        assert_eq!(codes(&ds), [Code::InvalidValue], "{ports}");
        assert_eq!(pos_of(&cx, &ds[0]), at, "{ports}");
    }
}

#[test]
fn a_port_var_without_a_value_is_skipped_while_validating() {
    let mut cx = validate();
    let mut vars = vars_from(&mut cx, "[vars]\nscan = { description = \"ports\" }\n");
    let (item, _) =
        build(&mut cx, &mut vars, "[[item]]\nid = \"p\"\nprobe = \"ports\"\nhost = \"h\"\nports = [\"${scan}\", 22]\n")
            .unwrap();
    assert_eq!(item.params.get("ports"), Some(&Value::List(vec![Value::Int(22)])));
    assert_eq!(codes(&take(&mut cx)), [Code::VarMissing]);
}

#[test]
fn secret_headers_are_masked_in_the_shown_form() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, shown) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\nheaders = { Authorization = \"Bearer tok-abcdef\", Accept = \"application/json\", X-Trace = { value = \"trace-secret-1\", secret = true }, COOKIE = { value = \"sid=cookie-val\", secret = false } }\n",
    )
    .unwrap();
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    let real = item.params.map("headers");
    assert_eq!(real["Authorization"], "Bearer tok-abcdef");
    assert_eq!(real["X-Trace"], "trace-secret-1");
    let Some(Value::Map(shown)) = shown.get("headers") else { panic!("headers shown") };
    assert_eq!(shown["Authorization"], str_value("***"));
    assert_eq!(shown["X-Trace"], str_value("***"));
    assert_eq!(shown["COOKIE"], str_value("***"), "a credential header is secret whatever it says");
    assert_eq!(shown["Accept"], str_value("application/json"));
    assert_eq!(cx.redactor.redact("got Bearer tok-abcdef and trace-secret-1"), "got *** and ***");
    assert_eq!(cx.redactor.redact("application/json"), "application/json");
}

#[test]
fn a_header_table_takes_value_and_secret_only() {
    let mut cx = validate();
    let mut vars = no_vars();
    build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"h\"\nprobe = \"http\"\nurl = \"https://example.com\"\nheaders = { A = { value = \"x\", secrte = true }, B = { secret = true }, C = 1 }\n",
    )
    .unwrap();
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownKey, Code::InvalidValue, Code::InvalidValue]);
    assert_eq!(ds[0].hint.as_deref(), Some("did you mean `secret`?"));
}

#[test]
fn a_url_password_is_masked_and_given_to_the_redactor() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, shown) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"u\"\nprobe = \"http\"\nurl = \"https://deploy:p%40ss-w0rd@example.com/health\"\n",
    )
    .unwrap();
    assert_eq!(cx.diags.total(), 0, "{:?}", take(&mut cx));
    assert_eq!(item.params.str("url"), Some("https://deploy:p%40ss-w0rd@example.com/health"));
    assert_eq!(shown.get("url"), Some(&str_value("https://deploy:***@example.com/health")));
    assert_eq!(cx.redactor.redact("password p@ss-w0rd"), "password ***", "the decoded password");
    assert_eq!(cx.redactor.redact("p%40ss-w0rd"), "***", "and as written in the URL");
}

#[test]
fn an_invalid_url_is_reported() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, _) = build(&mut cx, &mut vars, "[[item]]\nid = \"u\"\nprobe = \"http\"\nurl = \"not a url\"\n").unwrap();
    assert!(item.params.get("url").is_none());
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue]);
    assert_eq!(pos_of(&cx, &ds[0]), "items.toml:4:7");
}

#[test]
fn a_choice_is_case_insensitive_and_written_as_declared() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, shown) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"c\"\nprobe = \"http\"\nurl = \"https://example.com\"\nmethod = \"hEaD\"\n",
    )
    .unwrap();
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(item.params.str("method"), Some("HEAD"));
    assert_eq!(shown.get("method"), Some(&str_value("HEAD")));

    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"d\"\nprobe = \"http\"\nurl = \"https://example.com\"\nmethod = \"FETCH\"\n",
    )
    .unwrap();
    assert_eq!(item.params.str("method"), Some("GET"), "the invalid value is not kept: the default reads through");
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue]);
    assert!(ds[0].message.contains("must be one of GET, HEAD"), "{}", ds[0].message);
    assert_eq!(pos_of(&cx, &ds[0]), "items.toml:5:10");
}

#[test]
fn the_probes_own_check_reports_at_the_parameter() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, _) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"w\"\nprobe = \"http\"\nurl = \"https://example.com\"\nmethod = \"post\"\n",
    )
    .unwrap();
    assert_eq!(item.params.str("method"), Some("POST"));
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::InvalidValue]);
    assert!(ds[0].message.starts_with("item `w`: "), "{}", ds[0].message);
    assert_eq!(pos_of(&cx, &ds[0]), "items.toml:5:10");
}

#[test]
fn declared_defaults_fill_in_and_required_ones_are_missing() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, _) =
        build(&mut cx, &mut vars, "[[item]]\nid = \"d\"\nprobe = \"http\"\nurl = \"https://example.com\"\n").unwrap();
    assert_eq!(cx.diags.total(), 0);
    assert_eq!(item.params.str("method"), Some("GET"));
    assert_eq!(item.params.get("follow_redirects"), Some(&Value::Bool(false)));
    assert_eq!(item.params.get("tls_verify"), Some(&Value::Bool(true)));
    assert_eq!(item.params.int("max_body"), Some(1_048_576));
    assert!(item.params.get("headers").is_none(), "optional, no default");

    build(&mut cx, &mut vars, "[[item]]\nid = \"e\"\nprobe = \"http\"\nzzzz = 1\n").unwrap();
    let ds = take(&mut cx);
    assert_eq!(codes(&ds), [Code::UnknownKey, Code::MissingKey]);
    assert!(ds[0].hint.as_deref().unwrap().starts_with("probe `http` takes: url, method"), "{:?}", ds[0].hint);
    assert_eq!(pos_of(&cx, &ds[0]), "items.toml:4:1");
    assert_eq!(ds[1].message, "item `e`: probe `http` needs `url`");
    assert_eq!(pos_of(&cx, &ds[1]), "items.toml:1:1");
}

#[test]
fn a_secret_parameter_is_masked() {
    let mut cx = validate();
    let mut vars = no_vars();
    let (item, shown) = build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"pg\"\nprobe = \"postgres\"\nhost = \"db\"\nuser = \"app\"\npassword = \"db-pass-123\"\n",
    )
    .unwrap();
    assert_eq!(item.params.str("password"), Some("db-pass-123"));
    assert_eq!(shown.get("password"), Some(&str_value("***")));
    assert_eq!(shown.get("user"), Some(&str_value("app")));
    assert_eq!(cx.redactor.redact("db-pass-123"), "***");
}

#[test]
fn wrong_types_are_reported() {
    let mut cx = validate();
    let mut vars = no_vars();
    build(
        &mut cx,
        &mut vars,
        "[[item]]\nid = \"t\"\nprobe = \"http\"\nurl = 1\nfollow_redirects = \"yes\"\nmax_body = \"big\"\npaths = [1]\n",
    )
    .unwrap();
    let ds = take(&mut cx);
    assert_eq!(of(&ds, Code::InvalidValue).len(), 4, "{ds:?}");
    assert_eq!(of(&ds, Code::MissingKey).len(), 0, "a wrongly typed url is not missing");
}
