//! The `dns` probe's CAA, SRV, PTR and SOA types, `expected_answers`, and the shipped
//! `infrastructure.dns-resolves` check, run through the real binary against the in-process
//! DNS server on 127.0.0.1 (tests/it/support/dns.rs).

use crate::support;

use serde_json::{Value, json};
use support::{DnsServer, TestRecord, Workdir, assert_outcome, fact, item, stderr};

/// golive.test: a zone apex with SOA, CAA and an SRV service; app has two addresses and
/// reverse names for 10.0.0.5 and 2001:db8::5; api (the launch name) still points at the
/// old load balancer 10.0.0.9.
async fn zone() -> DnsServer {
    DnsServer::start(vec![
        TestRecord::soa(
            "golive.test.",
            "ns1.golive.test.",
            "hostmaster.golive.test.",
            2026120101,
            [7200, 3600, 1209600, 300],
            3600,
        ),
        TestRecord::caa("golive.test.", 0, "issue", "letsencrypt.org", 3600),
        TestRecord::caa("golive.test.", 0, "issue", "Sectigo.com; validationmethods=dns-01", 3600),
        TestRecord::caa("golive.test.", 0, "issuewild", ";", 3600),
        TestRecord::caa("golive.test.", 128, "iodef", "mailto:security@golive.test", 600),
        TestRecord::srv("_https._tcp.golive.test.", 20, 0, 8443, "backup.golive.test.", 300),
        TestRecord::srv("_https._tcp.golive.test.", 10, 5, 443, "app.golive.test.", 120),
        TestRecord::a("app.golive.test.", "10.0.0.6", 60),
        TestRecord::a("app.golive.test.", "10.0.0.5", 60),
        TestRecord::ptr("5.0.0.10.in-addr.arpa.", "app.golive.test.", 300),
        TestRecord::ptr(
            "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
            "app.golive.test.",
            300,
        ),
        TestRecord::a("api.golive.test.", "10.0.0.9", 60),
    ])
    .await
}

fn facts(report: &Value, id: &str) -> serde_json::Map<String, Value> {
    item(report, id)["facts"].as_object().cloned().unwrap_or_default()
}

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// One `dns` item per (id, name, type, extra lines).
fn checklist(server: std::net::SocketAddr, items: &[(&str, &str, &str, &str)]) -> String {
    let mut text = format!("[vars]\ndns = \"{server}\"\n");
    for (id, name, record_type, extra) in items {
        text.push_str(&format!(
            "\n[[item]]\nid = \"{id}\"\nprobe = \"dns\"\nname = \"{name}\"\ntype = \"{record_type}\"\nserver = \"${{dns}}\"\n{extra}\n"
        ));
    }
    text
}

