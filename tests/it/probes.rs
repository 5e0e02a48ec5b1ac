//! Every probe against real local systems: HTTP and TLS servers with rcgen certificates, a
//! DNS server, a listener that never answers, files, processes and this host. Each test
//! runs the real binary and reads the facts and outcomes from its JSON report.

use crate::support as common;
use crate::support;

use std::time::{Duration, Instant};

use common::{Workdir, assert_outcome, fact, item, stderr};
use support::{DnsServer, HttpServer, HungListener, Route, TestPki, TestRecord, TlsServer, closed_port};

#[tokio::test(flavor = "multi_thread")]
async fn http_facts_status_headers_body_json_and_redirects() {
    let server = HttpServer::start(vec![
        Route::new("/health")
            .header("content-type", "application/json")
            .header("x-frame-options", "DENY")
            .body(r#"{"status":"ok","checks":{"db":"up"},"version":"1.4.2"}"#),
        Route::new("/down").status(503).body("database unavailable"),
        Route::redirect("/old", "https://example.test/new", 301),
    ])
    .await;
    let w = Workdir::new();
    let url = server.url("/");
    w.write(
        "golive.toml",
        &format!(
            r#"
[checklist]
name = "http"
[vars]
api = "{url}"

[[item]]
id = "health"
probe = "http"
url = "${{api}}health"
headers = {{ "X-Request-Id" = "golive-test" }}
expect = {{ status = 200, latency = "< 5s", body = {{ contains = "ok" }}, body_json = {{ "/status" = "ok", "/checks/db" = "up", "/version" = {{ matches = "^1\\." }} }}, headers = {{ "Content-Type" = {{ contains = "json" }}, server = {{ present = false }} }}, http_version = "HTTP/1.1" }}

[[item]]
id = "down"
probe = "http"
url = "${{api}}down"
expect = {{ status = 200, body = {{ contains = "ok" }} }}

[[item]]
id = "redirect"
probe = "http"
url = "${{api}}old"
expect = {{ status = 301, redirect_location = {{ matches = "^https://" }} }}

[[item]]
id = "default-expect"
probe = "http"
url = "${{api}}down"
"#
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_outcome(&report, "health", "pass");
    assert_eq!(fact(&report, "health", "headers.x-frame-options"), "DENY");
    assert_eq!(fact(&report, "health", "body_json./checks/db"), "up");
    assert_outcome(&report, "down", "fail");
    let down = item(&report, "down");
    let failed: Vec<&str> = down["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["passed"] == false)
        .map(|e| e["fact"].as_str().unwrap())
        .collect();
    assert_eq!(failed, vec!["status", "body"]);
    assert_eq!(down["expectations"][0]["observed"], 503);
    assert_eq!(down["reason"], "status: expected == 200, observed 503 (body_excerpt: database unavailable)");
    assert_outcome(&report, "redirect", "pass");
    assert_eq!(fact(&report, "redirect", "redirect_location"), "https://example.test/new");
    assert_outcome(&report, "default-expect", "fail");
    // A writing method without allow_write is refused before anything runs.
    w.write(
        "write.toml",
        &format!(
            "[[item]]\nid = \"write-refused\"\nprobe = \"http\"\nmethod = \"DELETE\"\nurl = \"{}\"\n",
            server.url("/health")
        ),
    );
    let out = w.run(&["run", "write.toml"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("GL003") && stderr(&out).contains("allow_write"), "{}", stderr(&out));

    // The probe sent what the checklist said, and a DELETE never reached the server.
    let requests = server.requests();
    assert!(requests.iter().any(|r| r.path == "/health" && r.header("x-request-id") == Some("golive-test")));
    assert!(requests.iter().all(|r| r.method == "GET"), "{requests:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_items_share_kept_alive_connections() {
    let server = HttpServer::start(vec![Route::new("/health").body("ok")]).await;
    let w = Workdir::new();
    let mut toml = String::from("[checklist]\nname = \"pool\"\n");
    for i in 0..50 {
        toml.push_str(&format!("[[item]]\nid = \"h{i}\"\nprobe = \"http\"\nurl = \"{}\"\n", server.url("/health")));
    }
    w.write("golive.toml", &toml);
    let (report, out) = w.run_json("golive.toml", &["--concurrency", "4"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["summary"]["pass"], 50);
    assert!(server.connections() <= 8, "50 requests opened {} connections", server.connections());
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_private_ca_and_tls_verify() {
    let pki = TestPki::new();
    let server = HttpServer::start_tls(
        vec![Route::new("/").body("secure")],
        pki.valid(&["localhost", "127.0.0.1"]).server_config(),
    )
    .await;
    let w = Workdir::new();
    let ca = pki.write_ca_file(w.dir.path());
    let port = server.port();
    w.write(
        "golive.toml",
        &format!(
            r#"
[[item]]
id = "trusted"
probe = "http"
url = "https://localhost:{port}/"
ca_file = "{ca}"
expect = {{ status = 200, body = "secure" }}

[[item]]
id = "untrusted"
probe = "http"
url = "https://localhost:{port}/"

[[item]]
id = "no-verify"
probe = "http"
url = "https://localhost:{port}/"
tls_verify = false
expect = {{ status = 200, http_version = "HTTP/2" }}
"#,
            ca = ca.display()
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "trusted", "pass");
    assert_outcome(&report, "untrusted", "error");
    let reason = item(&report, "untrusted")["reason"].as_str().unwrap().to_lowercase();
    assert!(reason.contains("certificate") || reason.contains("issuer"), "{reason}");
    assert_outcome(&report, "no-verify", "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_facts_tell_why_a_certificate_is_bad() {
    let pki = TestPki::new();
    let valid = TlsServer::with_cert(&pki.valid(&["localhost", "127.0.0.1"])).await;
    let expired = TlsServer::with_cert(&pki.expired()).await;
    let expiring = TlsServer::with_cert(&pki.expiring_in_days(5)).await;
    let wrong_host = TlsServer::with_cert(&pki.wrong_host()).await;
    let self_signed = TlsServer::with_cert(&pki.self_signed()).await;
    let w = Workdir::new();
    let ca = pki.write_ca_file(w.dir.path()).display().to_string();
    let mut toml = format!("[vars]\nca = \"{ca}\"\n");
    for (id, server) in [
        ("valid", &valid),
        ("expired", &expired),
        ("expiring", &expiring),
        ("wrong-host", &wrong_host),
        ("self-signed", &self_signed),
    ] {
        toml.push_str(&format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"localhost:{}\"\nca_file = \"${{ca}}\"\nexpect = {{ days_remaining = \">= 30\", hostname_valid = true, chain_trusted = true, protocol = \">= TLSv1.2\" }}\n",
            server.port()
        ));
    }
    toml.push_str(&format!(
        "[[item]]\nid = \"no-ca\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{}\"\nexpect = {{ chain_trusted = false, sans = {{ includes = [\"localhost\", \"127.0.0.1\"] }}, key_type = \"EC\", key_bits = 256 }}\n",
        valid.port()
    ));
    toml.push_str(&format!("[[item]]\nid = \"closed\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{}\"\n", closed_port()));
    w.write("golive.toml", &toml);
    let (report, _) = w.run_json("golive.toml", &[]).await;

    assert_outcome(&report, "valid", "pass");
    assert_eq!(fact(&report, "valid", "protocol"), "TLSv1.3");
    // The test server (rustls) follows the client's order, and golive offers AES-128-GCM
    // first, as browsers do (rustls's own order has AES-256-GCM first).
    assert_eq!(fact(&report, "valid", "cipher"), "TLS13_AES_128_GCM_SHA256");
    assert!(fact(&report, "valid", "verify_error").is_null());

    assert_outcome(&report, "expired", "fail");
    assert!(fact(&report, "expired", "days_remaining").as_i64().unwrap() < 0);
    assert_eq!(fact(&report, "expired", "chain_trusted"), true);
    assert!(fact(&report, "expired", "verify_error").as_str().unwrap().contains("expired"));

    assert_outcome(&report, "expiring", "fail");
    assert_eq!(fact(&report, "expiring", "days_remaining"), 5);
    let reason = item(&report, "expiring")["reason"].as_str().unwrap().to_string();
    assert!(reason.starts_with("days_remaining: expected >= 30, observed 5 (not_after: "), "{reason}");

    assert_outcome(&report, "wrong-host", "fail");
    assert_eq!(fact(&report, "wrong-host", "hostname_valid"), false);
    assert_eq!(fact(&report, "wrong-host", "chain_trusted"), true);

    assert_outcome(&report, "self-signed", "fail");
    assert_eq!(fact(&report, "self-signed", "chain_trusted"), false);
    assert!(fact(&report, "self-signed", "verify_error").as_str().unwrap().contains("self-signed"));

    assert_outcome(&report, "no-ca", "pass");
    assert_outcome(&report, "closed", "error");
}

/// A chain is verified once per run and its verdict remembered (`chain_memo`): the verdict
/// must still be each item's own, for its name, its server's chain, with or without the
/// anchor, over `tls` and `https://` alike, however the items interleave.
#[tokio::test(flavor = "multi_thread")]
async fn remembered_chain_verdicts_stay_each_items_own() {
    let pki = TestPki::new();
    let valid = TlsServer::with_cert(&pki.valid(&["localhost"])).await;
    let expired = TlsServer::with_cert(&pki.expired()).await;
    let https =
        HttpServer::start_tls(vec![Route::new("/").body("ok")], pki.valid(&["localhost"]).server_config()).await;
    let w = Workdir::new();
    let ca = pki.write_ca_file(w.dir.path()).display().to_string();
    let mut toml = format!("[vars]\nca = \"{ca}\"\n");
    let mut want = Vec::new();
    for round in 0..4 {
        for (id, port, name, outcome) in [
            ("valid", valid.port(), "localhost", "pass"),
            ("other-name", valid.port(), "other.test", "fail"),
            ("expired", expired.port(), "localhost", "fail"),
        ] {
            let id = format!("{id}-{round}");
            toml.push_str(&format!(
                "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"127.0.0.1:{port}\"\nserver_name = \"{name}\"\nca_file = \"${{ca}}\"\nexpect = {{ hostname_valid = true, chain_trusted = true, days_remaining = \">= 1\" }}\n"
            ));
            want.push((id, outcome));
        }
        let id = format!("no-ca-{round}");
        toml.push_str(&format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"localhost:{}\"\nexpect = {{ chain_trusted = false }}\n",
            valid.port()
        ));
        want.push((id, "pass"));
        for (id, host, outcome) in [("https", "localhost", "pass"), ("https-by-ip", "127.0.0.1", "error")] {
            let id = format!("{id}-{round}");
            toml.push_str(&format!(
                "[[item]]\nid = \"{id}\"\nprobe = \"http\"\nurl = \"https://{host}:{}/\"\nca_file = \"${{ca}}\"\nexpect = {{ status = 200 }}\n",
                https.port()
            ));
            want.push((id, outcome));
        }
    }
    w.write("golive.toml", &toml);
    let (report, _) = w.run_json("golive.toml", &[]).await;
    for (id, outcome) in &want {
        assert_outcome(&report, id, outcome);
    }
    for round in 0..4 {
        let other = format!("other-name-{round}");
        assert_eq!(fact(&report, &other, "hostname_valid"), false, "{other}");
        assert_eq!(fact(&report, &other, "chain_trusted"), true, "{other}");
        assert!(fact(&report, &other, "verify_error").as_str().unwrap().contains("other.test"), "{other}");
        let expired = format!("expired-{round}");
        assert!(fact(&report, &expired, "verify_error").as_str().unwrap().contains("expired"), "{expired}");
        assert!(fact(&report, &format!("valid-{round}"), "verify_error").is_null());
        let by_ip = item(&report, &format!("https-by-ip-{round}"))["reason"].as_str().unwrap().to_string();
        assert!(by_ip.contains("certificate"), "{by_ip}");
    }
}

/// A `ca_file` trust judges a chain against the file first and reads the system's store
/// (here `SSL_CERT_FILE`) only for a chain that does not lead to the file: the same verdicts
/// as judging against both at once, for `tls` and `https://` items alike.
#[tokio::test(flavor = "multi_thread")]
async fn the_system_store_is_read_only_for_chains_that_do_not_lead_to_ca_file() {
    let (file_pki, system_pki, neither_pki) = (TestPki::new(), TestPki::new(), TestPki::new());
    let by_file = TlsServer::with_cert(&file_pki.valid(&["localhost"])).await;
    let by_system = TlsServer::with_cert(&system_pki.valid(&["localhost"])).await;
    let by_neither = TlsServer::with_cert(&neither_pki.valid(&["localhost"])).await;
    let https_by_file =
        HttpServer::start_tls(vec![Route::new("/").body("ok")], file_pki.valid(&["localhost"]).server_config()).await;
    let https_by_system =
        HttpServer::start_tls(vec![Route::new("/").body("ok")], system_pki.valid(&["localhost"]).server_config()).await;
    let w = Workdir::new();
    std::fs::create_dir_all(w.path("file")).unwrap();
    std::fs::create_dir_all(w.path("system")).unwrap();
    let ca = file_pki.write_ca_file(&w.path("file")).display().to_string();
    let system = system_pki.write_ca_file(&w.path("system")).display().to_string();
    let tls = |id: &str, port: u16, trusted: bool| {
        let days = if trusted { ", verified_chain_min_days_remaining = \">= 30\"" } else { "" };
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"tls\"\naddress = \"localhost:{port}\"\nca_file = \"{ca}\"\nexpect = {{ chain_trusted = {trusted}, hostname_valid = true{days} }}\n"
        )
    };
    let https = |id: &str, port: u16| {
        format!(
            "[[item]]\nid = \"{id}\"\nprobe = \"http\"\nurl = \"https://localhost:{port}/\"\nca_file = \"{ca}\"\nexpect = {{ status = 200 }}\n"
        )
    };
    let env = [("SSL_CERT_FILE", system.as_str()), ("GOLIVE_LOG", "golive=debug")];
    let run = |toml: String| {
        let w = &w;
        async move {
            w.write("golive.toml", &toml);
            let out = w.run_env(&["run", "golive.toml", "--output", "json=report.json"], &env).await;
            let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).expect("report");
            let reads = stderr(&out).matches("trusting the system's store").count();
            (report, out, reads)
        }
    };

    // Every chain leads to ca_file: the system's store is never read.
    let (report, out, reads) = run([
        tls("file-1", by_file.port(), true),
        tls("file-2", by_file.port(), true),
        https("https-file", https_by_file.port()),
    ]
    .concat())
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["summary"]["pass"], 3);
    assert_eq!(reads, 0, "the system's store was read: {}", stderr(&out));

    // Chains that lead to the system's store, or to neither: it is read once, and trusted.
    let (report, out, reads) = run([
        tls("file", by_file.port(), true),
        tls("system-1", by_system.port(), true),
        tls("system-2", by_system.port(), true),
        https("https-system", https_by_system.port()),
        tls("neither", by_neither.port(), false),
    ]
    .concat())
    .await;
    assert_eq!(report["summary"]["pass"], 5, "{}", stderr(&out));
    assert_eq!(reads, 1, "{}", stderr(&out));
    // The test CAs share a name: the other CA's signature is what fails.
    assert!(fact(&report, "neither", "verify_error").as_str().unwrap().contains("signature"), "{report}");
    assert!(fact(&report, "system-1", "verify_error").is_null());
    assert!(fact(&report, "neither", "verified_chain_min_days_remaining").is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_answers_ttl_and_nxdomain_from_a_local_server() {
    let dns = DnsServer::start(vec![
        TestRecord::a("app.golive.test.", "127.0.0.10", 300),
        TestRecord::a("app.golive.test.", "127.0.0.11", 60),
        TestRecord::mx("golive.test.", 10, "mail.golive.test.", 3600),
        TestRecord::txt("golive.test.", "v=spf1 -all", 3600),
        TestRecord::cname("www.golive.test.", "app.golive.test.", 30),
    ])
    .await;
    let w = Workdir::new();
    let server = dns.addr();
    w.write(
        "golive.toml",
        &format!(
            r#"
[vars]
dns = "{server}"
[[item]]
id = "a"
probe = "dns"
name = "app.golive.test"
server = "${{dns}}"
expect = {{ answers = ["127.0.0.11", "127.0.0.10"], ttl = "<= 5m" }}
[[item]]
id = "mx"
probe = "dns"
name = "golive.test"
type = "mx"
server = "${{dns}}"
expect = {{ answers = {{ includes = ["10 mail.golive.test"] }} }}
[[item]]
id = "txt"
probe = "dns"
name = "golive.test"
type = "TXT"
server = "${{dns}}"
expect = {{ answers = {{ includes = "v=spf1 -all" }} }}
[[item]]
id = "cname"
probe = "dns"
name = "www.golive.test"
type = "CNAME"
server = "${{dns}}"
expect = {{ answers = ["app.golive.test"] }}
[[item]]
id = "missing"
probe = "dns"
name = "nope.golive.test"
server = "${{dns}}"
[[item]]
id = "servfail"
probe = "dns"
name = "servfail.test"
server = "${{dns}}"
"#
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    for id in ["a", "mx", "txt", "cname"] {
        assert_outcome(&report, id, "pass");
    }
    assert_eq!(fact(&report, "a", "ttl"), 60_000.0, "ttl is the lowest, in ms");
    assert_outcome(&report, "missing", "fail");
    assert_eq!(fact(&report, "missing", "nxdomain"), true);
    assert_outcome(&report, "servfail", "error");
    assert!(dns.queries() >= 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn tcp_open_closed_and_a_hung_listener_ends_at_the_timeout() {
    let http = HttpServer::start(vec![]).await;
    let hung = HungListener::start().await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            r#"
[[item]]
id = "open"
probe = "tcp"
address = "127.0.0.1:{open}"
expect = {{ open = true, latency = "< 2s" }}
[[item]]
id = "must-be-closed"
probe = "tcp"
address = "127.0.0.1:{closed}"
expect = {{ open = false }}
[[item]]
id = "closed-but-expected-open"
probe = "tcp"
address = "127.0.0.1:{closed}"
[[item]]
id = "hung-http"
probe = "http"
url = "http://127.0.0.1:{hung}/"
timeout = "1s"
"#,
            open = http.port(),
            closed = closed_port(),
            hung = hung.port()
        ),
    );
    let started = Instant::now();
    let (report, _) = w.run_json("golive.toml", &[]).await;
    let elapsed = started.elapsed();
    assert_outcome(&report, "open", "pass");
    assert_outcome(&report, "must-be-closed", "pass");
    assert_eq!(fact(&report, "must-be-closed", "closed_reason"), "refused");
    assert_outcome(&report, "closed-but-expected-open", "fail");
    assert_outcome(&report, "hung-http", "error");
    let hung_item = item(&report, "hung-http");
    assert_eq!(hung_item["reason"], "timed out after 1s");
    // It ends at its timeout, not later (generous bound: this is not a speed test).
    assert!(hung_item["duration_ms"].as_f64().unwrap() < 1_900.0, "{hung_item}");
    assert!(elapsed < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread")]
async fn file_env_command_and_host_facts() {
    let w = Workdir::new();
    let secret = w.write("secret.key", "-----BEGIN KEY-----\n");
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let open_key = w.write("open.key", "x");
    std::fs::set_permissions(&open_key, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    w.write(
        "golive.toml",
        r#"
[[item]]
id = "key-private"
probe = "file"
path = "secret.key"
expect = { exists = true, kind = "file", mode = { one_of = ["0600", "0400"] }, world_readable = false, size = 20, contents = { contains = "BEGIN" }, sha256 = { matches = "^[0-9a-f]{64}$" } }
[[item]]
id = "key-open"
probe = "file"
path = "open.key"
expect = { mode = { one_of = ["0600", "0400"] } }
[[item]]
id = "missing-file"
probe = "file"
path = "nope.conf"
expect = { exists = false }
[[item]]
id = "env-set"
probe = "env"
name = "GOLIVE_TEST_TOKEN"
expect = { set = true, value = { matches = "^tok-" } }
[[item]]
id = "env-plain"
probe = "env"
name = "GOLIVE_TEST_LEVEL"
secret = false
expect = { value = "info" }
[[item]]
id = "env-unset"
probe = "env"
name = "GOLIVE_TEST_NOT_SET_ANYWHERE"
[[item]]
id = "cmd-json"
probe = "command"
argv = ["sh", "-c", "echo '{\"backups\":[{\"ok\":true}]}'; echo warn >&2"]
expect = { exit_code = 0, stdout_json = { "/backups/0/ok" = true }, stderr = { contains = "warn" }, duration = "< 5s" }
[[item]]
id = "cmd-shell"
probe = "command"
shell = true
argv = ["exit 7"]
expect = { exit_code = 7 }
[[item]]
id = "cmd-missing"
probe = "command"
argv = ["/nonexistent/golive-test-binary"]
[[item]]
id = "host"
probe = "host"
path = "."
expect = { cpu_count = ">= 1", memory_total = "> 64MiB", disk_total = "> 0", uptime = "> 0s", os = { present = true }, arch = { present = true } }
[[item]]
id = "host-impossible"
probe = "host"
expect = { memory_total = ">= 64TiB" }
"#,
    );
    let out = w
        .run_env(
            &["run", "golive.toml", "--output", "json=report.json", "--quiet"],
            &[("GOLIVE_TEST_TOKEN", "tok-abcdef123"), ("GOLIVE_TEST_LEVEL", "info")],
        )
        .await;
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(out.status.code(), Some(1));
    for id in ["key-private", "missing-file", "env-set", "env-plain", "cmd-json", "cmd-shell", "host"] {
        assert_outcome(&report, id, "pass");
    }
    assert_outcome(&report, "key-open", "fail");
    assert_eq!(fact(&report, "key-open", "mode"), "0644");
    assert_outcome(&report, "env-unset", "fail");
    assert_eq!(fact(&report, "env-set", "value"), "***", "env values are secret by default");
    assert_eq!(fact(&report, "env-plain", "value"), "info");
    assert!(!w.read("report.json").contains("tok-abcdef123"));
    assert_outcome(&report, "cmd-missing", "error");
    assert_outcome(&report, "host-impossible", "fail");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_that_hangs_is_killed_at_its_timeout() {
    let w = Workdir::new();
    let marker = w.path("still-running");
    w.write(
        "golive.toml",
        &format!(
            "[[item]]\nid = \"sleepy\"\nprobe = \"command\"\nshell = true\nargv = [\"sleep 3; touch {}\"]\ntimeout = \"500ms\"\n",
            marker.display()
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "sleepy", "error");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!marker.exists(), "the shell's child survived the timeout");
}
