//! The HTML report in a real browser: headless Chromium loads the file offline, runs its
//! script, and the test reads the rendered DOM (verdict, counts, filters applied from the
//! address, sign-off states) and takes a screenshot.

use crate::support as common;

use std::path::Path;
use std::process::{Command, Output};

use common::{Workdir, stderr, stdout};

const CHECKLIST: &str = r#"[checklist]
name = "payments-api go-live"
version = "2.1.0"

[[item]]
id = "infra.ok"
section = "infrastructure"
title = "Passes"
probe = "command"
argv = ["true"]

[[item]]
id = "infra.bad"
section = "infrastructure"
title = "Fails <script>alert(1)</script>"
probe = "command"
argv = ["false"]
severity = "critical"
references = ["https://runbooks.example.com/infra"]

[[item]]
id = "infra.broken"
section = "infrastructure"
probe = "command"
argv = ["/nonexistent/program"]
severity = "medium"

[[item]]
id = "infra.cdn"
section = "infrastructure"
probe = "command"
argv = ["false"]

[[item]]
id = "ops.rollback"
section = "operations"
probe = "manual"

[[item]]
id = "ops.oncall"
section = "operations"
probe = "manual"
severity = "low"

[[waiver]]
item = "infra.cdn"
reason = "no CDN in phase 1"
approved_by = "CTO"
until = 2099-12-31

[signoff]
roles = ["Technical Lead", "Security Lead"]
"#;

/// Chromium, headless, offline-minded, with a fresh profile; bounded by `timeout`.
fn chromium(profile: &Path, args: &[&str]) -> Output {
    let binary = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|b| {
            Command::new("sh").args(["-c", &format!("command -v {b}")]).output().is_ok_and(|o| o.status.success())
        })
        .expect("chromium is installed (./scripts/test.sh installs it)");
    Command::new("timeout")
        .arg("120")
        .arg(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs")
}

#[test]
fn the_html_report_renders_filters_and_shows_signature_states_in_chromium() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    w.write(
        "golive.attestations.toml",
        "[[attestation]]\nitem = \"ops.rollback\"\nby = \"Dana\"\nat = 2026-01-05T09:30:00Z\nevidence = \"https://tickets.example.com/OPS-7\"\n",
    );
    let out = w.run_blocking(&["run", "-o", "json=report.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Sign for the Technical Lead only; the keyring gives the Security Lead another key.
    for name in ["ann", "sec"] {
        assert!(w.run_blocking(&["keygen", "--out", name], &[]).status.success());
    }
    let out = w.run_blocking(
        &[
            "sign",
            "report.json",
            "--role",
            "Technical Lead",
            "--name",
            "Ann Lee",
            "--key",
            "ann.key",
            "--acknowledge-failed-gate",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    w.write("keyring.toml", "[roles]\n\"Technical Lead\" = [\"ann.pub\"]\n\"Security Lead\" = [\"sec.pub\"]\n");
    let out =
        w.run_blocking(&["report", "report.signed.json", "--keys", "keyring.toml", "-o", "html=report.html"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = w.read("report.html");
    // Self-contained: nothing is loaded from anywhere.
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
    for forbidden in ["<link", " src=", "@import", "url(", "<iframe", "<img"] {
        assert!(!html.contains(forbidden), "the page would fetch something: {forbidden}");
    }
    assert!(!html.contains("<script>alert(1)"), "item text is escaped");

    let url = format!("file://{}", w.path("report.html").display());
    let dom = chromium(&w.path("profile"), &["--dump-dom", &url]);
    let dom_text = stdout(&dom);
    assert!(dom_text.contains("data-ready=\"true\""), "the script did not run: {}\n{dom_text}", stderr(&dom));
    assert!(dom_text.contains("Gate FAILED"), "{dom_text}");
    assert!(dom_text.contains(">6 of 6 items shown<"), "{dom_text}");
    assert!(dom_text.contains("data-role=\"Technical Lead\" data-state=\"verified\""), "{dom_text}");
    assert!(dom_text.contains("data-role=\"Security Lead\" data-state=\"unsigned\""), "{dom_text}");
    assert!(dom_text.contains("role \"Security Lead\" has not signed"), "{dom_text}");
    assert!(dom_text.contains("Fails &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(dom_text.contains("data-status=\"applied\""), "the waiver is listed");
    assert!(dom_text.contains("attested"), "the attestation is listed");

    // Filters: only failures and errors of critical and medium severity.
    let filtered =
        chromium(&w.path("profile2"), &["--dump-dom", &format!("{url}#outcome=fail,error&severity=critical,medium")]);
    let text = stdout(&filtered);
    assert!(text.contains(">2 of 6 items shown<"), "{text}");
    let shown: Vec<&str> = text
        .split("<tbody class=\"item\"")
        .skip(1)
        .filter(|t| !t[..t.find('>').unwrap()].contains("hidden"))
        .map(|t| {
            let start = t.find("data-id=\"").unwrap() + 9;
            &t[start..start + t[start..].find('"').unwrap()]
        })
        .collect();
    assert_eq!(shown, ["infra.bad", "infra.broken"]);
    assert!(
        text.contains("data-section=\"operations\" hidden") || text.contains("hidden=\"\" data-section=\"operations\""),
        "an empty section is hidden"
    );
    let blocking = chromium(&w.path("profile3"), &["--dump-dom", &format!("{url}#blocking=1")]);
    assert!(stdout(&blocking).contains(">1 of 6 items shown<"), "{}", stdout(&blocking));

    // A screenshot, to look at (and proof the page paints).
    let shot = w.path("report.png");
    let out = chromium(&w.path("profile4"), &[&format!("--screenshot={}", shot.display()), &url]);
    let png = std::fs::read(&shot).unwrap_or_else(|_| panic!("no screenshot: {}", stderr(&out)));
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "{} bytes", png.len());
    if let Ok(dir) = std::env::var("GOLIVE_SCREENSHOT_DIR") {
        std::fs::copy(&shot, Path::new(&dir).join("html-report.png")).unwrap();
    }
}
