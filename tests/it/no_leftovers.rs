//! The servers a test binary starts do not outlive it (tests/it/support/reaper.rs): each test
//! here runs this binary again as a child, which starts real servers, keeps them in
//! `static`s (never dropped), and then exits, panics, or is killed with SIGKILL. Once the
//! child has ended, its servers must be gone; when it exited, their directories too.

use crate::support;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::pg::{PgConfig, SCRAM_HBA};
use support::reaper::is_running;
use support::{PgServer, RedisServer};

/// How the child ends after starting its servers.
const MODE: &str = "GOLIVE_LEFTOVER_MODE";
/// Where the child writes `pid dir` lines, one per server.
const PIDFILE: &str = "GOLIVE_LEFTOVER_PIDFILE";
/// Which servers the child starts: `redis` or `postgres`.
const SERVERS: &str = "GOLIVE_LEFTOVER_SERVERS";

/// Runs the child test in a new process of this binary; returns how it ended and the
/// servers it started (pid, directory).
fn run_child(mode: &str, servers: &str) -> (ExitStatus, Vec<(i32, PathBuf)>, String) {
    let scratch = tempfile::tempdir().unwrap();
    let pidfile = scratch.path().join("pids");
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["no_leftovers::child_keeps_servers_in_statics", "--exact", "--ignored", "--nocapture"])
        .env(MODE, mode)
        .env(PIDFILE, &pidfile)
        .env(SERVERS, servers)
        .output()
        .expect("run the child test binary");
    let log = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&pidfile).unwrap_or_else(|e| panic!("the child wrote no pids ({e}):\n{log}"));
    let started = text
        .lines()
        .map(|line| {
            let (pid, dir) = line.split_once(' ').expect("pid dir");
            (pid.parse().expect("pid"), PathBuf::from(dir))
        })
        .collect();
    (out.status, started, log)
}

/// Waits (bounded, so a leak fails instead of hanging) until `pid` no longer runs.
fn ended_within(pid: i32, bound: Duration) -> bool {
    let until = Instant::now() + bound;
    while is_running(pid) {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn assert_all_gone_at_exit(started: &[(i32, PathBuf)], log: &str) {
    for (pid, dir) in started {
        // The atexit handler waits for the servers, so they are gone when the child's exit
        // status is known: no waiting here.
        assert!(!is_running(*pid), "server {pid} still runs after the test binary exited:\n{log}");
        assert!(!dir.exists(), "{} is left behind", dir.display());
    }
}

#[test]
fn static_redis_servers_stop_when_the_test_binary_exits() {
    let (status, started, log) = run_child("exit", "redis");
    assert!(status.success(), "child failed: {status}\n{log}");
    assert_eq!(started.len(), 2, "{log}");
    assert_all_gone_at_exit(&started, &log);
}

#[test]
fn static_redis_servers_stop_when_a_test_panics() {
    let (status, started, log) = run_child("panic", "redis");
    assert_eq!(status.code(), Some(101), "libtest exits with 101 when a test fails:\n{log}");
    assert!(log.contains("the child test panics on purpose"), "{log}");
    assert_eq!(started.len(), 2, "{log}");
    assert_all_gone_at_exit(&started, &log);
}

#[test]
fn static_redis_servers_stop_when_the_test_binary_is_killed() {
    let (status, started, log) = run_child("kill", "redis");
    assert_eq!(status.signal(), Some(9), "child was not killed: {status}\n{log}");
    assert_eq!(started.len(), 2, "{log}");
    for (pid, dir) in &started {
        // The parent-death signal is sent as the child dies; the server ends soon after.
        assert!(ended_within(*pid, Duration::from_secs(30)), "redis-server {pid} outlived the killed test binary");
        // Nothing of the killed binary runs any more to remove the directory.
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn a_static_postgres_server_stops_when_the_test_binary_exits() {
    let (status, started, log) = run_child("exit", "postgres");
    assert!(status.success(), "child failed: {status}\n{log}");
    assert_eq!(started.len(), 1, "{log}");
    assert_all_gone_at_exit(&started, &log);
}

#[test]
fn a_static_postgres_server_stops_when_the_test_binary_is_killed() {
    let (status, started, log) = run_child("kill", "postgres");
    assert_eq!(status.signal(), Some(9), "child was not killed: {status}\n{log}");
    assert_eq!(started.len(), 1, "{log}");
    let (pid, dir) = &started[0];
    assert!(ended_within(*pid, Duration::from_secs(60)), "postmaster {pid} outlived the killed test binary");
    // Nothing of the killed binary runs any more to remove the directory.
    let _ = std::fs::remove_dir_all(dir);
}

/// Not a test of its own: the child the tests above run (`--ignored --exact`). It does
/// nothing unless they set its environment.
#[test]
#[ignore = "run by the other tests of this file, in a child process"]
fn child_keeps_servers_in_statics() {
    let (Ok(mode), Ok(pidfile), Ok(servers)) = (std::env::var(MODE), std::env::var(PIDFILE), std::env::var(SERVERS))
    else {
        return;
    };
    let mut started: Vec<(i32, PathBuf)> = Vec::new();
    if servers == "redis" {
        static FROM_TEST: OnceLock<RedisServer> = OnceLock::new();
        static FROM_THREAD: OnceLock<RedisServer> = OnceLock::new();
        let server = FROM_TEST.get_or_init(RedisServer::start);
        started.push((server.pid(), server.dir().to_path_buf()));
        // Started from a thread that ends at once: the server must outlive that thread
        // (a parent-death signal tied to it would kill the server now).
        std::thread::spawn(|| {
            FROM_THREAD.get_or_init(RedisServer::start);
        })
        .join()
        .unwrap();
        let server = FROM_THREAD.get().unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert!(is_running(server.pid()), "the server died with the thread that started it");
        assert_eq!(server.cmd(&["PING"]), support::Resp::Simple("PONG".into()));
        started.push((server.pid(), server.dir().to_path_buf()));
    } else {
        static PG: OnceLock<PgServer> = OnceLock::new();
        let server =
            PG.get_or_init(|| PgServer::start(PgConfig { settings: Vec::new(), hba: SCRAM_HBA.into(), tls: None }));
        assert_eq!(server.scalar("postgres", "select 1"), "1");
        started.push((server.pid(), server.dir.clone()));
    }
    write_pids(Path::new(&pidfile), &started);
    match mode.as_str() {
        "exit" => {}
        "panic" => panic!("the child test panics on purpose"),
        "kill" => {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::this(), nix::sys::signal::Signal::SIGKILL);
            unreachable!("SIGKILL ends the process");
        }
        other => panic!("unknown mode {other}"),
    }
}

fn write_pids(path: &Path, started: &[(i32, PathBuf)]) {
    let text: String = started.iter().map(|(pid, dir)| format!("{pid} {}\n", dir.display())).collect();
    std::fs::write(path, text).expect("write the pid file");
}
