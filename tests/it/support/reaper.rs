//! Server processes (redis-server, the PostgreSQL postmaster) that never outlive the test
//! binary that started them, however it ends.
//!
//! Servers kept in a `static` are never dropped, so `Drop` alone leaves them running after
//! `cargo test`. Two mechanisms cover the ways a test binary ends:
//!
//! - **It exits** (all tests passed, or some failed or panicked: libtest catches the panic and
//!   the harness exits with 101). Every server is registered here, and an `atexit` handler
//!   stops the registered ones, waits until they are gone and removes their directories. It
//!   runs inside `exit()`, before the process goes, so when the binary's exit status is
//!   known the servers are already stopped.
//! - **It dies without exiting** (SIGKILL, an abort, a stack overflow, ^C of the harness
//!   alone). `atexit` does not run, so every server also gets `PR_SET_PDEATHSIG`: the
//!   kernel signals it when its parent dies. Linux counts the *thread* that forked as the
//!   parent, so a server forked from a test's own thread would be signalled when that test
//!   ends, long before the binary does. Servers are therefore forked by one spawner thread
//!   that is started on first use and never returns, so it dies only with the process.
//!   The child checks after `prctl` that its parent is still the test process, else a
//!   death between fork and prctl would go unnoticed.
//!
//! A watchdog process per server was the alternative; it needs a helper program or a
//! shell loop per server, and gives nothing the pair above does not.
//!
//! A test binary that dies by SIGKILL leaves its servers' directories behind (nothing of it
//! runs any more to remove them); the servers themselves are gone.
//!
//! Servers are named after a tag (see [`tag`]) so that `scripts/check-no-leftovers.sh` can
//! find what one run of the tests left behind, even while other test runs share the machine.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// How a server is told to stop, and what is removed after it stopped.
#[derive(Clone, Debug)]
pub struct Stop {
    /// Sent at exit and as the parent-death signal: SIGKILL for redis-server, SIGQUIT
    /// (immediate shutdown, which also ends its backends) for the postmaster.
    pub signal: Signal,
    /// Removed once the server is gone (at exit only; `Drop` impls remove their own).
    pub dir: Option<PathBuf>,
}

struct Registered {
    pid: i32,
    stop: Stop,
}

static REGISTERED: Mutex<Vec<Registered>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();

type SpawnRequest = (Command, Signal, Sender<std::io::Result<Child>>);
static SPAWNER: OnceLock<Mutex<Sender<SpawnRequest>>> = OnceLock::new();

/// The tag in every server's directory name: `$GOLIVE_TEST_SERVER_TAG` when set (the
/// leftover check sets it), else `pPID` of the test process.
pub fn tag() -> String {
    match std::env::var("GOLIVE_TEST_SERVER_TAG") {
        Ok(t) if !t.is_empty() && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => t,
        _ => format!("p{}", std::process::id()),
    }
}

/// Starts `command` (a server that runs until told to stop) from the spawner thread, with
/// `stop.signal` as its parent-death signal, and registers it to be stopped at exit.
pub fn spawn(command: Command, stop: Stop) -> std::io::Result<Child> {
    let sender = SPAWNER.get_or_init(|| Mutex::new(start_spawner())).lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (reply, answer) = channel();
    sender.send((command, stop.signal, reply)).expect("the spawner thread runs");
    let child = answer.recv().expect("the spawner thread answers")?;
    register(child.id() as i32, stop);
    Ok(child)
}

fn start_spawner() -> Sender<SpawnRequest> {
    let (tx, rx): (Sender<SpawnRequest>, Receiver<SpawnRequest>) = channel();
    std::thread::Builder::new()
        .name("golive-test-spawner".into())
        .spawn(move || {
            let parent = std::process::id() as i32;
            while let Ok((mut command, signal, reply)) = rx.recv() {
                // SAFETY: the closure runs in the forked child before exec and calls only
                // prctl and getppid, which are async-signal-safe.
                unsafe {
                    command.pre_exec(move || {
                        nix::sys::prctl::set_pdeathsig(signal).map_err(std::io::Error::from)?;
                        if nix::unistd::getppid().as_raw() != parent {
                            return Err(std::io::Error::other("the test process ended before the server started"));
                        }
                        Ok(())
                    });
                }
                let _ = reply.send(command.spawn());
            }
            // The sender lives in a static and is never dropped, so this is not reached; if
            // it were, returning would fire every server's parent-death signal.
            loop {
                std::thread::park();
            }
        })
        .expect("start the spawner thread");
    tx
}

fn register(pid: i32, stop: Stop) {
    REGISTERED.lock().unwrap_or_else(|e| e.into_inner()).push(Registered { pid, stop });
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain `extern "C" fn` with the C library.
        unsafe {
            nix::libc::atexit(stop_all_at_exit);
        }
    });
}

/// Forgets a server its owner has stopped (or is about to stop) itself. Call it before
/// reaping the process, so that the pid cannot be reused by then.
pub fn unregister(pid: i32) {
    REGISTERED.lock().unwrap_or_else(|e| e.into_inner()).retain(|r| r.pid != pid);
}

extern "C" fn stop_all_at_exit() {
    let registered = std::mem::take(&mut *REGISTERED.lock().unwrap_or_else(|e| e.into_inner()));
    for r in &registered {
        let _ = kill(Pid::from_raw(r.pid), r.stop.signal);
    }
    for r in &registered {
        wait_gone(r.pid, Duration::from_secs(10));
        if let Some(dir) = &r.stop.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Waits until `pid` has ended (reaping it when it is our child), up to `bound`, then
/// SIGKILLs it. A zombie someone else will reap counts as ended.
pub fn wait_gone(pid: i32, bound: Duration) {
    let until = Instant::now() + bound;
    while !is_gone(pid) {
        if Instant::now() > until {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `pid` no longer runs: reaped by us now or before, or a zombie.
pub fn is_gone(pid: i32) -> bool {
    match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => false,
        Ok(_) => true,
        // Not our child (any more): another thread reaped it, or it belongs to someone else.
        Err(_) => !is_running(pid),
    }
}

/// Whether a process `pid` exists and is not a zombie (from /proc, so it works for any
/// process, also one started by a test binary that has ended).
pub fn is_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}
