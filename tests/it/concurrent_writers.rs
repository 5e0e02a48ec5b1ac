//! Writers of the same file at the same moment lose nothing: 20 `golive attest` on one
//! attestations file and 20 `golive sign` on one report, all started together, leave every
//! attestation and every sign-off in the file (each writer locks the file's directory from
//! reading the file to replacing it, and replaces it in one rename).

use crate::support as common;

use std::process::Child;

use common::{Workdir, stderr, stdout};

const WRITERS: usize = 20;

/// Starts every command before waiting for any.
fn all_at_once(w: &Workdir, commands: Vec<Vec<String>>) -> Vec<std::process::Output> {
    let children: Vec<Child> = commands
        .iter()
        .map(|args| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            w.command(&args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("golive starts")
        })
        .collect();
    children.into_iter().map(|c| c.wait_with_output().expect("golive ends")).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_attests_all_end_up_in_the_attestations_file() {
    let w = Workdir::new();
    let mut checklist = String::from("[checklist]\nname = \"many approvers\"\n");
    for i in 0..WRITERS {
        checklist.push_str(&format!("\n[[item]]\nid = \"ops.m{i}\"\nprobe = \"manual\"\nowner = \"Ops\"\n"));
    }
    w.write("golive.toml", &checklist);
    let commands = (0..WRITERS)
        .map(|i| {
            ["attest", &format!("ops.m{i}"), "--by", &format!("Approver {i}"), "--evidence", &format!("TICKET-{i}")]
                .map(String::from)
                .to_vec()
        })
        .collect();
    for out in all_at_once(&w, commands) {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let text = w.read("golive.attestations.toml");
    assert_eq!(text.matches("[[attestation]]").count(), WRITERS, "{text}");
    assert_eq!(text.matches("# Attestations of manual items").count(), 1, "one header: {text}");
    for i in 0..WRITERS {
        assert!(text.contains(&format!("evidence = \"TICKET-{i}\"")), "TICKET-{i} lost:\n{text}");
    }
    // A run reads them all.
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_eq!(report["summary"]["manual_attested"], WRITERS, "{}", report["summary"]);
    let names: Vec<String> =
        std::fs::read_dir(w.dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
    assert!(!names.iter().any(|n| n.contains("golive-tmp")), "{names:?}");
}

#[test]
fn twenty_concurrent_signs_all_end_up_in_the_signed_report() {
    let w = Workdir::new();
    let roles: Vec<String> = (0..WRITERS).map(|i| format!("Role {i}")).collect();
    let quoted: Vec<String> = roles.iter().map(|r| format!("{r:?}")).collect();
    w.write(
        "golive.toml",
        &format!(
            "[checklist]\nname = \"many signers\"\n\n[[item]]\nid = \"a\"\nprobe = \"command\"\nargv = [\"true\"]\n\n[signoff]\nroles = [{}]\n",
            quoted.join(", ")
        ),
    );
    let out = w.run_blocking(&["run", "-o", "json=report.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut keyring = String::from("[roles]\n");
    for (i, role) in roles.iter().enumerate() {
        let out = w.run_blocking(&["keygen", "--out", &format!("k{i}")], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        keyring.push_str(&format!("{role:?} = [\"k{i}.pub\"]\n"));
    }
    w.write("keyring.toml", &keyring);
    // All start from the JSON report: the first creates report.signed.json, the others
    // must find it and extend it.
    let commands = roles
        .iter()
        .enumerate()
        .map(|(i, role)| {
            ["sign", "report.json", "--role", role, "--name", &format!("Signer {i}"), "--key", &format!("k{i}.key")]
                .map(String::from)
                .to_vec()
        })
        .collect();
    for out in all_at_once(&w, commands) {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let signed: serde_json::Value = serde_json::from_str(&w.read("report.signed.json")).unwrap();
    assert_eq!(signed["signoffs"].as_array().unwrap().len(), WRITERS);
    assert_eq!(signed["report"]["signatures"].as_array().unwrap().len(), WRITERS);
    let out = w.run_blocking(&["verify", "report.signed.json", "--keys", "keyring.toml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("VERIFIED: every signature verifies and every required role signed"));
}
