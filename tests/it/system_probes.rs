//! `systemd` and `backup` against real things: this machine's own systemctl (which, in a
//! container without systemd, must make an `error`), a stand-in `systemctl` executable that
//! prints what `systemctl show` prints (placed first in PATH, because no systemd runs here),
//! backup files with set modification times, real gzip files (valid and truncated), a real
//! PostgreSQL custom-format dump read by the real `pg_restore`, and restore-test commands.

use crate::support as common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::{Workdir, assert_outcome, fact, item};
use serde_json::json;

fn write_executable(path: &Path, script: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, script).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

fn reason(report: &serde_json::Value, id: &str) -> String {
    item(report, id)["reason"].as_str().unwrap_or_default().to_string()
}

/// PATH with `dir` first.
fn path_with(dir: &Path) -> String {
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn systemd_on_this_machine() {
    let w = Workdir::new();
    w.write(
        "golive.toml",
        "[[item]]\nid = \"unit\"\nprobe = \"systemd\"\nunit = \"golive-test-no-such-unit\"\nexpect = { load_state = \"not-found\" }\n",
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    let systemd_runs = Path::new("/run/systemd/system").is_dir();
    let has_systemctl =
        std::env::var("PATH").unwrap_or_default().split(':').any(|d| Path::new(d).join("systemctl").is_file());
    if systemd_runs {
        // A real systemd answers for a unit it does not know.
        assert_outcome(&report, "unit", "pass");
    } else {
        // No systemd (a container): nothing could be observed, which is an error, never a pass.
        assert_outcome(&report, "unit", "error");
        let why = reason(&report, "unit");
        if has_systemctl {
            assert!(why.starts_with("systemctl show golive-test-no-such-unit failed: "), "{why}");
        } else {
            assert!(why.contains("systemctl is not installed"), "{why}");
        }
    }
}

/// Answers `systemctl show` as systemd 252 does, for three units; records its arguments.
const FAKE_SYSTEMCTL: &str = r#"#!/bin/sh
echo "$*" >> "$(dirname "$0")/calls.log"
for last; do :; done
case "$last" in
  nginx.service)
    printf 'Id=nginx.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nRestart=on-failure\nUser=www-data\nDynamicUser=no\nNRestarts=2\nMainPID=4242\nMemoryMax=536870912\n' ;;
  legacy)
    printf 'Id=legacy.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\nUnitFileState=disabled\nRestart=no\nUser=\nDynamicUser=no\nNRestarts=0\nMainPID=0\n' ;;
  backup.timer)
    printf 'Id=backup.timer\nLoadState=loaded\nActiveState=active\nSubState=waiting\nUnitFileState=enabled\nRestart=\nUser=\nDynamicUser=no\nNRestarts=\nMainPID=\n' ;;
  missing)
    printf 'Id=missing.service\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\nRestart=no\nUser=\nDynamicUser=no\nNRestarts=0\nMainPID=0\n' ;;
  *)
    echo "Failed to connect to bus: No such file or directory" >&2; exit 1 ;;
esac
"#;

