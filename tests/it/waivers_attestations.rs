//! Waivers and attestations as a release manager uses them: a waiver turns a failure into
//! `waived` until its date and says when it has expired; `golive attest` appends to the
//! attestations file, a run reads it, and dependents of an attested manual item run.

use crate::support as common;

use common::{Workdir, assert_outcome, item, stderr, stdout};

const CHECKLIST: &str = r#"[checklist]
name = "waivers"

[[item]]
id = "infra.cdn"
title = "CDN serves assets"
probe = "command"
argv = ["false"]

[[item]]
id = "infra.old"
probe = "command"
argv = ["false"]

[[item]]
id = "infra.fine"
probe = "command"
argv = ["true"]

[[item]]
id = "infra.broken"
probe = "command"
argv = ["/nonexistent/program"]
severity = "critical"

[[item]]
id = "ops.rollback"
title = "Rollback tested"
probe = "manual"
owner = "Operations Lead"

[[item]]
id = "ops.after-rollback"
probe = "command"
argv = ["true"]
depends_on = ["ops.rollback"]

[[item]]
id = "ops.oncall"
probe = "manual"
severity = "medium"

[[waiver]]
item = "infra.cdn"
reason = "no CDN in phase 1"
approved_by = "CTO"
until = 2099-12-31

[[waiver]]
item = "infra.old"
reason = "was fine last year"
approved_by = "CTO"
until = "2020-01-01"

[[waiver]]
item = "infra.fine"
reason = "just in case"
approved_by = "CTO"
until = 2099-12-31

[[waiver]]
item = "infra.broken"
reason = "replaced next sprint"
approved_by = "Head of Ops"
until = 2099-01-31
"#;

#[tokio::test(flavor = "multi_thread")]
async fn waivers_cover_failures_until_their_date_and_expired_ones_say_so() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    let (report, out) = w
        .run_json("golive.toml", &["--skip", "ops.rollback", "--skip", "ops.after-rollback", "--skip", "ops.oncall"])
        .await;
    assert_outcome(&report, "infra.cdn", "waived");
    let cdn = item(&report, "infra.cdn");
    assert_eq!(cdn["waiver"]["status"], "applied");
    assert_eq!(cdn["waiver"]["original_outcome"], "fail");
    assert_eq!(cdn["waiver"]["approved_by"], "CTO");
    assert_eq!(cdn["waiver"]["until"], "2099-12-31");
    assert_eq!(cdn["waiver"]["source"], "golive.toml:43:1");
    assert_eq!(cdn["expectations"][0]["observed"], 1, "a waived item still shows what was observed");
    assert_eq!(cdn["blocking"], false);

    assert_outcome(&report, "infra.old", "fail");
    assert_eq!(item(&report, "infra.old")["waiver"]["status"], "expired");
    assert_eq!(item(&report, "infra.old")["blocking"], true);
    assert_eq!(item(&report, "infra.fine")["waiver"]["status"], "unused");
    assert_outcome(&report, "infra.fine", "pass");
    // An error is waived too, its reason kept.
    assert_outcome(&report, "infra.broken", "waived");
    assert_eq!(item(&report, "infra.broken")["waiver"]["original_outcome"], "error");
    assert!(item(&report, "infra.broken")["reason"].as_str().unwrap().contains("nonexistent"));

    assert_eq!(report["summary"]["waived"], 2);
    assert_eq!(report["summary"]["waivers_expired"], 1);
    assert_eq!(report["gate"]["blocking"], serde_json::json!(["infra.old"]));
    assert_eq!(out.status.code(), Some(1));

    let table = stdout(
        &w.run(&["run", "--skip", "ops.rollback", "--skip", "ops.after-rollback", "--skip", "ops.oncall"]).await,
    );
    assert!(table.contains("waiver EXPIRED on 2020-01-01, no effect"), "{table}");
    assert!(table.contains("waived (was fail): no CDN in phase 1"), "{table}");
}

#[test]
fn waivers_are_validated_with_positions() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"[[item]]
id = "infra.cdn"
probe = "command"
argv = ["true"]

[[waiver]]
item = "infra.cnd"
reason = "typo"
approved_by = "CTO"
until = 2099-12-31

