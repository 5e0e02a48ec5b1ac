//! The check catalogue: items that `use` a check, override its keys, merge its
//! expectations and set its vars; teams' own catalogue directories; built-in checklists.

use crate::support as common;
use crate::support;

use common::{Workdir, assert_outcome, item, stderr, stdout};
use support::{TestPki, TlsServer};

#[tokio::test(flavor = "multi_thread")]
async fn an_item_uses_a_check_with_its_vars_and_overrides() {
    let pki = TestPki::new();
    let soon = TlsServer::with_cert(&pki.expiring_in_days(5)).await;
    let w = Workdir::new();
    let ca = pki.write_ca_file(w.dir.path()).display().to_string();
    w.write(
        "golive.toml",
        &format!(
            r#"[vars]
address = "localhost:{port}"

[[item]]
id = "api.tls"
use = "security.tls-certificate"
ca_file = "{ca}"

[[item]]
id = "api.tls-relaxed"
use = "security.tls-certificate"
vars = {{ min_days = 3 }}
ca_file = "{ca}"
severity = "low"

[[item]]
id = "api.tls-expect-override"
use = "security.tls-certificate"
ca_file = "{ca}"
expect = {{ days_remaining = ">= 1", key_type = "EC" }}
"#,
            port = soon.port()
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_outcome(&report, "api.tls", "fail");
    let tls = item(&report, "api.tls");
    let why = tls["reason"].as_str().unwrap();
    assert!(
        why.starts_with("days_remaining: expected >= 30, observed 5 (not_after: "),
        "the check's default min_days: {why}"
    );
    assert_eq!(tls["severity"], "critical", "the check's severity");
    assert_eq!(tls["section"], "security");
    assert!(tls["title"].as_str().unwrap().contains(&format!("localhost:{}", soon.port())), "{}", tls["title"]);

    let relaxed = item(&report, "api.tls-relaxed");
    assert_outcome(&report, "api.tls-relaxed", "pass");
    assert_eq!(relaxed["severity"], "low", "the item overrides the check's keys");

    let overridden = item(&report, "api.tls-expect-override");
    let facts: Vec<&str> =
        overridden["expectations"].as_array().unwrap().iter().map(|e| e["fact"].as_str().unwrap()).collect();
    assert_eq!(
        facts,
        ["chain_trusted", "hostname_valid", "days_remaining", "protocol", "key_type"],
        "merged fact by fact"
    );
    assert_outcome(&report, "api.tls-expect-override", "pass");

    // Auditors see which check definition was used.
    let files = report["checklist"]["files"].as_array().unwrap();
    let check =
        files.iter().find(|f| f["path"] == "golive:checks/security/tls-certificate.toml").expect("check file listed");
    assert_eq!(check["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn missing_and_unknown_vars_and_checks_are_clear_errors() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"[[item]]
id = "a"
use = "security.tls-certificat"

[[item]]
id = "b"
use = "security.tls-certificate"
vars = { adress = "x:443" }

[[item]]
id = "c"
use = "infrastructure.health-endpoint"
"#,
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.contains("golive.toml:3:7: error[GL021]: no check `security.tls-certificat` in the catalogue (hint: did you mean `security.tls-certificate`?"),
        "{text}"
    );
    assert!(
        text.contains(
            "error[GL002]: check `security.tls-certificate` has no var `adress` (hint: did you mean `address`?)"
        ),
        "{text}"
    );
    assert!(text.contains("warning[GL016]: check `infrastructure.health-endpoint` needs var `base_url`"), "{text}");

    w.write("run.toml", "[[item]]\nid = \"c\"\nuse = \"infrastructure.health-endpoint\"\n");
    let out = w.run_blocking(&["run", "run.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(text.contains("error[GL016]: check `infrastructure.health-endpoint` needs var `base_url`"), "{text}");
    assert!(text.contains("vars = { base_url = \"…\" }"), "{text}");
}

#[test]
fn a_team_catalogue_adds_and_replaces_checks() {
    let w = Workdir::new();
    w.write(
        "team-checks/operations/rollback-tested.toml",
        "[check]\ntitle = \"Our rollback drill is done\"\nprobe = \"manual\"\nowner = \"SRE on duty\"\nseverity = \"low\"\n",
    );
    w.write(
        "team-checks/app/version-file.toml",
        "[check]\ntitle = \"VERSION says ${version}\"\nprobe = \"file\"\npath = \"VERSION\"\nexpect = { contents = { contains = \"${version}\" } }\n[vars]\nversion = { description = \"release\" }\n",
    );
    w.write("VERSION", "2.1.0\n");
    w.write(
        "golive.toml",
        "[checklist]\nchecks = [\"team-checks\"]\n[[item]]\nuse = \"operations.rollback-tested\"\n[[item]]\nuse = \"app.version-file\"\nvars = { version = \"2.1.0\" }\n",
    );
    let out = w.run_blocking(&["run", "--output", "json=report.json"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "app.version-file", "pass");
    assert_eq!(item(&report, "app.version-file")["title"], "VERSION says 2.1.0");
    assert_eq!(
        item(&report, "operations.rollback-tested")["owner"],
        "SRE on duty",
        "the team's check replaced the shipped one"
    );

    let out = w.run_blocking(&["checks", "--dir", "team-checks"], &[]);
    assert!(stdout(&out).contains("app.version-file"), "{}", stdout(&out));
}

#[test]
fn every_shipped_check_is_a_valid_definition() {
    let out = Workdir::new().run_blocking(&["checks"], &[]);
    let listing = stdout(&out);
    let ids: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|id| id.contains('.'))
        .collect();
    assert!(ids.len() >= 6, "{listing}");
    let w = Workdir::new();
    let mut toml = String::new();
    for id in &ids {
        toml.push_str(&format!("[[item]]\nuse = \"{id}\"\n"));
    }
    w.write("all.toml", &toml);
    // Vars without values are warnings while validating; anything else is an error.
    let out = w.run_blocking(&["validate", "--format", "short", "all.toml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for id in ids {
        let shown = Workdir::new().run_blocking(&["checks", id], &[]);
        assert!(stdout(&shown).contains(&format!("id = \"{id}\"")), "{id}: {}", stdout(&shown));
    }
}

#[test]
fn built_in_checklists_can_be_included() {
    let w = Workdir::new();
    w.write("golive.toml", "[checklist]\nname = \"mine\"\ninclude = [\"golive:quickstart\"]\n");
    let out = w.run_blocking(&["list"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("host.cpu"), "{}", stdout(&out));
    w.write("bad.toml", "[checklist]\ninclude = [\"golive:nope\"]\n");
    let out = w.run_blocking(&["validate", "bad.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("golive has no built-in checklist `nope`; built in: "), "{}", stderr(&out));
}
