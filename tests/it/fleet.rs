//! Fleets: items on remote targets over SSH, against real OpenSSH servers in their own mount
//! namespaces (support/sshd.rs). A marker file exists only inside each namespace, so an item
//! that finds it (with that server's name in it) observed that target, not this machine.

use serde_json::Value;

use crate::support::sshd::{self, MARKER, PASSPHRASE, PASSWORD, Sshd};
use crate::support::workdir::{Workdir, assert_outcome, assert_report_matches_schema, fact, item, stdout};

/// A workdir with `ssh_config` (a `Host` block per server, keys checked against
/// `known_hosts`) and `known_hosts` holding `known`.
fn fleet_dir(servers: &[(&str, &Sshd)], known: &str, locked: bool) -> Workdir {
    let w = Workdir::new();
    let kh = w.write("known_hosts", known);
    let config: String = servers.iter().map(|(alias, s)| s.config_block(alias, &kh, locked)).collect();
    w.write("ssh_config", &config);
    w
}

fn known(servers: &[&Sshd]) -> String {
    servers.iter().map(|s| s.known_hosts_line()).collect()
}

fn helper_args(w: &Workdir) -> Vec<String> {
    vec![
        "--ssh-config".into(),
        w.path("ssh_config").display().to_string(),
        "--ssh-helper".into(),
        sshd::small_helper().display().to_string(),
    ]
}

async fn run(w: &Workdir, extra: &[String]) -> (Value, std::process::Output) {
    let mut args: Vec<&str> = vec!["--no-store", "-o", "junit=junit.xml", "-o", "markdown=report.md"];
    args.extend(extra.iter().map(String::as_str));
    w.run_json("fleet.toml", &args).await
}

