//! Red/green pairs for the checks that observe what used to be manual (issue 9, §3):
//! Kubernetes manifests and Dockerfiles on disk, documents and their sections, a job queue
//! and connection logging in a real PostgreSQL, a release's cluster, licence and firewall
//! tools, forged tokens, debug error pages and Prometheus queries against real HTTP
//! servers, and encrypted backups made by openssl. Each check fails where the defect its
//! title names is planted, with a reason naming it, and passes where it is set up right.

use crate::support;

use std::sync::OnceLock;

use serde_json::Value;
use support::pg::{PgConfig, SCRAM_HBA};
use support::{HttpServer, PgServer, Route, Workdir, assert_outcome, item, stderr};

fn reason(report: &Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// Every failed expectation of the item as the reason shows one: `fact: expected …,
/// observed … (explanation)`, observed text unquoted, other values as JSON.
fn failures(report: &Value, id: &str) -> String {
    let mut all = reason(report, id);
    for e in item(report, id)["expectations"].as_array().into_iter().flatten() {
        if e["passed"] == false {
            let observed = match &e["observed"] {
                Value::String(s) => s.clone(),
                Value::Null => "absent".into(),
                other => other.to_string(),
            };
            all += &format!(
                "\n{}: expected {}, observed {observed}",
                e["fact"].as_str().unwrap(),
                e["expected"].as_str().unwrap()
            );
            if let Some(why) = e["explanation"].as_str() {
                all += &format!(" ({why})");
            }
        }
    }
    all
}

/// Asserts the item failed, and that its failed expectations say each of `needles`.
fn assert_fails_with(report: &Value, id: &str, needles: &[&str]) {
    assert_outcome(report, id, "fail");
    let all = failures(report, id);
    for needle in needles {
        assert!(all.contains(needle), "{id}: failures {all} lack {needle:?}");
    }
}

/// One `[[item]]` using `check` with `vars` (TOML inline-table body).
fn uses(id: &str, check: &str, vars: &str) -> String {
    format!("[[item]]\nid = \"{id}\"\nuse = \"{check}\"\nvars = {{ {vars} }}\n\n")
}

async fn run(w: &Workdir, toml: &str) -> Value {
    w.write("golive.toml", &format!("[checklist]\nname = \"observed\"\n[defaults]\ntimeout = \"20s\"\n\n{toml}"));
    let (report, out) = w.run_json("golive.toml", &[]).await;
    assert!(out.status.code() == Some(0) || out.status.code() == Some(1), "{}", stderr(&out));
    report
}

// ── Kubernetes manifests and Dockerfiles ───────────────────────────────────────────────

const GOOD_DEPLOYMENT: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: api
spec:
  ports: [{ port: 80 }]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
      initContainers:
        - name: migrate
          image: ghcr.io/acme/api:1.4.2
          resources: { limits: { cpu: 500m, memory: 256Mi } }
      containers:
        - name: web
          image: ghcr.io/acme/api:1.4.2
          readinessProbe: { httpGet: { path: /ready, port: 4000 } }
          livenessProbe: { httpGet: { path: /health, port: 4000 } }
          resources:
            limits: { cpu: "1", memory: 512Mi }
"#;

const GOOD_CRONJOB: &str = r#"apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly-report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: report
              image: ghcr.io/acme/report@sha256:4f1c2b0e9d
              securityContext: { runAsUser: 1000 }
              resources: { limits: { cpu: 250m, memory: 128Mi } }
"#;

const BAD_DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
      containers:
        - name: web
          image: ghcr.io/acme/api:latest
          livenessProbe: { httpGet: { path: /health, port: 4000 } }
          securityContext: { runAsUser: 0, privileged: true }
          resources:
            limits: { memory: 512Mi }
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cache
spec:
  template:
    spec:
      containers:
        - name: redis
          image: redis
          readinessProbe: { exec: { command: [redis-cli, ping] } }
          livenessProbe: { exec: { command: [redis-cli, ping] } }
          resources: { limits: { cpu: "1", memory: 1Gi } }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn kubernetes_workloads_need_probes_limits_a_non_root_user_and_pinned_images() {
    let w = Workdir::new();
    w.write("good/k8s/api.yaml", GOOD_DEPLOYMENT);
    w.write("good/k8s/jobs/report.yml", GOOD_CRONJOB);
    w.write("good/k8s/values.txt", "not a manifest: not read");
    w.write("bad/k8s/app.yaml", BAD_DEPLOYMENT);
    w.write("empty/k8s/service.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\n");
    w.write("broken/k8s/app.yaml", "kind: Deployment\nspec: [unclosed\n");
    let check = "infrastructure.kubernetes-workloads";
    let mut toml = String::new();
    for case in ["good", "bad", "empty", "broken"] {
        toml += &uses(case, check, &format!("manifests = \"{case}/k8s\""));
    }
    let report = run(&w, &toml).await;

    assert_outcome(&report, "good", "pass");
    assert_eq!(
        support::fact(&report, "good", "workloads"),
        &serde_json::json!(["Deployment/api", "CronJob/nightly-report"])
    );
    assert_eq!(support::fact(&report, "good", "containers"), 3);

    let bad = "bad/k8s/app.yaml";
    assert_fails_with(
        &report,
        "bad",
        &[
            &format!("missing_readiness_probe: expected == [], observed [\"Deployment/api container web ({bad}:11)\"]"),
            &format!("Deployment/api container web ({bad}:11): no limits.cpu"),
            &format!("Deployment/api container web ({bad}:11): runAsUser: 0"),
            "StatefulSet/cache container redis",
            "no runAsNonRoot: true or runAsUser",
            "privileged: true",
            "ghcr.io/acme/api:latest (tag latest)",
            "redis (no tag)",
        ],
    );
    // What the bad manifests do right is not reported: the StatefulSet has its probes.
    assert_eq!(support::fact(&report, "bad", "missing_liveness_probe"), &serde_json::json!([]));

    // No workload at all, or a file that is not YAML, is an error: nothing was proven.
    assert_outcome(&report, "empty", "error");
    assert!(reason(&report, "empty").contains("no Kubernetes workload"), "{}", reason(&report, "empty"));
    assert_outcome(&report, "broken", "error");
    assert!(reason(&report, "broken").contains("app.yaml:3:1: invalid YAML"), "{}", reason(&report, "broken"));
}

#[tokio::test(flavor = "multi_thread")]
async fn container_image_needs_stages_pinned_bases_and_a_non_root_user() {
    let w = Workdir::new();
    w.write(
        "good/Dockerfile",
        "# syntax=docker/dockerfile:1\nARG ELIXIR=1.17.3\nFROM hexpm/elixir:${ELIXIR}-erlang-27.1-debian-bookworm-20241016 AS build\nRUN mix release\n\nFROM debian:bookworm-20241016-slim\nCOPY --from=build /app/_build/prod/rel/app /app\nUSER nobody\nCMD [\"/app/bin/app\", \"start\"]\n",
    );
    w.write("bad/Dockerfile", "FROM node\nWORKDIR /app\nCOPY . .\nRUN npm ci\nCMD [\"node\", \"server.js\"]\n");
    w.write("root/Dockerfile", "FROM rust:1.82 AS build\nFROM debian:12\nUSER root\n");
    let check = "infrastructure.container-image";
    let mut toml = String::new();
    for case in ["good", "bad", "root"] {
        toml += &uses(case, check, &format!("dockerfile = \"{case}/Dockerfile\""));
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "good", "pass");
    assert_eq!(support::fact(&report, "good", "final_user"), "nobody");
    assert_fails_with(
        &report,
        "bad",
        &[
            "stages: expected >= 2, observed 1",
            "unpinned_base_images: expected == [], observed [\"node (line 1): no tag\"]",
            "runs_as_root: expected == false, observed true (the final stage sets no USER)",
        ],
    );
    assert_fails_with(&report, "root", &["runs_as_root: expected == false, observed true (USER root (line 3))"]);
}

// ── Documents ──────────────────────────────────────────────────────────────────────────

#[tokio::test(flavor = "multi_thread")]
async fn a_document_must_exist_and_have_the_sections_the_line_names() {
    let w = Workdir::new();
    w.write(
        "docs/runbook.md",
        "# Runbook\n\n## Restarting the service\n\nsystemctl restart app\n\nRolling back a release\n----------------------\n\n## Contacts\n",
    );
    w.write(
        "docs/dr.md",
        "# Disaster recovery\n\n## Backups\n\n```\n## Restore (a comment in code, not a heading)\n```\n",
    );
    w.write("docs/empty.md", "");
    let check = "operations.document-present";
    let wanted = "required_headings = \"Restart, Rolling back, Contacts\"";
    let mut toml = uses("runbook", check, &format!("document = \"docs/runbook.md\", {wanted}"));
    toml += &uses("dr", check, "document = \"docs/dr.md\", required_headings = \"Backups, Restore, RTO\"");
    toml += &uses("empty", check, &format!("document = \"docs/empty.md\", {wanted}"));
    toml += &uses("missing", check, &format!("document = \"docs/missing.md\", {wanted}"));
    let report = run(&w, &toml).await;
    assert_outcome(&report, "runbook", "pass");
    assert_fails_with(
        &report,
        "dr",
        &[
            "missing_headings: expected == [], observed [\"Restore\", \"RTO\"] (its headings: Disaster recovery; Backups)",
        ],
    );
    assert_fails_with(&report, "empty", &["size: expected > 0"]);
    assert_fails_with(&report, "missing", &["exists: expected == true, observed false"]);
}

// ── PostgreSQL: the job queue and connection logging ────────────────────────────────────

const PG_PASSWORD: &str = "Observed-Pg-S3cret-93";

/// One server for this module: connection logging on, and two databases with an
/// Oban-shaped jobs table.
fn pg() -> &'static PgServer {
    static SERVER: OnceLock<PgServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let server = PgServer::start(PgConfig {
            settings: vec![
                ("log_connections".into(), "on".into()),
                ("log_disconnections".into(), "on".into()),
                ("log_statement".into(), "ddl".into()),
            ],
            hba: SCRAM_HBA.into(),
            tls: None,
        });
        server.sql("postgres", &format!("create role worker login password '{PG_PASSWORD}';"));
        server.sql("postgres", "create database jobs_ok owner worker;");
        server.sql("postgres", "create database jobs_stuck owner worker;");
        for (db, rows) in [
            (
                "jobs_ok",
                "('default', 'completed', now() - interval '2 hours', null), \
                 ('mailers', 'available', now() - interval '30 seconds', null), \
                 ('default', 'scheduled', now() + interval '1 hour', null), \
                 ('default', 'discarded', now() - interval '3 days', now() - interval '3 days')",
            ),
            (
                "jobs_stuck",
                "('mailers', 'available', now() - interval '1 hour', null), \
                 ('mailers', 'available', now() - interval '2 hours', null), \
                 ('payments', 'discarded', now() - interval '2 hours', now() - interval '1 hour'), \
                 ('reports', 'scheduled', now() - interval '1 hour', null), \
                 ('default', 'completed', now() - interval '2 hours', null)",
            ),
        ] {
            server.sql(
                db,
                &format!(
                    "create type oban_job_state as enum ('available', 'scheduled', 'executing', 'retryable', 'completed', 'discarded', 'cancelled');\n\
                     create table oban_jobs (id bigserial primary key, queue text not null, state oban_job_state not null, \
                     scheduled_at timestamp not null, discarded_at timestamp);\n\
                     alter table oban_jobs owner to worker;\n\
                     insert into oban_jobs (queue, state, scheduled_at, discarded_at) values {rows};\n"
                ),
            );
        }
        server
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_job_queue_check_names_each_queue_that_is_stuck_or_discarding() {
    let pg = pg();
    let w = Workdir::new();
    let check = "operations.job-queue-healthy";
    let mut toml = String::new();
    for db in ["jobs_ok", "jobs_stuck"] {
        toml += &uses(db, check, &format!("database_url = \"{}\"", pg.url("worker", PG_PASSWORD, db)));
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "jobs_ok", "pass");
    assert_fails_with(
        &report,
        "jobs_stuck",
        &[
            "rows: expected == [], observed",
            "mailers: 2 available job(s) waiting over 5 minutes",
            "payments: 1 discarded job(s) discarded within 24 hours",
            // Nothing stages scheduled jobs either: they pile up past their time too.
            "reports: 1 scheduled job(s) waiting over 5 minutes",
        ],
    );
    let text = w.read("report.json");
    assert!(!text.contains(PG_PASSWORD), "the password leaked into the report");
}

#[tokio::test(flavor = "multi_thread")]
async fn connection_logging_must_cover_connections_and_schema_changes() {
    let pg = pg();
    // A server at PostgreSQL's defaults (the harness logs connections unless told not to).
    let quiet = PgServer::start(PgConfig {
        settings: vec![("log_connections".into(), "off".into())],
        hba: SCRAM_HBA.into(),
        tls: None,
    });
    quiet.sql("postgres", &format!("create role worker login password '{PG_PASSWORD}';"));
    let w = Workdir::new();
    let check = "database.connection-logging";
    let mut toml = uses("logged", check, &format!("database_url = \"{}\"", pg.url("worker", PG_PASSWORD, "postgres")));
    toml += &uses("quiet", check, &format!("database_url = \"{}\"", quiet.url("worker", PG_PASSWORD, "postgres")));
    let report = run(&w, &toml).await;
    assert_outcome(&report, "logged", "pass");
    assert_fails_with(
        &report,
        "quiet",
        &[
            "setting.log_connections: expected == true, observed false",
            "setting.log_disconnections: expected == true, observed false",
            "setting.log_statement: expected one of [\"ddl\", \"mod\", \"all\"], observed none",
        ],
    );
}

// ── Commands: the release's cluster, licences, the firewall's SSH rule ──────────────────

#[tokio::test(flavor = "multi_thread")]
async fn cluster_nodes_asks_the_release_how_many_peers_it_sees() {
    let w = Workdir::new();
    // A release start script as `mix release` writes one: `rpc EXPR` evaluates EXPR on the
    // running node. These answer as a node of a three-node and of a lone cluster would.
    for (name, peers) in [("clustered", 2), ("alone", 0)] {
        w.write_executable(
            &format!("{name}/bin/app"),
            &format!(
                "#!/bin/sh\n[ \"$1\" = rpc ] && [ \"$2\" = 'IO.puts(~s({{\"peers\": #{{length(Node.list())}}, \"node\": \"#{{node()}}\"}}))' ] || exit 64\nprintf '{{\"peers\": {peers}, \"node\": \"app@10.0.0.1\"}}\\n'\n"
            ),
        );
    }
    let check = "infrastructure.cluster-nodes";
    let mut toml = String::new();
    for name in ["clustered", "alone", "not-installed"] {
        toml += &uses(
            name,
            check,
            &format!("release_command = \"{}\", min_peer_nodes = \"2\"", w.path(&format!("{name}/bin/app")).display()),
        );
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "clustered", "pass");
    assert_fails_with(&report, "alone", &["stdout_json./peers: expected >= 2, observed 0"]);
    // No release where the checklist says: nothing was observed, an error.
    assert_outcome(&report, "not-installed", "error");
}

#[tokio::test(flavor = "multi_thread")]
async fn licences_allowed_fails_with_the_tools_finding() {
    let w = Workdir::new();
    // A licence tool that reads the lock file's licences and rejects GPL, as cargo deny
    // does with its deny.toml.
    let tool = "#!/bin/sh\nif grep -q 'GPL-3.0' \"$1\"; then echo \"error[rejected]: failed to satisfy license requirements: $(grep GPL-3.0 \"$1\")\" >&2; exit 1; fi\necho 'licenses ok'\n";
    w.write_executable("tools/licence-check", tool);
    w.write("good/licences.txt", "serde MIT OR Apache-2.0\ntokio MIT\n");
    w.write("bad/licences.txt", "serde MIT OR Apache-2.0\nreadline-sys GPL-3.0-only\n");
    let check = "operations.licences-allowed";
    let command = w.path("tools/licence-check").display().to_string();
    let mut toml = String::new();
    for case in ["good", "bad"] {
        toml += &uses(case, check, &format!("licence_command = \"{command} licences.txt\", source_dir = \"{case}\""));
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "good", "pass");
    assert_fails_with(&report, "bad", &["exit_code: expected == 0, observed 1", "readline-sys GPL-3.0-only"]);
}

fn fake_ufw(status: &str) -> String {
    format!("#!/bin/sh\n[ \"$1\" = status ] && [ \"$2\" = verbose ] || exit 2\ncat <<'EOF'\n{status}EOF\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_source_restricted_fails_for_a_rule_open_to_anywhere() {
    let w = Workdir::new();
    let header = |default: &str| {
        format!(
            "Status: active\nLogging: on (low)\nDefault: {default} (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n\nTo                         Action      From\n--                         ------      ----\n"
        )
    };
    let restricted = format!(
        "{}22/tcp                     ALLOW IN    203.0.113.0/24\n443/tcp                    ALLOW IN    Anywhere\n2200:2300/tcp              ALLOW IN    Anywhere\n",
        header("deny")
    );
    let item = uses("ssh", "security.ssh-source-restricted", "ssh_port = \"22\"");
    let run_tools = crate::weak_passes_host::run_with_tools;
    let report = run_tools(&w, "restricted", &item, &[("ufw", &fake_ufw(&restricted))]).await;
    assert_outcome(&report, "ssh", "pass");
    // Each way SSH is left open to everyone.
    for (case, rules, default, shown) in [
        ("allow", "22/tcp                     ALLOW IN    Anywhere\n", "deny", "22/tcp ALLOW IN Anywhere"),
        ("limit", "22/tcp                     LIMIT IN    Anywhere\n", "deny", "22/tcp LIMIT IN Anywhere"),
        ("v6", "22/tcp (v6)                ALLOW IN    Anywhere (v6)\n", "deny", "22/tcp (v6) ALLOW IN Anywhere (v6)"),
        ("profile", "OpenSSH                    ALLOW IN    Anywhere\n", "deny", "OpenSSH ALLOW IN Anywhere"),
        ("range", "20:30/tcp                  ALLOW IN    Anywhere\n", "deny", "20:30/tcp ALLOW IN Anywhere"),
        ("list", "80,22,443/tcp              ALLOW IN    Anywhere\n", "deny", "80,22,443/tcp ALLOW IN Anywhere"),
        ("any-port", "Anywhere                   ALLOW IN    Anywhere\n", "deny", "Anywhere ALLOW IN Anywhere"),
        ("default-allow", "", "allow", "Default: allow (incoming)"),
    ] {
        let status = format!("{}{rules}", header(default));
        let report = run_tools(&w, case, &item, &[("ufw", &fake_ufw(&status))]).await;
        assert_fails_with(&report, "ssh", &["stdout_json./open_to_anywhere: expected == []", shown]);
    }
    let report = run_tools(&w, "inactive", &item, &[("ufw", &fake_ufw("Status: inactive\n"))]).await;
    assert_fails_with(&report, "ssh", &["stdout_json./active: expected == true, observed false"]);
    // No ufw at all: nothing observed, an error.
    let report = run_tools(&w, "no-ufw", &item, &[]).await;
    assert_outcome(&report, "ssh", "error");
}

// ── HTTP: forged tokens, error pages, Prometheus queries ────────────────────────────────

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_unsigned_token_must_be_refused() {
    let strict = HttpServer::start(vec![Route::new("/api/account").status(401).body("invalid token")]).await;
    // A service that does not check the token's signature: any bearer token is accepted.
    let careless = HttpServer::start(vec![Route::new("/api/account").body("{\"user\": \"golive-forged\"}")]).await;
    let w = Workdir::new();
    let check = "security.forged-token-rejected";
    let mut toml = String::new();
    for (id, server) in [("strict", &strict), ("careless", &careless)] {
        toml += &uses(id, check, &format!("base_url = \"{}\", protected_path = \"/api/account\"", server.url("")));
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "strict", "pass");
    assert_fails_with(&report, "careless", &["status: expected one of [401, 403], observed 200"]);
    let sent = strict.requests();
    let token = sent[0].header("authorization").unwrap();
    assert!(token.starts_with("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."), "{token}");
    // The token is a credential like any other: never shown.
    assert!(!w.read("report.json").contains("eyJhbGciOiJub25l"), "the bearer token was shown");
}

#[tokio::test(flavor = "multi_thread")]
async fn error_pages_must_be_plain_404s() {
    let quiet = HttpServer::start(vec![Route::new("/").body("home")]).await;
    let trace = "<h1>Phoenix.Router.NoRouteError at GET /golive-no-such-page-7f3a</h1>\n<pre>** (Phoenix.Router.NoRouteError) no route found\n    (phoenix 1.7.14) lib/phoenix/router.ex:541: Phoenix.Router.__call__/5</pre>";
    let debug = HttpServer::start(vec![Route::new("/golive-no-such-page-7f3a").status(404).body(trace)]).await;
    // A "soft 404": the app shell answers every path with 200.
    let soft = HttpServer::start(vec![Route::new("/golive-no-such-page-7f3a").body("<div id=app></div>")]).await;
    let w = Workdir::new();
    let mut toml = String::new();
    for (id, server) in [("quiet", &quiet), ("debug", &debug), ("soft", &soft)] {
        toml += &uses(id, "security.error-pages-quiet", &format!("base_url = \"{}\"", server.url("")));
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "quiet", "pass");
    assert_fails_with(&report, "debug", &["body: expected not (matches /"]);
    assert!(reason(&report, "debug").contains("NoRouteError"), "{}", reason(&report, "debug"));
    assert_fails_with(&report, "soft", &["status: expected == 404, observed 200"]);
}

fn prometheus_answer(value: &str) -> String {
    format!(
        "{{\"status\":\"success\",\"data\":{{\"resultType\":\"vector\",\"result\":[{{\"metric\":{{}},\"value\":[1764633600.0,\"{value}\"]}}]}}}}"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_prometheus_query_must_be_within_bounds() {
    let calm = HttpServer::start(vec![Route::new("/api/v1/query").body(prometheus_answer("0.0012"))]).await;
    let burning = HttpServer::start(vec![Route::new("/api/v1/query").body(prometheus_answer("0.2"))]).await;
    let nothing = HttpServer::start(vec![
        Route::new("/api/v1/query").body("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}"),
    ])
    .await;
    let w = Workdir::new();
    let promql = r#"sum(rate(http_requests_total{status=~\"5..\"}[5m])) / sum(rate(http_requests_total[5m])) + 0"#;
    let mut toml = String::new();
    for (id, server) in [("calm", &calm), ("burning", &burning), ("nothing", &nothing)] {
        toml += &uses(
            id,
            "operations.prometheus-query",
            &format!(
                "prometheus_url = \"{}\", promql = \"{promql}\", bound = \"<= 0.01\"",
                server.url("").trim_end_matches('/')
            ),
        );
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "calm", "pass");
    assert_fails_with(&report, "burning", &["body_json./data/result/0/value/1: expected <= 0.01, observed 0.2"]);
    // A query that matches no series proves nothing: it fails, saying the value is absent.
    assert_fails_with(&report, "nothing", &["body_json./data/result/0/value/1", "absent"]);
    // The expression arrived intact: `+`, spaces and braces form-encoded.
    let uri = calm.requests()[0].uri.clone();
    let query: Vec<(String, String)> =
        reqwest::Url::parse(&format!("http://x{uri}")).unwrap().query_pairs().into_owned().collect();
    assert_eq!(query, vec![("query".to_string(), promql.replace("\\\"", "\""))]);
}

// ── Backups: encrypted or not, by their first bytes ─────────────────────────────────────

#[tokio::test(flavor = "multi_thread")]
async fn backups_must_be_encrypted() {
    let w = Workdir::new();
    w.write("plain/app.sql", "--\n-- PostgreSQL database dump\n--\nCREATE TABLE users (id int);\n");
    std::fs::create_dir_all(w.path("openssl")).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["enc", "-aes-256-cbc", "-pbkdf2", "-pass", "pass:backup-key"])
        .args(["-in", "plain/app.sql", "-out", "openssl/app.sql.enc"])
        .current_dir(w.path(""))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::create_dir_all(w.path("gpg")).unwrap();
    std::fs::create_dir_all(w.path("gnupg")).unwrap();
    std::fs::set_permissions(w.path("gnupg"), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let out = std::process::Command::new("gpg")
        .args(["--batch", "--homedir", "gnupg", "--pinentry-mode", "loopback", "--passphrase", "backup-key"])
        .args(["--symmetric", "--output", "gpg/app.sql.gpg", "plain/app.sql"])
        .current_dir(w.path(""))
        .env("GNUPGHOME", w.path("gnupg"))
        .output()
        .unwrap();
    assert!(out.status.success(), "gpg: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::create_dir_all(w.path("gzip")).unwrap();
    let out = std::process::Command::new("sh")
        .args(["-c", "gzip -c plain/app.sql > gzip/app.sql.gz"])
        .current_dir(w.path(""))
        .output()
        .unwrap();
    assert!(out.status.success());
    let check = "backup.encrypted";
    let mut toml = String::new();
    for (id, glob) in
        [("openssl", "openssl/*.enc"), ("gpg", "gpg/*.gpg"), ("gzip", "gzip/*.gz"), ("plain", "plain/*.sql")]
    {
        toml += &uses(id, check, &format!("backup_glob = \"{}\"", w.path(glob).display()));
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "openssl", "pass");
    assert_outcome(&report, "gpg", "pass");
    assert_eq!(support::fact(&report, "gpg", "encryption"), "gpg");
    assert_fails_with(
        &report,
        "gzip",
        &["encrypted: expected == true, observed false", "app.sql.gz is gzip data, not encrypted"],
    );
    assert_fails_with(&report, "plain", &["plain SQL text, not encrypted"]);
}

// ── Rate limits: a burst of requests ───────────────────────────────────────────────────

/// A server that lets `allowed` requests through (0: every one), then answers 429, or with
/// `cut`, closes the connection without an answer, as nginx's `return 444` does.
async fn limiting_server(allowed: usize, cut: bool) -> support::hostile::RawServer {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let seen = AtomicUsize::new(0);
    support::hostile::RawServer::start(move |_| {
        let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
        if allowed != 0 && n > allowed && cut {
            return support::hostile::Answer::new(Vec::new(), support::hostile::Then::Close);
        }
        let (status, body) =
            if allowed == 0 || n <= allowed { ("200 OK", "ok") } else { ("429 Too Many Requests", "slow down") };
        let answer = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        support::hostile::Answer::new(answer, support::hostile::Then::Continue)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_needs_a_429_within_the_burst() {
    let limited = limiting_server(5, false).await;
    let cutting = limiting_server(3, true).await;
    let open = limiting_server(0, false).await;
    let w = Workdir::new();
    let mut toml = String::new();
    for (id, server) in [("limited", &limited), ("cutting", &cutting), ("open", &open)] {
        toml += &uses(
            id,
            "security.rate-limited",
            &format!(
                "base_url = \"http://127.0.0.1:{}\", rate_limited_path = \"/users/log_in\", burst = \"20\"",
                server.port()
            ),
        );
    }
    let report = run(&w, &toml).await;
    assert_outcome(&report, "limited", "pass");
    assert_eq!(support::fact(&report, "limited", "first_rate_limited"), 6);
    // The burst stops at the first 429; the request the facts describe is the one after it.
    assert_eq!(support::fact(&report, "limited", "status_counts"), &serde_json::json!(["200 x 5", "429 x 2"]));
    assert_eq!(support::fact(&report, "limited", "status"), 429);
    // A server that cuts the connection off is limiting too, and the facts say so.
    assert_outcome(&report, "cutting", "pass");
    assert_eq!(support::fact(&report, "cutting", "first_rate_limited"), 4);
    let counts = support::fact(&report, "cutting", "status_counts").to_string();
    assert!(counts.contains("\"200 x 3\"") && counts.contains("cut off ("), "{counts}");
    assert_fails_with(&report, "open", &["rate_limited: expected == true, observed false", "200 x 20"]);

    // The burst is a number given by a var: a var that is not one is a clear load error.
    w.write(
        "bad-burst.toml",
        &uses(
            "open",
            "security.rate-limited",
            "base_url = \"http://127.0.0.1:9\", rate_limited_path = \"/\", burst = \"lots\"",
        ),
    );
    let out = w.run(&["validate", "bad-burst.toml"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("`requests` must be a whole number: ${burst} gives \"lots\""), "{}", stderr(&out));
    // Nor may it come from a secret, which would be masked wherever its digits turn up.
    w.write(
        "secret-burst.toml",
        &uses(
            "open",
            "security.rate-limited",
            "base_url = \"http://127.0.0.1:9\", rate_limited_path = \"/\", burst = \"${env:GOLIVE_TEST_BURST}\"",
        ),
    );
    let out = w.run_env(&["run", "secret-burst.toml"], &[("GOLIVE_TEST_BURST", "40")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("comes from a secret"), "{}", stderr(&out));
}
