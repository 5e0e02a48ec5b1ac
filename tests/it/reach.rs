//! Reaching what is about to launch (issue 10): pinned addresses (`connect_to`) for `http`
//! and `tls`, checked against servers on 127.0.0.1 that present a certificate for a public
//! name (`api.golive.test`, never resolved: the `.test` names exist only here).

use crate::support;

use support::{ConnectProxy, HttpServer, Route, TestPki, TlsServer, Workdir, assert_outcome, fact, item, stderr};

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
vars = {{ base_url = "https://api.golive.test", connect_to = "api.golive.test:443:127.0.0.1:{hp}", ca_file = "golive-test-ca.pem", max_latency = "10s" }}
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

/// A malformed `connect_to` is a checklist error where it is written, found by `validate`
/// as by `run` (exit 2, nothing run), for a literal value and one that comes from a var; a
/// var left empty (a shipped check's default) is no pin at all.
#[test]
fn a_malformed_connect_to_is_a_checklist_error_that_says_how_to_write_it() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[vars]\npin = \"api.golive.test:443:10.0.0.5:70000\"\nnone = \"\"\n[[item]]\nid = \"bad\"\nprobe = \"tls\"\naddress = \"api.golive.test:443\"\nconnect_to = \"api.golive.test:443\"\n[[item]]\nid = \"bad-var\"\nprobe = \"http\"\nurl = \"https://api.golive.test/\"\nconnect_to = \"${pin}\"\n[[item]]\nid = \"empty\"\nprobe = \"http\"\nurl = \"https://api.golive.test/\"\nconnect_to = \"${none}\"\n",
    );
    for command in ["validate", "run"] {
        let out = w.run_blocking(&[command, "golive.toml"], &[]);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("golive.toml:8:14"), "{command}: {err}");
        assert!(err.contains("golive.toml:13:14"), "{command}: {err}");
        assert!(err.contains("HOST:PORT:ADDRESS:PORT"), "{command}: {err}");
        assert_eq!(err.matches("error[").count(), 2, "{command}: only the two bad pins: {err}");
    }
}

