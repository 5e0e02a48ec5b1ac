//! golive's verifier and the independent one (scripts/verify_signed_report.py, on
//! securesystemslib) follow one rule (docs/signing.md#what-verifies): this builds hundreds of
//! tampered variants of a signed report — changed fields, changed key ids, changed schema,
//! non-canonical base64, and payloads changed *and re-signed* with the keyring's own keys, so
//! every check behind the signatures is reached — and requires both to give every variant
//! the same verdict.

use crate::support as common;

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Workdir, stderr};
use golive::signing::dsse::Envelope;
use golive::signing::keyring::Keyring;
use golive::signing::keys::SigningKey;
use golive::signing::signed::{Signoff, payload_digest, signoff_envelope};
use golive::signing::verify::verify;
use serde_json::{Value, json};

use crate::signing::{ROLES, decode, read, setup, sign_all};

const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The variants: a name saying what was changed, and the file's bytes.
type Variants = Vec<(String, Vec<u8>)>;

fn add(variants: &mut Variants, what: impl Into<String>, file: &Value) {
    variants.push((what.into(), serde_json::to_vec_pretty(file).unwrap()));
}

/// Every way to change one JSON node: remove it, change its type, change its text.
fn node_changes(value: &Value, keyids: &[String]) -> Vec<(&'static str, Option<Value>)> {
    let mut out: Vec<(&'static str, Option<Value>)> =
        vec![("removed", None), ("null", Some(Value::Null)), ("number", Some(json!(1))), ("list", Some(json!([])))];
    match value {
        Value::String(s) => {
            out.push(("empty", Some(json!(""))));
            out.push(("appended", Some(json!(format!("{s}x")))));
            out.push(("upper-cased", Some(json!(s.to_uppercase()))));
            out.push(("object", Some(json!({ "value": s }))));
            if let Some(stripped) = s.strip_suffix('=') {
                out.push(("padding removed", Some(json!(stripped))));
            }
            out.push(("newline inside", Some(json!(format!("{}\n{}", &s[..s.len() / 2], &s[s.len() / 2..])))));
            out.push(("url-safe alphabet", Some(json!(s.replace('+', "-").replace('/', "_")))));
            for k in keyids {
                if k != s {
                    out.push(("another keyring key id", Some(json!(k))));
                }
            }
            out.push(("unknown key id", Some(json!("0".repeat(64)))));
        }
        Value::Array(items) => {
            out.push(("emptied", Some(json!([]))));
            if let Some(first) = items.first() {
                let mut doubled = items.clone();
                doubled.push(first.clone());
                out.push(("first entry repeated", Some(Value::Array(doubled))));
                let mut reversed = items.clone();
                reversed.reverse();
                out.push(("reversed", Some(Value::Array(reversed))));
            }
        }
        Value::Object(map) => {
            let mut more = map.clone();
            more.insert("unexpected".into(), json!("field"));
            out.push(("unknown field added", Some(Value::Object(more))));
        }
        _ => {}
    }
    out
}

/// Every node of `value` with its JSON pointer.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| pointers(v, format!("{at}/{k}"), out)),
        Value::Array(items) => items.iter().enumerate().for_each(|(i, v)| pointers(v, format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// `file` with the node at `pointer` replaced (or removed when `new` is None).
fn changed(file: &Value, pointer: &str, new: Option<Value>) -> Value {
    let mut out = file.clone();
    if pointer.is_empty() {
        return new.unwrap_or(Value::Null);
    }
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let holder = out.pointer_mut(parent).unwrap();
    match (holder, new) {
        (Value::Object(map), Some(v)) => {
            map.insert(last.to_string(), v);
        }
        (Value::Object(map), None) => {
            map.remove(last);
        }
        (Value::Array(items), Some(v)) => items[last.parse::<usize>().unwrap()] = v,
        (Value::Array(items), None) => {
            items.remove(last.parse::<usize>().unwrap());
        }
        _ => unreachable!(),
    }
    out
}

struct Signers {
    /// Role, name, key, in the order of `ROLES`.
    keys: Vec<(String, String, SigningKey)>,
    /// A key outside the keyring.
    stranger: SigningKey,
}

fn envelope_json(env: &Envelope) -> Value {
    serde_json::to_value(env).unwrap()
}

/// The report envelope for `statement`, signed by every signer (or by `by`).
fn report_envelope(statement: &[u8], by: &[&SigningKey]) -> Envelope {
    let mut env = Envelope::new(PAYLOAD_TYPE, statement);
    for key in by {
        env.sign(key).unwrap();
    }
    env
}

/// A sign-off for `report` with this predicate, signed by `key`.
fn signoff(report: &Envelope, role: &str, name: &str, ack: bool, key: &SigningKey) -> Envelope {
    let s = Signoff {
        role: role.into(),
        name: name.into(),
        signed_at: "2026-11-22T09:20:03Z".into(),
        acknowledged_failed_gate: ack,
    };
    signoff_envelope(report, "run", &s, key).unwrap()
}

/// A sign-off statement with its JSON changed by `change`, signed by `key`.
fn custom_signoff(report: &Envelope, role: &str, key: &SigningKey, change: impl Fn(&mut Value)) -> Envelope {
    let base = signoff(report, role, "N. N.", false, key);
    let mut statement: Value = serde_json::from_slice(&base.payload_bytes().unwrap()).unwrap();
    change(&mut statement);
    let mut env = Envelope::new(PAYLOAD_TYPE, &serde_json::to_vec(&statement).unwrap());
    env.sign(key).unwrap();
    env
}

/// A whole signed report: this report envelope and sign-offs.
fn file(report: &Envelope, signoffs: &[Envelope]) -> Value {
    json!({
        "schema": "golive.signed-report/v1",
        "report": envelope_json(report),
        "signoffs": signoffs.iter().map(envelope_json).collect::<Vec<_>>(),
    })
}

/// Re-signed variants: the report statement changed by `change`, signed by every signer,
/// and sign-offs made again for it (acknowledging a failed gate when `ack`).
fn resigned(s: &Signers, statement: &Value, ack: bool) -> Value {
    let keys: Vec<&SigningKey> = s.keys.iter().map(|(_, _, k)| k).collect();
    let report = report_envelope(&serde_json::to_vec(statement).unwrap(), &keys);
    let offs: Vec<Envelope> = s.keys.iter().map(|(role, name, key)| signoff(&report, role, name, ack, key)).collect();
    file(&report, &offs)
}

fn build_variants(good: &Value, s: &Signers) -> Variants {
    let mut v = Variants::new();
    let keyids: Vec<String> = s.keys.iter().map(|(_, _, k)| k.public.keyid.clone()).collect();
    let all: Vec<&SigningKey> = s.keys.iter().map(|(_, _, k)| k).collect();

    // As signed, and harmless rearrangements.
    add(&mut v, "as signed", good);
    v.push(("compact".into(), serde_json::to_vec(good).unwrap()));
    let mut reordered = good.clone();
    reordered["signoffs"].as_array_mut().unwrap().reverse();
    reordered["report"]["signatures"].as_array_mut().unwrap().reverse();
    add(&mut v, "sign-offs and signatures reordered", &reordered);

    // 1. Every node of the file changed, unsigned.
    let mut all_pointers = Vec::new();
    pointers(good, String::new(), &mut all_pointers);
    for pointer in &all_pointers {
        let node = good.pointer(pointer).unwrap();
        for (how, new) in node_changes(node, &keyids) {
            if new.as_ref() != Some(node) {
                add(&mut v, format!("{pointer}: {how}"), &changed(good, pointer, new));
            }
        }
    }
    for schema in ["golive.signed-report/v2", "golive.report/v1", "GOLIVE.SIGNED-REPORT/V1", " golive.signed-report/v1"]
    {
        add(&mut v, format!("schema {schema:?}"), &changed(good, "/schema", Some(json!(schema))));
    }
    // Base64 that decodes to the same bytes in lenient decoders, but is not canonical.
    let payload = good["report"]["payload"].as_str().unwrap();
    for (how, text) in [
        ("payload with a trailing newline", format!("{payload}\n")),
        ("payload with a space", format!(" {payload}")),
        ("payload with padding doubled", format!("{payload}==")),
    ] {
        add(&mut v, how, &changed(good, "/report/payload", Some(json!(text))));
    }
    let sig = good["report"]["signatures"][0]["sig"].as_str().unwrap();
    let mut raw = STANDARD.decode(sig).unwrap();
    raw[10] ^= 0x01;
    add(
        &mut v,
        "a signature bit flipped",
        &changed(good, "/report/signatures/0/sig", Some(json!(STANDARD.encode(&raw)))),
    );
    let last = sig.chars().rev().nth(2).unwrap();
    let sloppy = format!("{}{}==", &sig[..sig.len() - 3], if last == 'A' { 'B' } else { 'A' });
    add(&mut v, "signature with other trailing bits", &changed(good, "/report/signatures/0/sig", Some(json!(sloppy))));
    // Not JSON, or not this format.
    let bytes = serde_json::to_vec(good).unwrap();
    v.push(("truncated".into(), bytes[..bytes.len() / 2].to_vec()));
    v.push(("empty file".into(), Vec::new()));
    v.push((
        "NaN inside".into(),
        String::from_utf8(bytes.clone()).unwrap().replacen("{", "{\"n\": NaN, ", 1).into_bytes(),
    ));
    v.push((
        "UTF-16".into(),
        String::from_utf8(bytes.clone()).unwrap().encode_utf16().flat_map(u16::to_le_bytes).collect(),
    ));

    // 2. The report statement changed and re-signed with the keyring's keys.
    let statement: Value = serde_json::from_slice(&decode(&good["report"])).unwrap();
    add(&mut v, "re-signed unchanged", &resigned(s, &statement, false));
    let mut statement_pointers = Vec::new();
    for top in ["/_type", "/predicateType", "/subject", "/subject/0", "/subject/0/digest/sha256", "/subject/0/name"] {
        statement_pointers.push(top.to_string());
    }
    for p in [
        "/schema",
        "/gate",
        "/gate/passed",
        "/signoff",
        "/signoff/roles",
        "/signoff/roles/0",
        "/checklist",
        "/checklist/files",
        "/checklist/files/0",
        "/checklist/files/0/sha256",
        "/checklist/files/0/path",
        "/checklist/attestations",
        "/run_id",
    ] {
        statement_pointers.push(format!("/predicate{p}"));
    }
    statement_pointers.push("/predicate".into());
    statement_pointers.push(String::new());
    for pointer in &statement_pointers {
        let Some(node) = statement.pointer(pointer) else { continue };
        for (how, new) in node_changes(node, &[]).into_iter().filter(|(_, new)| new.as_ref() != Some(node)) {
            let st = changed(&statement, pointer, new);
            add(&mut v, format!("re-signed statement {pointer}: {how}"), &resigned(s, &st, false));
            add(&mut v, format!("re-signed statement {pointer}: {how}, acknowledged"), &resigned(s, &st, true));
        }
    }
    let mut more = statement.clone();
    more["subject"].as_array_mut().unwrap().push(json!({"name": "extra", "digest": {"sha256": "ab".repeat(32)}}));
    add(&mut v, "re-signed with one more subject", &resigned(s, &more, false));
    for (role, how) in [(json!("Unknown Role"), "a role nobody signs"), (json!(7), "a role that is not text")] {
        let mut st = statement.clone();
        st["predicate"]["signoff"]["roles"].as_array_mut().unwrap().push(role);
        add(&mut v, format!("re-signed with {how}"), &resigned(s, &st, false));
    }
    let mut failed = statement.clone();
    failed["predicate"]["gate"]["passed"] = json!(false);
    add(&mut v, "re-signed as failed, not acknowledged", &resigned(s, &failed, false));
    add(&mut v, "re-signed as failed, acknowledged", &resigned(s, &failed, true));
    // A payload that is not JSON, or not an object, or has NaN, signed.
    for (how, payload) in [
        ("not JSON", b"not json".to_vec()),
        ("an array", b"[1, 2]".to_vec()),
        ("with NaN", serde_json::to_string(&statement).unwrap().replacen("{", "{\"n\": NaN, ", 1).into_bytes()),
        (
            "with a huge number",
            serde_json::to_string(&statement).unwrap().replacen("{", "{\"n\": 1e400, ", 1).into_bytes(),
        ),
    ] {
        let report = report_envelope(&payload, &all);
        let offs: Vec<Envelope> = s.keys.iter().map(|(r, n, k)| signoff(&report, r, n, false, k)).collect();
        add(&mut v, format!("signed payload {how}"), &file(&report, &offs));
    }
    // The old sign-offs under a re-signed statement refer to another report.
    let mut old = resigned(s, &more, false);
    old["signoffs"] = good["signoffs"].clone();
    add(&mut v, "re-signed statement, old sign-offs", &old);
    // Another payload type, signed.
    let mut typed = Envelope::new("application/json", &serde_json::to_vec(&statement).unwrap());
    all.iter().for_each(|k| typed.sign(k).unwrap());
    let offs: Vec<Envelope> = s.keys.iter().map(|(r, n, k)| signoff(&typed, r, n, false, k)).collect();
    add(&mut v, "signed with another payloadType", &file(&typed, &offs));

    // 3. Sign-offs changed and re-signed.
    let report: Envelope = serde_json::from_value(good["report"].clone()).unwrap();
    let good_offs: Vec<Envelope> =
        good["signoffs"].as_array().unwrap().iter().map(|e| serde_json::from_value(e.clone()).unwrap()).collect();
    let with = |k: usize, replacement: Envelope| {
        let mut offs = good_offs.clone();
        offs[k] = replacement;
        file(&report, &offs)
    };
    let (role0, _, key0) = &s.keys[0];
    let (role1, _, key1) = &s.keys[1];
    add(&mut v, "sign-off renamed", &with(0, signoff(&report, role0, "Somebody Else", false, key0)));
    add(&mut v, "sign-off acknowledging a passed gate", &with(0, signoff(&report, role0, "Ann Lee", true, key0)));
    add(&mut v, "sign-off for another role, signer's key", &with(0, signoff(&report, role1, "Ann Lee", false, key0)));
    add(
        &mut v,
        "sign-off for another role, that role's key",
        &with(0, signoff(&report, role1, "Ann Lee", false, key1)),
    );
    add(&mut v, "sign-off by a stranger", &with(0, signoff(&report, role0, "Ann Lee", false, &s.stranger)));
    let mut twice = signoff(&report, role0, "Ann Lee", false, key0);
    twice.sign(key1).unwrap();
    add(&mut v, "sign-off signed by two keyring keys", &with(0, twice));
    let mut stranger_too = signoff(&report, role0, "Ann Lee", false, key0);
    stranger_too.sign(&s.stranger).unwrap();
    add(&mut v, "sign-off signed by its key and a stranger", &with(0, stranger_too));
    let mut misnamed = signoff(&report, role0, "Ann Lee", false, key0);
    misnamed.signatures[0].keyid = key1.public.keyid.clone();
    add(&mut v, "sign-off signature naming another key", &with(0, misnamed));
    let digest = payload_digest(&report).unwrap();
    for (how, change) in [
        (
            "predicateType",
            Box::new(|st: &mut Value| st["predicateType"] = json!("https://example.com/other"))
                as Box<dyn Fn(&mut Value)>,
        ),
        ("_type", Box::new(|st: &mut Value| st["_type"] = json!("https://in-toto.io/Statement/v0.1"))),
        ("subject digest", Box::new(|st: &mut Value| st["subject"][0]["digest"]["sha256"] = json!("00".repeat(32)))),
        (
            "two subjects",
            Box::new(move |st: &mut Value| {
                st["subject"].as_array_mut().unwrap().push(json!({"name": "x", "digest": {"sha256": digest.clone()}}))
            }),
        ),
        ("no subject", Box::new(|st: &mut Value| st["subject"] = json!([]))),
        ("role not text", Box::new(|st: &mut Value| st["predicate"]["role"] = json!(1))),
        (
            "acknowledgement not a bool",
            Box::new(|st: &mut Value| st["predicate"]["acknowledged_failed_gate"] = json!("no")),
        ),
        (
            "name removed",
            Box::new(|st: &mut Value| {
                st["predicate"].as_object_mut().unwrap().remove("name");
            }),
        ),
        ("predicate field added", Box::new(|st: &mut Value| st["predicate"]["comment"] = json!("fine"))),
        ("statement field added", Box::new(|st: &mut Value| st["note"] = json!("fine"))),
    ] {
        add(&mut v, format!("sign-off {how}, re-signed"), &with(0, custom_signoff(&report, role0, key0, change)));
    }
    let mut doubled = good_offs.clone();
    doubled.push(good_offs[0].clone());
    add(&mut v, "a sign-off twice", &file(&report, &doubled));
    v
}

/// golive's verdict for every variant (its library, the code `golive verify` runs).
fn golive_verdicts(variants: &Variants, keyring: &Keyring) -> Vec<bool> {
    variants.iter().map(|(_, bytes)| verify(bytes, Some(keyring)).ok()).collect()
}

/// The Python verifier's verdict for every variant, in one process.
fn python_verdicts(w: &Workdir, variants: &Variants) -> Vec<bool> {
    std::fs::create_dir_all(w.path("variants")).unwrap();
    let mut args = vec![
        format!("{}/scripts/verify_signed_report.py", env!("CARGO_MANIFEST_DIR")),
        "--each".into(),
        "keyring.toml".into(),
    ];
    for (i, (_, bytes)) in variants.iter().enumerate() {
        let name = format!("variants/{i}.json");
        std::fs::write(w.path(&name), bytes).unwrap();
        args.push(name);
    }
    let out =
        std::process::Command::new("python3").args(&args).current_dir(w.dir.path()).output().expect("python3 runs");
    assert!(out.status.success(), "the Python verifier failed: {}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let verdicts: Vec<bool> = text
        .lines()
        .map(|l| {
            if l.starts_with("VERIFIED ") {
                true
            } else if l.starts_with("NOT VERIFIED ") {
                false
            } else {
                panic!("{l}")
            }
        })
        .collect();
    assert_eq!(verdicts.len(), variants.len(), "{text}");
    verdicts
}

#[test]
fn both_verifiers_agree_on_every_tampered_variant() {
    let w = setup();
    sign_all(&w, "report.json", &[]);
    let good = read(&w, "report.signed.json");
    let keys = ROLES
        .iter()
        .map(|(role, name, file)| {
            (role.to_string(), name.to_string(), SigningKey::load(&w.path(&format!("keys/{file}.key"))).unwrap())
        })
        .collect();
    let out = w.run_blocking(&["keygen", "--out", "stranger"], &[]);
    assert!(out.status.success());
    let signers = Signers { keys, stranger: SigningKey::load(&w.path("stranger.key")).unwrap() };
    let variants = build_variants(&good, &signers);
    let keyring = Keyring::load(Path::new(&w.path("keyring.toml"))).unwrap();

    let golive = golive_verdicts(&variants, &keyring);
    let python = python_verdicts(&w, &variants);
    let disagree: Vec<String> = variants
        .iter()
        .zip(golive.iter().zip(&python))
        .filter(|(_, (g, p))| g != p)
        .map(|((what, _), (g, p))| format!("{what}: golive {}, Python {}", verdict(*g), verdict(*p)))
        .collect();
    assert!(
        disagree.is_empty(),
        "{} of {} variants get different verdicts:\n{}",
        disagree.len(),
        variants.len(),
        disagree.join("\n")
    );

    // The variants reach both verdicts, often: the check is not vacuous.
    let accepted: Vec<&str> =
        variants.iter().zip(&golive).filter(|(_, ok)| **ok).map(|((w, _), _)| w.as_str()).collect();
    let rejected = golive.iter().filter(|ok| !**ok).count();
    for expected in [
        "as signed",
        "compact",
        "sign-offs and signatures reordered",
        "re-signed unchanged",
        "re-signed as failed, acknowledged",
        "sign-off signed by two keyring keys",
        "a sign-off twice",
    ] {
        assert!(accepted.contains(&expected), "{expected:?} should verify; accepted: {accepted:?}");
    }
    for refused in [
        "/report/signatures/0/keyid: another keyring key id",
        "schema \"golive.signed-report/v2\"",
        "sign-off signature naming another key",
        "re-signed as failed, not acknowledged",
        "payload with a trailing newline",
    ] {
        assert!(!accepted.contains(&refused), "{refused:?} must not verify");
    }
    assert!(variants.len() >= 500 && rejected >= 400, "{} variants, {rejected} rejected", variants.len());

    // The command line gives the library's verdict (a sample of each kind).
    for (i, (what, bytes)) in variants.iter().enumerate().filter(|(i, _)| i % 50 == 0) {
        std::fs::write(w.path("sample.json"), bytes).unwrap();
        let out = w.run_blocking(&["verify", "sample.json", "--keys", "keyring.toml"], &[]);
        assert_eq!(out.status.code(), Some(if golive[i] { 0 } else { 1 }), "{what}");
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "accepts" } else { "rejects" }
}
