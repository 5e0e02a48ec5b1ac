//! Every failing row says why, in every output: the facts a probe declares as explaining a
//! failed expectation (`probe::explain`) show next to it in the table, the "Blocking the
//! launch" list, Markdown, JUnit, HTML and JSON; a long observed text shows as a short,
//! numbered excerpt, never whole.

use crate::support::{TestPki, TlsServer, Workdir, item};

#[tokio::test(flavor = "multi_thread")]
async fn failing_rows_say_why_in_every_output() {
    let pki = TestPki::new();
    let self_signed = TlsServer::with_cert(&pki.self_signed()).await;
    let wrong_host = TlsServer::with_cert(&pki.wrong_host()).await;
    let w = Workdir::new();
    let ca = pki.write_ca_file(w.dir.path()).display().to_string();
    // A long config file: 20,000 lines, one of them the defect the item looks for.
    let mut config: String = (0..20_000).map(|i| format!("setting_{i} = {i}\n")).collect();
    config.insert_str(config.find("setting_12345").unwrap(), "debug = true\n");
    w.write("prod.toml", &config);
    w.write(
        "golive.toml",
        &format!(
            "[[item]]\nid = \"self-signed\"\nprobe = \"tls\"\naddress = \"localhost:{}\"\nca_file = \"{ca}\"\nexpect = {{ chain_trusted = true }}\n\n\
             [[item]]\nid = \"wrong-host\"\nprobe = \"tls\"\naddress = \"localhost:{}\"\nca_file = \"{ca}\"\nexpect = {{ hostname_valid = true }}\n\n\
             [[item]]\nid = \"debug-off\"\nprobe = \"file\"\npath = \"prod.toml\"\nexpect = {{ contents = {{ not = {{ contains = \"debug = true\" }} }} }}\n",
            self_signed.port(),
            wrong_host.port()
        ),
    );
    let out = w.run(&crate::support::every_format("golive.toml")).await;
    let table = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value = serde_json::from_str(&w.read("r.json")).unwrap();

    // The why, from verify_error, in the JSON expectation and the reason.
    let ss = item(&report, "self-signed");
    let why = ss["expectations"][0]["explanation"].as_str().expect("an explanation");
    assert!(why.starts_with("verify_error: ") && why.contains("self-signed"), "{why}");
    assert!(ss["reason"].as_str().unwrap().ends_with(&format!("({why})")), "{}", ss["reason"]);
    let wh = item(&report, "wrong-host");
    let why_host = wh["expectations"][0]["explanation"].as_str().expect("an explanation");
    assert!(why_host.contains("sans: "), "{why_host}");

    // The same why in every output for people.
    let junit = w.read("r.xml");
    let markdown = w.read("r.md");
    let html = w.read("r.html");
    for (name, text) in [("table", &table), ("junit", &junit), ("markdown", &markdown), ("html", &html)] {
        // Markdown escapes `_`.
        let text = text.replace("\\_", "_");
        assert!(text.contains("verify_error: "), "{name} shows the why:\n{text:.3000}");
        assert!(text.contains("self-signed"), "{name}");
    }

    // The long file: an excerpt at the line that matched, numbered, never the whole file.
    let debug = item(&report, "debug-off");
    assert_eq!(debug["outcome"], "fail");
    let excerpt = debug["expectations"][0]["excerpt"].as_str().expect("an excerpt");
    assert!(excerpt.starts_with("line 12346: debug = true"), "{excerpt}");
    assert!(excerpt.contains("20001 lines"), "{excerpt}");
    assert!(debug["reason"].as_str().unwrap().len() < 2000, "the reason is bounded");
    for (name, text) in [("table", &table), ("junit", &junit), ("markdown", &markdown)] {
        let text = text.replace("\\_", "_");
        assert!(text.contains("line 12346: debug = true"), "{name} shows the matching line");
        assert!(!text.contains("setting_19999"), "{name} does not dump the file");
        assert!(text.len() < 40_000, "{name} is {} bytes", text.len());
    }
}