/// A self-signed `CA:TRUE` certificate (what `openssl req -x509` makes) that is itself in
/// `ca_file` is trusted by `http` and `tls`, as curl and OpenSSL trust it; the same kind of
/// certificate that is not in `ca_file`, or served for another name, is not.
#[tokio::test(flavor = "multi_thread")]
async fn a_self_signed_ca_certificate_in_ca_file_is_trusted_and_only_that_one() {
    let pki = TestPki::new();
    let own = pki.self_signed_ca_leaf(&["api.golive.test"]);
    let stranger = pki.self_signed_ca_leaf(&["api.golive.test"]);
    let https = HttpServer::start_tls(vec![Route::new("/").body("private")], own.server_config()).await;
    let tls = TlsServer::with_cert(&own).await;
    let other = TlsServer::with_cert(&stranger).await;
    let w = Workdir::new();
    w.write("deploy/certs/api.pem", &own.cert_chain_pem);
    let (hp, tp, op) = (https.port(), tls.port(), other.port());
    // Relative ca_file: resolved against deploy/, where the checklist is, not the working
    // directory golive runs in.
    w.write(
        "deploy/golive.toml",
        &format!(
            r#"
[[item]]
id = "http-own"
probe = "http"
url = "https://api.golive.test/"
connect_to = "api.golive.test:443:127.0.0.1:{hp}"
ca_file = "certs/api.pem"
expect = {{ status = 200, body = "private" }}

[[item]]
id = "http-no-ca-file"
probe = "http"
url = "https://api.golive.test/"
connect_to = "api.golive.test:443:127.0.0.1:{hp}"

[[item]]
id = "http-other-name"
probe = "http"
url = "https://www.golive.test/"
connect_to = "www.golive.test:443:127.0.0.1:{hp}"
ca_file = "certs/api.pem"

[[item]]
id = "tls-own"
probe = "tls"
address = "api.golive.test:443"
connect_to = "api.golive.test:443:127.0.0.1:{tp}"
ca_file = "certs/api.pem"
expect = {{ chain_trusted = true, hostname_valid = true, verify_error = {{ present = false }} }}

[[item]]
id = "tls-other-name"
probe = "tls"
address = "www.golive.test:443"
connect_to = "www.golive.test:443:127.0.0.1:{tp}"
ca_file = "certs/api.pem"

[[item]]
id = "tls-stranger"
probe = "tls"
address = "api.golive.test:443"
connect_to = "api.golive.test:443:127.0.0.1:{op}"
ca_file = "certs/api.pem"
"#
        ),
    );
    let (report, out) = w.run_json("deploy/golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_outcome(&report, "http-own", "pass");
    assert_outcome(&report, "tls-own", "pass");

    assert_outcome(&report, "http-no-ca-file", "error");
    assert_outcome(&report, "http-other-name", "error");
    let reason = item(&report, "http-other-name")["reason"].as_str().unwrap();
    assert!(reason.contains("not valid for name") && reason.contains("www.golive.test"), "{reason}");

    assert_outcome(&report, "tls-other-name", "fail");
    assert_eq!(fact(&report, "tls-other-name", "hostname_valid"), false);
    let why = fact(&report, "tls-other-name", "verify_error").as_str().unwrap();
    assert!(why.contains("not valid for name \"www.golive.test\""), "{why}");

    assert_outcome(&report, "tls-stranger", "fail");
    assert_eq!(fact(&report, "tls-stranger", "chain_trusted"), false);
    let why = fact(&report, "tls-stranger", "verify_error").as_str().unwrap();
    assert!(why.contains("CA certificate") && why.contains("not in ca_file"), "{why}");
}

/// Relative paths resolve against the file that wrote them: an included file's own
/// directory, and for a value built from vars too.
#[tokio::test(flavor = "multi_thread")]
async fn relative_ca_files_resolve_against_the_file_that_wrote_them() {
    let pki = TestPki::new();
    let cert = pki.valid(&["api.golive.test"]);
    let tls = TlsServer::with_cert(&cert).await;
    let w = Workdir::new();
    for dir in ["parts", "root/certs"] {
        std::fs::create_dir_all(w.path(dir)).unwrap();
        pki.write_ca_file(&w.path(dir));
    }
    let tp = tls.port();
    let item = |id: &str, ca: &str| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"api.golive.test:443\"\nconnect_to = \"api.golive.test:443:127.0.0.1:{tp}\"\nca_file = \"{ca}\"\n"
        )
    };
    w.write("parts/tls.toml", &item("included", "golive-test-ca.pem"));
    w.write(
        "root/golive.toml",
        &format!(
            "[checklist]\ninclude = [\"../parts/tls.toml\"]\n[vars]\ncerts = \"certs\"\n{}{}",
            item("from-var", "${certs}/golive-test-ca.pem"),
            item("missing", "golive-test-ca.pem")
        ),
    );
    let (report, out) = w.run_json("root/golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_outcome(&report, "included", "pass");
    assert_outcome(&report, "from-var", "pass");
    // root/golive-test-ca.pem does not exist: the error names the path it was resolved to.
    assert_outcome(&report, "missing", "error");
    let reason = item_reason(&report, "missing");
    assert!(reason.contains("root/golive-test-ca.pem"), "{reason}");
}