fn ids(report: &Value) -> Vec<String> {
    report["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

/// Two targets at once, reached through an OpenSSH config's aliases: each host-level item runs
/// on each target and finds that target's marker, which this machine does not have; a
/// network item runs here only. golive copies itself (no --ssh-helper: the full binary) and
/// leaves nothing in either target's /tmp.
#[tokio::test(flavor = "multi_thread")]
async fn host_items_run_on_every_target_and_see_that_target() {
    let (alpha, beta) = sshd::pair();
    let w = fleet_dir(&[("alpha-host", alpha), ("beta-host", beta)], &known(&[alpha, beta]), false);
    w.write(
        "fleet.toml",
        &format!(
            r#"
[[target]]
name = "alpha"
ssh = "alpha-host"
groups = ["web"]

[[target]]
name = "beta"
ssh = "beta-host"
groups = ["db"]

[[item]]
id = "marker"
section = "files"
probe = "file"
path = "{MARKER}"
expect = {{ exists = true }}

[[item]]
id = "marker-text"
probe = "command"
argv = ["cat", "{MARKER}"]
depends_on = ["marker"]
expect = {{ exit_code = 0 }}

[[item]]
id = "not-here"
probe = "file"
path = "{MARKER}"
targets = ["local"]
expect = {{ exists = false }}

[[item]]
id = "ssh-port"
probe = "tcp"
address = "127.0.0.1:{}"
"#,
            alpha.port
        ),
    );
    let config = w.path("ssh_config").display().to_string();
    let (report, out) = run(&w, &["--ssh-config".into(), config]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        ids(&report),
        ["not-here", "ssh-port", "marker@alpha", "marker-text@alpha", "marker@beta", "marker-text@beta"],
        "grouped by target, where golive runs first"
    );
    for (target, name) in [("alpha", "alpha"), ("beta", "beta")] {
        assert_outcome(&report, &format!("marker@{target}"), "pass");
        assert_eq!(item(&report, &format!("marker@{target}"))["target"], target);
        assert_eq!(fact(&report, &format!("marker-text@{target}"), "stdout"), name, "each target's own marker");
        // The dependency is the same target's copy.
        assert_eq!(item(&report, &format!("marker-text@{target}"))["depends_on"][0], format!("marker@{target}"));
    }
    assert_outcome(&report, "not-here", "pass");
    assert!(item(&report, "ssh-port").get("target").is_none());
    assert_report_matches_schema(&w.path("report.json"));
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2);
    assert!(targets.iter().all(|t| t["state"] == "connected"), "{targets:?}");
    // JUnit names carry the target; the Markdown groups by it.
    let junit = w.read("junit.xml");
    assert!(
        junit.contains("name=\"marker@alpha: marker\"") && junit.contains("<testsuite name=\"files @ beta\""),
        "{junit}"
    );
    assert!(junit.contains("<property name=\"target\" value=\"beta\"/>"), "{junit}");
    let md = w.read("report.md");
    assert!(md.contains("## files @ alpha") && md.contains("## files @ beta"), "{md}");
    // Nothing is left on the targets: their /tmp holds the marker only, and no golive runs.
    for server in [alpha, beta] {
        assert_eq!(server.shell("ls -A /tmp"), "golive-fleet-marker\n");
    }
}

/// The probe is the same code on a target as here: a file both can see (the server's own
/// directory is outside the namespace's /tmp) gives the same facts, types included.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_gives_the_facts_local_observation_gives() {
    let (alpha, _) = sshd::pair();
    let shared = alpha.dir.join("same.txt");
    std::fs::write(&shared, "the same bytes\n").unwrap();
    std::fs::set_permissions(&shared, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let w = fleet_dir(&[("alpha-host", alpha)], &known(&[alpha]), false);
    w.write(
        "fleet.toml",
        &format!(
            r#"
[[target]]
name = "alpha"
ssh = "alpha-host"

[[item]]
id = "same"
probe = "file"
path = "{}"
targets = ["local", "alpha"]
expect = {{ exists = true, mode = "0640", sha256 = {{ matches = "^[0-9a-f]{{64}}$" }}, size = 15 }}
"#,
            shared.display()
        ),
    );
    let (report, out) = run(&w, &helper_args(&w)).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let here = item(&report, "same");
    let there = item(&report, "same@alpha");
    let without_age = |i: &Value| {
        let mut f = i["facts"].as_object().unwrap().clone();
        f.remove("modified_age");
        f
    };
    assert_eq!(without_age(here), without_age(there));
    assert_eq!(here["fact_types"], there["fact_types"]);
    assert_eq!(there["fact_types"]["modified_age"], "duration");
}

/// A target nothing listens for: its items are errors saying why, the gate fails, and the
/// other target's items pass.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_target_errors_its_items_and_the_others_go_on() {
    let (alpha, _) = sshd::pair();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let w = fleet_dir(&[("alpha-host", alpha)], &known(&[alpha]), false);
    w.write(
        "fleet.toml",
        &format!(
            r#"
[[target]]
name = "alpha"
ssh = "alpha-host"

[[target]]
name = "gone"
ssh = "root@127.0.0.1:{closed}"

[[item]]
id = "marker"
probe = "file"
path = "{MARKER}"
expect = {{ exists = true }}
"#
        ),
    );
    let (report, out) = run(&w, &helper_args(&w)).await;
    assert_eq!(out.status.code(), Some(1), "the gate fails");
    assert_outcome(&report, "marker@alpha", "pass");
    assert_outcome(&report, "marker@gone", "error");
    let reason = item(&report, "marker@gone")["reason"].as_str().unwrap();
    assert!(reason.contains("target `gone`") && reason.contains("Connection refused"), "{reason}");
    assert_report_matches_schema(&w.path("report.json"));
    let md = w.read("report.md");
    assert!(md.contains("- gone (root@127.0.0.1:") && md.contains("): FAILED: "), "{md}");
    let gone = &report["targets"][1];
    assert_eq!(gone["state"], "failed");
    assert!(gone["error"].as_str().unwrap().contains("Connection refused"));
}

