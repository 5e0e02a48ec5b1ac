//! Reaching what is about to launch (issue 10): pinned addresses (`connect_to`) for `http`
//! and `tls`, checked against servers on 127.0.0.1 that present a certificate for a public
//! name (`api.golive.test`, never resolved: the `.test` names exist only here).

use crate::support;

use support::{HttpServer, Route, TestPki, TlsServer, Workdir, assert_outcome, fact, item, stderr};

#[tokio::test(flavor = "multi_thread")]
async fn connect_to_checks_the_public_name_on_a_pinned_loopback_address() {
    let pki = TestPki::new();
    let cert = pki.valid(&["api.golive.test"]);
    let https =
        HttpServer::start_tls(vec![Route::new("/health").body("new load balancer")], cert.server_config()).await;
    let tls = TlsServer::with_cert(&cert).await;
    let w = Workdir::new();
    let ca = pki.write_ca_file(w.dir.path());
    let (hp, tp) = (https.port(), tls.port());
    w.write(
        "golive.toml",
        &format!(
            r#"
[vars]
ca = "{ca}"

[[item]]
id = "http-pinned"
probe = "http"
url = "https://api.golive.test/health"
connect_to = "api.golive.test:443:127.0.0.1:{hp}"
ca_file = "${{ca}}"
expect = {{ status = 200, body = "new load balancer", final_url = "https://api.golive.test/health" }}

[[item]]
id = "http-any-host"
probe = "http"
url = "https://api.golive.test/health"
connect_to = "other.golive.test:443:127.0.0.1:1, ::127.0.0.1:{hp}"
ca_file = "${{ca}}"

[[item]]
id = "http-wrong-name"
probe = "http"
url = "https://www.golive.test/health"
connect_to = "www.golive.test:443:127.0.0.1:{hp}"
ca_file = "${{ca}}"

[[item]]
id = "http-port-change"
probe = "http"
url = "https://api.golive.test:8443/health"
connect_to = "api.golive.test:8443:127.0.0.1:{hp}"
ca_file = "${{ca}}"

[[item]]
id = "tls-pinned"
probe = "tls"
address = "api.golive.test:443"
connect_to = "api.golive.test:443:127.0.0.1:{tp}"
ca_file = "${{ca}}"
expect = {{ chain_trusted = true, hostname_valid = true, sans = ["api.golive.test"] }}

[[item]]
id = "tls-wrong-name"
probe = "tls"
address = "www.golive.test:443"
connect_to = "www.golive.test:443:127.0.0.1:{tp}"
ca_file = "${{ca}}"

[[item]]
id = "shipped-tls-check"
use = "security.tls-certificate"
vars = {{ address = "api.golive.test:443", connect_to = "api.golive.test:443:127.0.0.1:{tp}" }}
ca_file = "${{ca}}"

[[item]]
id = "shipped-health-check"
use = "infrastructure.health-endpoint"
vars = {{ base_url = "https://api.golive.test", connect_to = "api.golive.test:443:127.0.0.1:{hp}", max_latency = "10s" }}
ca_file = "${{ca}}"
"#,
            ca = ca.display()
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "http-pinned", "pass");
    assert_outcome(&report, "http-any-host", "pass");
    assert_outcome(&report, "shipped-health-check", "pass");
    let asked: Vec<Option<String>> = https.requests().into_iter().map(|r| r.authority).collect();
    assert!(!asked.is_empty() && asked.iter().all(|a| a.as_deref() == Some("api.golive.test")), "{asked:?}");

    assert_outcome(&report, "http-wrong-name", "error");
    let reason = item(&report, "http-wrong-name")["reason"].as_str().unwrap();
    assert!(reason.contains("not valid for name") && reason.contains("www.golive.test"), "{reason}");

    assert_outcome(&report, "http-port-change", "error");
    let reason = item(&report, "http-port-change")["reason"].as_str().unwrap();
    assert!(reason.contains("connect_to") && reason.contains("names port 8443"), "{reason}");

    assert_outcome(&report, "tls-pinned", "pass");
    assert_outcome(&report, "shipped-tls-check", "pass");
    assert_outcome(&report, "tls-wrong-name", "fail");
    assert_eq!(fact(&report, "tls-wrong-name", "hostname_valid"), false);
    assert_eq!(fact(&report, "tls-wrong-name", "chain_trusted"), true);
    let why = fact(&report, "tls-wrong-name", "verify_error").as_str().unwrap();
    assert!(why.contains("not valid for name \"www.golive.test\"") && why.contains("api.golive.test"), "{why}");
    let names = tls.server_names();
    assert!(names.contains(&Some("api.golive.test".into())), "{names:?}");
    assert!(names.contains(&Some("www.golive.test".into())), "{names:?}");
}

#[test]
fn a_malformed_connect_to_is_an_error_that_says_how_to_write_it() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[[item]]\nid = \"bad\"\nprobe = \"tls\"\naddress = \"api.golive.test:443\"\nconnect_to = \"api.golive.test:443\"\n",
    );
    let out = w.run_blocking(&["run", "golive.toml", "--output", "json=report.json", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "bad", "error");
    let reason = item(&report, "bad")["reason"].as_str().unwrap();
    assert!(reason.contains("HOST:PORT:ADDRESS:PORT"), "{reason}");
}