#[tokio::test(flavor = "multi_thread")]
async fn systemd_facts_from_systemctl_show_output() {
    let w = Workdir::new();
    let bin = w.path("bin");
    write_executable(&bin.join("systemctl"), FAKE_SYSTEMCTL);
    w.write(
        "golive.toml",
        r#"
[[item]]
id = "nginx"
probe = "systemd"
unit = "nginx.service"
properties = ["MemoryMax"]
expect = { active = true, enabled = true, sub_state = "running", restart = { one_of = ["on-failure", "always"] }, runs_as_root = false, user = "www-data", restarts = 2, "property.MemoryMax" = "536870912" }

[[item]]
id = "legacy"
probe = "systemd"
unit = "legacy"
expect = { runs_as_root = false, restart = "!= no" }

[[item]]
id = "timer"
probe = "systemd"
unit = "backup.timer"
expect = { active_state = "active", enabled = true, user = { present = false } }

[[item]]
id = "missing"
probe = "systemd"
unit = "missing"

[[item]]
id = "no-bus"
probe = "systemd"
unit = "anything"
"#,
    );
    let path = path_with(&bin);
    let out =
        w.run_env(&["run", "golive.toml", "--output", "json=report.json", "--quiet"], &[("PATH", path.as_str())]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "nginx", "pass");
    assert_eq!(fact(&report, "nginx", "main_pid"), 4242);
    assert_outcome(&report, "legacy", "fail");
    assert_eq!(fact(&report, "legacy", "user"), "root", "no User= means root");
    assert_eq!(fact(&report, "legacy", "runs_as_root"), true);
    assert_eq!(fact(&report, "legacy", "active_state"), "failed");
    assert_outcome(&report, "timer", "pass");
    assert_outcome(&report, "missing", "fail");
    assert_eq!(fact(&report, "missing", "load_state"), "not-found");
    assert_eq!(fact(&report, "missing", "active"), false);
    assert_outcome(&report, "no-bus", "error");
    assert_eq!(
        reason(&report, "no-bus"),
        "systemctl show anything failed: Failed to connect to bus: No such file or directory"
    );

    // Only `show`, with the properties, was ever asked of systemctl: nothing that changes state.
    let calls = w.read("bin/calls.log");
    assert_eq!(calls.lines().count(), 5, "{calls}");
    assert!(calls.lines().all(|c| c.starts_with("show --no-pager --property=Id,LoadState,ActiveState,")), "{calls}");
    assert!(calls.contains(",MainPID,MemoryMax -- nginx.service\n"), "{calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn systemd_without_systemctl_is_an_error() {
    let w = Workdir::new();
    let empty = w.path("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    w.write("golive.toml", "[[item]]\nid = \"u\"\nprobe = \"systemd\"\nunit = \"nginx\"\n");
    let path = empty.display().to_string();
    let out =
        w.run_env(&["run", "golive.toml", "--output", "json=report.json", "--quiet"], &[("PATH", path.as_str())]).await;
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "u", "error");
    assert_eq!(reason(&report, "u"), "systemctl is not installed: this host does not run systemd");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes `bytes` to `path`, modified `age` ago.
fn backup_file(path: &Path, bytes: &[u8], age: Duration) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
    path.to_path_buf()
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

#[tokio::test(flavor = "multi_thread")]
async fn backup_age_size_retention_and_gzip_integrity() {
    let w = Workdir::new();
    // Compressible but not trivially: a few hundred KiB of SQL-like text.
    let sql: String = (0..20_000).map(|i| format!("INSERT INTO orders VALUES ({i}, 'customer {i}');\n")).collect();
    let good = gzip(sql.as_bytes());
    backup_file(&w.path("daily/app-2026-11-01.sql.gz"), &good, 3 * DAY);
    backup_file(&w.path("daily/app-2026-11-02.sql.gz"), &good, 2 * DAY);
    let newest = backup_file(&w.path("daily/app-2026-11-03.sql.gz"), &good, HOUR);
    backup_file(&w.path("daily/notes.txt"), b"not a backup", Duration::ZERO);

    backup_file(&w.path("broken/app-1.sql.gz"), &good, DAY);
    backup_file(&w.path("broken/app-2.sql.gz"), &good[..good.len() / 2], HOUR);
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0xff;
    backup_file(&w.path("corrupt/app.sql.gz"), &flipped, HOUR);
    backup_file(&w.path("plain/app.sql.gz"), sql.as_bytes(), HOUR);
    backup_file(&w.path("stale/app.sql.gz"), &good, 3 * DAY);

    w.write(
        "golive.toml",
        r#"
[[item]]
id = "daily"
probe = "backup"
glob = "daily/app-*.sql.gz"
expect = { count = ">= 3", age = "< 26h", size = "> 1KiB", gzip_ok = true, oldest_age = ">= 3d" }

[[item]]
id = "truncated"
probe = "backup"
glob = "broken/*.sql.gz"
expect = { gzip_ok = true }

[[item]]
id = "corrupt"
probe = "backup"
glob = "corrupt/*.gz"
expect = { gzip_ok = true }

[[item]]
id = "not-gzip"
probe = "backup"
glob = "plain/*.gz"
expect = { gzip_ok = true }

[[item]]
id = "stale"
probe = "backup"
glob = "stale/*.gz"
expect = { age = "< 26h" }

[[item]]
id = "none"
probe = "backup"
glob = "nowhere/*.dump"

[[item]]
id = "bad-glob"
probe = "backup"
glob = "daily/[.gz"
"#,
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "daily", "pass");
    assert_eq!(fact(&report, "daily", "count"), 3);
    assert_eq!(fact(&report, "daily", "newest"), "daily/app-2026-11-03.sql.gz");
    assert_eq!(fact(&report, "daily", "size"), std::fs::metadata(&newest).unwrap().len());
    assert_eq!(fact(&report, "daily", "total_size"), 3 * good.len() as u64);

    assert_outcome(&report, "truncated", "fail");
    assert_eq!(fact(&report, "truncated", "newest"), "broken/app-2.sql.gz", "the newest one is checked");
    let why = fact(&report, "truncated", "gzip_error").as_str().unwrap();
    assert!(why.contains("truncated"), "{why}");
    assert_outcome(&report, "corrupt", "fail");
    assert_outcome(&report, "not-gzip", "fail");
    assert!(fact(&report, "not-gzip", "gzip_error").as_str().unwrap().contains("header"));
    assert_outcome(&report, "stale", "fail");
    assert!(item(&report, "stale")["reason"].as_str().unwrap().starts_with("age: expected < 26h, observed 3d"));
    assert_outcome(&report, "none", "fail");
    assert_eq!(item(&report, "none")["facts"], json!({ "count": 0 }));
    assert_outcome(&report, "bad-glob", "error");
}

fn pg_restore_installed() -> bool {
    std::process::Command::new("pg_restore").arg("--version").output().is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_pg_dump_read_back_by_pg_restore() {
    let w = Workdir::new();
    let fixture = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pg_custom.dump")).unwrap();
    backup_file(&w.path("pg/good/app.dump"), &fixture, HOUR);
    // The table of contents is at the start: a truncated dump still lists, but does not read back.
    backup_file(&w.path("pg/truncated/app.dump"), &fixture[..fixture.len() / 2], HOUR);
    backup_file(&w.path("pg/garbage/app.dump"), b"this is not a dump\n", HOUR);
    w.write(
        "golive.toml",
        r#"
[[item]]
id = "good"
probe = "backup"
glob = "pg/good/*.dump"
expect = { pg_dump_ok = true, pg_dump_entries = 4 }

[[item]]
id = "truncated"
probe = "backup"
glob = "pg/truncated/*.dump"
expect = { pg_dump_ok = true }

[[item]]
id = "garbage"
probe = "backup"
glob = "pg/garbage/*.dump"
expect = { pg_dump_ok = true }
"#,
    );
    if pg_restore_installed() {
        let (report, _) = w.run_json("golive.toml", &[]).await;
        assert_outcome(&report, "good", "pass");
        assert_outcome(&report, "truncated", "fail");
        assert_eq!(fact(&report, "truncated", "pg_dump_entries"), 4);
        assert!(fact(&report, "truncated", "pg_dump_error").as_str().unwrap().starts_with("pg_restore: error:"));
        assert_outcome(&report, "garbage", "fail");
        let why = fact(&report, "garbage", "pg_dump_error").as_str().unwrap();
        assert!(why.contains("does not appear to be a valid archive"), "{why}");
    } else {
        eprintln!("pg_restore is not installed: only the missing-binary path is tested (scripts/test.sh installs it)");
    }

    // Without pg_restore the check cannot be made: an error, not a pass or a fail.
    let empty = w.path("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let path = empty.display().to_string();
    w.run_env(&["run", "golive.toml", "--output", "json=report.json", "--quiet"], &[("PATH", path.as_str())]).await;
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "good", "error");
    assert!(reason(&report, "good").starts_with("pg_restore is not installed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_restore_test_hook_exit_code_duration_and_timeout() {
    let w = Workdir::new();
    let good = gzip(b"select 1;\n");
    backup_file(&w.path("ok/app.sql.gz"), &good, HOUR);
    backup_file(&w.path("bad/app.sql.gz"), &good[..good.len() - 4], HOUR);
    let marker = w.path("restore-still-running");
    w.write(
        "golive.toml",
        &format!(
            r#"
[[item]]
id = "restores"
probe = "backup"
glob = "ok/*.gz"
restore_test = ["sh", "-c", "test \"$GOLIVE_BACKUP_FILE\" = \"$1\" && gzip -t \"$1\"", "restore", "{{file}}"]
expect = {{ restore_exit_code = 0, restore_duration = "< 30s" }}

[[item]]
id = "does-not-restore"
probe = "backup"
glob = "bad/*.gz"
restore_test = ["gzip", "-t", "{{file}}"]
expect = {{ restore_exit_code = 0 }}

[[item]]
id = "hangs"
probe = "backup"
glob = "ok/*.gz"
restore_test = ["sh", "-c", "sleep 3; touch {marker}"]
timeout = "500ms"
"#,
            marker = marker.display()
        ),
    );
    let (report, _) = w.run_json("golive.toml", &[]).await;
    assert_outcome(&report, "restores", "pass");
    assert_outcome(&report, "does-not-restore", "fail");
    assert_eq!(fact(&report, "does-not-restore", "restore_exit_code"), 1);
    assert_outcome(&report, "hangs", "error");
    assert_eq!(reason(&report, "hangs"), "timed out after 500ms");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(!marker.exists(), "the restore test's process group survived the timeout");
}

/// The ```toml blocks of a docs page that contain `needle`.
fn doc_examples(page: &str, needle: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(page)).unwrap();
    text.split("```toml\n")
        .skip(1)
        .filter_map(|block| block.split_once("```").map(|(toml, _)| toml.to_string()))
        .filter(|toml| toml.contains(needle))
        .collect()
}

/// Prints what `pgbackrest --output=json info` prints for a stanza with seven daily full
/// backups (pgBackRest 2.5x layout), the last one finished an hour ago, or 3 days ago when
/// a file `stale` lies beside it (a file, not a variable: commands get a minimal environment).
const FAKE_PGBACKREST: &str = r#"#!/bin/sh
now=$(date +%s)
last=$((now - 3600))
[ -e "$(dirname "$0")/stale" ] && last=$((now - 3 * 86400))
printf '[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"00000001000000000000002A","min":"000000010000000000000002"}],"backup":['
i=6
while [ $i -ge 0 ]; do
  stop=$((last - i * 86400))
  printf '{"archive":{"start":"0000000100000000000000%02d","stop":"0000000100000000000000%02d"},"backrest":{"format":5,"version":"2.54.0"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":31457280,"repository":{"delta":4194304,"size":4194304},"size":31457280},"label":"2026111%dF","prior":null,"reference":null,"timestamp":{"start":%d,"stop":%d},"type":"full"}' $((i + 2)) $((i + 2)) $i $((stop - 60)) $stop
  [ $i -gt 0 ] && printf ','
  i=$((i - 1))
done
printf '],"cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7300000000000000000,"version":"15"}],"name":"main","repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]\n'
"#;

/// Prints what `restic snapshots --json` prints: eight snapshots, times with nanoseconds and
/// a +02:00 offset, the newest 2 hours old (or 3 days with a file `stale` beside it).
const FAKE_RESTIC: &str = r#"#!/bin/sh
now=$(date +%s)
last=$((now - 7200))
[ -e "$(dirname "$0")/stale" ] && last=$((now - 3 * 86400))
printf '['
i=7
while [ $i -ge 0 ]; do
  t=$(TZ=UTC-2 date -d "@$((last - i * 86400))" +%Y-%m-%dT%H:%M:%S.123456789%:z)
  printf '{"time":"%s","tree":"4f2b0c","paths":["/srv/app"],"hostname":"db1","username":"root","id":"a1b2c3d4e5f6%02d","short_id":"a1b2c3d4"}' "$t" $i
  [ $i -gt 0 ] && printf ','
  i=$((i - 1))
done
printf ']\n'
"#;

#[tokio::test(flavor = "multi_thread")]
async fn backup_tool_examples_in_the_docs_work() {
    let w = Workdir::new();
    let bin = w.path("bin");
    write_executable(&bin.join("pgbackrest"), FAKE_PGBACKREST);
    write_executable(&bin.join("restic"), FAKE_RESTIC);
    // The backup probe examples are valid checklist items.
    w.write("files.toml", &doc_examples("docs/backups.md", "probe = \"backup\"").join("\n"));
    let out = w.run_blocking(&["validate", "files.toml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));

    let examples = doc_examples("docs/backups.md", "probe = \"command\"");
    assert_eq!(examples.len(), 2, "the pgBackRest and restic examples");
    w.write("golive.toml", &examples.join("\n"));
    let path = path_with(&bin);
    let args = ["run", "golive.toml", "--output", "json=report.json", "--quiet"];

    let out = w.run_env(&args, &[("PATH", path.as_str())]).await;
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", serde_json::to_string_pretty(&report["items"]).unwrap());
    assert_eq!(fact(&report, "backup.pgbackrest-recent", "stdout_json./backups"), 7);
    assert_eq!(fact(&report, "backup.restic-recent", "stdout_json./count"), 8);
    let age = fact(&report, "backup.restic-recent", "stdout_json./newest_age_s").as_i64().unwrap();
    assert!((7100..7300).contains(&age), "the +02:00 offset was read: {age}");

    w.write("bin/stale", "");
    w.run_env(&args, &[("PATH", path.as_str())]).await;
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert_outcome(&report, "backup.pgbackrest-recent", "fail");
    assert!(reason(&report, "backup.pgbackrest-recent").starts_with("stdout_json./last_stop_age_s: expected < 93600"));
    assert_outcome(&report, "backup.restic-recent", "fail");
    assert!(reason(&report, "backup.restic-recent").starts_with("stdout_json./newest_age_s: expected < 93600"));
}
