//! Security probes against real local things: the http probe's security facts against
//! HTTP and HTTPS servers started here, `ports` against listeners on 127.0.0.1, `sshd`
//! against config files written here, `secrets_scan` against a tree with planted fake
//! secrets that no output may contain.

use crate::support as common;
use crate::support;

use common::{Workdir, assert_outcome, fact, item, stderr, stdout};
use serde_json::json;
use support::{HttpServer, Route, TestPki, closed_port};

#[tokio::test(flavor = "multi_thread")]
async fn http_security_headers_cors_banners_redirects_and_exposed_paths() {
    let server = HttpServer::start(vec![
        Route::new("/secure")
            .header("strict-transport-security", "max-age=63072000; includeSubDomains; preload")
            .header("content-security-policy", "default-src 'self'")
            .header("x-frame-options", "DENY")
            .header("x-content-type-options", "nosniff")
            .header("referrer-policy", "no-referrer")
            .header("server", "nginx")
            .header("access-control-allow-origin", "https://app.example.test"),
        Route::new("/leaky")
            .header("server", "nginx/1.25.3")
            .header("x-powered-by", "PHP/8.2.1")
            .header("strict-transport-security", "max-age=300")
            .header("access-control-allow-origin", "https://untrusted.example.test")
            .header("access-control-allow-credentials", "true"),
        Route::new("/star")
            .header("access-control-allow-origin", "*")
            .header("access-control-allow-credentials", "true"),
        Route::redirect("/to-https", "https://app.example.test/", 301),
        Route::redirect("/to-http", "http://app.example.test/", 302),
        Route::new("/debug/pprof").body("profiles"),
        Route::new("/actuator/env").status(401),
        Route::redirect("/admin", "/login", 302),
        Route::new("/login").body("log in"),
    ])
    .await;
    let w = Workdir::new();
    let base = server.url("");
    w.write(
        "golive.toml",
        &format!(
            r#"
[vars]
api = "{base}"

[[item]]
id = "secure"
probe = "http"
url = "${{api}}/secure"
expect = {{ hsts_max_age = ">= 365d", hsts_include_subdomains = true, hsts_preload = true, missing_security_headers = [], server_banner_version = false, cors_allows_any_origin_with_credentials = false }}

[[item]]
id = "leaky"
probe = "http"
url = "${{api}}/leaky"
headers = {{ Origin = "https://untrusted.example.test" }}
expect = {{ hsts_max_age = ">= 180d", missing_security_headers = [], server_banner_version = false, cors_allows_any_origin_with_credentials = false }}

[[item]]
id = "star"
probe = "http"
url = "${{api}}/star"
expect = {{ cors_allows_any_origin_with_credentials = false, hsts_max_age = {{ present = false }} }}

[[item]]
id = "to-https"
probe = "http"
url = "${{api}}/to-https"
expect = {{ redirects_to_https = true }}

[[item]]
id = "to-http"
probe = "http"
url = "${{api}}/to-http"
expect = {{ redirects_to_https = true }}

[[item]]
id = "debug-endpoints"
probe = "http"
url = "${{api}}/"
paths = ["/debug/pprof", "/actuator/env", "/.env", "/admin", "debug/pprof"]
expect = {{ exposed_paths = [] }}
"#
        ),
    );
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    assert_outcome(&report, "secure", "pass");
    assert_eq!(fact(&report, "secure", "hsts_max_age"), 63_072_000_000.0, "two years, in ms");

    assert_outcome(&report, "leaky", "fail");
    let leaky = item(&report, "leaky");
    let failed: Vec<&str> = leaky["expectations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["passed"] == false)
        .map(|e| e["fact"].as_str().unwrap())
        .collect();
    assert_eq!(
        failed,
        [
            "hsts_max_age",
            "missing_security_headers",
            "server_banner_version",
            "cors_allows_any_origin_with_credentials"
        ]
    );
    assert_eq!(
        fact(&report, "leaky", "missing_security_headers"),
        &json!(["content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"])
    );
    assert_eq!(fact(&report, "leaky", "hsts_include_subdomains"), false);

    assert_outcome(&report, "star", "fail");
    assert_eq!(fact(&report, "star", "cors_allows_any_origin_with_credentials"), true);

    assert_outcome(&report, "to-https", "pass");
    assert_outcome(&report, "to-http", "fail");
    assert_eq!(fact(&report, "to-http", "redirects_to_https"), false);

    // 2xx only: a 401, a 404 and a redirect to a login page do not expose a path.
    assert_outcome(&report, "debug-endpoints", "fail");
    assert_eq!(fact(&report, "debug-endpoints", "exposed_paths"), &json!(["/debug/pprof", "debug/pprof"]));

    let requests = server.requests();
    assert!(requests.iter().all(|r| r.method == "GET"), "{requests:?}");
    assert!(
        requests.iter().any(|r| r.path == "/leaky" && r.header("origin") == Some("https://untrusted.example.test"))
    );
    for path in ["/debug/pprof", "/actuator/env", "/.env", "/admin"] {
        assert!(requests.iter().any(|r| r.path == path), "{path} was not requested");
    }
    assert!(!requests.iter().any(|r| r.path == "/login"), "the redirect to the login page was followed");
}

#[tokio::test(flavor = "multi_thread")]
async fn hsts_is_a_missing_security_header_only_over_https() {
    let pki = TestPki::new();
    let tls = HttpServer::start_tls(
        vec![
            Route::new("/")
                .header("content-security-policy", "default-src 'self'")
                .header("x-frame-options", "DENY")
                .header("x-content-type-options", "nosniff")
                .header("referrer-policy", "no-referrer"),
        ],
        pki.valid(&["localhost", "127.0.0.1"]).server_config(),
    )
    .await;
    let plain = HttpServer::start(vec![Route::new("/").header("content-security-policy", "default-src 'self'")]).await;
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            r#"
[[item]]
id = "https"
probe = "http"
url = "{https}"
tls_verify = false
expect = {{ missing_security_headers = [] }}

[[item]]
id = "plain"
probe = "http"
url = "{plain}"
expect = {{ missing_security_headers = {{ excludes = ["strict-transport-security", "content-security-policy"] }} }}
"#,
            https = tls.url("/"),
            plain = plain.url("/")
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "https", "fail");
    assert_eq!(fact(&report, "https", "missing_security_headers"), &json!(["strict-transport-security"]));
    assert_outcome(&report, "plain", "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn ports_open_unexpected_and_allowed_but_closed() {
    // Kept open for the whole test: the kernel completes handshakes without accept().
    let listeners: Vec<std::net::TcpListener> =
        (0..3).map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind")).collect();
    let mut open: Vec<u16> = listeners.iter().map(|l| l.local_addr().unwrap().port()).collect();
    open.sort();
    let closed = closed_port();
    let (a, b, c) = (open[0], open[1], open[2]);
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!(
            r#"
[[item]]
id = "one-unexpected"
probe = "ports"
host = "127.0.0.1"
ports = [{c}, {a}, {b}, {closed}]
allowed = [{a}, {b}]

[[item]]
id = "exactly-allowed"
probe = "ports"
host = "localhost"
ports = [{a}, {b}, {c}, {closed}]
allowed = [{a}, {b}, {c}, {closed}]
connect_timeout = "500ms"
concurrency = 2
expect = {{ unexpected_open = [], allowed_not_open = [], count = 3 }}

[[item]]
id = "range"
probe = "ports"
host = "127.0.0.1"
ports = ["{a}-{a_end}"]
allowed = ["1-65535"]
expect = {{ open_ports = {{ includes = ["{a}"] }}, scanned = 40, filtered = 0 }}
"#,
            a_end = a.saturating_add(39)
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;

    assert_outcome(&report, "one-unexpected", "fail");
    assert_eq!(fact(&report, "one-unexpected", "unexpected_open"), &json!([c.to_string()]));
    assert_eq!(fact(&report, "one-unexpected", "open_ports"), &json!([a.to_string(), b.to_string(), c.to_string()]));
    assert_eq!(fact(&report, "one-unexpected", "scanned"), 4);
    assert_eq!(fact(&report, "one-unexpected", "address"), "127.0.0.1");

    assert_outcome(&report, "exactly-allowed", "fail");
    assert_eq!(fact(&report, "exactly-allowed", "allowed_not_open"), &json!([closed.to_string()]));
    assert_eq!(fact(&report, "exactly-allowed", "unexpected_open"), &json!([]));
    assert_eq!(fact(&report, "exactly-allowed", "address"), "127.0.0.1", "IPv4 first");

    assert_outcome(&report, "range", "pass");
    drop(listeners);
}

#[test]
fn ports_that_are_not_ports_are_rejected_by_validate() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[[item]]\nid = \"p\"\nprobe = \"ports\"\nhost = \"127.0.0.1\"\nports = [22, 70000, \"90-80\"]\n",
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(text.contains("error[GL003]: `ports`: 70000 is not a port (1-65535)"), "{text}");
}

const SSHD_CONFIG: &str = r#"# Global settings first; the drop-ins come first so they win, as on Debian.
Include sshd_config.d/*.conf
PermitRootLogin yes
passwordauthentication yes
Port 22
Port=2222
ChallengeResponseAuthentication no   # older name of KbdInteractiveAuthentication
Subsystem sftp /usr/lib/openssh/sftp-server
Banner "/etc/issue net"

Match User backup
    PasswordAuthentication yes
    PermitRootLogin yes

Match Address 10.0.0.0/8
    X11Forwarding yes
"#;

#[tokio::test(flavor = "multi_thread")]
async fn sshd_config_with_includes_first_value_wins_and_match_blocks() {
    let w = Workdir::new();
    w.write("ssh/sshd_config", SSHD_CONFIG);
    w.write(
        "ssh/sshd_config.d/50-hardening.conf",
        "PermitRootLogin no\nPasswordAuthentication no\nMaxAuthTries 3\nMatch Group admins\n  AllowTcpForwarding yes\n",
    );
    // The Match block of the first drop-in ends with its file: these are global again.
    w.write("ssh/sshd_config.d/60-more.conf", "PermitEmptyPasswords NO\nX11Forwarding no\n");
    w.write("ssh/sshd_config.d/ignored.txt", "PermitRootLogin yes\n");
    w.write("ssh/empty_config", "# nothing set: OpenSSH's defaults apply\n");
    w.write("ssh/loop_config", "Include loop_config\n");
    let ssh = w.path("ssh").display().to_string();
    w.write(
        "golive.toml",
        &format!(
            r#"
[vars]
ssh = "{ssh}"

[[item]]
id = "hardened"
probe = "sshd"
path = "${{ssh}}/sshd_config"
include_dir = "${{ssh}}"
expect = {{ permit_root_login = "no", password_authentication = false, kbd_interactive_authentication = false, permit_empty_passwords = false, x11_forwarding = false, max_auth_tries = "<= 4", pubkey_authentication = true, "setting.PERMITROOTLOGIN" = "no", setting = {{ Banner = "/etc/issue net", subsystem = {{ contains = "sftp" }} }}, ports = ["22", "2222"] }}

[[item]]
id = "no-match-reenables-passwords"
probe = "sshd"
path = "${{ssh}}/sshd_config"
include_dir = "${{ssh}}"
expect = {{ match_settings = {{ not = {{ matches = "passwordauthentication yes" }} }} }}

[[item]]
id = "defaults"
probe = "sshd"
path = "${{ssh}}/empty_config"
expect = {{ password_authentication = false }}

[[item]]
id = "missing"
probe = "sshd"
path = "${{ssh}}/nope"

[[item]]
id = "loop"
probe = "sshd"
path = "${{ssh}}/loop_config"
include_dir = "${{ssh}}"
"#
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "hardened", "pass");
    assert_eq!(
        fact(&report, "hardened", "match_blocks"),
        &json!(["Group admins", "User backup", "Address 10.0.0.0/8"])
    );
    assert_eq!(
        fact(&report, "hardened", "match_settings"),
        &json!([
            "Group admins: allowtcpforwarding yes",
            "User backup: passwordauthentication yes",
            "User backup: permitrootlogin yes",
            "Address 10.0.0.0/8: x11forwarding yes"
        ])
    );
    let files = fact(&report, "hardened", "files").as_array().unwrap();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files[1].as_str().unwrap().ends_with("50-hardening.conf"));

    assert_outcome(&report, "no-match-reenables-passwords", "fail");

    // Unset, PasswordAuthentication is yes: OpenSSH's default.
    assert_outcome(&report, "defaults", "fail");
    assert_eq!(fact(&report, "defaults", "password_authentication"), true);
    assert_eq!(fact(&report, "defaults", "permit_root_login"), "prohibit-password");
    assert_eq!(fact(&report, "defaults", "explicit_settings"), &json!([]));

    assert_outcome(&report, "missing", "error");
    assert!(item(&report, "missing")["reason"].as_str().unwrap().contains("cannot read"));
    assert_outcome(&report, "loop", "error");
    assert!(item(&report, "loop")["reason"].as_str().unwrap().contains("nested more than 16"));
}

/// Planted fake secrets: none of these may appear in any output.
const PLANTED: &[&str] = &[
    "planted-env-password-81723",
    "planted-yaml-secret-55120",
    "AKIAPLANTEDFAKEKEY12",
    "b3BlbnNzaC1rZXktdjEAAAAplanted",
    "planted-url-password-9931",
    "planted-ignored-token-4412",
    "ghp_plantedplantedplantedplantedplanted12",
];

#[tokio::test(flavor = "multi_thread")]
async fn secrets_scan_finds_planted_secrets_and_never_shows_them() {
    let w = Workdir::new();
    let repo = "repo";
    let f = |name: &str, content: &str| {
        w.write(&format!("{repo}/{name}"), content);
    };
    f(".gitignore", "ignored/\n.env.local\n*.bin\n");
    f(".env", "APP_ENV=production\nDB_PASSWORD=planted-env-password-81723\n");
    f(".env.local", "API_TOKEN=planted-ignored-token-4412\n");
    f(".env.example", "DB_PASSWORD=\nAPI_TOKEN=<your token>\n");
    f("ignored/notes.txt", "aws = AKIAPLANTEDFAKEKEY12\n");
    f(
        "config/app.yml",
        "db:\n  host: db.internal\n  password: planted-yaml-secret-55120\n  token: ${API_TOKEN}\n  database_url: postgres://app:planted-url-password-9931@db:5432/app\n",
    );
    f(
        "deploy/id_ed25519",
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAplanted\n-----END OPENSSH PRIVATE KEY-----\n",
    );
    f(
        "src/settings.py",
        "import os\npassword = os.environ[\"DB_PASSWORD\"]\naws_key = \"AKIAPLANTEDFAKEKEY12\"\ngithub = 'ghp_plantedplantedplantedplantedplanted12'\n",
    );
    f("src/lib.rs", "fn main() { let token = read_token(); }\n");
    f(".git/config", "[remote]\n  url = https://bot:planted-url-password-9931@git.example.test/x.git\n");
    // Binary and oversized files are skipped, not read.
    std::fs::create_dir_all(w.path(&format!("{repo}/assets"))).unwrap();
    std::fs::write(w.path(&format!("{repo}/assets/logo.png")), b"\x89PNG\0\0AKIAPLANTEDFAKEKEY12").unwrap();
    f("dump/big.sql", &format!("-- password = 'planted-yaml-secret-55120'\n{}", "x".repeat(4096)));

    w.write(
        "golive.toml",
        r#"
[[item]]
id = "scan"
probe = "secrets_scan"
path = "repo"
max_file_size = 2048

[[item]]
id = "scan-excluding"
probe = "secrets_scan"
path = "repo"
exclude = ["config/**", "deploy/", "src/", ".env", "dump/"]
expect = { count = 0, files_scanned = ">= 2" }

[[item]]
id = "scan-everything"
probe = "secrets_scan"
path = "repo"
gitignore = false
max_file_size = 2048
expect = { kinds = { includes = ["token_assignment"] }, findings = { includes = ["ignored/notes.txt:1: aws_access_key_id", ".env.local: env_file"] } }

[[item]]
id = "not-a-dir"
probe = "secrets_scan"
path = "repo/.env"
"#,
    );
    let (report, out) = w.run_json("golive.toml", &["--output", "table"]).await;
    assert_outcome(&report, "scan", "fail");
    assert_eq!(
        fact(&report, "scan", "findings"),
        &json!([
            ".env: env_file",
            ".env:2: password_assignment",
            "config/app.yml:3: password_assignment",
            "config/app.yml:5: url_credentials",
            "deploy/id_ed25519:1: private_key",
            "src/settings.py:3: aws_access_key_id",
            "src/settings.py:4: github_token",
        ]),
        "{}",
        serde_json::to_string_pretty(item(&report, "scan")).unwrap()
    );
    assert_eq!(fact(&report, "scan", "count"), 7);
    assert_eq!(
        fact(&report, "scan", "kinds"),
        &json!([
            "aws_access_key_id",
            "env_file",
            "github_token",
            "password_assignment",
            "private_key",
            "url_credentials"
        ])
    );
    // .gitignore, .env, .env.example, config/app.yml, deploy/id_ed25519, src/settings.py, src/lib.rs
    assert_eq!(fact(&report, "scan", "files_scanned"), 7);
    assert_eq!(fact(&report, "scan", "files_skipped"), 2, "the PNG and the oversized dump");
    assert_outcome(&report, "scan-excluding", "pass");
    assert_outcome(&report, "scan-everything", "pass");
    assert_outcome(&report, "not-a-dir", "error");

    let outputs = [w.read("report.json"), stdout(&out), stderr(&out)];
    for planted in PLANTED {
        for text in &outputs {
            assert!(!text.contains(planted), "{planted} leaked into the output:\n{text}");
        }
    }
}

#[test]
fn the_examples_in_the_security_guide_validate() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/security.md")).unwrap();
    let examples: Vec<&str> =
        text.split("```toml\n").skip(1).filter_map(|b| b.split_once("```").map(|(toml, _)| toml)).collect();
    assert_eq!(examples.len(), 9);
    let w = Workdir::new();
    w.write(
        "golive.toml",
        &format!("[vars]\napi = \"https://api.example.test\"\nhost = \"app.example.test\"\n{}", examples.join("\n")),
    );
    let out = w.run_blocking(&["validate", "--strict"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Port lists may take their ports from vars, several in one string; a bad entry is still
/// an error pointing at it, and a var without a value is only a warning while validating.
#[test]
fn port_lists_take_vars_listing_several_ports() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        r#"
[vars]
allowed_ports = { description = "ports that may be open", default = "22, 80 ,443, 8000-8100" }
scan_ports = { description = "ports to scan" }

[[item]]
id = "ports"
probe = "ports"
host = "127.0.0.1"
ports = ["${scan_ports}"]
allowed = ["${allowed_ports}"]
"#,
    );
    let out = w.run_blocking(&["validate", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("GL016"), "{}", stderr(&out));
    let closed = closed_port();
    let out = w.run_blocking(
        &["run", "--output", "json=report.json", "--quiet", "--var", &format!("scan_ports={closed}, 8050")],
        &[],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(item(&report, "ports")["params"]["allowed"], json!([22, 80, 443, "8000-8100"]));
    assert_eq!(item(&report, "ports")["params"]["ports"], json!([closed, 8050]));
    assert_eq!(fact(&report, "ports", "scanned"), 2);
    let out = w.run_blocking(&["validate", "--format", "short", "--var", "scan_ports=22, http"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`ports`: \"${scan_ports}\" is not a port"), "{}", stderr(&out));
}

/// `git = "head"` reads what HEAD commits (a file deleted only from the work tree still
/// counts), `git = "history"` every line ever added on any branch (a key removed by a later
/// commit still leaks); neither shows a secret; a directory that is not a repository is
/// an error when git is asked for.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_scan_reads_the_head_commit_and_the_whole_history() {
    let w = Workdir::new();
    let repo = w.path("repo");
    let git = |args: &[&str]| support::git(&repo, args);
    std::fs::create_dir_all(&repo).unwrap();
    git(&["init", "-q", "-b", "main"]);
    w.write("repo/config/prod.exs", "config :app,\n  aws_key: \"AKIAPLANTEDHISTORY12\"\n");
    w.write("repo/deploy/old.sh", "export DEPLOY_TOKEN='planted-head-token-5521'\n");
    w.write("repo/README.md", "hello\n");
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "first"]);
    // The key is removed by a commit; the deploy script only from the work tree.
    git(&["rm", "-q", "config/prod.exs"]);
    git(&["commit", "-q", "-m", "remove the key"]);
    std::fs::remove_file(w.path("repo/deploy/old.sh")).unwrap();
    std::fs::create_dir_all(w.path("plain")).unwrap();
    w.write("plain/notes.txt", "nothing here\n");
    let items: String = [
        ("tree", "repo", "off"),
        ("head", "repo", "head"),
        ("history", "repo", "history"),
        ("not-a-repo", "plain", "history"),
    ]
    .iter()
    .map(|(id, path, g)| {
        format!("[[item]]\nid = \"{id}\"\nprobe = \"secrets_scan\"\npath = \"{path}\"\ngit = \"{g}\"\n\n")
    })
    .collect();
    w.write("golive.toml", &items);
    let (report, out) = w.run_json("golive.toml", &["-o", "table"]).await;

    assert_outcome(&report, "tree", "pass");
    assert_outcome(&report, "head", "fail");
    assert_eq!(fact(&report, "head", "findings"), &json!(["HEAD:deploy/old.sh:1: token_assignment"]));
    assert_outcome(&report, "history", "fail");
    let history: Vec<String> =
        serde_json::from_value(fact(&report, "history", "findings").clone()).expect("a list of findings");
    assert!(history.iter().any(|f| f.ends_with(":config/prod.exs:2: aws_access_key_id")), "{history:?}");
    assert!(history.iter().any(|f| f.ends_with(":deploy/old.sh:1: token_assignment")), "{history:?}");
    let commit = history[0].split(':').next().unwrap();
    assert!(commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()), "{commit}");
    assert_outcome(&report, "not-a-repo", "error");
    assert!(item(&report, "not-a-repo")["reason"].as_str().unwrap().contains("not a git repository"));

    let everything = format!("{report}{}{}", stdout(&out), stderr(&out));
    for secret in ["AKIAPLANTEDHISTORY12", "planted-head-token-5521"] {
        assert!(!everything.contains(secret), "{secret} shown");
    }
}