[[waiver]]
item = "infra.cdn"
reason = "first"
approved_by = "CTO"
until = 2099-12-31

[[waiver]]
item = "infra.cdn"
reason = "second"
approved_by = "CTO"
until = 2099-12-31

[[waiver]]
item = "infra.cdn"
reason = "no end"
approved_by = "CTO"
expires = 2099-12-31

[[waiver]]
item = "infra.cdn"
reason = "bad date"
approved_by = "CTO"
until = "next year"
"#,
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    for expected in [
        "golive.toml:7:8: error[GL018]: waiver names unknown item `infra.cnd` (hint: did you mean `infra.cdn`?)",
        "golive.toml:19:8: error[GL019]: item `infra.cdn` has two waivers",
        "golive.toml:28:1: error[GL002]: unknown key `expires` in [[waiver]]",
        "golive.toml:24:1: error[GL004]: waiver has no `until`",
        "golive.toml:34:9: error[GL003]: `until` must be a date such as 2026-12-31, found \"next year\"",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_separate_waivers_file_named_on_the_command_line_is_a_loaded_file() {
    let w = Workdir::new();
    w.write("golive.toml", "[[item]]\nid = \"infra.cdn\"\nprobe = \"command\"\nargv = [\"false\"]\n");
    w.write(
        "waivers-2.4.toml",
        "[[waiver]]\nitem = \"infra.cdn\"\nreason = \"phase 1\"\napproved_by = \"CTO\"\nuntil = 2099-12-31\n",
    );
    let out = w.run(&["run", "golive.toml", "waivers-2.4.toml", "-o", "json=r.json", "--quiet"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("r.json")).unwrap();
    assert_outcome(&report, "infra.cdn", "waived");
    assert_eq!(item(&report, "infra.cdn")["waiver"]["source"], "waivers-2.4.toml:1:1");
    assert_eq!(report["checklist"]["files"][1]["path"], "waivers-2.4.toml");
    assert_eq!(report["checklist"]["name"], "golive", "named after the first file");
}

#[tokio::test(flavor = "multi_thread")]
async fn attest_appends_and_a_run_counts_the_item_attested() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_eq!(item(&report, "ops.rollback")["manual_status"], "pending");
    assert_eq!(item(&report, "ops.rollback")["reason"], "pending: no attestation recorded");
    assert_outcome(&report, "ops.after-rollback", "skipped");
    assert_eq!(report["checklist"]["attestations"]["path"], "golive.attestations.toml");
    assert_eq!(report["checklist"]["attestations"]["sha256"], serde_json::Value::Null);

    let out = w.run_blocking(
        &[
            "attest",
            "ops.rollback",
            "--by",
            "Dana \"Ops\" Lee",
            "--evidence",
            "https://tickets.example.com/OPS-1",
            "--note",
            "staging rolled back to 2.3.9",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("recorded: `ops.rollback` attested by Dana \"Ops\" Lee"), "{}", stdout(&out));
    let first = w.read("golive.attestations.toml");
    assert!(
        first.contains("[[attestation]]\nitem = \"ops.rollback\"\nby = 'Dana \"Ops\" Lee'")
            || first.contains("by = \"Dana \\\"Ops\\\" Lee\""),
        "{first}"
    );

    let (report, _) = w.run_json("golive.toml", &[]).await;
    let rollback = item(&report, "ops.rollback");
    assert_eq!(rollback["outcome"], "manual");
    assert_eq!(rollback["manual_status"], "attested");
    assert_eq!(rollback["attestation"]["by"], "Dana \"Ops\" Lee");
    assert_eq!(rollback["attestation"]["evidence"], "https://tickets.example.com/OPS-1");
    assert_eq!(rollback["attestation"]["note"], "staging rolled back to 2.3.9");
    assert_eq!(rollback["attestation"]["expired"], false);
    assert!(rollback["attestation"]["at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(rollback["blocking"], false);
    assert_outcome(&report, "ops.after-rollback", "pass");
    assert_eq!(report["summary"]["manual_attested"], 1);
    assert_eq!(report["summary"]["manual_pending"], 1);
    assert_eq!(report["checklist"]["attestations"]["entries"], 1);
    assert_eq!(report["checklist"]["attestations"]["sha256"].as_str().unwrap().len(), 64);

    // A second attestation is appended; the first stays byte for byte.
    let out = w.run_blocking(
        &["attest", "ops.oncall", "--by", "Sam", "--evidence", "rota in PagerDuty", "--until", "2099-01-01"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = w.read("golive.attestations.toml");
    assert!(second.starts_with(&first), "earlier entries are never rewritten");
    assert!(second[first.len()..].contains("until = 2099-01-01"), "{second}");
    let (report, out) = w.run_json("golive.toml", &["--skip", "infra.old"]).await;
    assert_eq!(item(&report, "ops.oncall")["manual_status"], "attested");
    assert_eq!(out.status.code(), Some(0), "{}", report["gate"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_attestation_leaves_the_item_pending() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    w.write(
        "golive.attestations.toml",
        "[[attestation]]\nitem = \"ops.rollback\"\nby = \"Dana\"\nat = 2019-05-01T10:00:00Z\nevidence = \"OPS-1\"\nuntil = 2019-12-31\n",
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    let rollback = item(&report, "ops.rollback");
    assert_eq!(rollback["manual_status"], "pending");
    assert_eq!(rollback["attestation"]["expired"], true);
    assert_eq!(rollback["reason"], "pending: the attestation by Dana expired on 2019-12-31");
    assert_eq!(rollback["blocking"], true);
    assert_outcome(&report, "ops.after-rollback", "skipped");
    assert_eq!(
        item(&report, "ops.after-rollback")["reason"],
        "dependency `ops.rollback` did not pass (manual: pending)"
    );
}

#[test]
fn attesting_what_is_not_a_manual_item_is_an_error_listing_the_manual_items() {
    let w = Workdir::new();
    w.write("golive.toml", CHECKLIST);
    let out = w.run_blocking(&["attest", "infra.cdn", "--by", "X", "--evidence", "Y"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "`infra.cdn` is not a manual item (only manual items are attested); manual items: ops.rollback, ops.oncall"
        ),
        "{}",
        stderr(&out)
    );
    let out = w.run_blocking(&["attest", "ops.rolback", "--by", "X", "--evidence", "Y"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no item `ops.rolback` (did you mean `ops.rollback`?)"), "{}", stderr(&out));
    let out = w.run_blocking(&["attest", "ops.rollback", "--by", "X", "--evidence", "Y", "--until", "2001-01-01"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--until 2001-01-01 is already past"), "{}", stderr(&out));
    assert!(!w.path("golive.attestations.toml").exists(), "nothing was recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_attestations_file_can_live_elsewhere_and_stale_entries_warn() {
    let w = Workdir::new();
    w.write(
        "release/golive.toml",
        "[checklist]\nattestations = \"../records/attested.toml\"\n\n[[item]]\nid = \"ops.rollback\"\nprobe = \"manual\"\n",
    );
    std::fs::create_dir_all(w.path("records")).unwrap();
    let out =
        w.run_blocking(&["attest", "ops.rollback", "--by", "A", "--evidence", "E", "-f", "release/golive.toml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(w.read("records/attested.toml").contains("item = \"ops.rollback\""));
    let (report, out) = w.run_json("release/golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(item(&report, "ops.rollback")["manual_status"], "attested");

    // --attestations overrides; an entry for an item that is no longer manual is ignored with a warning.
    w.write(
        "other.toml",
        "[[attestation]]\nitem = \"gone\"\nby = \"A\"\nat = 2026-01-01T00:00:00Z\nevidence = \"E\"\n",
    );
    let out =
        w.run_blocking(&["validate", "release/golive.toml", "--attestations", "other.toml", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("other.toml:2:8: warning[GL020]: attestation names `gone`, which is not a manual item of this checklist; it is ignored (hint: manual items: ops.rollback)"),
        "{}",
        stderr(&out)
    );
    // A broken attestations file is reported with its position, and nothing runs.
    w.write(
        "broken.toml",
        "[[attestation]]\nitem = \"ops.rollback\"\nby = \"A\"\nat = \"yesterday\"\nevidence = \"E\"\n",
    );
    let out = w.run_blocking(&["run", "release/golive.toml", "--attestations", "broken.toml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("error[GL003]"), "{}", stderr(&out));
}