fn item_reason(report: &serde_json::Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// `SSL_CERT_FILE` and `SSL_CERT_DIR` replace the system store, as with OpenSSL: a private
/// CA given only there is trusted by `http` and `tls` without `ca_file`.
#[tokio::test(flavor = "multi_thread")]
async fn ssl_cert_file_and_dir_replace_the_system_store() {
    let pki = TestPki::new();
    let cert = pki.valid(&["api.golive.test"]);
    let https = HttpServer::start_tls(vec![Route::new("/").body("ok")], cert.server_config()).await;
    let tls = TlsServer::with_cert(&cert).await;
    let w = Workdir::new();
    for dir in ["file", "dir"] {
        std::fs::create_dir_all(w.path(dir)).unwrap();
    }
    let ca_file = pki.write_ca_file(&w.path("file"));
    pki.write_ca_file(&w.path("dir"));
    w.write(
        "golive.toml",
        &format!(
            r#"
[[item]]
id = "http"
probe = "http"
url = "https://api.golive.test/"
connect_to = "api.golive.test:443:127.0.0.1:{}"

[[item]]
id = "tls"
probe = "tls"
address = "api.golive.test:443"
connect_to = "api.golive.test:443:127.0.0.1:{}"
"#,
            https.port(),
            tls.port()
        ),
    );
    let args = ["run", "golive.toml", "--output", "json=report.json", "--quiet"];
    let run = |env: Vec<(&'static str, String)>| {
        let w = &w;
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let out = w.run_env(&args, &env).await;
            let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
            (report, out)
        }
    };
    let (report, out) = run(vec![("SSL_CERT_FILE", ca_file.display().to_string())]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_outcome(&report, "http", "pass");
    assert_outcome(&report, "tls", "pass");

    let (report, out) = run(vec![("SSL_CERT_DIR", w.path("dir").display().to_string())]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_outcome(&report, "tls", "pass");

    // An empty directory: the private CA is not trusted without it.
    std::fs::create_dir_all(w.path("empty")).unwrap();
    let (report, _) = run(vec![("SSL_CERT_DIR", w.path("empty").display().to_string())]).await;
    assert_outcome(&report, "http", "error");
    assert_outcome(&report, "tls", "fail");
    assert_eq!(fact(&report, "tls", "chain_trusted"), false);
}

/// The password of the encrypted client key: it must appear in no output.
const KEY_PASSWORD: &str = "golive-mtls-pw-7f3a91";

/// mTLS: `http` and `tls` present `client_cert`/`client_key` (plain, or encrypted PKCS#8
/// with `client_key_password` from the environment) to servers that require a client
/// certificate; without one the server refuses; the password is shown nowhere.
#[tokio::test(flavor = "multi_thread")]
async fn client_certificates_for_servers_that_require_them_and_the_password_stays_secret() {
    let pki = TestPki::new();
    let server_cert = pki.valid(&["api.golive.test"]);
    let config = server_cert.server_config_requiring_client_cert(&pki);
    let https = HttpServer::start_tls(vec![Route::new("/").body("mutual")], config.clone()).await;
    let tls = TlsServer::start(config).await;
    let w = Workdir::new();
    pki.write_ca_file(w.dir.path());
    let client = pki.client("deployer.golive.test");
    std::fs::write(w.path("client.pem"), &client.cert_chain_pem).unwrap();
    std::fs::write(w.path("client.key"), &client.key_pem).unwrap();
    let encrypted = std::process::Command::new("openssl")
        .args(["pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "client.key", "-out", "client.enc.key"])
        .arg("-passout")
        .arg(format!("pass:{KEY_PASSWORD}"))
        .current_dir(w.dir.path())
        .output()
        .expect("openssl runs");
    assert!(encrypted.status.success(), "{}", String::from_utf8_lossy(&encrypted.stderr));
    assert!(w.read("client.enc.key").contains("ENCRYPTED PRIVATE KEY"));
    let (hp, tp) = (https.port(), tls.port());
    let http_item = |id: &str, extra: &str| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"http\"\nurl = \"https://api.golive.test/\"\nconnect_to = \"api.golive.test:443:127.0.0.1:{hp}\"\nca_file = \"golive-test-ca.pem\"\n{extra}\n"
        )
    };
    let checklist = [
        http_item(
            "http-mtls",
            "client_cert = \"client.pem\"\nclient_key = \"client.key\"\nexpect = { status = 200, body = \"mutual\" }",
        ),
        http_item(
            "http-mtls-encrypted",
            "client_cert = \"client.pem\"\nclient_key = \"client.enc.key\"\nclient_key_password = \"${env:KEY_PASSWORD}\"",
        ),
        http_item(
            "http-wrong-password",
            "client_cert = \"client.pem\"\nclient_key = \"client.enc.key\"\nclient_key_password = \"${env:WRONG_PASSWORD}\"",
        ),
        http_item("http-no-password", "client_cert = \"client.pem\"\nclient_key = \"client.enc.key\""),
        http_item("http-no-client-cert", ""),
        format!(
            "[[item]]\nid = \"tls-mtls\"\nprobe = \"tls\"\naddress = \"api.golive.test:443\"\nconnect_to = \"api.golive.test:443:127.0.0.1:{tp}\"\nca_file = \"golive-test-ca.pem\"\nclient_cert = \"client.pem\"\nclient_key = \"client.enc.key\"\nclient_key_password = \"${{env:KEY_PASSWORD}}\"\n"
        ),
        // The shipped checks take the client certificate as vars, set once for both.
        format!(
            "[[item]]\nid = \"shipped-health-mtls\"\nuse = \"infrastructure.health-endpoint\"\nvars = {{ base_url = \"https://api.golive.test\", health_path = \"/\", max_latency = \"10s\", connect_to = \"api.golive.test:443:127.0.0.1:{hp}\" }}\n[[item]]\nid = \"shipped-tls-mtls\"\nuse = \"security.tls-certificate\"\nvars = {{ address = \"api.golive.test:443\", connect_to = \"api.golive.test:443:127.0.0.1:{tp}\" }}\n[[item]]\nid = \"shipped-health-no-cert\"\nuse = \"infrastructure.health-endpoint\"\nvars = {{ base_url = \"https://api.golive.test\", health_path = \"/\", connect_to = \"api.golive.test:443:127.0.0.1:{hp}\", client_cert = \"\", client_key = \"\" }}\n"
        ),
    ]
    .concat();
    let vars = "[vars]\nca_file = \"golive-test-ca.pem\"\nclient_cert = \"client.pem\"\nclient_key = \"client.enc.key\"\nclient_key_password = \"${env:KEY_PASSWORD}\"\n";
    w.write("golive.toml", &format!("{vars}{checklist}"));
    let out = w
        .run_env(
            &["run", "golive.toml", "--output", "json=report.json", "--output", "junit=report.xml"],
            &[("KEY_PASSWORD", KEY_PASSWORD), ("WRONG_PASSWORD", "not-the-password")],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();

    assert_outcome(&report, "http-mtls", "pass");
    assert_outcome(&report, "http-mtls-encrypted", "pass");
    assert_outcome(&report, "tls-mtls", "pass");
    assert!(tls.client_certificates() >= 1, "the tls probe presented no client certificate");

    assert_outcome(&report, "http-wrong-password", "error");
    assert!(item_reason(&report, "http-wrong-password").contains("wrong client_key_password"));
    assert_outcome(&report, "http-no-password", "error");
    assert!(item_reason(&report, "http-no-password").contains("set client_key_password"));
    assert_outcome(&report, "http-no-client-cert", "error");
    assert_outcome(&report, "shipped-health-mtls", "pass");
    assert_outcome(&report, "shipped-tls-mtls", "pass");
    assert_outcome(&report, "shipped-health-no-cert", "error");
    assert_eq!(item(&report, "shipped-tls-mtls")["params"]["client_key_password"], "***");

    for (what, text) in [
        ("stdout", support::stdout(&out)),
        ("stderr", stderr(&out)),
        ("report.json", w.read("report.json")),
        ("report.xml", w.read("report.xml")),
    ] {
        assert!(!text.contains(KEY_PASSWORD), "{what} shows the client key password");
        assert!(!text.contains("not-the-password"), "{what} shows the wrong password");
    }
    let shown = &item(&report, "http-mtls-encrypted")["params"]["client_key_password"];
    assert_eq!(shown, "***");
}

/// `proxy` sends https requests through an HTTP CONNECT proxy (the certificate is still
/// checked end to end, for the public name); without it `HTTPS_PROXY` applies and
/// `NO_PROXY` names the hosts reached directly; `connect_to` never goes through a proxy.
#[tokio::test(flavor = "multi_thread")]
async fn proxy_param_and_environment_send_requests_through_a_connect_proxy() {
    let pki = TestPki::new();
    let cert = pki.valid(&["api.golive.test", "localhost"]);
    let https = HttpServer::start_tls(vec![Route::new("/").body("via proxy")], cert.server_config()).await;
    let proxy = ConnectProxy::start(&[("api.golive.test:443", https.addr())]).await;
    let w = Workdir::new();
    pki.write_ca_file(w.dir.path());
    let hp = https.port();
    let url = proxy.url();
    w.write(
        "golive.toml",
        &format!(
            r#"
[defaults]
timeout = "10s"

[[item]]
id = "proxy-param"
probe = "http"
url = "https://api.golive.test/"
proxy = "{url}"
ca_file = "golive-test-ca.pem"
expect = {{ status = 200, body = "via proxy" }}

[[item]]
id = "proxy-and-connect-to"
probe = "http"
url = "https://api.golive.test/"
proxy = "{url}"
connect_to = "api.golive.test:443:127.0.0.1:{hp}"
ca_file = "golive-test-ca.pem"

[[item]]
id = "shipped-via-proxy"
use = "infrastructure.health-endpoint"
vars = {{ base_url = "https://api.golive.test", health_path = "/", max_latency = "10s", proxy = "{url}", ca_file = "golive-test-ca.pem" }}
"#
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_outcome(&report, "proxy-param", "pass");
    assert_outcome(&report, "shipped-via-proxy", "pass");
    assert_outcome(&report, "proxy-and-connect-to", "error");
    assert!(item_reason(&report, "proxy-and-connect-to").contains("do not go together"));
    assert_eq!(proxy.targets(), ["api.golive.test:443", "api.golive.test:443"], "the item and the shipped check");

    // The environment: HTTPS_PROXY for api.golive.test; NO_PROXY=localhost goes direct; a
    // pinned address goes direct too.
    w.write(
        "env.toml",
        &format!(
            r#"
[[item]]
id = "env-proxy"
probe = "http"
url = "https://api.golive.test/"
ca_file = "golive-test-ca.pem"
expect = {{ status = 200, body = "via proxy" }}

[[item]]
id = "no-proxy"
probe = "http"
url = "https://localhost:{hp}/"
ca_file = "golive-test-ca.pem"
expect = {{ status = 200 }}

[[item]]
id = "pinned-direct"
probe = "http"
url = "https://api.golive.test/"
connect_to = "api.golive.test:443:127.0.0.1:{hp}"
ca_file = "golive-test-ca.pem"
expect = {{ status = 200 }}
"#
        ),
    );
    let out = w
        .run_env(
            &["run", "env.toml", "--output", "json=env.json", "--quiet"],
            &[("HTTPS_PROXY", url.as_str()), ("NO_PROXY", "localhost")],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("env.json")).unwrap();
    for id in ["env-proxy", "no-proxy", "pinned-direct"] {
        assert_outcome(&report, id, "pass");
    }
    assert_eq!(proxy.targets().len(), 3, "only env-proxy used the proxy: {:?}", proxy.targets());
}

/// Chain expiry as clients see it: `chain_min_days_remaining` counts every certificate the
/// server sent (a stray expired one too), `verified_chain_min_days_remaining` only the leaf
/// and the intermediates of the path to the trusted CA: no false alarm from a certificate
/// off the path, and a real one from an expired intermediate on it.
#[tokio::test(flavor = "multi_thread")]
async fn chain_expiry_of_the_served_chain_and_of_the_path_a_client_builds() {
    use time::{Duration, OffsetDateTime};
    let now = OffsetDateTime::now_utc();
    let root = TestPki::new();
    let intermediate =
        root.intermediate("golive test intermediate", now - Duration::days(10), now + Duration::days(40));
    let leaf = intermediate.valid(&["api.golive.test"]);
    let stray = root.expired().chain_der()[0].clone();
    let with_stray = TlsServer::start(leaf.server_config_with_extra(&[stray])).await;
    let old = root.intermediate("golive old intermediate", now - Duration::days(30), now - Duration::days(2));
    let mut params = support::leaf_params(&["api.golive.test"]);
    params.not_before = now - Duration::days(10);
    let expired_path = TlsServer::with_cert(&old.issue(params)).await;
    let w = Workdir::new();
    root.write_ca_file(w.dir.path());
    let item = |id: &str, port: u16| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"api.golive.test:443\"\nconnect_to = \"api.golive.test:443:127.0.0.1:{port}\"\nca_file = \"golive-test-ca.pem\"\nexpect = {{ chain_trusted = true, verified_chain_min_days_remaining = \">= 14\" }}\n"
        )
    };
    w.write(
        "golive.toml",
        &[item("stray", with_stray.port()), item("expired-intermediate", expired_path.port())].concat(),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "stray", "pass");
    assert_eq!(fact(&report, "stray", "chain_length"), 3);
    assert!(fact(&report, "stray", "chain_min_days_remaining").as_i64().unwrap() < 0);
    let on_path = fact(&report, "stray", "verified_chain_min_days_remaining").as_i64().unwrap();
    assert!((39..=40).contains(&on_path), "the intermediate's 40 days, not the leaf's 89: {on_path}");

    assert_outcome(&report, "expired-intermediate", "fail");
    assert!(fact(&report, "expired-intermediate", "verified_chain_min_days_remaining").as_i64().unwrap() < 0);
    assert!(fact(&report, "expired-intermediate", "days_remaining").as_i64().unwrap() > 80);
    let why = fact(&report, "expired-intermediate", "verify_error").as_str().unwrap();
    assert!(why.contains("a certificate in the chain expired"), "{why}");
}

/// The shipped TLS checks take `server_name`: a connection to an address (an IP) still
/// checks the certificate for the public name given, and a wrong one fails.
#[tokio::test(flavor = "multi_thread")]
async fn the_shipped_tls_check_takes_a_server_name() {
    let pki = TestPki::new();
    let cert = pki.valid(&["api.golive.test"]);
    let tls = TlsServer::with_cert(&cert).await;
    let w = Workdir::new();
    pki.write_ca_file(w.dir.path());
    let tp = tls.port();
    w.write(
        "golive.toml",
        &format!(
            "[vars]\nca_file = \"golive-test-ca.pem\"\naddress = \"127.0.0.1:{tp}\"\n\n[[item]]\nid = \"named\"\nuse = \"security.tls-certificate\"\nvars = {{ server_name = \"api.golive.test\" }}\n\n[[item]]\nid = \"wrong\"\nuse = \"security.tls-certificate\"\nvars = {{ server_name = \"www.golive.test\" }}\n"
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "named", "pass");
    assert_outcome(&report, "wrong", "fail");
    assert_eq!(fact(&report, "wrong", "hostname_valid"), false, "{}", stderr(&out));
    assert!(tls.server_names().contains(&Some("api.golive.test".into())));
    assert!(tls.server_names().contains(&Some("www.golive.test".into())));
}