#[tokio::test(flavor = "multi_thread")]
async fn caa_answers_and_the_issuers_they_allow() {
    let dns = zone().await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &checklist(
            dns.addr(),
            &[
                (
                    "caa",
                    "golive.test",
                    "CAA",
                    r#"expect = { caa_issuers = ["letsencrypt.org", "sectigo.com"], caa_wildcard_issuers = [], answers = { includes = '0 issue "letsencrypt.org"' }, ttl = "10m" }"#,
                ),
                ("caa-other-ca", "golive.test", "caa", r#"expect = { caa_issuers = { includes = "digicert.com" } }"#),
                ("caa-none", "app.golive.test", "CAA", r#"expect = { caa_issuers = { includes = "letsencrypt.org" } }"#),
                ("caa-nxdomain", "nope.golive.test", "CAA", ""),
            ],
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "caa", "pass");
    assert_eq!(
        fact(&report, "caa", "answers"),
        &json!([
            r#"0 issue "Sectigo.com; validationmethods=dns-01""#,
            r#"0 issue "letsencrypt.org""#,
            r#"0 issuewild ";""#,
            r#"128 iodef "mailto:security@golive.test""#,
        ])
    );
    assert_eq!(fact(&report, "caa", "caa_issuers"), &json!(["letsencrypt.org", "sectigo.com"]));
    assert_eq!(fact(&report, "caa", "caa_wildcard_issuers"), &json!([]));
    assert_eq!(fact(&report, "caa", "ttl"), 600_000.0);
    // Facts of other types are absent.
    for absent in ["srv_targets", "soa_serial", "reverse_name", "missing_answers"] {
        assert!(!facts(&report, "caa").contains_key(absent), "{absent}: {:?}", facts(&report, "caa"));
    }

    // The failing expectation says which CAs the records do allow.
    assert_outcome(&report, "caa-other-ca", "fail");
    let why = reason(&report, "caa-other-ca");
    assert!(
        why.starts_with(
            r#"caa_issuers: expected includes ["digicert.com"], observed ["letsencrypt.org", "sectigo.com"] (answers: "#
        ),
        "{why}"
    );
    assert!(why.contains(r#"0 issue \"letsencrypt.org\""#), "{why}");

    // A name without CAA records: no issuer list at all (any CA may issue), not an empty one.
    assert_outcome(&report, "caa-none", "fail");
    let none = facts(&report, "caa-none");
    assert_eq!(none["resolves"], false);
    assert_eq!(none["nxdomain"], false);
    assert_eq!(none["answers"], json!([]));
    assert!(!none.contains_key("caa_issuers") && !none.contains_key("caa_wildcard_issuers"), "{none:?}");
    assert!(
        reason(&report, "caa-none").contains("it was not observed (nxdomain: false)"),
        "{}",
        reason(&report, "caa-none")
    );

    assert_outcome(&report, "caa-nxdomain", "fail");
    assert_eq!(fact(&report, "caa-nxdomain", "nxdomain"), true);
    assert_eq!(reason(&report, "caa-nxdomain"), "resolves: expected == true, observed false (nxdomain: true)");
}

#[tokio::test(flavor = "multi_thread")]
async fn srv_and_soa_answers_targets_ports_and_serial() {
    let dns = zone().await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &checklist(
            dns.addr(),
            &[
                (
                    "srv",
                    "_https._tcp.golive.test",
                    "SRV",
                    r#"expect = { srv_targets = ["backup.golive.test", "app.golive.test"], srv_ports = { includes = "443" }, answers = { includes = "10 5 443 app.golive.test" } }"#,
                ),
                ("srv-one-port", "_https._tcp.golive.test", "SRV", r#"expect = { srv_ports = ["443"] }"#),
                ("srv-none", "_imaps._tcp.golive.test", "SRV", r#"expect = { srv_targets = { present = false } }"#),
                (
                    "soa",
                    "golive.test",
                    "SOA",
                    r#"expect = { soa_serial = ">= 2026120101", soa_primary = "ns1.golive.test", soa_negative_ttl = "<= 5m" }"#,
                ),
                ("soa-old-serial", "golive.test", "SOA", r#"expect = { soa_serial = ">= 2026120200" }"#),
                ("soa-not-apex", "app.golive.test", "SOA", r#"expect = { resolves = false, soa_serial = { present = false } }"#),
            ],
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "srv", "pass");
    assert_eq!(fact(&report, "srv", "answers"), &json!(["10 5 443 app.golive.test", "20 0 8443 backup.golive.test"]));
    assert_eq!(fact(&report, "srv", "srv_targets"), &json!(["app.golive.test", "backup.golive.test"]));
    assert_eq!(fact(&report, "srv", "srv_ports"), &json!(["443", "8443"]));
    assert_eq!(fact(&report, "srv", "ttl"), 120_000.0);

    assert_outcome(&report, "srv-one-port", "fail");
    let why = reason(&report, "srv-one-port");
    assert!(
        why.starts_with(r#"srv_ports: expected == ["443"], observed ["443", "8443"] (answers: ["10 5 443 app.golive.test", "20 0 8443 backup.golive.test"]"#),
        "{why}"
    );

    // No such service: the SRV facts are absent.
    assert_outcome(&report, "srv-none", "pass");
    assert_eq!(fact(&report, "srv-none", "nxdomain"), true);

    assert_outcome(&report, "soa", "pass");
    assert_eq!(
        fact(&report, "soa", "answers"),
        &json!(["ns1.golive.test hostmaster.golive.test 2026120101 7200 3600 1209600 300"])
    );
    assert_eq!(fact(&report, "soa", "soa_serial"), 2026120101_i64);
    assert_eq!(fact(&report, "soa", "soa_primary"), "ns1.golive.test");
    assert_eq!(fact(&report, "soa", "soa_negative_ttl"), 300_000.0);

    assert_outcome(&report, "soa-old-serial", "fail");
    let why = reason(&report, "soa-old-serial");
    assert!(why.starts_with("soa_serial: expected >= 2026120200, observed 2026120101 (answers: "), "{why}");

    // A name inside the zone has no SOA of its own: no records of the type, not an error.
    assert_outcome(&report, "soa-not-apex", "pass");
    assert_eq!(fact(&report, "soa-not-apex", "nxdomain"), false);
}

#[tokio::test(flavor = "multi_thread")]
async fn ptr_from_an_ip_address_or_a_reverse_name() {
    let dns = zone().await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &checklist(
            dns.addr(),
            &[
                ("ptr-v4", "10.0.0.5", "PTR", r#"expect = { answers = ["app.golive.test"] }"#),
                ("ptr-v6", "2001:db8::5", "PTR", r#"expect = { answers = ["app.golive.test"] }"#),
                ("ptr-written", "5.0.0.10.in-addr.arpa", "PTR", r#"expect = { answers = ["app.golive.test"] }"#),
                ("ptr-wrong", "10.0.0.5", "PTR", r#"expect = { answers = ["api.golive.test"] }"#),
                ("ptr-missing", "10.0.0.99", "PTR", r#"expect = { answers = { includes = "app.golive.test" } }"#),
                (
                    "ptr-expected",
                    "10.0.0.5",
                    "PTR",
                    "expected_answers = [\"APP.golive.test.\"]\nexpect = { missing_answers = [], unexpected_answers = [] }",
                ),
            ],
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    for id in ["ptr-v4", "ptr-v6", "ptr-written", "ptr-expected"] {
        assert_outcome(&report, id, "pass");
    }
    assert_eq!(fact(&report, "ptr-v4", "reverse_name"), "5.0.0.10.in-addr.arpa");
    assert_eq!(
        fact(&report, "ptr-v6", "reverse_name"),
        "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
    );
    // A reverse name written out is asked as it is: nothing was turned into one.
    assert!(!facts(&report, "ptr-written").contains_key("reverse_name"));

    assert_outcome(&report, "ptr-wrong", "fail");
    assert_eq!(
        reason(&report, "ptr-wrong"),
        r#"answers: expected == ["api.golive.test"], observed ["app.golive.test"] (nxdomain: false; reverse_name: 5.0.0.10.in-addr.arpa)"#
    );
    assert_outcome(&report, "ptr-missing", "fail");
    assert_eq!(fact(&report, "ptr-missing", "nxdomain"), true);
    assert_eq!(
        reason(&report, "ptr-missing"),
        r#"answers: expected includes ["app.golive.test"], observed [] (nxdomain: true; reverse_name: 99.0.0.10.in-addr.arpa)"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expected_answers_name_the_missing_and_the_unexpected_and_fit_one_word_types_only() {
    let dns = zone().await;
    let w = Workdir::new();
    let expect = "expect = { missing_answers = [], unexpected_answers = [] }";
    w.write(
        "golive.toml",
        &checklist(
            dns.addr(),
            &[
                ("exact", "app.golive.test", "A", &format!("expected_answers = [\"10.0.0.6, 10.0.0.5\"]\n{expect}")),
                ("stale", "api.golive.test", "A", &format!("expected_answers = [\"10.0.0.5\"]\n{expect}")),
                (
                    "one-more",
                    "app.golive.test",
                    "A",
                    &format!("expected_answers = [\"10.0.0.5\", \"10.0.0.7\"]\n{expect}"),
                ),
                ("not-an-ip", "app.golive.test", "A", &format!("expected_answers = [\"app.golive.test\"]\n{expect}")),
                ("nothing", "nope.golive.test", "A", &format!("expected_answers = [\"10.0.0.5\"]\n{expect}")),
            ],
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "exact", "pass");
    assert_eq!(fact(&report, "exact", "missing_answers"), &json!([]));
    assert_eq!(fact(&report, "exact", "unexpected_answers"), &json!([]));

    assert_outcome(&report, "stale", "fail");
    assert_eq!(fact(&report, "stale", "missing_answers"), &json!(["10.0.0.5"]));
    assert_eq!(fact(&report, "stale", "unexpected_answers"), &json!(["10.0.0.9"]));
    assert_eq!(
        reason(&report, "stale"),
        r#"missing_answers: expected == [], observed ["10.0.0.5"] (answers: ["10.0.0.9"]; nxdomain: false)"#
    );

    assert_outcome(&report, "one-more", "fail");
    assert_eq!(fact(&report, "one-more", "missing_answers"), &json!(["10.0.0.7"]));
    assert_eq!(fact(&report, "one-more", "unexpected_answers"), &json!(["10.0.0.6"]));

    assert_outcome(&report, "not-an-ip", "error");
    assert_eq!(
        reason(&report, "not-an-ip"),
        r#"`expected_answers`: expected answer "app.golive.test" is not an IPv4 address (type A)"#
    );

    assert_outcome(&report, "nothing", "fail");
    assert_eq!(fact(&report, "nothing", "missing_answers"), &json!(["10.0.0.5"]));
    assert!(reason(&report, "nothing").ends_with("(nxdomain: true)"), "{}", reason(&report, "nothing"));

    // For a type whose answers hold spaces, `expected_answers` is a checklist error.
    w.write(
        "mx.toml",
        &checklist(dns.addr(), &[("mx", "golive.test", "MX", "expected_answers = [\"10 mail.golive.test\"]")]),
    );
    let out = w.run(&["validate", "mx.toml", "--format", "short"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`expected_answers` applies to A, AAAA, CNAME, NS and PTR, not to MX"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shipped_dns_check_is_red_on_a_wrong_or_stale_address_and_green_on_the_right_ones() {
    let dns = zone().await;
    let w = Workdir::new();
    w.write("golive.toml", "[[item]]\nuse = \"infrastructure.dns-resolves\"\n");
    let server = dns.addr().to_string();
    let run = |hostname: &'static str, addresses: &'static str| {
        let (w, server) = (&w, server.clone());
        async move {
            let vars = [
                format!("hostname={hostname}"),
                format!("expected_addresses={addresses}"),
                format!("dns_server={server}"),
            ];
            let mut args = Vec::new();
            for v in &vars {
                args.extend(["--var", v.as_str()]);
            }
            w.run_json("golive.toml", &args).await
        }
    };
    const ID: &str = "infrastructure.dns-resolves";

    // Green: the name points at exactly the new load balancer's two addresses.
    let (report, out) = run("app.golive.test", "10.0.0.5 10.0.0.6").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_outcome(&report, ID, "pass");
    assert_eq!(item(&report, ID)["title"], "app.golive.test resolves to 10.0.0.5 10.0.0.6");
    // Written with a comma, in another order: the same.
    let (report, _) = run("app.golive.test", "10.0.0.6,10.0.0.5").await;
    assert_outcome(&report, ID, "pass");

    // Red: the launch name still points at the old load balancer (it resolves, which the
    // check used to take for a pass).
    let (report, out) = run("api.golive.test", "10.0.0.5").await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_outcome(&report, ID, "fail");
    assert_eq!(fact(&report, ID, "resolves"), true);
    assert!(
        reason(&report, ID)
            .starts_with(r#"missing_answers: expected == [], observed ["10.0.0.5"] (answers: ["10.0.0.9"]"#),
        "{}",
        reason(&report, ID)
    );

    // Red: one of the two addresses only (the other one stale or forgotten).
    let (report, _) = run("app.golive.test", "10.0.0.5").await;
    assert_outcome(&report, ID, "fail");
    assert_eq!(fact(&report, ID, "missing_answers"), &json!([]));
    assert_eq!(fact(&report, ID, "unexpected_answers"), &json!(["10.0.0.6"]));

    // Red: the name does not exist.
    let (report, _) = run("nope.golive.test", "10.0.0.5").await;
    assert_outcome(&report, ID, "fail");
    assert_eq!(reason(&report, ID), "resolves: expected == true, observed false (nxdomain: true)");

    // The var is required: no run without it.
    let out = w
        .run(&["run", "golive.toml", "--var", "hostname=app.golive.test", "--var", &format!("dns_server={server}")])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("expected_addresses"), "{}", stderr(&out));
}
