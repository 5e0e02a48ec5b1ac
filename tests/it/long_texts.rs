//! Long observed texts (issue 15): an expectation on a large `body` is judged on the whole
//! body, but the report keeps its start, the lines the expectation looked for and how long
//! it was, not the body, in facts and in the expectation alike. A `when` reading the text
//! from another item still sees all of it. A secret that the cut splits in half shows in
//! no output.

use crate::support;

use serde_json::Value;
use support::{HttpServer, Route, Workdir, assert_outcome, fact, item, stderr};

/// What golive keeps of a long text, the line saying how long it was included
/// (`value::KEPT_TEXT_BYTES`), and the start of it (128 bytes less).
const KEPT_WITH_NOTE: usize = 4096;
const KEPT: usize = KEPT_WITH_NOTE - 128;

const SECRET: &str = "Zq9-long-body-secret-7781";

fn expectation<'a>(report: &'a Value, id: &str, fact: &str) -> &'a Value {
    item(report, id)["expectations"].as_array().unwrap().iter().find(|e| e["fact"] == fact).unwrap()
}

#[tokio::test]
async fn a_long_body_is_judged_whole_and_kept_short_in_every_output() {
    // 20,000 numbered lines (about 360 KB); the needle far past what a report keeps.
    let lines: String = (1..=20_000)
        .map(|i| if i == 15_000 { format!("<p>line {i:05} needle</p>\n") } else { format!("<p>line {i:05}</p>\n") })
        .collect();
    // One long line with the run's secret across the place where a kept text is cut.
    let one_line = format!("{}{SECRET}{}", "x".repeat(KEPT - 6), "y".repeat(100_000));
    let server =
        HttpServer::start(vec![Route::new("/lines").body(lines.clone()), Route::new("/one-line").body(one_line)]).await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            r#"[checklist]
name = "long texts"

[vars]
token = "${{env:GOLIVE_LONG_SECRET}}"

[[item]]
id = "page.found"
probe = "http"
url = "{lines}"
expect = {{ body = {{ contains = "line 15000 needle" }} }}

[[item]]
id = "page.missing"
probe = "http"
url = "{lines}"
expect = {{ body = {{ contains = "not there" }} }}

[[item]]
id = "page.secret"
probe = "http"
url = "{one_line}"
headers = {{ Authorization = "Bearer ${{token}}" }}
expect = {{ body = {{ contains = "yyyy" }} }}

[[item]]
id = "page.read"
probe = "http"
url = "{lines}"
expect = {{ status = 200 }}

[[item]]
id = "after.tail"
probe = "http"
url = "{lines}"
expect = {{ status = 200 }}
when = {{ item = "page.read", fact = "body", is = {{ contains = "line 19999" }} }}

[[item]]
id = "after.absent"
probe = "http"
url = "{lines}"
expect = {{ status = 200 }}
when = {{ item = "page.read", fact = "body", is = {{ contains = "line 99999" }} }}
"#,
            lines = server.url("/lines"),
            one_line = server.url("/one-line"),
        ),
    );
    let run = w
        .run_env(
            &[
                "run",
                "-o",
                "table",
                "-o",
                "json=report.json",
                "-o",
                "junit=junit.xml",
                "-o",
                "markdown=report.md",
                "-o",
                "html=report.html",
            ],
            &[("GOLIVE_LONG_SECRET", SECRET)],
        )
        .await;
    assert_eq!(run.status.code(), Some(1), "page.missing fails the gate: {}", stderr(&run));
    let text = w.read("report.json");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_outcome(&report, "page.found", "pass");
    assert_outcome(&report, "page.missing", "fail");
    assert_outcome(&report, "page.secret", "pass");
    // The `when` was judged on the whole body, past what the report keeps of it.
    assert_outcome(&report, "after.tail", "pass");
    assert_outcome(&report, "after.absent", "skipped");
    assert_eq!(item(&report, "after.absent")["state"], "not_applicable");

    for id in ["page.found", "page.missing", "page.read"] {
        let body = fact(&report, id, "body").as_str().unwrap_or_else(|| panic!("{id} has a body fact"));
        assert!(body.len() <= KEPT_WITH_NOTE, "{id}: {} bytes of body kept", body.len());
        assert!(lines.starts_with(body.split_once("\n…").unwrap().0), "{id} keeps the body's start: {body}");
        assert!(
            // Cut after the last whole line of 18 bytes that fits.
            body.ends_with(&format!(
                "… ({} bytes, 20000 lines in all; the first {} bytes are kept)",
                lines.len(),
                KEPT / 18 * 18 - 1
            )),
            "{id}: {}",
            &body[body.len() - 120..]
        );
    }
    // The expectation keeps the same start, and the line it found, numbered.
    let found = expectation(&report, "page.found", "body");
    assert_eq!(found["observed"], *fact(&report, "page.found", "body"));
    let excerpt = found["excerpt"].as_str().unwrap();
    assert!(excerpt.starts_with("line 15000: <p>line 15000 needle</p>"), "{excerpt}");
    // A failed one says what it looked for and how long the body was.
    let reason = item(&report, "page.missing")["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("body: expected contains \"not there\", observed:\nline 1: <p>line 00001</p>"),
        "{reason}"
    );
    assert!(reason.contains(&format!("(20000 lines, {} bytes in all)", lines.len())), "{reason}");
    // Six items against 360 KB pages: the report stays small.
    assert!(text.len() < 64 * 1024, "the JSON report is {} bytes", text.len());

    // The secret was cut in half where the text is cut: its start is masked too.
    let secret_body = fact(&report, "page.secret", "body").as_str().unwrap();
    assert!(secret_body.starts_with(&"x".repeat(KEPT - 6)), "{}", &secret_body[..80]);
    assert!(secret_body[KEPT - 6..].starts_with("***…"), "{}", &secret_body[KEPT - 20..]);
    // Every output: stdout, stderr and each file the run wrote (the reports).
    let outputs = crate::masking::everything(&w, &[("run", &run)]);
    assert!(outputs.iter().any(|(what, _)| what.ends_with("report.html")), "the reports are searched");
    // The start of the secret, and a line no expectation looked for (the whole body).
    crate::masking::assert_nowhere(&outputs, &[&SECRET[..6], "line 12345"]);
}
