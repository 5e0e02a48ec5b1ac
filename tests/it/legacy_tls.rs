//! Legacy protocols and weak cipher suites (`accepts_tls10`, `accepts_tls11`,
//! `weak_ciphers_accepted` of the tls probe), judged against real `openssl s_server`
//! processes (support/openssl.rs) that accept or refuse them, and against the in-process
//! rustls server, which can speak neither, and raw servers that answer with another version
//! or close. The shipped check `security.tls-legacy-refused`
//! goes red and green through the CLI.

use std::collections::BTreeSet;

use crate::support::openssl::OpensslServer;
use crate::support::{TestPki, TlsServer, Workdir, assert_outcome, fact, item, stderr, stdout};

fn checklist(body: &str) -> String {
    format!("[checklist]\nname = \"legacy\"\n[defaults]\ntimeout = \"5s\"\n\n{body}")
}

fn tls_item(id: &str, address: &str, expect: &str) -> String {
    format!("[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"{address}\"\nexpect = {{ {expect} }}\n\n")
}

fn text(report: &serde_json::Value, id: &str, name: &str) -> String {
    fact(report, id, name).as_str().unwrap_or_else(|| panic!("{id}: no string fact {name}")).to_string()
}

fn names(value: &serde_json::Value) -> BTreeSet<String> {
    value.as_array().expect("a list").iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

const REFUSE: &str = "accepts_tls10 = false, accepts_tls11 = false";

#[tokio::test(flavor = "multi_thread")]
async fn tls10_and_tls11_are_seen_accepted_or_refused() {
    let legacy = OpensslServer::legacy();
    let tls11_up = OpensslServer::start(&["-min_protocol", "TLSv1.1", "-cipher", "DEFAULT:@SECLEVEL=0"]);
    let modern = OpensslServer::modern();
    let w = Workdir::new();
    let body = [
        tls_item("legacy", &format!("localhost:{}", legacy.port()), REFUSE),
        tls_item("tls11-up", &format!("localhost:{}", tls11_up.port()), REFUSE),
        tls_item("modern", &format!("localhost:{}", modern.port()), REFUSE),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "legacy", "fail");
    assert_eq!(fact(&report, "legacy", "accepts_tls10"), true);
    assert_eq!(fact(&report, "legacy", "accepts_tls11"), true);
    // The certificate is P-256: OpenSSL picks the first ECDSA suite offered.
    assert_eq!(
        text(&report, "legacy", "tls10_answer"),
        "server accepted TLS 1.0 (TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA)"
    );
    assert_eq!(
        text(&report, "legacy", "tls11_answer"),
        "server accepted TLS 1.1 (TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA)"
    );

    assert_outcome(&report, "tls11-up", "fail");
    assert_eq!(fact(&report, "tls11-up", "accepts_tls10"), false);
    assert_eq!(fact(&report, "tls11-up", "accepts_tls11"), true);
    assert!(text(&report, "tls11-up", "tls10_answer").starts_with("server refused TLS 1.0: alert "));
    let reason = item(&report, "tls11-up")["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        "accepts_tls11: expected == false, observed true (tls11_answer: server accepted TLS 1.1 (TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA))"
    );

    assert_outcome(&report, "modern", "pass");
    assert_eq!(text(&report, "modern", "tls10_answer"), "server refused TLS 1.0: alert protocol_version (70)");
    assert_eq!(text(&report, "modern", "tls11_answer"), "server refused TLS 1.1: alert protocol_version (70)");
    // Only what was asked for: no certificate facts, no weak-suite probing.
    for name in ["chain_trusted", "protocol", "weak_ciphers_accepted"] {
        assert!(fact(&report, "modern", name).is_null(), "{name} was not asked for");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn weak_suites_the_server_picks_are_listed_one_after_the_other() {
    // A NULL cipher and an anonymous key exchange: both usable with a P-256 certificate.
    let weak = OpensslServer::start(&[
        "-min_protocol",
        "TLSv1.2",
        "-cipher",
        "ECDHE-ECDSA-NULL-SHA:AECDH-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256:@SECLEVEL=0",
    ]);
    let legacy = OpensslServer::legacy();
    let modern = OpensslServer::modern();
    let w = Workdir::new();
    let expect = "weak_ciphers_accepted = []";
    let body = [
        tls_item("weak", &format!("localhost:{}", weak.port()), &format!("{expect}, {REFUSE}")),
        tls_item("legacy", &format!("localhost:{}", legacy.port()), expect),
        tls_item("modern", &format!("localhost:{}", modern.port()), expect),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "weak", "fail");
    let picked = names(fact(&report, "weak", "weak_ciphers_accepted"));
    let both: BTreeSet<String> =
        ["TLS_ECDHE_ECDSA_WITH_NULL_SHA", "TLS_ECDH_anon_WITH_AES_128_CBC_SHA"].map(String::from).into();
    assert_eq!(picked, both);
    assert!(item(&report, "weak")["reason"].as_str().unwrap().starts_with("weak_ciphers_accepted: expected == []"));
    // TLS 1.2 only: the legacy versions are refused on the same server.
    assert_eq!(fact(&report, "weak", "accepts_tls10"), false);
    assert_eq!(fact(&report, "weak", "accepts_tls11"), false);

    // OpenSSL's default suites at level 0, with an ECDSA certificate: nothing weak, even
    // where TLS 1.0 is accepted; and nothing on a modern server.
    assert_outcome(&report, "legacy", "pass");
    assert_eq!(fact(&report, "legacy", "weak_ciphers_accepted"), &serde_json::json!([]));
    assert_outcome(&report, "modern", "pass");
    assert_eq!(fact(&report, "modern", "weak_ciphers_accepted"), &serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_says_which_version_and_suite_the_server_accepted() {
    let legacy = OpensslServer::legacy();
    let w = Workdir::new();
    w.write("golive.toml", &checklist(&tls_item("legacy", &format!("localhost:{}", legacy.port()), REFUSE)));
    let out = w.run(&["run", "golive.toml", "-o", "table"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The table may wrap a long cell: compare without spaces and borders.
    let squeezed: String = stdout(&out).chars().filter(|c| !c.is_whitespace() && !"│|┆".contains(*c)).collect();
    let why = "accepts_tls10:expected==false,observedtrue(tls10_answer:serveracceptedTLS1.0(TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA))";
    assert!(squeezed.contains(why), "{why} in:\n{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_to_pins_the_legacy_handshakes_too() {
    let legacy = OpensslServer::legacy();
    let w = Workdir::new();
    let pinned = format!(
        "[[item]]\nid = \"pinned\"\nprobe = \"tls\"\naddress = \"tls.golive.test:443\"\nconnect_to = \"tls.golive.test:443:127.0.0.1:{}\"\nexpect = {{ accepts_tls10 = true, accepts_tls11 = true }}\n\n",
        legacy.port()
    );
    w.write("golive.toml", &checklist(&pinned));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_outcome(&report, "pinned", "pass");
    assert!(text(&report, "pinned", "tls10_answer").starts_with("server accepted TLS 1.0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_extra_connections_are_made_only_when_expect_names_the_facts() {
    let pki = TestPki::new();
    let cert = pki.valid(&["localhost", "127.0.0.1"]);
    let (plain, with_legacy, only_legacy) =
        (TlsServer::with_cert(&cert).await, TlsServer::with_cert(&cert).await, TlsServer::with_cert(&cert).await);
    let w = Workdir::new();
    let ca = pki.write_ca_file(w.dir.path()).display().to_string();
    let with_ca = |id: &str, port: u16, expect: &str| {
        tls_item(id, &format!("localhost:{port}"), expect).replace("expect =", &format!("ca_file = \"{ca}\"\nexpect ="))
    };
    let all = format!("{REFUSE}, weak_ciphers_accepted = []");
    let body = [
        with_ca("plain", plain.port(), "chain_trusted = true"),
        with_ca("with-legacy", with_legacy.port(), &format!("chain_trusted = true, {all}")),
        with_ca("only-legacy", only_legacy.port(), &all),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    // One rustls handshake; no legacy fact.
    assert_eq!(plain.connections(), 1);
    assert_eq!(plain.handshakes(), 1);
    for name in ["accepts_tls10", "tls10_answer", "accepts_tls11", "weak_ciphers_accepted"] {
        assert!(fact(&report, "plain", name).is_null(), "plain: {name} was not asked for");
    }
    // rustls's handshake, then TLS 1.0, TLS 1.1 and one weak-suite hello, each refused.
    assert_eq!(with_legacy.connections(), 4);
    assert_eq!(with_legacy.handshakes(), 1);
    // rustls finds no suite in common before it looks at the version.
    assert_eq!(text(&report, "with-legacy", "tls10_answer"), "server refused TLS 1.0: alert handshake_failure (40)");
    assert_eq!(fact(&report, "with-legacy", "weak_ciphers_accepted"), &serde_json::json!([]));
    // Only legacy facts: no rustls handshake at all.
    assert_eq!(only_legacy.connections(), 3);
    assert_eq!(only_legacy.handshakes(), 0);
    assert!(fact(&report, "only-legacy", "chain_trusted").is_null());
    assert_outcome(&report, "only-legacy", "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_check_is_red_on_a_legacy_server_and_green_on_a_modern_one() {
    let legacy = OpensslServer::legacy();
    let modern = OpensslServer::modern();
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[checklist]\nname = \"tls\"\n\n[[item]]\nuse = \"security.tls-legacy-refused\"\ntimeout = \"5s\"\n",
    );
    let run = |port: u16| {
        let w = &w;
        async move {
            let address = format!("address=localhost:{port}");
            let out = w.run(&["run", "golive.toml", "--var", &address, "-o", "json=report.json", "--quiet"]).await;
            let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).expect("report is JSON");
            (report, out)
        }
    };
    let (report, out) = run(legacy.port()).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_outcome(&report, "security.tls-legacy-refused", "fail");
    assert_eq!(item(&report, "security.tls-legacy-refused")["severity"], "high");
    let reason = item(&report, "security.tls-legacy-refused")["reason"].as_str().unwrap().to_string();
    assert!(
        reason.starts_with("accepts_tls10: expected == false, observed true (tls10_answer: server accepted TLS 1.0 ("),
        "{reason}"
    );

    let (report, out) = run(modern.port()).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_outcome(&report, "security.tls-legacy-refused", "pass");
    assert_eq!(fact(&report, "security.tls-legacy-refused", "weak_ciphers_accepted"), &serde_json::json!([]));
}

/// A ServerHello record for `version` choosing `suite`, as a raw server sends it.
fn server_hello(version: u16, suite: u16) -> Vec<u8> {
    let mut body = version.to_be_bytes().to_vec();
    body.extend_from_slice(&[7; 32]);
    body.push(0);
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0);
    let mut record = vec![22u8, 3, 1, 0, (body.len() + 4) as u8, 2, 0, 0, body.len() as u8];
    record.extend_from_slice(&body);
    record
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_hello_of_another_version_is_a_refusal_and_a_closed_connection_too() {
    use crate::support::hostile::{RawServer, Then};
    // Answers every hello with TLS 1.2 and TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: a TLS 1.0
    // client would give up.
    let tls12 = RawServer::always(server_hello(0x0303, 0xC013), Then::Close).await;
    let closes = RawServer::always(Vec::new(), Then::Close).await;
    let w = Workdir::new();
    let body = [
        tls_item("tls12", &format!("127.0.0.1:{}", tls12.port()), REFUSE),
        tls_item("closes", &format!("127.0.0.1:{}", closes.port()), REFUSE),
    ]
    .concat();
    w.write("golive.toml", &checklist(&body));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(text(&report, "tls12", "tls10_answer"), "server refused TLS 1.0: answered with TLS 1.2");
    assert_eq!(text(&report, "tls12", "tls11_answer"), "server refused TLS 1.1: answered with TLS 1.2");
    assert_eq!(text(&report, "closes", "tls10_answer"), "server refused TLS 1.0: closed the connection");
    assert_eq!((tls12.connections(), closes.connections()), (2, 2));
}
