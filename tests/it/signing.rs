//! Signed reports as release managers, approvers and auditors use them: keygen, sign for
//! each role, verify against a keyring; every kind of tampering fails with a clear message;
//! an independent verifier (Python's securesystemslib DSSE) and OpenSSL accept golive's
//! envelopes.

use crate::support as common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Workdir, stderr, stdout};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub(crate) const ROLES: [(&str, &str, &str); 3] = [
    ("Technical Lead", "Ann Lee", "ann"),
    ("Operations Lead", "Bob Ops", "bob"),
    ("Security Lead", "Cleo Sec", "cleo"),
];

fn checklist(pass: bool) -> String {
    format!(
        r#"[checklist]
name = "payments-api go-live"
version = "2.1.0"

[[item]]
id = "app.ready"
probe = "command"
argv = ["{}"]

[signoff]
roles = ["Technical Lead", "Operations Lead", "Security Lead"]
"#,
        if pass { "true" } else { "false" }
    )
}

/// A directory with a passing run's report, keys for every role and a keyring.
pub(crate) fn setup() -> Workdir {
    let w = Workdir::new();
    w.write("golive.toml", &checklist(true));
    let out = w.run_blocking(&["run", "-o", "json=report.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::create_dir_all(w.path("keys")).unwrap();
    let mut keyring = String::from("[roles]\n");
    for (role, _, file) in ROLES {
        let out = w.run_blocking(&["keygen", "--out", &format!("keys/{file}")], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        keyring.push_str(&format!("{role:?} = [\"keys/{file}.pub\"]\n"));
    }
    w.write("keyring.toml", &keyring);
    w
}

pub(crate) fn sign_all(w: &Workdir, report: &str, extra: &[&str]) {
    for (role, name, file) in ROLES {
        let key = format!("keys/{file}.key");
        let mut args = vec!["sign", report, "--role", role, "--name", name, "--key", &key];
        args.extend_from_slice(extra);
        let out = w.run_blocking(&args, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}

pub(crate) fn verify(w: &Workdir, signed: &str) -> Output {
    w.run_blocking(&["verify", signed, "--keys", "keyring.toml"], &[])
}

pub(crate) fn python_verify(w: &Workdir, signed: &str) -> Output {
    let script = format!("{}/scripts/verify_signed_report.py", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(script)
        .args([signed, "keyring.toml"])
        .current_dir(w.dir.path())
        .output()
        .expect("python3 runs (./scripts/test.sh installs it)");
    assert!(
        !stderr(&out).contains("ModuleNotFoundError"),
        "securesystemslib is missing: run ./scripts/test.sh, which installs it\n{}",
        stderr(&out)
    );
    out
}

pub(crate) fn read(w: &Workdir, name: &str) -> Value {
    serde_json::from_str(&w.read(name)).unwrap()
}

pub(crate) fn decode(envelope: &Value) -> Vec<u8> {
    STANDARD.decode(envelope["payload"].as_str().unwrap()).unwrap()
}

#[test]
fn keygen_writes_a_private_key_only_its_owner_reads_and_prints_the_key_id() {
    let w = Workdir::new();
    let out = w.run_blocking(&["keygen", "--out", "ann"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let mode = std::fs::metadata(w.path("ann.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(w.read("ann.key").starts_with("-----BEGIN PRIVATE KEY-----\n"));
    let public = w.read("ann.pub");
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    // The key id is the sha256 of the DER SubjectPublicKeyInfo.
    let der = STANDARD.decode(public.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap();
    let keyid = hex::encode(Sha256::digest(&der));
    assert!(stdout(&out).contains(&format!("key id:      {keyid}")), "{}", stdout(&out));
    assert!(stdout(&out).contains(&public));
    // OpenSSL reads both keys as Ed25519.
    let text = Command::new("openssl")
        .args(["pkey", "-in", "ann.key", "-noout", "-text"])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(stdout(&text).contains("ED25519 Private-Key"), "{}", stderr(&text));
    // Never overwrites a key.
    let again = w.run_blocking(&["keygen", "--out", "ann"], &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("never overwrites"));
}

#[test]
fn every_role_signs_one_report_and_everyone_verifies_it() {
    let w = setup();
    let artifact = hex::encode(Sha256::digest(b"release tarball"));
    let first = w.run_blocking(
        &[
            "sign",
            "report.json",
            "--role",
            "Technical Lead",
            "--name",
            "Ann Lee",
            "--key",
            "keys/ann.key",
            "--subject",
            &format!("app-2.1.0.tar.gz=sha256:{artifact}"),
        ],
        &[],
    );
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stdout(&first).contains("report.signed.json: 1 sign-off; waiting for: Operations Lead, Security Lead"));
    let payload_before = read(&w, "report.signed.json")["report"]["payload"].clone();
    // Not yet complete.
    let out = verify(&w, "report.signed.json");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("role \"Operations Lead\" has not signed"), "{}", stdout(&out));

    // The next approvers extend the signed file (passing it, or the JSON report again).
    let out = w.run_blocking(
        &["sign", "report.signed.json", "--role", "Operations Lead", "--name", "Bob Ops", "--key", "keys/bob.key"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = w.run_blocking(
        &["sign", "report.json", "--role", "Security Lead", "--name", "Cleo Sec", "--key", "keys/cleo.key"],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let signed = read(&w, "report.signed.json");
    assert_eq!(signed["schema"], "golive.signed-report/v1");
    assert_eq!(signed["report"]["payload"], payload_before, "the report envelope never changes");
    assert_eq!(signed["report"]["signatures"].as_array().unwrap().len(), 3);
    assert_eq!(signed["signoffs"].as_array().unwrap().len(), 3);
    assert_eq!(signed["report"]["payloadType"], "application/vnd.in-toto+json");
    let statement: Value = serde_json::from_slice(&decode(&signed["report"])).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], "https://golive.example/predicate/report/v1");
    assert_eq!(statement["predicate"], read(&w, "report.json"), "the predicate is the JSON report");
    let checklist_sha = hex::encode(Sha256::digest(w.read("golive.toml").as_bytes()));
    assert_eq!(
        statement["subject"][0],
        serde_json::json!({"name": "golive.toml", "digest": {"sha256": checklist_sha}})
    );
    assert_eq!(statement["subject"][1]["name"], "app-2.1.0.tar.gz");
    let signoff: Value = serde_json::from_slice(&decode(&signed["signoffs"][1])).unwrap();
    assert_eq!(signoff["predicateType"], "https://golive.example/predicate/signoff/v1");
    assert_eq!(signoff["subject"][0]["digest"]["sha256"], hex::encode(Sha256::digest(decode(&signed["report"]))));
    assert_eq!(signoff["predicate"]["role"], "Operations Lead");
    assert_eq!(signoff["predicate"]["name"], "Bob Ops");
    assert_eq!(signoff["predicate"]["acknowledged_failed_gate"], false);

    let out = verify(&w, "report.signed.json");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = stdout(&out);
    for expected in [
        "Report: payments-api go-live 2.1.0, run ",
        "Gate: PASSED (fail-on high)",
        &format!("app-2.1.0.tar.gz  sha256:{artifact}"),
        "✓ Technical Lead: Ann Lee, ",
        "✓ Security Lead: Cleo Sec, ",
        "VERIFIED: every signature verifies and every required role signed",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }

    // The independent verifier agrees.
    let py = python_verify(&w, "report.signed.json");
    assert_eq!(py.status.code(), Some(0), "{}{}", stdout(&py), stderr(&py));
    assert!(stdout(&py).contains("VERIFIED"));

    // And plain OpenSSL verifies a signature over DSSE's PAE.
    let payload = decode(&signed["report"]);
    let mut pae = format!("DSSEv1 28 application/vnd.in-toto+json {} ", payload.len()).into_bytes();
    pae.extend_from_slice(&payload);
    std::fs::write(w.path("pae.bin"), &pae).unwrap();
    std::fs::write(
        w.path("sig.bin"),
        STANDARD.decode(signed["report"]["signatures"][1]["sig"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let ossl = Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "keys/bob.pub",
            "-rawin",
            "-in",
            "pae.bin",
            "-sigfile",
            "sig.bin",
        ])
        .current_dir(w.dir.path())
        .output()
        .unwrap();
    assert!(stdout(&ossl).contains("Signature Verified Successfully"), "{}{}", stdout(&ossl), stderr(&ossl));
}

#[test]
fn a_failed_gate_is_signed_only_with_an_acknowledgement() {
    let w = setup();
    w.write("golive.toml", &checklist(false));
    let out = w.run_blocking(&["run", "-o", "json=failed.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let out = w.run_blocking(
        &["sign", "failed.json", "--role", "Technical Lead", "--name", "Ann", "--key", "keys/ann.key"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "the report's gate FAILED (1 blocking: app.ready); to sign anyway, add --acknowledge-failed-gate"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!w.path("failed.signed.json").exists());
    sign_all(&w, "failed.json", &["--acknowledge-failed-gate"]);
    let out = verify(&w, "failed.signed.json");
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).contains("Gate: FAILED (fail-on high): 1 blocking: app.ready"));
    assert!(stdout(&out).contains("(acknowledged the failed gate)"));
    let strict =
        w.run_blocking(&["verify", "failed.signed.json", "--keys", "keyring.toml", "--require-passed-gate"], &[]);
    assert_eq!(strict.status.code(), Some(1));
    let signoff: Value = serde_json::from_slice(&decode(&read(&w, "failed.signed.json")["signoffs"][0])).unwrap();
    assert_eq!(signoff["predicate"]["acknowledged_failed_gate"], true);
}

#[test]
fn sign_refuses_wrong_roles_second_signatures_and_changed_subjects() {
    let w = setup();
    let out = w.run_blocking(&["sign", "report.json", "--role", "CEO", "--name", "X", "--key", "keys/ann.key"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("no sign-off role \"CEO\"; its roles are: Technical Lead, Operations Lead, Security Lead")
    );
    sign_all(&w, "report.json", &[]);
    let out = w.run_blocking(
        &["sign", "report.signed.json", "--role", "Technical Lead", "--name", "Y", "--key", "keys/bob.key"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"Technical Lead\" has already signed (Ann Lee at "), "{}", stderr(&out));
    // Another run's report cannot be signed into this file.
    let out = w.run_blocking(&["run", "-o", "json=report2.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let out = w.run_blocking(
        &[
            "sign",
            "report2.json",
            "--out",
            "report.signed.json",
            "--role",
            "Security Lead",
            "--name",
            "Z",
            "--key",
            "keys/cleo.key",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("holds a signed report of another run"), "{}", stderr(&out));
}

/// Rewrites the signed file with `change` applied and expects both verifiers to refuse it.
fn assert_tampering_fails(w: &Workdir, what: &str, expected: &str, change: impl FnOnce(&mut Value)) {
    let mut signed = read(w, "good.signed.json");
    change(&mut signed);
    w.write("bad.signed.json", &serde_json::to_string_pretty(&signed).unwrap());
    let out = verify(w, "bad.signed.json");
    assert_eq!(out.status.code(), Some(1), "{what}: golive verify accepted it:\n{}", stdout(&out));
    assert!(stdout(&out).contains("NOT VERIFIED"), "{what}");
    assert!(stdout(&out).contains(expected), "{what}: missing {expected:?} in:\n{}", stdout(&out));
}

fn set_payload(envelope: &mut Value, bytes: &[u8]) {
    envelope["payload"] = Value::String(STANDARD.encode(bytes));
}

#[test]
fn any_change_to_a_signed_report_fails_verification() {
    let w = setup();
    sign_all(&w, "report.json", &[]);
    std::fs::rename(w.path("report.signed.json"), w.path("good.signed.json")).unwrap();
    assert_eq!(verify(&w, "good.signed.json").status.code(), Some(0));
    let good = read(&w, "good.signed.json");
    let payload = decode(&good["report"]);

    // A flipped bit anywhere in the report payload.
    for i in (0..payload.len()).step_by(payload.len() / 12) {
        assert_tampering_fails(&w, &format!("payload byte {i}"), "does not verify with that key of the keyring", |s| {
            let mut p = payload.clone();
            p[i] ^= 0x01;
            set_payload(&mut s["report"], &p);
        });
    }
    // A plausible edit: the gate verdict flipped inside the predicate.
    assert_tampering_fails(&w, "gate edited", "does not verify", |s| {
        let text = String::from_utf8(payload.clone()).unwrap().replace("\"passed\":true", "\"passed\":false");
        set_payload(&mut s["report"], text.as_bytes());
    });
    // A flipped bit in each signature of the report envelope and of a sign-off.
    for (k, sig) in good["report"]["signatures"].as_array().unwrap().iter().enumerate() {
        let mut bytes = STANDARD.decode(sig["sig"].as_str().unwrap()).unwrap();
        bytes[k * 20] ^= 0x80;
        assert_tampering_fails(&w, &format!("report signature {k}"), &format!("signature {} (key ", k + 1), |s| {
            s["report"]["signatures"][k]["sig"] = Value::String(STANDARD.encode(&bytes));
        });
    }
    assert_tampering_fails(&w, "sign-off signature", "sign-off 2 (Operations Lead: Bob Ops): signature 1", |s| {
        let mut bytes = STANDARD.decode(s["signoffs"][1]["signatures"][0]["sig"].as_str().unwrap()).unwrap();
        bytes[63] ^= 0x01;
        s["signoffs"][1]["signatures"][0]["sig"] = Value::String(STANDARD.encode(&bytes));
    });
    // A sign-off whose role or name was changed.
    assert_tampering_fails(&w, "sign-off role changed", "role \"Security Lead\" has not signed", |s| {
        let text = String::from_utf8(decode(&s["signoffs"][2])).unwrap().replace("Security Lead", "Technical Lead");
        set_payload(&mut s["signoffs"][2], text.as_bytes());
    });
    // The payload type is covered by the signature too.
    assert_tampering_fails(&w, "payloadType", "payloadType is \"application/json\"", |s| {
        s["report"]["payloadType"] = Value::String("application/json".into());
    });
    // A removed signature or sign-off.
    assert_tampering_fails(&w, "sign-off removed", "role \"Operations Lead\" has not signed", |s| {
        s["signoffs"].as_array_mut().unwrap().remove(1);
    });
    assert_tampering_fails(&w, "report signature removed", "the signer's key", |s| {
        s["report"]["signatures"].as_array_mut().unwrap().remove(0);
    });
    assert_tampering_fails(&w, "no signatures", "the report envelope has no signature", |s| {
        s["report"]["signatures"] = serde_json::json!([]);
    });
    assert_tampering_fails(&w, "garbage signature", "not valid base64", |s| {
        s["report"]["signatures"][0]["sig"] = Value::String("!!!".into());
    });

    // The key id names the key that must verify the signature (docs/signing.md): another
    // keyring key's id, or an unknown one, fails, with golive as with securesystemslib.
    assert_tampering_fails(&w, "keyid of another key", "signatures 1 and 2 both name key id", |s| {
        s["report"]["signatures"][0]["keyid"] = s["report"]["signatures"][1]["keyid"].clone();
    });
    assert_tampering_fails(&w, "unknown keyid", "names key id 0000, which is not a key of the keyring", |s| {
        s["signoffs"][0]["signatures"][0]["keyid"] = Value::String("0000".into());
    });
    let mut renamed = good.clone();
    renamed["signoffs"][0]["signatures"][0]["keyid"] = renamed["signoffs"][1]["signatures"][0]["keyid"].clone();
    w.write("renamed.signed.json", &serde_json::to_string(&renamed).unwrap());
    assert_eq!(verify(&w, "renamed.signed.json").status.code(), Some(1));
    assert_eq!(python_verify(&w, "renamed.signed.json").status.code(), Some(1));
    // A field the format does not have is refused, not ignored.
    assert_tampering_fails(&w, "unknown field", "the signed report is malformed", |s| {
        s["note"] = Value::String("trust me".into());
    });

    // A sign-off taken from another report (same people, same keys, another run).
    let out = w.run_blocking(&["run", "-o", "json=other.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(0));
    sign_all(&w, "other.json", &[]);
    let other = read(&w, "other.signed.json");
    assert_tampering_fails(
        &w,
        "swapped sign-off",
        "sign-off 3 (Security Lead: Cleo Sec): refers to another report",
        |s| {
            s["signoffs"][2] = other["signoffs"][2].clone();
        },
    );
    // A whole report envelope swapped under the sign-offs.
    assert_tampering_fails(&w, "swapped report", "refers to another report", |s| {
        s["report"] = other["report"].clone();
    });

    // Not JSON at all.
    w.write("bad.signed.json", &w.read("good.signed.json")[..200]);
    let out = verify(&w, "bad.signed.json");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("the file is not JSON"));

    // The independent verifier refuses a changed payload too.
    let mut p = payload.clone();
    p[40] ^= 0x01;
    let mut bad = good.clone();
    set_payload(&mut bad["report"], &p);
    w.write("bad.signed.json", &serde_json::to_string(&bad).unwrap());
    let py = python_verify(&w, "bad.signed.json");
    assert_eq!(py.status.code(), Some(1), "{}{}", stdout(&py), stderr(&py));
    assert!(stdout(&py).contains("NOT VERIFIED"));
}

#[test]
fn the_keyring_decides_who_may_sign_for_a_role() {
    let w = setup();
    sign_all(&w, "report.json", &[]);
    // Bob's key given to the Technical Lead: Ann's sign-off no longer counts.
    let ring = w.read("keyring.toml").replace("keys/ann.pub", "keys/bob.pub");
    w.write("keyring.toml", &ring);
    let out = verify(&w, "report.signed.json");
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("which is not a key of the keyring"), "{text}");
    assert!(
        text.contains(
            "sign-off 1 (Technical Lead: Ann Lee): not signed by a key the keyring gives the role \"Technical Lead\""
        ),
        "{text}"
    );
    assert!(text.contains("✗ Technical Lead: Ann Lee"), "{text}");
    // Inline PEM keys work as well as paths; a role missing from the keyring is reported.
    let ann = w.read("keys/ann.pub");
    let bob = w.read("keys/bob.pub");
    w.write(
        "keyring.toml",
        &format!("[roles]\n\"Technical Lead\" = [\"\"\"{ann}\"\"\"]\n\"Operations Lead\" = [\"\"\"{bob}\"\"\"]\n"),
    );
    let out = verify(&w, "report.signed.json");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("the keyring gives the role \"Security Lead\" no key"), "{}", stdout(&out));
    // A broken keyring is a usage error.
    w.write("keyring.toml", "[roles]\nlead = [\"missing.pub\"]\n");
    let out = verify(&w, "report.signed.json");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
}