fn one_target_checklist(w: &Workdir) {
    w.write(
        "fleet.toml",
        &format!("[[target]]\nname = \"alpha\"\nssh = \"alpha-host\"\n\n[[item]]\nid = \"marker\"\nprobe = \"file\"\npath = \"{MARKER}\"\n"),
    );
}

/// A host key known_hosts does not hold is never accepted: the target's items are errors that
/// say what to do, and known_hosts is left as it was.
#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_host_key_is_an_error() {
    let (alpha, _) = sshd::pair();
    let w = fleet_dir(&[("alpha-host", alpha)], "", false);
    one_target_checklist(&w);
    let (report, out) = run(&w, &helper_args(&w)).await;
    assert_eq!(out.status.code(), Some(1));
    assert_outcome(&report, "marker@alpha", "error");
    let reason = item(&report, "marker@alpha")["reason"].as_str().unwrap();
    assert!(reason.contains("not in known_hosts"), "{reason}");
    assert_eq!(w.read("known_hosts"), "", "golive adds no key");
}

/// A host key that differs from the one known_hosts records is an error that says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_changed_host_key_is_an_error() {
    let (alpha, _) = sshd::pair();
    let w = fleet_dir(&[("alpha-host", alpha)], &alpha.wrong_known_hosts_line(), false);
    one_target_checklist(&w);
    let (report, out) = run(&w, &helper_args(&w)).await;
    assert_eq!(out.status.code(), Some(1));
    assert_outcome(&report, "marker@alpha", "error");
    let reason = item(&report, "marker@alpha")["reason"].as_str().unwrap();
    assert!(reason.contains("not the one known_hosts records"), "{reason}");
    assert_eq!(w.read("known_hosts"), alpha.wrong_known_hosts_line(), "known_hosts is not changed");
}

/// An Ansible inventory gives the targets, with their addresses, ports, users and groups;
/// `targets = ["group:db"]` places an item on the db group only; `--target` adds one more.
#[tokio::test(flavor = "multi_thread")]
async fn an_inventory_and_the_command_line_give_targets() {
    let (alpha, beta) = sshd::pair();
    let w = Workdir::new();
    let kh = w.write("known_hosts", &known(&[alpha, beta]));
    // One block for the address, with both servers' client keys (ssh tries each).
    w.write(
        "ssh_config",
        &format!(
            "Host 127.0.0.1 extra-alias\n  HostName 127.0.0.1\n  IdentityFile {}\n  IdentityFile {}\n  IdentitiesOnly yes\n  IdentityAgent none\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n",
            alpha.dir.join("client").display(),
            beta.dir.join("client").display(),
            kh.display()
        ),
    );
    w.write(
        "hosts.ini",
        &format!(
            "[web]\nalpha ansible_host=127.0.0.1 ansible_port={} ansible_user=root\n\n[db]\nbeta ansible_host=127.0.0.1 ansible_port={} ansible_user=root\n",
            alpha.port, beta.port
        ),
    );
    w.write(
        "fleet.toml",
        &format!(
            "[[item]]\nid = \"marker\"\nprobe = \"file\"\npath = \"{MARKER}\"\n\n[[item]]\nid = \"db-only\"\nprobe = \"command\"\nargv = [\"cat\", \"{MARKER}\"]\ntargets = [\"group:db\"]\n"
        ),
    );
    let mut args = helper_args(&w);
    args.extend(["--inventory".into(), "hosts.ini".into()]);
    args.extend(["--target".into(), format!("extra=root@extra-alias:{}", alpha.port)]);
    let (report, out) = run(&w, &args).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(ids(&report), ["marker@extra", "marker@alpha", "marker@beta", "db-only@beta"], "--target comes first");
    assert_eq!(fact(&report, "db-only@beta", "stdout"), "beta");
    let targets = report["targets"].as_array().unwrap();
    assert_eq!(targets[0]["source"], "--target");
    assert_eq!(targets[1]["groups"], serde_json::json!(["web"]));
    assert!(targets[1]["source"].as_str().unwrap().starts_with("inventory hosts.ini:2"), "{:?}", targets[1]);
}

