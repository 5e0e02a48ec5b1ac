//! `config.<key>` facts of the `file` probe, end to end through `golive run`: a key of a
//! TOML, YAML, JSON, INI or env file written at test time passes or fails an expectation,
//! a failing one says the key, its value and its line in every output, a missing key
//! fails saying what the file has, a malformed file is an error at its line and column,
//! and a credential in a config file never reaches any output.

use crate::support::{Workdir, assert_outcome, item, stderr, stdout};

/// One item on `path` expecting `expect` (an inline TOML table's contents).
fn file_item(id: &str, path: &str, expect: &str) -> String {
    format!("[[item]]\nid = \"{id}\"\nprobe = \"file\"\npath = \"{path}\"\nexpect = {{ {expect} }}\n\n")
}

/// (format, file name, contents with `debug` switched on at `debug_line` and a pool size
/// of 10, the fact naming debug, the fact naming the pool size, debug's key as written).
const FILES: &[(&str, &str, &str, usize, &str, &str, &str)] = &[
    (
        "toml",
        "config/prod.toml",
        "name = \"api\"\n\ndebug = true\n\n[database]\npool_size = 10\n",
        3,
        "config.debug",
        "config.database.pool_size",
        "debug",
    ),
    (
        "yaml",
        "config/prod.yaml",
        "name: api\napp:\n  debug: true\ndatabase:\n  pool_size: 10\n",
        3,
        "config.app.debug",
        "config.database.pool_size",
        "app.debug",
    ),
    (
        "json",
        "config/prod.json",
        "{\n  \"name\": \"api\",\n  \"servers\": [\n    {\"debug\": true}\n  ],\n  \"database\": {\"pool_size\": 10}\n}\n",
        4,
        "config.servers.0.debug",
        "config.database.pool_size",
        "servers.0.debug",
    ),
    (
        "ini",
        "config/prod.ini",
        "; production\n[app]\nname = api\ndebug = True\n[database]\npool_size = 10\n",
        4,
        "config.app.debug",
        "config.database.pool_size",
        "app.debug",
    ),
    (
        "env",
        "deploy/.env.production",
        "# prod\nNAME=api\nexport APP_DEBUG=\"true\"\nPOOL_SIZE=10\n",
        3,
        "config.APP_DEBUG",
        "config.POOL_SIZE",
        "APP_DEBUG",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn every_format_passes_and_fails_saying_key_value_and_line() {
    let w = Workdir::new();
    let mut checklist = String::new();
    for (format, path, text, _, debug, pool, _) in FILES {
        w.write(path, text);
        checklist += &file_item(&format!("{format}-pool"), path, &format!("\"{pool}\" = 10"));
        checklist += &file_item(&format!("{format}-pool-text"), path, &format!("\"{pool}\" = \">= 5\""));
        checklist += &file_item(&format!("{format}-debug"), path, &format!("\"{debug}\" = false"));
        checklist += &file_item(&format!("{format}-debug-on"), path, &format!("\"{debug}\" = true"));
    }
    w.write("golive.toml", &checklist);
    let out = w.run(&crate::support::every_format("golive.toml")).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("r.json")).unwrap();
    let table = stdout(&out);
    let (junit, markdown, html) = (w.read("r.xml"), w.read("r.md").replace("\\_", "_"), w.read("r.html"));
    for (format, _, _, line, debug, _, key) in FILES {
        assert_outcome(&report, &format!("{format}-pool"), "pass");
        assert_outcome(&report, &format!("{format}-pool-text"), "pass");
        assert_outcome(&report, &format!("{format}-debug-on"), "pass");
        let id = format!("{format}-debug");
        assert_outcome(&report, &id, "fail");
        let failed = item(&report, &id);
        assert_eq!(failed["expectations"][0]["observed"], true, "{format}: typed as a boolean");
        let why = format!("{key} = true (line {line})");
        assert_eq!(failed["expectations"][0]["explanation"], why.as_str(), "{format}");
        assert_eq!(failed["reason"], format!("{debug}: expected == false, observed true ({why})").as_str(), "{format}");
        for (name, text) in [("table", &table), ("junit", &junit), ("markdown", &markdown), ("html", &html)] {
            assert!(text.contains(&why), "{name} says {why}:\n{text:.4000}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_key_fails_saying_the_file_has_no_such_key() {
    let w = Workdir::new();
    w.write("prod.toml", "debug = false\n[database]\npool_size = 10\n");
    w.write(
        "golive.toml",
        &(file_item("typo", "prod.toml", "\"config.database.pool_sise\" = 10")
            + &file_item("top", "prod.toml", "\"config.log_level\" = \"info\"")
            + &file_item("absent-ok", "prod.toml", "\"config.log_level\" = { present = false }")
            + &file_item("no-file", "gone.toml", "\"config.debug\" = false")),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_outcome(&report, "typo", "fail");
    let typo = item(&report, "typo");
    assert!(typo["expectations"][0]["observed"].is_null(), "the fact is absent");
    assert_eq!(
        typo["reason"],
        "config.database.pool_sise: expected == 10, but it was not observed (prod.toml has no key database.pool_sise: database (line 2) has no pool_sise (did you mean database.pool_size, line 3?))"
    );
    assert_outcome(&report, "top", "fail");
    assert!(item(&report, "top")["reason"].as_str().unwrap().ends_with("(prod.toml has no key log_level)"));
    assert_outcome(&report, "absent-ok", "pass");
    assert_outcome(&report, "no-file", "fail");
    assert!(item(&report, "no-file")["reason"].as_str().unwrap().ends_with("(gone.toml does not exist)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_or_oversized_file_is_an_error_at_its_line_and_column() {
    let w = Workdir::new();
    let cases = [
        ("toml", "bad.toml", "a = 1\nb = \n", "bad.toml:2:5: invalid TOML: "),
        ("yaml", "bad.yaml", "a: 1\nb: [1, 2\n", "bad.yaml:3:1: invalid YAML: "),
        ("json", "bad.json", "{\n  \"a\": 1,\n  \"b\": [1 2]\n}\n", "bad.json:3:11: invalid JSON: expected `,` or `]`"),
        (
            "ini",
            "bad.ini",
            "[ok]\na = 1\n[broken\n",
            "bad.ini:3:1: invalid INI: a section header without its closing `]`",
        ),
        ("env", "bad.env", "A=1\nB=\"open\n", "bad.env:2:3: invalid env: the quote \" opened here is never closed"),
    ];
    let mut checklist = String::new();
    for (format, path, text, _) in cases {
        w.write(path, text);
        checklist += &file_item(format, path, "\"config.a\" = 1");
    }
    // Well formed, but over max_read: refused whole, not read in part.
    w.write("big.toml", &format!("a = 1\npadding = \"{}\"\n", "x".repeat(4096)));
    checklist += "[[item]]\nid = \"big\"\nprobe = \"file\"\npath = \"big.toml\"\nmax_read = 1024\nexpect = { \"config.a\" = 1 }\n\n";
    // Nested deeper than any config file is: refused, where it once overflowed the stack and
    // aborted the whole run.
    let deep: String = (0..3000).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
    w.write("deep.yaml", &deep);
    checklist += &file_item("deep", "deep.yaml", "\"config.a\" = 1");
    w.write("settings.conf", "a = 1\n");
    checklist += &file_item("unknown-format", "settings.conf", "\"config.a\" = 1");
    checklist += "[[item]]\nid = \"conf-as-ini\"\nprobe = \"file\"\npath = \"settings.conf\"\nformat = \"ini\"\nexpect = { \"config.a\" = 1 }\n\n";
    w.write("golive.toml", &checklist);
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "errors block the gate");
    for (format, _, _, reason) in cases {
        assert_outcome(&report, format, "error");
        let got = item(&report, format)["reason"].as_str().unwrap();
        assert!(got.starts_with(reason), "{format}: {got}");
    }
    assert_outcome(&report, "deep", "error");
    assert!(
        item(&report, "deep")["reason"]
            .as_str()
            .unwrap()
            .starts_with("deep.yaml:129:257: invalid YAML: nested more than 128 levels deep")
    );
    assert_outcome(&report, "big", "error");
    assert!(item(&report, "big")["reason"].as_str().unwrap().contains("larger than max_read (1024 bytes)"));
    assert_outcome(&report, "unknown-format", "error");
    assert!(item(&report, "unknown-format")["reason"].as_str().unwrap().contains("set format"));
    assert_outcome(&report, "conf-as-ini", "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credential_in_a_config_file_reaches_no_output() {
    const SECRET: &str = "pl4nted-Secret-9f27c";
    let w = Workdir::new();
    w.write("prod.toml", &format!("debug = false\n[database]\nhost = \"db.internal\"\npassword = \"{SECRET}\"\n"));
    w.write("prod.yaml", &format!("stripe:\n  api_key: {SECRET}\n"));
    w.write("prod.json", &format!("{{\"credentials\": {{\"user\": \"{SECRET}\"}}}}"));
    w.write(".env", &format!("DB_PASSWORD='{SECRET}'\n"));
    w.write(
        "golive.toml",
        &(file_item("toml-key", "prod.toml", "\"config.database.password\" = \"wrong\"")
            + &file_item("toml-table", "prod.toml", "\"config.database\" = { contains = \"port\" }")
            + &file_item("toml-matches", "prod.toml", &format!("\"config.database.password\" = \"{SECRET}\""))
            + &file_item("yaml-key", "prod.yaml", "\"config.stripe.api_key\" = { length = \"< 5\" }")
            + &file_item("json-under", "prod.json", "\"config.credentials\" = { length = 0 }")
            + &file_item("env-key", ".env", "\"config.DB_PASSWORD\" = { matches = \"^x\" }")),
    );
    let out = w.run(&crate::support::every_format("golive.toml")).await;
    let report: serde_json::Value = serde_json::from_str(&w.read("r.json")).unwrap();
    // The secret was observed and matched as it is: the item that expects it passes.
    assert_outcome(&report, "toml-matches", "pass");
    for id in ["toml-key", "toml-table", "yaml-key", "json-under", "env-key"] {
        assert_outcome(&report, id, "fail");
    }
    assert_eq!(item(&report, "toml-key")["expectations"][0]["observed"], "***");
    assert_eq!(item(&report, "toml-key")["expectations"][0]["explanation"], "database.password = *** (line 4)");
    assert_eq!(
        item(&report, "toml-table")["expectations"][0]["observed"],
        serde_json::json!({ "host": "db.internal", "password": "***" }),
        "only the secret part of a table is masked"
    );
    let outputs = [
        ("table", stdout(&out) + &stderr(&out)),
        ("json", w.read("r.json")),
        ("junit", w.read("r.xml")),
        // Markdown escapes `*` and `_`.
        ("markdown", w.read("r.md").replace("\\*", "*").replace("\\_", "_")),
        ("html", w.read("r.html")),
    ];
    for (name, text) in &outputs {
        assert!(!text.contains(SECRET), "{name} shows the secret:\n{text:.4000}");
        assert!(!text.contains("pl4nted"), "{name} shows part of the secret");
        assert!(text.contains("***"), "{name} shows the mask");
        assert!(text.contains("db.internal"), "{name} still shows what is not secret");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_config_setting_check_reads_a_structured_config_file() {
    let w = Workdir::new();
    w.write("good/prod.toml", "[app]\ndebug = false\nlog_level = \"info\"\n");
    w.write("bad/prod.yaml", "app:\n  log_level: info\n  debug: true\n");
    w.write("odd/settings", "APP_DEBUG=false\n");
    let use_check = |id: &str, file: &str, setting: &str, pattern: &str, extra: &str| {
        format!(
            "[[item]]\nid = \"{id}\"\nuse = \"operations.config-setting\"\nvars = {{ env_file = \"{file}\", setting = \"{setting}\", setting_pattern = '{pattern}'{extra} }}\n\n"
        )
    };
    w.write(
        "golive.toml",
        &(use_check("toml-debug", "good/prod.toml", "app.debug", "^false$", "")
            + &use_check("toml-level", "good/prod.toml", "app.log_level", "^(info|warn)$", "")
            + &use_check("yaml-debug", "bad/prod.yaml", "app.debug", "^false$", "")
            + &use_check("no-file", "gone/prod.toml", "app.debug", "^false$", "")
            + &use_check("named-format", "odd/settings", "APP_DEBUG", "^false$", ", config_format = \"env\"")
            + &use_check("unknown-format", "odd/settings", "APP_DEBUG", "^false$", "")),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert_outcome(&report, "toml-debug", "pass");
    assert_outcome(&report, "toml-level", "pass");
    assert_outcome(&report, "named-format", "pass");
    assert_outcome(&report, "yaml-debug", "fail");
    assert_eq!(
        item(&report, "yaml-debug")["reason"],
        "config.app.debug: expected matches /^false$/, observed true (app.debug = true (line 3))"
    );
    assert_outcome(&report, "no-file", "fail");
    assert!(
        item(&report, "no-file")["reason"].as_str().unwrap().starts_with("exists: expected == true, observed false")
    );
    assert_outcome(&report, "unknown-format", "error");
    assert!(item(&report, "unknown-format")["reason"].as_str().unwrap().contains("set format"));
}