/// A key passphrase given as `${env:…}` opens the key through SSH_ASKPASS, and appears in no
/// output: the reports, the table, the log at -vv.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_passphrase_opens_the_key_and_never_shows() {
    let (alpha, _) = sshd::pair();
    let w = fleet_dir(&[("alpha-host", alpha)], &known(&[alpha]), true);
    w.write(
        "fleet.toml",
        &format!(
            "[[target]]\nname = \"alpha\"\nssh = \"alpha-host\"\npassphrase = \"${{env:KEY_PASSPHRASE}}\"\n\n[[item]]\nid = \"marker\"\nprobe = \"file\"\npath = \"{MARKER}\"\nexpect = {{ exists = true }}\n"
        ),
    );
    let mut args: Vec<String> = ["-vv", "run", "fleet.toml", "--no-store", "-o", "table", "-o", "json=report.json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["-o".into(), "junit=junit.xml".into(), "-o".into(), "html=report.html".into()]);
    args.extend(helper_args(&w));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.run_env(&argv, &[("KEY_PASSPHRASE", PASSPHRASE)]).await;
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "marker@alpha", "pass");
    let everything = [
        stdout(&out),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        w.read("report.json"),
        w.read("junit.xml"),
        w.read("report.html"),
    ];
    for text in &everything {
        assert!(!text.contains(PASSPHRASE), "the passphrase leaked");
    }
    assert!(everything[1].contains("helper started"), "-vv logs the connection");

    // Without it the key stays locked, and the target's item says why.
    let out = w.run(&argv).await;
    assert_eq!(out.status.code(), Some(2), "an unset ${{env:…}} is a checklist error");
}

/// `targets` that name nothing in the run: an error when running (the item would check no
/// machine), a warning when validating (the inventory comes at run time); bad `--target`
/// values are refused before anything runs.
#[test]
fn targets_that_name_nothing_and_bad_targets_are_refused() {
    let w = Workdir::new();
    w.write(
        "fleet.toml",
        "[[item]]\nid = \"f\"\nprobe = \"file\"\npath = \"/etc/hostname\"\ntargets = [\"group:web\"]\n",
    );
    let out = w.run_blocking(&["run", "fleet.toml", "--no-store"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`targets` entry `group:web` names no target"), "{err}");
    let out = w.run_blocking(&["validate", "fleet.toml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));
    for bad in ["web=-oProxyCommand=touch /tmp/x", "local=host", "web=host:99999", "web=a b", "nameonly"] {
        let out = w.run_blocking(&["run", "fleet.toml", "--no-store", "--target", bad], &[]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // A checklist's own `ssh` is checked the same way, at its line.
    w.write("bad.toml", "[[target]]\nname = \"w\"\nssh = \"-oProxyCommand=x\"\n");
    let out = w.run_blocking(&["validate", "bad.toml", "--format", "short"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml:3:"), "{}", String::from_utf8_lossy(&out.stderr));
}

/// A fleet's items shard like any others: two shards of a two-target run, merged, give the
/// outcomes, facts and gate of the whole run, with both targets in the merged report.
#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_run_in_shards_merges_into_the_whole_run() {
    let (alpha, beta) = sshd::pair();
    let w = fleet_dir(&[("alpha-host", alpha), ("beta-host", beta)], &known(&[alpha, beta]), false);
    w.write(
        "fleet.toml",
        &format!(
            "[[target]]\nname = \"alpha\"\nssh = \"alpha-host\"\n\n[[target]]\nname = \"beta\"\nssh = \"beta-host\"\n\n\
             [[item]]\nid = \"marker\"\nprobe = \"file\"\npath = \"{MARKER}\"\nexpect = {{ exists = true }}\n\n\
             [[item]]\nid = \"text\"\nprobe = \"command\"\nargv = [\"cat\", \"{MARKER}\"]\nexpect = {{ stdout = \"alpha\" }}\n\n\
             [[item]]\nid = \"port\"\nprobe = \"tcp\"\naddress = \"127.0.0.1:{}\"\n",
            alpha.port
        ),
    );
    let mut base = helper_args(&w);
    base.insert(0, "--no-store".into());
    let run_to = |file: &str, extra: &[&str]| {
        let mut args: Vec<String> =
            vec!["run".into(), "fleet.toml".into(), "-q".into(), "-o".into(), format!("json={file}")];
        args.extend(base.iter().cloned());
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    fn argv(a: &[String]) -> Vec<&str> {
        a.iter().map(String::as_str).collect()
    }
    let whole = run_to("whole.json", &[]);
    let first = run_to("s1.json", &["--shard", "1/2"]);
    let second = run_to("s2.json", &["--shard", "2/2"]);
    let mut codes = Vec::new();
    for args in [&whole, &first, &second] {
        let out = w.run(&argv(args)).await;
        codes.push(out.status.code());
    }
    assert_eq!(codes[0], Some(1), "text@beta fails the whole run");
    assert!(codes[1..].contains(&Some(1)), "the shard with text@beta fails: {codes:?}");
    let out = w.run(&["report", "merge", "s1.json", "s2.json", "-o", "json=all.json"]).await;
    assert_eq!(out.status.code(), Some(1), "the merged gate fails too: {}", String::from_utf8_lossy(&out.stderr));
    let whole: Value = serde_json::from_str(&w.read("whole.json")).unwrap();
    let merged: Value = serde_json::from_str(&w.read("all.json")).unwrap();
    let shape = |r: &Value| -> Vec<(String, String, Value)> {
        r["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["id"].as_str().unwrap().to_string(),
                    i["outcome"].as_str().unwrap().to_string(),
                    i["facts"]["stdout"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(shape(&merged), shape(&whole));
    assert_eq!(ids(&whole), ["port", "marker@alpha", "text@alpha", "marker@beta", "text@beta"]);
    assert_eq!(merged["gate"], whole["gate"]);
    let names: Vec<&str> = merged["targets"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert!(merged["targets"].as_array().unwrap().iter().all(|t| t["state"] == "connected"), "{}", merged["targets"]);
}

/// A target that accepts the connection and never speaks SSH: its items end as errors once
/// ssh's connect timeout (the longest of the items' timeouts, 2s here, not the 30s setup
/// bound) passes, with ssh's reason; the reachable target's items pass.
#[tokio::test(flavor = "multi_thread")]
async fn a_silent_target_fails_its_items_within_their_timeouts() {
    let (alpha, _) = sshd::pair();
    let silent = crate::support::hung::HungListener::start().await;
    let w = fleet_dir(&[("alpha-host", alpha)], &known(&[alpha]), false);
    w.write(
        "fleet.toml",
        &format!(
            "[defaults]\ntimeout = \"2s\"\n\n[[target]]\nname = \"alpha\"\nssh = \"alpha-host\"\n\n[[target]]\nname = \"silent\"\nssh = \"root@127.0.0.1:{}\"\n\n[[item]]\nid = \"marker\"\nprobe = \"file\"\npath = \"{MARKER}\"\nexpect = {{ exists = true }}\n",
            silent.port()
        ),
    );
    let (report, out) = run(&w, &helper_args(&w)).await;
    assert_eq!(out.status.code(), Some(1));
    assert_outcome(&report, "marker@alpha", "pass");
    assert_outcome(&report, "marker@silent", "error");
    let reason = item(&report, "marker@silent")["reason"].as_str().unwrap();
    assert!(reason.contains("target `silent`") && reason.to_lowercase().contains("timed out"), "{reason}");
    assert!(silent.connections() >= 1, "ssh did reach the silent listener");
}

/// A login password given as `${env:…}` answers sshd's password prompt through SSH_ASKPASS
/// (no key offered), and appears in no output; a wrong one fails the target with ssh's
/// reason, never a prompt that waits.
#[tokio::test(flavor = "multi_thread")]
async fn a_password_logs_in_and_never_shows() {
    let (_, beta) = sshd::pair();
    let w = Workdir::new();
    let kh = w.write("known_hosts", &known(&[beta]));
    w.write("ssh_config", &beta.password_block("beta-pw", &kh));
    w.write(
        "fleet.toml",
        &format!(
            "[[target]]\nname = \"beta\"\nssh = \"beta-pw\"\npassword = \"${{env:BETA_PASSWORD}}\"\n\n[[item]]\nid = \"marker\"\nprobe = \"command\"\nargv = [\"cat\", \"{MARKER}\"]\nexpect = {{ stdout = \"beta\" }}\n"
        ),
    );
    let mut args: Vec<String> =
        ["-vv", "run", "fleet.toml", "--no-store", "-o", "table", "-o", "json=report.json", "-o", "markdown=report.md"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    args.extend(helper_args(&w));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = w.run_env(&argv, &[("BETA_PASSWORD", PASSWORD)]).await;
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "marker@beta", "pass");
    for text in
        [stdout(&out), String::from_utf8_lossy(&out.stderr).into_owned(), w.read("report.json"), w.read("report.md")]
    {
        assert!(!text.contains(PASSWORD), "the password leaked");
    }
    let out = w.run_env(&argv, &[("BETA_PASSWORD", "not-the-password")]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&w.read("report.json")).unwrap();
    let reason = item(&report, "marker@beta")["reason"].as_str().unwrap();
    assert!(reason.contains("Permission denied"), "{reason}");
}

/// A waiver names one target's copy (`ID@TARGET`): that copy is waived and the others are
/// not. `validate` without the run's targets warns about the copy rather than refusing it;
/// with them it is known. Shard reports that ran one target name against two machines are
/// refused by `report merge`.
#[tokio::test(flavor = "multi_thread")]
async fn waivers_name_one_copy_and_merge_refuses_two_machines_under_one_name() {
    let w = Workdir::new();
    let p1 = crate::support::hung::closed_port();
    w.write(
        "fleet.toml",
        "[[item]]\nid = \"f\"\nprobe = \"file\"\npath = \"/etc/hostname\"\n\n[[item]]\nid = \"g\"\nprobe = \"file\"\npath = \"/etc/hostname\"\n\n\
         [[waiver]]\nitem = \"f@gone\"\nreason = \"decommissioned next week\"\napproved_by = \"Ops Lead\"\nuntil = \"2099-01-01\"\n",
    );
    let out = w.run_blocking(&["validate", "fleet.toml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`f@gone`"));
    let gone = format!("gone=root@127.0.0.1:{p1}");
    let out = w.run_blocking(&["validate", "fleet.toml", "--target", &gone], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "{}", String::from_utf8_lossy(&out.stderr));
    let (report, _) = w.run_json("fleet.toml", &["--no-store", "--target", &gone]).await;
    assert_eq!(item(&report, "f@gone")["outcome"], "waived");
    assert_eq!(item(&report, "g@gone")["outcome"], "error", "the waiver is for f's copy only");

    let other = format!("gone=deploy@127.0.0.1:{p1}");
    for (file, shard, target) in [("s1.json", "1/2", &gone), ("s2.json", "2/2", &other)] {
        let json = format!("json={file}");
        w.run_blocking(
            &["run", "fleet.toml", "--no-store", "-q", "--shard", shard, "--target", target, "-o", &json],
            &[],
        );
    }
    let out = w.run_blocking(&["report", "merge", "s1.json", "s2.json", "-o", "json=all.json"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("target `gone`") && err.contains("different machines"), "{err}");
    assert!(!w.path("all.json").exists(), "a refused merge writes nothing");
}
